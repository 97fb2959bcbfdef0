import type { SecretLookup } from "../../runtime/runtime.js";
import { classifyError, classifyStatus, excerpt } from "./classify.js";
import {
  DEFAULT_TIMEOUT_MS,
  type Deliverer,
  type HttpAuth,
  type HttpMethod,
  type HttpRequest,
  InvalidMessageError,
  type Message,
  type Outcome,
  type TargetConfig,
} from "./types.js";

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(["GET", "POST", "PUT", "PATCH", "DELETE"]);
/** Set by the engine or the target's auth only: a message carrying them could store a credential or lose its key. */
const RESERVED = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "idempotency-key",
  "content-length",
  "host",
]);
/** Of an error response, enough for lastError; the rest is not read. */
const DETAIL_BYTES = 4096;

/** Checks an ExternalSystem payload at enqueue time, so a message that can never be sent is never stored. */
export function validateHttpRequest(payload: unknown): asserts payload is HttpRequest {
  const p = payload as Partial<HttpRequest> | null;
  if (typeof p !== "object" || p === null) throw new InvalidMessageError("an HTTP message needs a request object");
  if (typeof p.method !== "string" || !METHODS.has(p.method))
    throw new InvalidMessageError(`HTTP method ${JSON.stringify(p.method)} is not one of ${[...METHODS].join(", ")}`);
  let url: URL;
  try {
    url = new URL(String(p.url));
  } catch {
    throw new InvalidMessageError(`${JSON.stringify(p.url)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidMessageError(`only http and https URLs are delivered, not ${url.protocol}`);
  if (url.username || url.password) throw new InvalidMessageError("a URL with credentials in it is never stored");
  if (p.headers !== undefined) {
    if (typeof p.headers !== "object" || p.headers === null) throw new InvalidMessageError("headers must be an object");
    for (const [name, value] of Object.entries(p.headers)) {
      if (RESERVED.has(name.toLowerCase()))
        throw new InvalidMessageError(`header ${name} is set at delivery (credentials come from the target's auth)`);
      if (typeof value !== "string") throw new InvalidMessageError(`header ${name} must be a string`);
    }
    try {
      new Headers(p.headers);
    } catch (e) {
      throw new InvalidMessageError(`invalid headers: ${(e as Error).message}`);
    }
  }
}

/** The auth header of a target, from its secrets as they are now; a missing secret is named, never its value. */
export function authHeader(
  auth: HttpAuth | undefined,
  secrets: SecretLookup,
): { header?: [string, string]; missing?: string; values: string[] } {
  if (!auth || auth.type === "none") return { values: [] };
  const need = (name: string) => secrets(name);
  switch (auth.type) {
    case "apiKey": {
      const v = need(auth.secret);
      return v === undefined ? { missing: auth.secret, values: [] } : { header: [auth.header, v], values: [v] };
    }
    case "bearer": {
      const v = need(auth.tokenSecret);
      return v === undefined
        ? { missing: auth.tokenSecret, values: [] }
        : { header: ["authorization", `Bearer ${v}`], values: [v] };
    }
    case "basic": {
      const v = need(auth.passwordSecret);
      if (v === undefined) return { missing: auth.passwordSecret, values: [] };
      const token = Buffer.from(`${auth.username}:${v}`).toString("base64");
      return { header: ["authorization", `Basic ${token}`], values: [v, token] };
    }
  }
}

/** A body of a known small length in one read (undici's fast path), anything else through readSome. Never throws. */
async function readBody(res: Response, limit: number): Promise<string> {
  const length = res.headers.get("content-length");
  if (length !== null && Number(length) <= limit) return res.text().catch(() => "");
  return readSome(res.body, limit);
}

/** Reads at most `limit` bytes of a body as text, then lets the rest go. Never throws. */
async function readSome(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.byteLength;
    }
  } catch {
    // A body cut off or timed out: the status has already decided the outcome.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

/**
 * HTTP delivery with Node's fetch: the message's id as Idempotency-Key, the target's auth from secrets resolved now,
 * one AbortSignal bounding the whole exchange at the target's timeoutMs. The outcome is the status line's; the body
 * of an error response gives lastError a few words, with the secret values masked.
 */
export function httpDeliverer(opts: { secrets: SecretLookup; stamp?: () => Record<string, string> }): Deliverer {
  return {
    validate: validateHttpRequest,
    async deliver(message: Message, target: TargetConfig, stop: AbortSignal): Promise<Outcome> {
      const req = message.payload as HttpRequest;
      const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const auth = authHeader(target.auth, opts.secrets);
      if (auth.missing) return { ok: false, transient: true, error: `secret ${auth.missing} is not provided` };
      const headers = new Headers(req.headers);
      if (req.body !== undefined) headers.set("content-type", "application/json");
      headers.set("idempotency-key", message.id);
      for (const [k, v] of Object.entries(opts.stamp?.() ?? {})) headers.set(k, v);
      if (auth.header) headers.set(auth.header[0], auth.header[1]);
      // One controller per attempt rather than AbortSignal.any: composed signals stay referenced from the
      // long-lived stop signal on Node 20, and a drain makes hundreds of thousands of them.
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
      const onStop = () => ac.abort(stop.reason);
      stop.addEventListener("abort", onStop, { once: true });
      try {
        let res: Response;
        try {
          res = await fetch(req.url, {
            method: req.method,
            headers,
            body: req.body === undefined ? undefined : JSON.stringify(req.body),
            redirect: "manual",
            signal: ac.signal,
          });
        } catch (e) {
          return classifyError(e, timeoutMs);
        }
        // The body is read (a little of it) either way: a body read to its end lets the connection be reused.
        const text = await readBody(res, DETAIL_BYTES);
        return res.ok ? { ok: true } : classifyStatus(res.status, excerpt(text, auth.values));
      } finally {
        clearTimeout(timer);
        stop.removeEventListener("abort", onStop);
      }
    },
  };
}
