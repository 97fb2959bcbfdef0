import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { PeerAuth } from "./peer-link.js";

export const NODE_HEADER = "x-scadalink-node";
export const TIMESTAMP_HEADER = "x-scadalink-timestamp";
export const NONCE_HEADER = "x-scadalink-nonce";
export const SIGNATURE_HEADER = "x-scadalink-signature";

/** Node names go into the signed text line by line, so they are kept to a plain alphabet. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NONCE = /^[0-9a-f]{32}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
/** Shorter secrets are too easy to guess offline from one captured request. */
export const MIN_SECRET_BYTES = 16;

export interface HmacPeerAuthOptions {
  /** The pair's shared secret (SPEC 6.6, by name): both nodes and the witness hold it. */
  secret: Buffer;
  /** This node's name: it signs as this name and refuses requests that claim it. */
  node: string;
  /** How far a request's timestamp may be from this node's clock (default 30 s). */
  skewMs?: number;
  /** The clock (ms since 1970); tests pass their own. */
  now?: () => number;
  /** When given, only these senders are accepted (the pair's two names, at the witness). */
  peers?: readonly string[];
}

/** Why a request was refused: short, fixed texts (never a header's value, never the secret). */
export type PeerAuthRefusal =
  | "unsigned"
  | "malformed"
  | "own name"
  | "unknown node"
  | "stale timestamp"
  | "bad signature"
  | "replayed nonce";

export type PeerAuthCheck = { ok: true; node: string } | { ok: false; reason: PeerAuthRefusal };

/**
 * HMAC-SHA256 request signing for the peer link and the witness. The signature covers the method, path and query,
 * timestamp, nonce, sender and the body's SHA-256, so no part of a request can be changed or moved to another
 * endpoint; the timestamp bounds how long a captured request is worth anything, and the nonces seen within that
 * window make it worth nothing a second time.
 */
export class HmacPeerAuth implements PeerAuth {
  readonly #key: Buffer;
  readonly #node: string;
  readonly #skewMs: number;
  readonly #now: () => number;
  readonly #peers: ReadonlySet<string> | undefined;
  /** Nonces accepted, by sender, with the time after which their timestamp is refused anyway. */
  readonly #seen = new Map<string, number>();
  #lastSweep = 0;

  constructor(o: HmacPeerAuthOptions) {
    if (o.secret.length < MIN_SECRET_BYTES)
      throw new Error(`the peer secret must have at least ${MIN_SECRET_BYTES} bytes`);
    if (!NODE_NAME.test(o.node)) throw new Error(`node name ${JSON.stringify(o.node)}: letters, digits, . _ -`);
    // A copy: the caller may wipe or reuse its buffer.
    this.#key = Buffer.from(o.secret);
    this.#node = o.node;
    this.#skewMs = o.skewMs ?? 30_000;
    this.#now = o.now ?? Date.now;
    this.#peers = o.peers ? new Set(o.peers) : undefined;
  }

  get node(): string {
    return this.#node;
  }

  sign(method: string, path: string, body: string): Record<string, string> {
    const timestamp = String(Math.round(this.#now()));
    const nonce = randomBytes(16).toString("hex");
    return {
      [NODE_HEADER]: this.#node,
      [TIMESTAMP_HEADER]: timestamp,
      [NONCE_HEADER]: nonce,
      [SIGNATURE_HEADER]: this.#mac(method, path, timestamp, nonce, this.#node, body).toString("hex"),
    };
  }

  verify(method: string, path: string, headers: IncomingHttpHeaders, body: string): boolean {
    return this.check(method, path, headers, body).ok;
  }

  /** verify, saying who sent it or why it was refused. A nonce is remembered only once the signature is good. */
  check(method: string, path: string, headers: IncomingHttpHeaders, body: string): PeerAuthCheck {
    const node = one(headers[NODE_HEADER]);
    const timestamp = one(headers[TIMESTAMP_HEADER]);
    const nonce = one(headers[NONCE_HEADER]);
    const signature = one(headers[SIGNATURE_HEADER]);
    if (node === undefined || timestamp === undefined || nonce === undefined || signature === undefined)
      return { ok: false, reason: "unsigned" };
    if (!NODE_NAME.test(node) || !/^\d{1,16}$/.test(timestamp) || !NONCE.test(nonce) || !SIGNATURE.test(signature))
      return { ok: false, reason: "malformed" };
    if (node === this.#node) return { ok: false, reason: "own name" };
    if (this.#peers && !this.#peers.has(node)) return { ok: false, reason: "unknown node" };
    const now = this.#now();
    const at = Number(timestamp);
    if (Math.abs(now - at) > this.#skewMs) return { ok: false, reason: "stale timestamp" };
    const want = this.#mac(method, path, timestamp, nonce, node, body);
    if (!timingSafeEqual(Buffer.from(signature, "hex"), want)) return { ok: false, reason: "bad signature" };
    this.#sweep(now);
    const key = `${node} ${nonce}`;
    if (this.#seen.has(key)) return { ok: false, reason: "replayed nonce" };
    this.#seen.set(key, at + this.#skewMs);
    return { ok: true, node };
  }

  /**
   * Headers that sign an answer to a request whose nonce was `requestNonce`: the answer's status and body, bound to
   * that one request, so an answer (a lease grant, a heartbeat) can be neither forged nor replayed to another.
   */
  signAnswer(requestNonce: string, status: number, body: string): Record<string, string> {
    return {
      [NODE_HEADER]: this.#node,
      [SIGNATURE_HEADER]: this.#answerMac(requestNonce, status, this.#node, body).toString("hex"),
    };
  }

  /** Whether an answer to this node's request (its nonce) came, unchanged, from another holder of the secret. */
  verifyAnswer(requestNonce: string, status: number, headers: Headers, body: string): boolean {
    const node = headers.get(NODE_HEADER);
    const signature = headers.get(SIGNATURE_HEADER);
    if (!node || !signature || !NODE_NAME.test(node) || !SIGNATURE.test(signature) || node === this.#node) return false;
    if (this.#peers && !this.#peers.has(node)) return false;
    return timingSafeEqual(Buffer.from(signature, "hex"), this.#answerMac(requestNonce, status, node, body));
  }

  #answerMac(nonce: string, status: number, node: string, body: string): Buffer {
    const bodyHash = createHash("sha256").update(body, "utf8").digest("hex");
    const text = ["scadalink-peer-v1-answer", String(status), nonce, node, bodyHash].join("\n");
    return createHmac("sha256", this.#key).update(text, "utf8").digest();
  }

  /** Nonces remembered (for tests: memory stays bounded by the window). */
  get remembered(): number {
    return this.#seen.size;
  }

  #mac(method: string, path: string, timestamp: string, nonce: string, node: string, body: string): Buffer {
    const bodyHash = createHash("sha256").update(body, "utf8").digest("hex");
    const text = ["scadalink-peer-v1", method.toUpperCase(), path, timestamp, nonce, node, bodyHash].join("\n");
    return createHmac("sha256", this.#key).update(text, "utf8").digest();
  }

  /** Drops nonces whose timestamp is out of the window anyway: a replay of them fails on the timestamp. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#skewMs / 10 && this.#seen.size < 10_000) return;
    this.#lastSweep = now;
    for (const [key, until] of this.#seen) if (until < now) this.#seen.delete(key);
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}
