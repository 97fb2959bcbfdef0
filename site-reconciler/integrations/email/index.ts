// Email for NotificationList documents: the store-and-forward deliverer of notify, over SMTP with nodemailer.
// See docs/store-and-forward.md#email.
export { classifySmtpError } from "./classify-smtp.js";
export {
  type EmailDelivererOptions,
  type EmailMessage,
  emailDeliverer,
  messageIdOf,
  validateEmail,
} from "./deliver-email.js";
export { type ClientCredentials, type Token, TokenCache, TokenError } from "./oauth2-token.js";
export { trustedCas } from "./tls-trust.js";
