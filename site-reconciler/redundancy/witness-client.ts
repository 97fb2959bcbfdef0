import type { Logger } from "pino";
import { answerIsSigned } from "./json-http.js";
import type { LeaseRequest } from "./lease.js";
import type { PeerAuth } from "./peer-link.js";
import { LEASE_PATH, STATE_PATH, type WitnessLeaseAnswer, type WitnessStateAnswer } from "./witness.js";

export interface WitnessClientOptions {
  /** The witness, http://host:port (--witness). */
  url: string;
  site: string;
  auth: PeerAuth;
  /** Per request, connecting and reading the answer included (default 1 s: one renewal interval). */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * A node's side of the witness. Anything but a well-formed answer in time (refused, timed out, an HTTP error, a
 * malformed body) is "unreachable": to the election an answer that did not come is no answer, and it decides what
 * that means (the active counts its lease down, the standby asks again).
 */
export class WitnessClient {
  readonly #o: WitnessClientOptions;
  readonly #base: string;
  /** Why the last request got no answer (null after one that did). */
  lastError: string | null = null;

  constructor(o: WitnessClientOptions) {
    this.#o = o;
    this.#base = o.url.replace(/\/+$/, "");
  }

  async lease(req: LeaseRequest): Promise<WitnessLeaseAnswer | "unreachable"> {
    const a = await this.#request("POST", LEASE_PATH, JSON.stringify({ site: this.#o.site, ...req }));
    if (a === "unreachable") return a;
    const v = a as Partial<WitnessLeaseAnswer>;
    if (
      typeof v.granted !== "boolean" ||
      !Number.isSafeInteger(v.epoch) ||
      !(v.holder === null || typeof v.holder === "string")
    )
      return this.#fail("a malformed answer");
    return v as WitnessLeaseAnswer;
  }

  async state(): Promise<WitnessStateAnswer | "unreachable"> {
    const a = await this.#request("GET", STATE_PATH, "");
    if (a === "unreachable") return a;
    if (!Array.isArray((a as Partial<WitnessStateAnswer>).leases)) return this.#fail("a malformed answer");
    return a as WitnessStateAnswer;
  }

  async #request(method: string, path: string, body: string): Promise<unknown> {
    const url = new URL(this.#base + path);
    const abort = new AbortController();
    const timeoutMs = this.#o.timeoutMs ?? 1_000;
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const signed = this.#o.auth.sign(method, url.pathname + url.search, body);
      const res = await fetch(url, {
        method,
        headers: { "content-type": "application/json", ...signed },
        body: method === "GET" ? undefined : body,
        signal: abort.signal,
      });
      const text = await res.text();
      if (!res.ok) return this.#fail(`HTTP ${res.status}`);
      // A grant only counts from the witness itself, for this very request: no forged or replayed answer.
      if (!answerIsSigned(this.#o.auth, signed, res, text)) return this.#fail("an answer not signed by the witness");
      const value = JSON.parse(text) as unknown;
      this.lastError = null;
      return value;
    } catch (e) {
      if (abort.signal.aborted) return this.#fail(`no answer within ${timeoutMs} ms`);
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      return this.#fail(cause ?? (e instanceof SyntaxError ? "a malformed answer" : "the request failed"));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs a change of reason only: a witness that is down would otherwise be logged every second. */
  #fail(reason: string): "unreachable" {
    if (reason !== this.lastError) this.#o.log?.warn({ witness: this.#base, reason }, "witness unreachable");
    this.lastError = reason;
    return "unreachable";
  }
}
