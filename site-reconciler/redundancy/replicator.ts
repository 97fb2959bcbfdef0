import type { Logger } from "pino";
import { answerIsSigned } from "./json-http.js";
import type { ChangesAnswer, PeerAuth, SnapshotAnswer } from "./peer-link.js";
import type { ReplicationSink } from "./replication.js";

export interface ReplicatorOptions {
  /** The active's peer link, http://host:port. */
  peer: string;
  auth: PeerAuth;
  sink: ReplicationSink;
  log: Logger;
  /** After an error (the active unreachable, not active), the next try waits this long. */
  retryMs?: number;
  /** Per request, the long poll included. */
  timeoutMs?: number;
  /** Told after each batch applied and acknowledged: the position, and how many changes. */
  onApplied?: (seq: number, changes: number) => void;
}

export interface ReplicatorStatus {
  /** Position in the active's log, null before the first snapshot. */
  seq: number | null;
  origin: string | null;
  lastAppliedAt: number | null;
  lastError: string | null;
  snapshots: number;
}

/**
 * The standby's side of replication: follows the active's log over the peer link. A snapshot first (and again
 * whenever the active is another node or another epoch, or has pruned what this node needs), then batches of changes
 * applied in one transaction each and acknowledged. Stops when told; the position is in the store, so a restart
 * goes on from where the last committed batch left it.
 */
export class Replicator {
  readonly #o: ReplicatorOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  readonly status: ReplicatorStatus = { seq: null, origin: null, lastAppliedAt: null, lastError: null, snapshots: 0 };

  constructor(o: ReplicatorOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#step();
        this.status.lastError = null;
      } catch (e) {
        if (!this.#running) break;
        const why = e instanceof Error ? e.message : String(e);
        if (why !== this.status.lastError) this.#o.log.warn({ err: why }, "replication from the active paused");
        this.status.lastError = why;
        await sleep(this.#o.retryMs ?? 500, this.#abort.signal);
      }
    }
  }

  async #step(): Promise<void> {
    const at = this.#o.sink.position();
    if (!at) return this.#snapshot();
    const q = `/peer/v1/changes?from=${at.seq}&origin=${encodeURIComponent(`${at.origin.node}@${at.origin.epoch}`)}`;
    const r = await this.#request("GET", q);
    if (r.status === 410) return this.#snapshot();
    if (r.status !== 200) throw new Error(`the peer answered ${r.status}: ${r.body.error ?? ""}`.trim());
    const a = r.body as unknown as ChangesAnswer;
    const seq = this.#o.sink.apply(a.changes, a.origin);
    this.#record(seq, a.origin);
    if (a.changes.length) {
      await this.#ack(a.origin, seq);
      this.#o.onApplied?.(seq, a.changes.length);
    }
  }

  async #snapshot(): Promise<void> {
    const r = await this.#request("GET", "/peer/v1/snapshot");
    if (r.status !== 200) throw new Error(`the peer answered ${r.status}: ${r.body.error ?? ""}`.trim());
    const a = r.body as unknown as SnapshotAnswer;
    this.#o.sink.applySnapshot(a.snapshot, a.origin);
    this.status.snapshots++;
    this.#record(a.snapshot.seq, a.origin);
    this.#o.log.info({ origin: a.origin, seq: a.snapshot.seq }, "replication: started from the active's snapshot");
    await this.#ack(a.origin, a.snapshot.seq);
  }

  #record(seq: number, origin: { node: string; epoch: number }): void {
    this.status.seq = seq;
    this.status.origin = `${origin.node}@${origin.epoch}`;
    this.status.lastAppliedAt = Date.now();
  }

  async #ack(origin: { node: string; epoch: number }, seq: number): Promise<void> {
    const r = await this.#request("POST", "/peer/v1/ack", { origin, seq });
    if (r.status !== 200) throw new Error(`the peer refused the acknowledgement (${r.status})`);
  }

  async #request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }> {
    const text = body === undefined ? "" : JSON.stringify(body);
    // One controller per request rather than AbortSignal.any: on Node 20 composed signals stay referenced from the
    // long-lived one, and a standby makes several requests a second for months.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.#o.timeoutMs ?? 10_000);
    const onStop = () => ac.abort();
    this.#abort.signal.addEventListener("abort", onStop, { once: true });
    try {
      const signed = this.#o.auth.sign(method, path, text);
      const res = await fetch(new URL(path, this.#o.peer), {
        method,
        headers: { ...signed, ...(text ? { "content-type": "application/json" } : {}) },
        body: text || undefined,
        signal: ac.signal,
      });
      const answer = await res.text();
      // What is applied to the store must be the active's own answer to this request.
      if (!answerIsSigned(this.#o.auth, signed, res, answer))
        throw new Error(`an answer not signed by the peer (HTTP ${res.status})`);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(answer) as Record<string, unknown>;
      } catch {
        // Not JSON: the status says what happened.
      }
      return { status: res.status, body };
    } finally {
      clearTimeout(timer);
      this.#abort.signal.removeEventListener("abort", onStop);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
