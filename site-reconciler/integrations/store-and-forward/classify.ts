import type { Outcome } from "./types.js";

/**
 * SPEC 8.3 for HTTP: 2xx is delivered; 408, 429 and 5xx are transient (retried); every other status is permanent
 * (parked at once). Redirects are not followed (the request carries the key and credentials of one target), so a
 * 3xx is permanent too: the target's baseUrl is what needs changing.
 */
export function classifyStatus(status: number, detail: string): Outcome {
  if (status >= 200 && status < 300) return { ok: true };
  const error = `HTTP ${status}${detail ? `: ${detail}` : ""}`;
  if (status === 408 || status === 429 || (status >= 500 && status < 600)) return { ok: false, transient: true, error };
  return { ok: false, transient: false, error };
}

/**
 * A request that produced no status: refused, reset, DNS, TLS, a timeout. All are transient: the receiver may come
 * back. fetch reports network failures as TypeError("fetch failed") with the socket error as its cause.
 */
export function classifyError(err: unknown, timeoutMs: number): Outcome {
  return { ok: false, transient: true, error: describeError(err, timeoutMs) };
}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `timed out after ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  const c = cause as { code?: unknown; message?: unknown } | undefined;
  if (c && typeof c.code === "string") return `connection failed: ${c.code}`;
  if (c && typeof c.message === "string") return `connection failed: ${c.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** A short, printable excerpt of a response body for lastError, with every secret value used masked. */
export function excerpt(text: string, secrets: readonly string[], max = 200): string {
  let s = text;
  for (const v of secrets) if (v) s = s.split(v).join("***");
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
