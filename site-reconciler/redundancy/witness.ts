import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import { answerSigner, readBody, sendJson } from "./json-http.js";
import { decideLease, type LeaseRequest, type LeaseRow, leaseHeld } from "./lease.js";
import { NODE_NAME, type PeerAuthCheck } from "./peer-auth.js";

export const WITNESS_DB = "witness.db";
export const LEASE_PATH = "/witness/v1/lease";
export const STATE_PATH = "/witness/v1/state";
const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MIN_TTL_MS = 100;
const MAX_TTL_MS = 60_000;
const MAX_BODY = 16 * 1024;

/** What the witness needs of peer-auth: who signed a request (the sender must be the node it asks for). */
export interface WitnessAuth {
  check(method: string, path: string, headers: IncomingMessage["headers"], body: string): PeerAuthCheck;
  /** Signs the answer to a verified request (bound to its nonce), so a grant cannot be forged or replayed. */
  signAnswer?(requestNonce: string, status: number, body: string): Record<string, string>;
}

export interface WitnessServerOptions {
  host?: string;
  port: number;
  /** Directory of the witness's own SQLite file (witness.db). */
  stateDir: string;
  auth: WitnessAuth;
  log: Logger;
  /**
   * The witness's clock, ms. By default monotonic (performance.now() from the process's start), so a step of the
   * wall clock never ends a lease early.
   */
  now?: () => number;
}

/** The answer to POST /witness/v1/lease. */
export interface WitnessLeaseAnswer {
  site: string;
  granted: boolean;
  holder: string | null;
  epoch: number;
  /** The witness's clock, ISO (for people: the nodes count their lease on their own clocks). */
  expiresAt: string;
}

export interface WitnessStateAnswer {
  now: string;
  leases: { site: string; holder: string | null; epoch: number; expiresAt: string; held: boolean }[];
}

interface Row {
  site: string;
  holder: string | null;
  epoch: number;
  expires_at: number;
  ttl_ms: number;
}

/**
 * The witness (docs/redundancy.md): one lease per site in its own SQLite file, granted by the rule in lease.ts.
 * Every request is signed by a node of the pair; a grant is written (synchronously, WAL) before it is answered, so
 * a restarted witness never hands out a lower epoch. After a restart every lease that had a holder counts as
 * renewed at the start: the witness cannot know how long it was down, and its holder may still be acting.
 */
export class WitnessServer {
  readonly #o: WitnessServerOptions;
  readonly #server: Server;
  readonly #now: () => number;
  #db: Database.Database | undefined;

  constructor(o: WitnessServerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => performance.timeOrigin + performance.now());
    this.#server = createServer((req, res) => {
      void this.#handle(req, res).catch((e) => {
        o.log.warn({ err: e instanceof Error ? e.message : String(e) }, "witness request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      });
    });
  }

  async start(): Promise<number> {
    this.#db = openWitnessDb(this.#o.stateDir, this.#now());
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once("error", reject);
        this.#server.listen(this.#o.port, this.#o.host ?? "127.0.0.1", () => resolve());
      });
    } catch (e) {
      this.#db.close();
      this.#db = undefined;
      throw e;
    }
    const port = (this.#server.address() as AddressInfo).port;
    this.#o.log.info({ host: this.#o.host ?? "127.0.0.1", port }, "witness listening");
    return port;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#db?.close();
    this.#db = undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY);
    if (body === null) return sendJson(res, 413, { error: "body too large" });
    const url = new URL(req.url ?? "/", "http://witness");
    const route = `${req.method} ${url.pathname}`;
    // Liveness for monitoring, without the secret: it says nothing of the leases.
    if (route === "GET /healthz") return sendJson(res, 200, { ok: true });
    const auth = this.#o.auth.check(req.method ?? "", url.pathname + url.search, req.headers, body);
    if (!auth.ok) {
      this.#o.log.warn({ reason: auth.reason, route }, "witness request refused");
      return sendJson(res, 401, { error: "not signed by a node of the pair" });
    }
    const sign = answerSigner(req.headers, this.#o.auth);
    const answer = (r: ServerResponse, status: number, b: unknown) => sendJson(r, status, b, sign);
    const db = this.#db;
    if (!db) return answer(res, 503, { error: "the witness is stopping" });
    if (route === `POST ${LEASE_PATH}`) {
      const r = leaseRequest(body);
      if (typeof r === "string") return answer(res, 400, { error: r });
      if (r.node !== auth.node) return answer(res, 403, { error: "a node asks for a lease in its own name only" });
      return answer(res, 200, this.#lease(db, r.site, r));
    }
    if (route === `GET ${STATE_PATH}`) {
      const now = this.#now();
      const rows = db.prepare("SELECT * FROM leases ORDER BY site").all() as Row[];
      const state: WitnessStateAnswer = {
        now: iso(now),
        leases: rows.map((x) => {
          const held = leaseHeld(toLease(x), now);
          return { site: x.site, holder: held ? x.holder : null, epoch: x.epoch, expiresAt: iso(x.expires_at), held };
        }),
      };
      return answer(res, 200, state);
    }
    return answer(res, 404, { error: "no such witness request" });
  }

  #lease(db: Database.Database, site: string, req: LeaseRequest): WitnessLeaseAnswer {
    const now = this.#now();
    const { answer, before } = db
      .transaction(() => {
        const row = db.prepare("SELECT * FROM leases WHERE site = ?").get(site) as Row | undefined;
        const before = row ? toLease(row) : undefined;
        const d = decideLease(before, req, now);
        if (d.answer.granted && d.row)
          db.prepare(
            `INSERT INTO leases (site, holder, epoch, expires_at, ttl_ms) VALUES (@site, @holder, @epoch, @expiresAt, @ttlMs)
           ON CONFLICT (site) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch,
             expires_at = excluded.expires_at, ttl_ms = excluded.ttl_ms`,
          ).run({ site, ...d.row });
        return { answer: d.answer, before };
      })
      .immediate();
    const fields = { site, node: req.node, mode: req.mode, epoch: answer.epoch, holder: answer.holder };
    if (answer.granted && (before?.holder !== req.node || before.epoch !== answer.epoch))
      this.#o.log.info(fields, "lease granted");
    else if (!answer.granted) this.#o.log.debug(fields, "lease refused");
    return { site, ...answer, expiresAt: iso(answer.expiresAt) };
  }
}

/** Opens (creating) the witness's store; every lease with a holder counts as renewed at `now` (see above). */
export function openWitnessDb(stateDir: string, now: number): Database.Database {
  mkdirSync(stateDir, { recursive: true });
  const db = new Database(join(stateDir, WITNESS_DB));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.exec(`CREATE TABLE IF NOT EXISTS leases (
      site TEXT PRIMARY KEY,
      holder TEXT,
      epoch INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      ttl_ms INTEGER NOT NULL
    )`);
    db.prepare("UPDATE leases SET expires_at = ? + ttl_ms WHERE holder IS NOT NULL").run(Math.round(now));
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function toLease(r: Row): LeaseRow {
  return { holder: r.holder, epoch: r.epoch, expiresAt: r.expires_at, ttlMs: r.ttl_ms };
}

/** The request's fields checked, or why not (fixed texts: nothing of the request is echoed). */
function leaseRequest(body: string): (LeaseRequest & { site: string }) | string {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return "the body is not JSON";
  }
  if (!v || typeof v !== "object") return "the body is not an object";
  const { site, node, epoch, ttlMs } = v;
  const mode = v.mode ?? "acquire";
  if (typeof site !== "string" || !SITE_NAME.test(site)) return "site: a site name";
  if (typeof node !== "string" || !NODE_NAME.test(node)) return "node: a node name";
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) return "epoch: a whole number, 0 or more";
  if (!Number.isInteger(ttlMs) || (ttlMs as number) < MIN_TTL_MS || (ttlMs as number) > MAX_TTL_MS)
    return `ttlMs: a whole number of ms from ${MIN_TTL_MS} to ${MAX_TTL_MS}`;
  if (mode !== "acquire" && mode !== "renew") return "mode: acquire or renew";
  return { site, node, epoch: epoch as number, ttlMs: ttlMs as number, mode };
}

function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}
