import { excerpt } from "../store-and-forward/classify.js";
import type { Outcome } from "../store-and-forward/types.js";

/**
 * SPEC 8.3 for SMTP: a reply of the 4xx class is transient, of the 5xx class permanent (RFC 5321 4.2.1), 503
 * included. An error without a reply (refused, reset, DNS, TLS, a timeout, a server that closed the connection)
 * is a connection error, transient. So is a failed STARTTLS whatever the server replied (a 500 from a server
 * that has no STARTTLS): it is a TLS failure, as it is for HTTP, and never about the message.
 */
export function classifySmtpError(err: unknown, timeoutMs: number, secrets: readonly string[]): Outcome {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; response?: unknown; message?: unknown };
  const reply = typeof e.responseCode === "number" ? e.responseCode : undefined;
  if (reply !== undefined && reply >= 400 && reply < 600 && e.code !== "ETLS") {
    const text = typeof e.response === "string" ? e.response : String(e.message ?? "");
    const shown = excerpt(text.replace(/^\d{3}[ -]?/, ""), secrets);
    return { ok: false, transient: reply < 500, error: `SMTP ${reply}${shown ? `: ${shown}` : ""}` };
  }
  return { ok: false, transient: true, error: describe(e, timeoutMs, secrets) };
}

function describe(
  e: { code?: unknown; message?: unknown; name?: unknown },
  timeoutMs: number,
  secrets: readonly string[],
): string {
  if (e.code === "ETIMEDOUT" || e.code === "EABORT" || e.name === "AbortError")
    return `timed out after ${timeoutMs} ms`;
  const original = (e as { originalCode?: unknown }).originalCode;
  const code = typeof original === "string" ? original : typeof e.code === "string" ? e.code : undefined;
  const message = excerpt(typeof e.message === "string" ? e.message : "", secrets);
  return `connection failed: ${[code, message].filter(Boolean).join(" ")}`;
}
