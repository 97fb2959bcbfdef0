import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { answerSigner, readBody, sendJson } from "./json-http.js";
import type { ReplChange, ReplicationSource, ReplOrigin, ReplSnapshot } from "./replication.js";

/** How the peer link authenticates each request (peer-auth.ts: HMAC with the pair's shared secret). */
export interface PeerAuth {
  /** Headers that sign a request of this node. */
  sign(method: string, path: string, body: string): Record<string, string>;
  /** Whether a request came from the peer (checked before anything else is read from it). */
  verify(method: string, path: string, headers: IncomingMessage["headers"], body: string): boolean;
  /** Headers that sign an answer to a verified request (its nonce); without it answers go unsigned. */
  signAnswer?(requestNonce: string, status: number, body: string): Record<string, string>;
  /** Whether an answer to this node's request is the peer's; a client with it refuses unsigned answers. */
  verifyAnswer?(requestNonce: string, status: number, headers: Headers, body: string): boolean;
}

export type PeerRole = "active" | "standby" | "stepping-down";

/** What a node says of itself on every heartbeat and answer. */
export interface NodeState {
  node: string;
  role: PeerRole;
  epoch: number;
}

export interface PeerHeartbeat extends NodeState {
  /** When the sender sent it (its wall clock, ISO). */
  at: string;
  /** A standby: where it is in the active's log. */
  position?: { origin: ReplOrigin; seq: number } | null;
}

export interface PeerLinkServerOptions {
  host?: string;
  port: number;
  auth: PeerAuth;
  state: () => NodeState;
  /** The replication log of this node's store: served while this node is active. */
  source: ReplicationSource;
  /** The peer's heartbeat, as it arrives. */
  onHeartbeat: (hb: PeerHeartbeat) => void;
  /** The standby acknowledged everything up to seq; lagMs: from that change's commit here to now. */
  onAck?: (seq: number, lagMs: number | null) => void;
  log: Logger;
  /** Longest a changes request waits for a change (long poll). */
  waitMs?: number;
}

const MAX_BODY = 64 * 1024;
const WAIT_MS = 500;
const POLL_MS = 10;

/**
 * The peer link's server half, on every node: heartbeats both ways, and while this node is active its replication
 * log (a snapshot, then changes by position, long-polled, and the standby's acknowledgements). Every request is
 * signed by the peer; an unsigned one gets 401 and nothing else.
 */
export class PeerLinkServer {
  readonly #o: PeerLinkServerOptions;
  readonly #server: Server;
  #closing = false;

  constructor(o: PeerLinkServerOptions) {
    this.#o = o;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res).catch((e) => {
        o.log.warn({ err: e instanceof Error ? e.message : String(e) }, "peer link request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      });
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#o.port, this.#o.host ?? "127.0.0.1", () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#closing = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY);
    if (body === null) return sendJson(res, 413, { error: "body too large" });
    const url = new URL(req.url ?? "/", "http://peer");
    if (!this.#o.auth.verify(req.method ?? "", url.pathname + url.search, req.headers, body))
      return sendJson(res, 401, { error: "not signed by the peer" });
    // Everything answered to a signed request is signed back, bound to its nonce.
    const sign = answerSigner(req.headers, this.#o.auth);
    const answer = (r: ServerResponse, status: number, b: unknown) => sendJson(r, status, b, sign);
    const me = this.#o.state();
    const route = `${req.method} ${url.pathname}`;
    if (route === "POST /peer/v1/heartbeat") {
      const hb = parse<PeerHeartbeat>(body);
      if (!hb || typeof hb.node !== "string" || typeof hb.epoch !== "number")
        return answer(res, 400, { error: "a heartbeat needs node and epoch" });
      this.#o.onHeartbeat(hb);
      return answer(res, 200, { ...this.#o.state(), head: this.#o.source.head() });
    }
    if (route === "GET /peer/v1/snapshot" || route === "GET /peer/v1/changes" || route === "POST /peer/v1/ack") {
      if (me.role !== "active") return answer(res, 409, { error: "this node is not active", state: me });
      const origin: ReplOrigin = { node: me.node, epoch: me.epoch };
      if (route === "GET /peer/v1/snapshot")
        return answer(res, 200, { origin, snapshot: this.#o.source.snapshot() } satisfies SnapshotAnswer);
      if (route === "POST /peer/v1/ack") {
        const a = parse<{ origin: ReplOrigin; seq: number }>(body);
        if (!a || !sameOrigin(a.origin, origin) || !Number.isInteger(a.seq))
          return answer(res, 409, { error: "an acknowledgement of another log", state: me });
        const lag = this.#o.source.acknowledge(a.seq);
        this.#o.onAck?.(a.seq, lag);
        return answer(res, 200, { lagMs: lag });
      }
      const from = Number(url.searchParams.get("from"));
      if (!Number.isInteger(from) || from < 0) return answer(res, 400, { error: "from must be a log position" });
      const asked = url.searchParams.get("origin");
      if (asked !== `${origin.node}@${origin.epoch}`) return answer(res, 410, { gone: true, origin });
      const limit = Math.min(5_000, Math.max(1, Number(url.searchParams.get("limit")) || 1_000));
      const end = Date.now() + (this.#o.waitMs ?? WAIT_MS);
      for (;;) {
        const changes = this.#o.source.changesSince(from, limit);
        if (changes === "gone") return answer(res, 410, { gone: true, origin });
        if (changes.length || Date.now() >= end || this.#closing || this.#o.state().epoch !== origin.epoch)
          return answer(res, 200, { origin, changes } satisfies ChangesAnswer);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    }
    return answer(res, 404, { error: "no such peer request" });
  }
}

export interface SnapshotAnswer {
  origin: ReplOrigin;
  snapshot: ReplSnapshot;
}

export interface ChangesAnswer {
  origin: ReplOrigin;
  changes: ReplChange[];
}

export function sameOrigin(a: ReplOrigin | undefined | null, b: ReplOrigin | undefined | null): boolean {
  return !!a && !!b && a.node === b.node && a.epoch === b.epoch;
}

function parse<T>(body: string): T | null {
  try {
    return JSON.parse(body) as T;
  } catch {
    return null;
  }
}
