import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { type Counted, type NewRow, QueueStore } from "./queue-store.js";
import { RateLimiter, Waiter } from "./scheduler.js";
import {
  type Caps,
  DEFAULT_CAPS,
  DEFAULT_MAX_PER_SECOND,
  type Deliverer,
  type EnqueueInput,
  InvalidMessageError,
  type Message,
  type Outcome,
  type ParkedMatch,
  type ParkedMessage,
  StoreFullError,
  TARGET_KINDS,
  type TargetConfig,
  type TargetKind,
  type TargetRef,
  type TargetStatus,
} from "./types.js";

/** The logger subset the engine uses (pino's). Lines carry ids, targets and errors, never payloads or secrets. */
export interface SafLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EngineOptions {
  /** The site store's connection (Store.db): WAL, synchronous = FULL. */
  db: Database.Database;
  /** Per target kind; a kind without one keeps its messages queued. */
  deliverers: Partial<Record<TargetKind, Deliverer>>;
  caps?: Partial<Caps>;
  log?: SafLogger;
  /** The clock of enqueuedAt and attempt times (tests). */
  now?: () => Date;
}

/** Counters since the engine started, for metrics. */
export interface SafCounters {
  enqueued: number;
  delivered: number;
  /** Transient failures after which the message stayed queued for another attempt (the last one parks it). */
  failedAttempts: number;
  parked: number;
  retried: number;
  discarded: number;
  /** Enqueues refused by the caps. */
  refusedFull: number;
  /** Writes of delivery state that failed (disk full, a read-only file): retried, the messages stay queued. */
  storeErrors: number;
}

export interface OperatorResult {
  /** The ids acted on. */
  done: string[];
  /** Known, but queued rather than parked: left as they are. */
  notParked: string[];
  unknown: string[];
}

interface Count {
  queued: number;
  parked: number;
  bytes: number;
}

/** Messages per lane read at once: one short SELECT per window. */
const WINDOW = 64;
/**
 * Delivered messages are deleted in batches: one commit per this many, or per ACK_DELAY_MS. A crash redelivers at
 * most these (and the attempts in flight).
 */
const ACK_BATCH = 256;
const ACK_DELAY_MS = 20;
/** After a failed write of delivery state, lanes and deletions wait this long before trying again. */
const STORE_RETRY_MS = 1000;
/** Messages per transaction of an operator's retry or discard. */
const OPERATOR_CHUNK = 1000;
/** Message ids are sent as a header: a token's characters only. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const keyOf = (t: TargetRef) => `${t.kind}\u0000${t.name}`;
const show = (t: TargetRef) => `${t.kind} ${t.name}`;

/**
 * Store-and-forward (SPEC 8.3). Messages are rows of the site store, committed before enqueue returns; each target
 * is a lane delivering its queued messages one at a time in enqueue order, at most maxPerSecond attempts a second,
 * retrying a transient failure every retry.intervalMs and parking the message after retry.maxAttempts attempts or
 * at once on a permanent failure. A message is deleted only after its delivery, so one in flight when the process
 * dies is delivered again after the restart, with the same id (Idempotency-Key).
 */
export class StoreAndForward {
  readonly #q: QueueStore;
  readonly #deliverers: Partial<Record<TargetKind, Deliverer>>;
  readonly #log: SafLogger | undefined;
  readonly #now: () => Date;
  #caps: Caps;
  readonly #counts = new Map<string, Count & TargetRef>();
  #messages = 0;
  #bytes = 0;
  readonly #targets = new Map<string, TargetConfig>();
  readonly #lanes = new Map<string, Lane>();
  #pendingAcks: Message[] = [];
  #batch: { input: EnqueueInput; resolve: (id: string) => void; reject: (e: unknown) => void }[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  /** The last commit of deliveries failed. */
  #ackFailed = false;
  #stop: AbortController | null = null;
  readonly counters: SafCounters = {
    enqueued: 0,
    delivered: 0,
    failedAttempts: 0,
    parked: 0,
    retried: 0,
    discarded: 0,
    refusedFull: 0,
    storeErrors: 0,
  };

  constructor(o: EngineOptions) {
    this.#q = new QueueStore(o.db);
    this.#deliverers = o.deliverers;
    this.#log = o.log;
    this.#now = o.now ?? (() => new Date());
    this.#caps = { ...DEFAULT_CAPS, ...o.caps };
    this.recount();
  }

  /**
   * Takes the counts again from the store: after someone else wrote its queue (the standby of a pair, whose store
   * the active's replication fills). Only while stopped: a lane's counts are its own while it delivers.
   */
  recount(): void {
    if (this.#stop) throw new Error("store-and-forward: recount while delivering");
    this.#counts.clear();
    this.#messages = 0;
    this.#bytes = 0;
    for (const t of this.#q.totals()) {
      const c = this.#count(t);
      c[t.state] += t.count;
      c.bytes += t.bytes;
      this.#messages += t.count;
      this.#bytes += t.bytes;
    }
  }

  /** Site.storeAndForward; lowering a cap below what is stored refuses new messages, it never deletes any. */
  setCaps(caps: Partial<Caps>): void {
    this.#caps = { ...DEFAULT_CAPS, ...caps };
  }

  /**
   * The targets site.json defines (replaces the previous set). A lane uses its target's configuration as it is at
   * each attempt; messages of a target that is not defined are held until it is.
   */
  setTargets(targets: readonly TargetConfig[]): void {
    this.#targets.clear();
    for (const t of targets) this.#targets.set(keyOf(t), t);
    for (const lane of this.#lanes.values()) lane.notify();
    if (this.#stop) for (const t of targets) this.#lane(t);
  }

  /** Stores one message (one durable commit) and returns its id; throws StoreFullError or InvalidMessageError. */
  enqueue(input: EnqueueInput): string {
    return this.enqueueMany([input])[0]!;
  }

  /** Stores every message in one durable commit, or none of them (a full store, an invalid one). */
  enqueueMany(inputs: readonly EnqueueInput[]): string[] {
    const at = this.#now().toISOString();
    const rows = inputs.map((m) => this.#row(m, at));
    if (new Set(rows.map((r) => r.id)).size !== rows.length) throw new InvalidMessageError("duplicate message ids");
    const full = this.#full(
      rows.length,
      rows.reduce((n, r) => n + r.bytes, 0),
    );
    if (full) {
      this.counters.refusedFull += rows.length;
      const what = rows.length === 1 ? `the message to ${show(inputs[0]!.target)} was` : `${rows.length} messages were`;
      throw new StoreFullError(`${full}: ${what} not stored`);
    }
    this.#insert(rows);
    return rows.map((r) => r.id);
  }

  /**
   * Group commit: the message is committed with every other one submitted in the same turn of the event loop, in
   * one durable transaction, and the promise resolves with its id after that commit (rejects as enqueue throws).
   * Callers that each wait for their own message (script runs on several instances) share one fsync.
   */
  submit(input: EnqueueInput): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#batch.push({ input, resolve, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#commitBatch());
    });
  }

  #commitBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    const at = this.#now().toISOString();
    const rows: NewRow[] = [];
    const taken: typeof batch = [];
    const ids = new Set<string>();
    let bytes = 0;
    for (const b of batch) {
      let row: NewRow;
      try {
        row = this.#row(b.input, at);
      } catch (e) {
        b.reject(e);
        continue;
      }
      if (ids.has(row.id)) {
        b.reject(new InvalidMessageError("a message with this id is already stored"));
        continue;
      }
      // Caps in submission order: the messages that fit are stored, the rest refused, none dropped unseen.
      const full = this.#full(rows.length + 1, bytes + row.bytes);
      if (full) {
        this.counters.refusedFull++;
        b.reject(new StoreFullError(`${full}: the message to ${show(b.input.target)} was not stored`));
        continue;
      }
      ids.add(row.id);
      bytes += row.bytes;
      rows.push(row);
      taken.push(b);
    }
    if (!rows.length) return;
    try {
      this.#insert(rows);
    } catch (e) {
      for (const b of taken) b.reject(e);
      return;
    }
    for (const [i, b] of taken.entries()) b.resolve(rows[i]!.id);
  }

  /** Why `messages` more messages of `bytes` bytes do not fit, or null when they do. */
  #full(messages: number, bytes: number): string | null {
    if (this.#messages + messages <= this.#caps.maxMessages && this.#bytes + bytes <= this.#caps.maxBytes) return null;
    return (
      `store-and-forward is full (${this.#messages} of ${this.#caps.maxMessages} messages, ` +
      `${mib(this.#bytes)} of ${mib(this.#caps.maxBytes)} MiB)`
    );
  }

  /** One durable commit of rows, then the counts and the lanes. */
  #insert(rows: NewRow[]): void {
    try {
      this.#q.insert(rows);
    } catch (e) {
      if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE")
        throw new InvalidMessageError("a message with this id is already stored");
      throw e;
    }
    for (const r of rows) {
      const c = this.#count({ kind: r.kind, name: r.target });
      c.queued++;
      c.bytes += r.bytes;
      this.#messages++;
      this.#bytes += r.bytes;
      this.counters.enqueued++;
      if (this.#stop) this.#lane({ kind: r.kind, name: r.target }).notify();
    }
  }

  #row(m: EnqueueInput, at: string): NewRow {
    const kind = m.target?.kind;
    if (!TARGET_KINDS.includes(kind)) throw new InvalidMessageError(`unknown target kind ${JSON.stringify(kind)}`);
    if (typeof m.target.name !== "string" || m.target.name === "")
      throw new InvalidMessageError("a message needs a target name");
    if (typeof m.label !== "string") throw new InvalidMessageError("a message needs a label");
    const id = m.id ?? randomUUID();
    if (!ID.test(id))
      throw new InvalidMessageError(`message id ${JSON.stringify(id)} is not a token of 1-128 characters`);
    let payload: string | undefined;
    try {
      payload = JSON.stringify(m.payload);
    } catch (e) {
      throw new InvalidMessageError(`the payload is not JSON: ${(e as Error).message}`);
    }
    if (payload === undefined) throw new InvalidMessageError("a message needs a payload");
    this.#deliverers[kind]?.validate(m.payload);
    const bytes = Buffer.byteLength(payload);
    if (bytes > this.#caps.maxMessageBytes)
      throw new InvalidMessageError(
        `the message is ${bytes} bytes, over the ${this.#caps.maxMessageBytes} a message may hold`,
      );
    return {
      id,
      kind,
      target: m.target.name,
      label: m.label,
      instance: m.instance ?? null,
      payload,
      bytes,
      enqueuedAt: at,
    };
  }

  /** Starts delivering: a lane per target with queued messages or a definition. */
  start(): void {
    if (this.#stop) return;
    this.#stop = new AbortController();
    for (const c of this.#counts.values()) if (c.queued > 0) this.#lane(c);
    for (const t of this.#targets.values()) this.#lane(t);
  }

  /** Stops every lane (attempts in flight are aborted and stay queued) and commits the deliveries seen. */
  async stop(): Promise<void> {
    const stop = this.#stop;
    if (!stop) return;
    stop.abort();
    await Promise.all([...this.#lanes.values()].map((l) => l.done));
    this.#lanes.clear();
    this.#stop = null;
    // What cannot be committed now stays queued in the store, and is delivered again after the restart.
    if (!this.#flushAcks()) this.#pendingAcks = [];
  }

  /** Queue and parked state per target: every target with messages, and every defined one. */
  status(): TargetStatus[] {
    const keys = new Set([...this.#counts.keys(), ...this.#targets.keys()]);
    const out: TargetStatus[] = [];
    for (const k of [...keys].sort()) {
      const c = this.#counts.get(k);
      const t = c ?? this.#targets.get(k)!;
      const queued = c?.queued ?? 0;
      out.push({
        kind: t.kind,
        name: t.name,
        queued,
        parked: c?.parked ?? 0,
        oldestQueuedAt: queued > 0 ? this.#q.oldestQueued(t) : null,
        bytes: c?.bytes ?? 0,
        configured: this.#targets.has(k) && this.#deliverers[t.kind] !== undefined,
      });
    }
    return out;
  }

  /** Everything stored, against the caps. */
  totals(): { messages: number; bytes: number; caps: Caps } {
    return { messages: this.#messages, bytes: this.#bytes, caps: { ...this.#caps } };
  }

  /** Parked messages, oldest first (never their payloads). */
  parked(opts: { limit?: number; target?: TargetRef } = {}): ParkedMessage[] {
    const limit = opts.limit ?? 1000;
    // Per target through the lane index, then merged: never a scan of a table full of queued messages.
    const targets = opts.target ? [opts.target] : [...this.#counts.values()].filter((c) => c.parked > 0);
    const rows = targets.flatMap((t) => this.#q.parked(limit, t));
    return rows
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(({ seq: _, ...m }) => m);
  }

  /** Ids of the parked messages a ParkedMessages document's `match` selects, for retry or discard. */
  matchParked(match: ParkedMatch): string[] {
    let parkedBefore: string | null = null;
    if (match.parkedBefore != null) {
      const t = Date.parse(match.parkedBefore);
      if (Number.isNaN(t))
        throw new InvalidMessageError(`parkedBefore ${JSON.stringify(match.parkedBefore)} is not a time`);
      parkedBefore = new Date(t).toISOString();
    }
    return this.#q.matchParked({
      target: match.target ?? null,
      label: match.label ?? null,
      instance: match.instance ?? null,
      parkedBefore,
    });
  }

  /**
   * Operator: parked messages back to their lanes with a fresh attempt count, ahead of what was enqueued later. Done
   * in transactions of OPERATOR_CHUNK messages with the event loop free in between, so "all" of a full store never
   * holds the site for long; a crash part-way leaves some retried and the rest parked, and running it again finishes.
   */
  retry(ids: readonly string[] | "all"): Promise<OperatorResult> {
    return this.#operate(ids, "retry");
  }

  /** Operator: deletes parked messages, in chunks like retry. Queued ones are never discarded. */
  discard(ids: readonly string[] | "all"): Promise<OperatorResult> {
    return this.#operate(ids, "discard");
  }

  async #operate(ids: readonly string[] | "all", action: "retry" | "discard"): Promise<OperatorResult> {
    const out: OperatorResult = { done: [], notParked: [], unknown: [] };
    const next = this.#chunks(ids, out);
    for (let first = true; ; first = false) {
      if (!first) await new Promise((r) => setImmediate(r));
      // Read and write of one chunk in one synchronous step: nothing can change those messages in between.
      const parked = next();
      if (!parked) break;
      const chunk = parked.map((m) => m.id);
      const n = action === "retry" ? this.#q.requeue(chunk) : this.#q.discard(chunk);
      if (n !== chunk.length) throw new Error(`${action} changed ${n} of ${chunk.length} messages`);
      for (const m of parked) {
        if (action === "discard") this.#forget(m, "parked");
        else {
          const c = this.#count(m);
          c.parked--;
          c.queued++;
          if (this.#stop) this.#lane(m).requeued();
          else this.#lanes.get(keyOf(m))?.requeued();
        }
      }
      this.counters[action === "retry" ? "retried" : "discarded"] += n;
      out.done.push(...chunk);
    }
    if (out.done.length)
      this.#log?.info(
        { count: out.done.length, ids: out.done.slice(0, 100) },
        `parked messages ${action === "retry" ? "retried" : "discarded"}`,
      );
    return out;
  }

  /**
   * A reader of the parked messages to act on, OPERATOR_CHUNK at a time (null when done); ids that are queued or
   * unknown go into out. "all" pages each target through the lane index.
   */
  #chunks(ids: readonly string[] | "all", out: OperatorResult): () => Counted[] | null {
    if (ids === "all") {
      const targets = [...this.#counts.values()]
        .filter((c) => c.parked > 0)
        .map((c) => ({ kind: c.kind, name: c.name }));
      let after = 0;
      return () => {
        for (;;) {
          const t = targets[0];
          if (!t) return null;
          const page = this.#q.parkedPage(t, after, OPERATOR_CHUNK);
          if (page.length === OPERATOR_CHUNK) after = page.at(-1)!.seq;
          else {
            targets.shift();
            after = 0;
          }
          if (page.length) return page;
        }
      };
    }
    const uniq = [...new Set(ids)];
    let i = 0;
    return () => {
      while (i < uniq.length) {
        const part = uniq.slice(i, (i += OPERATOR_CHUNK));
        const found = new Map(this.#q.byIds(part).map((m) => [m.id, m]));
        const parked: Counted[] = [];
        for (const id of part) {
          const m = found.get(id);
          if (!m) out.unknown.push(id);
          else if (m.state === "queued") out.notParked.push(id);
          else parked.push(m);
        }
        if (parked.length) return parked;
      }
      return null;
    };
  }

  #count(t: TargetRef): Count & TargetRef {
    const k = keyOf(t);
    let c = this.#counts.get(k);
    if (!c) this.#counts.set(k, (c = { kind: t.kind, name: t.name, queued: 0, parked: 0, bytes: 0 }));
    return c;
  }

  #forget(m: { kind: TargetKind; name: string; bytes: number }, state: "queued" | "parked"): void {
    const k = keyOf(m);
    const c = this.#counts.get(k)!;
    c[state]--;
    c.bytes -= m.bytes;
    this.#messages--;
    this.#bytes -= m.bytes;
    if (c.queued === 0 && c.parked === 0) this.#counts.delete(k);
  }

  #lane(t: TargetRef): Lane {
    const k = keyOf(t);
    let lane = this.#lanes.get(k);
    if (!lane) {
      lane = new Lane(this, { kind: t.kind, name: t.name }, this.#stop!.signal);
      this.#lanes.set(k, lane);
    }
    return lane;
  }

  // The lanes' side of the engine.

  /** @internal */ config(t: TargetRef): { target: TargetConfig; deliverer: Deliverer } | null {
    const target = this.#targets.get(keyOf(t));
    const deliverer = this.#deliverers[t.kind];
    return target && deliverer ? { target, deliverer } : null;
  }

  /** @internal */ head(t: TargetRef, after: number): Message[] {
    return this.#q.head(t, WINDOW, after);
  }

  /** @internal A delivery seen; its deletion is committed with the next batch (a crash before that redelivers it). */
  delivered(m: Message): void {
    this.counters.delivered++;
    this.#pendingAcks.push(m);
    if (this.#pendingAcks.length >= ACK_BATCH) this.#flushAcks();
    else this.#ackTimer ??= setTimeout(() => this.#flushAcks(), ACK_DELAY_MS);
  }

  /** @internal Whether every delivery seen is committed; false when the store refused the last try. */
  flushAcks(): boolean {
    return this.#flushAcks();
  }

  /** @internal Deliveries pile up uncommitted: the lanes pause rather than send what a restart would send again. */
  backedUp(): boolean {
    return this.#pendingAcks.length >= ACK_BATCH && this.#ackFailed;
  }

  /** Never throws: it runs from a timer too. A failed commit keeps the deliveries pending and tries again later. */
  #flushAcks(): boolean {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const acks = this.#pendingAcks;
    if (!acks.length) return true;
    this.#pendingAcks = [];
    try {
      this.#q.delivered(acks.map((m) => m.seq));
    } catch (e) {
      this.#pendingAcks = acks.concat(this.#pendingAcks);
      this.#ackFailed = true;
      this.storeError(e, "committing deliveries");
      if (this.#stop) this.#ackTimer = setTimeout(() => this.#flushAcks(), STORE_RETRY_MS);
      return false;
    }
    this.#ackFailed = false;
    for (const m of acks) this.#forget({ kind: m.kind, name: m.target, bytes: m.bytes }, "queued");
    return true;
  }

  /** @internal A write of delivery state failed: counted and logged; the caller retries after STORE_RETRY_MS. */
  storeError(e: unknown, doing: string): void {
    this.counters.storeErrors++;
    this.#log?.warn({ error: e instanceof Error ? e.message : String(e) }, `store-and-forward: ${doing} failed`);
  }

  /** @internal */ failed(m: Message, error: string): void {
    this.#q.failed(m.seq, m.attempts, error, this.#now().toISOString());
    this.counters.failedAttempts++;
  }

  /** @internal */ park(m: Message, error: string, reason: "permanent" | "max-attempts"): void {
    this.#q.park(m.seq, m.attempts, error, this.#now().toISOString());
    const c = this.#count({ kind: m.kind, name: m.target });
    c.queued--;
    c.parked++;
    this.counters.parked++;
    this.#log?.warn(
      { id: m.id, kind: m.kind, target: m.target, label: m.label, attempts: m.attempts, reason, error },
      "message parked",
    );
  }
}

/** A deliverer that throws has failed transiently: the message is never lost to a bug in one. */
async function attempt(d: Deliverer, m: Message, t: TargetConfig, stop: AbortSignal): Promise<Outcome> {
  try {
    return await d.deliver(m, t, stop);
  } catch (e) {
    return { ok: false, transient: true, error: e instanceof Error ? e.message : String(e) };
  }
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** One target's FIFO: its head message is the only one in flight. */
class Lane {
  readonly done: Promise<void>;
  readonly #waiter = new Waiter();
  #idle = false;
  #window: Message[] = [];
  #lastSeq = 0;
  #reread = false;
  #rate: RateLimiter | null = null;
  #ratePerSecond = 0;

  constructor(
    private readonly engine: StoreAndForward,
    private readonly target: TargetRef,
    private readonly stop: AbortSignal,
  ) {
    this.done = this.#run();
  }

  /** New messages or a new configuration: wakes an idle lane (never one waiting out a retry interval). */
  notify(): void {
    if (this.#idle) this.#waiter.wake();
  }

  /** Parked messages came back: they sit before the window, which is read again from the start. */
  requeued(): void {
    this.#reread = true;
    this.notify();
  }

  async #idleWait(): Promise<void> {
    this.#idle = true;
    await this.#waiter.wait(Number.POSITIVE_INFINITY, this.stop);
    this.#idle = false;
  }

  async #run(): Promise<void> {
    // Lanes start from the event loop, never inside the caller's enqueue.
    await Promise.resolve();
    while (!this.stop.aborted) {
      try {
        await this.#step();
      } catch (e) {
        // A read or write of the store failed (disk full, I/O error): start again from what the store holds.
        this.engine.storeError(e, `delivering to ${this.target.kind} ${this.target.name}`);
        this.#reread = true;
        await this.#waiter.wait(STORE_RETRY_MS, this.stop);
      }
    }
  }

  /** One turn of the lane: a wait, or one attempt and what follows from it. Store errors are thrown. */
  async #step(): Promise<void> {
    if (this.engine.backedUp()) {
      await this.#waiter.wait(STORE_RETRY_MS, this.stop);
      return;
    }
    const cfg = this.engine.config(this.target);
    if (!cfg) {
      await this.#idleWait();
      return;
    }
    if (this.#reread) {
      // Deliveries not yet committed are still queued rows: commit them before reading from the start.
      if (!this.engine.flushAcks()) throw new Error("deliveries could not be committed");
      this.#reread = false;
      this.#window = [];
      this.#lastSeq = 0;
    }
    if (!this.#window.length) {
      this.#window = this.engine.head(this.target, this.#lastSeq);
      const last = this.#window.at(-1);
      if (!last) {
        await this.#idleWait();
        return;
      }
      this.#lastSeq = last.seq;
    }
    const m = this.#window[0]!;
    const rate = this.#limiter(cfg.target.maxPerSecond ?? DEFAULT_MAX_PER_SECOND);
    const wait = rate.wait(performance.now());
    if (wait > 0) {
      await this.#waiter.wait(wait, this.stop);
      return;
    }
    rate.take(performance.now());
    const out = await attempt(cfg.deliverer, m, cfg.target, this.stop);
    // Stopped mid-attempt: the message stays queued as it was, and is sent again after the restart.
    if (this.stop.aborted) return;
    if (out.ok) {
      this.#window.shift();
      this.engine.delivered(m);
      return;
    }
    m.attempts++;
    if (!out.transient) {
      this.#window.shift();
      this.engine.park(m, out.error, "permanent");
    } else if (m.attempts >= cfg.target.retry.maxAttempts) {
      this.#window.shift();
      this.engine.park(m, out.error, "max-attempts");
    } else {
      this.engine.failed(m, out.error);
      await this.#waiter.wait(cfg.target.retry.intervalMs, this.stop);
    }
  }

  #limiter(perSecond: number): RateLimiter {
    if (!this.#rate || perSecond !== this.#ratePerSecond) {
      this.#rate = new RateLimiter(perSecond, performance.now());
      this.#ratePerSecond = perSecond;
    }
    return this.#rate;
  }
}
