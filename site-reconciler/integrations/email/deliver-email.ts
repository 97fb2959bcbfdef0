import nodemailer from "nodemailer";
import type { ArtifactNotificationList } from "../../../schemas/types.js";
import type { SecretLookup } from "../../runtime/runtime.js";
import {
  DEFAULT_TIMEOUT_MS,
  type Deliverer,
  InvalidMessageError,
  type Message,
  type Outcome,
  type TargetConfig,
} from "../store-and-forward/types.js";
import { classifySmtpError } from "./classify-smtp.js";
import { type ClientCredentials, TokenCache, TokenError } from "./oauth2-token.js";
import { trustedCas } from "./tls-trust.js";

/** A NotificationList message (notify): plain text, to every recipient of the list as BCC. */
export interface EmailMessage {
  subject: string;
  body: string;
}

/** Checks a NotificationList payload at enqueue time, so a message that can never be sent is never stored. */
export function validateEmail(payload: unknown): asserts payload is EmailMessage {
  const p = payload as Partial<EmailMessage> | null;
  if (typeof p !== "object" || p === null || Array.isArray(p))
    throw new InvalidMessageError("an email message needs { subject, body }");
  for (const k of Object.keys(p))
    if (k !== "subject" && k !== "body") throw new InvalidMessageError(`an email message has no field ${k}`);
  if (typeof p.subject !== "string") throw new InvalidMessageError("an email needs a subject (a string)");
  if (/[\r\n]/.test(p.subject)) throw new InvalidMessageError("an email subject is one line");
  if (typeof p.body !== "string") throw new InvalidMessageError("an email needs a body (a string)");
}

/**
 * The Message-ID of a message: its store-and-forward id, the same at every attempt, so a receiver can drop a
 * duplicate. The left part must be a dot-atom (RFC 5322 3.6.4); an id that is not one (a ':' in it) is sent hex.
 */
export function messageIdOf(id: string, from: string): string {
  const left = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(id) ? id : `x${Buffer.from(id).toString("hex")}`;
  const domain = (from.split("@").pop() ?? "").replace(/[^A-Za-z0-9.-]/g, "");
  return `<${left}@${/^[A-Za-z0-9]/.test(domain) ? domain : "localhost"}>`;
}

type Auth = { user: string; pass: string } | { type: "OAuth2"; user: string; accessToken: string } | undefined;

export interface EmailDelivererOptions {
  secrets: SecretLookup;
  /** A PEM file of CAs trusted besides Node's defaults, for the SMTP servers' and token endpoints' TLS. */
  caFile?: string;
  /** Shared with other deliverers to reuse tokens; default: one of its own. */
  tokens?: TokenCache;
  /** Headers every message carries (a node of a site pair: which node sent it, in which epoch). */
  stamp?: () => Record<string, string>;
}

/**
 * Email delivery with nodemailer: one SMTP session per attempt to the list's server (starttls, required; tls; or
 * none), basic auth or XOAUTH2 with a client-credentials token, the message's id as Message-ID and its enqueue
 * time as Date, so that every attempt sends the same message. The whole attempt, token included, is bounded by
 * smtp.timeoutMs. Secrets are resolved by name at each attempt and never appear in an outcome.
 */
export function emailDeliverer(opts: EmailDelivererOptions): Deliverer {
  const ca = trustedCas(opts.caFile);
  const tokens = opts.tokens ?? new TokenCache(ca ? { ca } : {});
  return {
    validate: validateEmail,
    async deliver(message: Message, target: TargetConfig, stop: AbortSignal): Promise<Outcome> {
      const list = target.document as ArtifactNotificationList | undefined;
      if (!list) return { ok: false, transient: true, error: `notificationList ${target.name} has no definition` };
      const smtp = list.smtp;
      const timeoutMs = smtp.timeoutMs ?? target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const mail = message.payload as EmailMessage;
      const masked: string[] = [];
      const mask = (...values: string[]) => {
        for (const v of values) if (v) masked.push(v, Buffer.from(v).toString("base64"));
      };
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      const onStop = () => ac.abort();
      stop.addEventListener("abort", onStop, { once: true });
      const failed = (e: unknown): Outcome =>
        ac.signal.aborted
          ? { ok: false, transient: true, error: `timed out after ${timeoutMs} ms` }
          : classifySmtpError(e, timeoutMs, masked);
      const send = async (auth: Auth) => {
        const transport = nodemailer.createTransport({
          host: smtp.host,
          port: smtp.port,
          secure: smtp.tls === "tls",
          requireTLS: smtp.tls === "starttls",
          ignoreTLS: smtp.tls === "none",
          ...(auth ? { auth, forceAuth: true } : {}),
          connectionTimeout: timeoutMs,
          greetingTimeout: timeoutMs,
          socketTimeout: timeoutMs,
          dnsTimeout: timeoutMs,
          tls: { servername: smtp.host, minVersion: "TLSv1.2", rejectUnauthorized: true, ...(ca ? { ca } : {}) },
          logger: false,
          debug: false,
        });
        try {
          await transport.sendMail({
            from: smtp.from,
            bcc: list.recipients,
            subject: mail.subject,
            text: mail.body,
            messageId: messageIdOf(message.id, smtp.from),
            date: new Date(message.enqueuedAt),
            ...(opts.stamp ? { headers: opts.stamp() } : {}),
            disableFileAccess: true,
            disableUrlAccess: true,
            signal: ac.signal,
          });
        } finally {
          transport.close();
        }
      };
      try {
        const a = smtp.auth;
        if (a.type === "none") await send(undefined);
        else if (a.type === "basic") {
          const pass = opts.secrets(a.passwordSecret);
          if (pass === undefined)
            return { ok: false, transient: true, error: `secret ${a.passwordSecret} is not provided` };
          mask(pass, `\u0000${a.username}\u0000${pass}`);
          await send({ user: a.username, pass });
        } else {
          const clientSecret = opts.secrets(a.clientSecretSecret);
          if (clientSecret === undefined)
            return { ok: false, transient: true, error: `secret ${a.clientSecretSecret} is not provided` };
          mask(clientSecret);
          const creds: ClientCredentials = { tokenUrl: a.tokenUrl, clientId: a.clientId, clientSecret, scope: a.scope };
          let t = await tokens.get(creds, timeoutMs, ac.signal);
          const xoauth2 = () => {
            mask(t.accessToken, `user=${a.username}\u0001auth=Bearer ${t.accessToken}\u0001\u0001`);
            return send({ type: "OAuth2", user: a.username, accessToken: t.accessToken });
          };
          try {
            await xoauth2();
          } catch (e) {
            // A cached token the server refuses was revoked before its time: one more try with a new one.
            if (t.fresh || (e as { code?: unknown }).code !== "EAUTH" || ac.signal.aborted) throw e;
            tokens.drop(creds);
            t = await tokens.get(creds, timeoutMs, ac.signal);
            await xoauth2();
          }
        }
        return { ok: true };
      } catch (e) {
        if (e instanceof TokenError && !ac.signal.aborted)
          return { ok: false, transient: e.transient, error: e.message };
        return failed(e);
      } finally {
        clearTimeout(timer);
        stop.removeEventListener("abort", onStop);
      }
    },
  };
}
