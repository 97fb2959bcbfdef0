import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { excerpt } from "../store-and-forward/classify.js";

/** What a token costs to get wrong: transient failures are retried, permanent ones park the message. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string | null;
}

export interface Token {
  accessToken: string;
  /** Epoch ms after which it is not used again. */
  refreshAt: number;
  /** Fetched by this call rather than taken from the cache. */
  fresh: boolean;
}

/** A token is renewed this long before the endpoint says it expires, so that it never expires mid-session. */
const EARLY_MS = 60_000;
/** How long a token whose answer gives no expires_in is reused. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
const MAX_BODY = 64 * 1024;

/**
 * OAuth2 client credentials (RFC 6749 4.4): POSTs grant_type=client_credentials with client_id, client_secret (in
 * the body, client_secret_post, which Entra ID, Keycloak, Okta and Auth0 all take) and scope to the token
 * endpoint, and caches each token in memory until EARLY_MS before it expires (for short-lived tokens, half their
 * life). Concurrent requests for one client share one fetch. Tokens are never written anywhere.
 */
export class TokenCache {
  readonly #cache = new Map<string, { accessToken: string; refreshAt: number }>();
  readonly #inflight = new Map<string, Promise<Token>>();
  readonly #now: () => number;
  readonly #ca: string[] | undefined;

  constructor(opts: { ca?: string[]; now?: () => number } = {}) {
    this.#ca = opts.ca;
    this.#now = opts.now ?? Date.now;
  }

  /** The cache key holds a hash of the secret, so that a rotated secret gets a new token at once. */
  #key(c: ClientCredentials): string {
    const h = createHash("sha256").update(c.clientSecret).digest("base64url");
    return JSON.stringify([c.tokenUrl, c.clientId, c.scope, h]);
  }

  /** A cached token, or a new one. Throws TokenError, never with the secret or a token in its message. */
  async get(c: ClientCredentials, timeoutMs: number, signal?: AbortSignal): Promise<Token> {
    const key = this.#key(c);
    const hit = this.#cache.get(key);
    if (hit && hit.refreshAt > this.#now()) return { ...hit, fresh: false };
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#fetch(c, timeoutMs, signal).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    const t = await p;
    this.#cache.set(key, { accessToken: t.accessToken, refreshAt: t.refreshAt });
    return t;
  }

  /** Forgets a token the server refused (revoked before its time). */
  drop(c: ClientCredentials): void {
    this.#cache.delete(this.#key(c));
  }

  async #fetch(c: ClientCredentials, timeoutMs: number, signal?: AbortSignal): Promise<Token> {
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId });
    form.set("client_secret", c.clientSecret);
    if (c.scope) form.set("scope", c.scope);
    const started = this.#now();
    const { status, body } = await post(c.tokenUrl, form.toString(), timeoutMs, this.#ca, signal);
    const shown = () => excerpt(body, [c.clientSecret, encodeURIComponent(c.clientSecret)]);
    // RFC 6749 5.2: a bad client or grant is a 400 or 401; the configuration must change, so retrying is useless.
    if (status === 408 || status === 429 || status >= 500)
      throw new TokenError(`token endpoint: HTTP ${status}${body ? `: ${shown()}` : ""}`, true);
    if (status < 200 || status >= 300)
      throw new TokenError(`token endpoint: HTTP ${status}${body ? `: ${shown()}` : ""}`, false);
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new TokenError(`token endpoint: HTTP ${status} without a JSON answer`, false);
    }
    if (typeof parsed?.access_token !== "string" || !parsed.access_token)
      throw new TokenError(`token endpoint: HTTP ${status} without an access_token`, false);
    const life = Number(parsed.expires_in) > 0 ? Number(parsed.expires_in) * 1000 : DEFAULT_LIFETIME_MS;
    const refreshAt = started + (life > 2 * EARLY_MS ? life - EARLY_MS : life / 2);
    return { accessToken: parsed.access_token, refreshAt, fresh: true };
  }
}

/** One form POST; transient TokenError for what produced no status (refused, reset, TLS, DNS, a timeout). */
function post(
  url: string,
  form: string,
  timeoutMs: number,
  ca: string[] | undefined,
  signal?: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new TokenError("token endpoint: tokenUrl is not a URL", false));
      return;
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
      reject(new TokenError(`token endpoint: ${u.protocol} is not http or https`, false));
      return;
    }
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    let timedOut = false;
    const req = send(
      u,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          "content-length": Buffer.byteLength(form),
        },
        ...(ca ? { ca } : {}),
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on("data", (b: Buffer) => {
          if (n < MAX_BODY) chunks.push(b);
          n += b.length;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_BODY).toString("utf8") }),
        );
        res.on("error", (e) => fail(e));
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    const fail = (e: Error) => {
      const code = (e as { code?: string }).code;
      const why = timedOut ? `timed out after ${timeoutMs} ms` : `connection failed: ${code ?? e.message}`;
      reject(new TokenError(`token endpoint: ${why}`, true));
    };
    req.on("error", fail);
    req.on("close", () => clearTimeout(timer));
    req.end(form);
  });
}
