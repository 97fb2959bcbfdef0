import type Database from "better-sqlite3";
import type { Message, ParkedMessage, TargetKind, TargetRef } from "./types.js";

/** A row to insert: everything but the seq SQLite assigns. */
export interface NewRow {
  id: string;
  kind: TargetKind;
  target: string;
  label: string;
  instance: string | null;
  payload: string;
  bytes: number;
  enqueuedAt: string;
}

/** A message's place in the counts: which target, which state, how many bytes. */
export interface Counted extends TargetRef {
  id: string;
  state: "queued" | "parked";
  bytes: number;
}

export interface Totals extends TargetRef {
  state: "queued" | "parked";
  count: number;
  bytes: number;
}

/** Ids per statement: below SQLite's 32,766 variables, and small enough to keep each call short. */
const CHUNK = 500;

/**
 * The saf_messages table (migration 4 of the site store). Each method is one short statement or one small
 * transaction, so no call holds the site's event loop for long; the engine keeps the counts.
 */
export class QueueStore {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #s(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) this.#stmts.set(sql, (s = this.#db.prepare(sql)));
    return s;
  }

  /** Inserts every row in one transaction: all or none are stored. */
  insert(rows: readonly NewRow[]): void {
    const ins = this.#s(
      "INSERT INTO saf_messages (id, kind, target, label, instance, payload, bytes, state, enqueued_at) VALUES (@id, @kind, @target, @label, @instance, @payload, @bytes, 'queued', @enqueuedAt)",
    );
    if (rows.length === 1) ins.run(rows[0]);
    else
      this.#db.transaction(() => {
        for (const r of rows) ins.run(r);
      })();
  }

  /** The next queued messages of a target in FIFO order, after seq `after`. */
  head(t: TargetRef, limit: number, after = 0): Message[] {
    const rows = this.#s(
      "SELECT seq, id, kind, target, label, payload, bytes, attempts, enqueued_at AS enqueuedAt FROM saf_messages WHERE kind = ? AND target = ? AND state = 'queued' AND seq > ? ORDER BY seq LIMIT ?",
    ).all(t.kind, t.name, after, limit) as (Omit<Message, "payload"> & { payload: string })[];
    return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as unknown }));
  }

  /** Deletes delivered messages (one transaction); returns how many were still there. */
  delivered(seqs: readonly number[]): number {
    const del = this.#s("DELETE FROM saf_messages WHERE seq = ? AND state = 'queued'");
    return this.#db.transaction(() => seqs.reduce((n, s) => n + del.run(s).changes, 0))();
  }

  /** A transient failure: the attempt is counted, the message stays at the head of its lane. */
  failed(seq: number, attempts: number, error: string, at: string): void {
    this.#s(
      "UPDATE saf_messages SET attempts = ?, last_error = ?, last_attempt_at = ? WHERE seq = ? AND state = 'queued'",
    ).run(attempts, error, at, seq);
  }

  park(seq: number, attempts: number, error: string, at: string): void {
    this.#s(
      "UPDATE saf_messages SET state = 'parked', attempts = ?, last_error = ?, last_attempt_at = ?, parked_at = ? WHERE seq = ? AND state = 'queued'",
    ).run(attempts, error, at, at, seq);
  }

  /** Counts and bytes per target and state: one pass, at open only. */
  totals(): Totals[] {
    return this.#s(
      "SELECT kind, target AS name, state, count(*) AS count, total(bytes) AS bytes FROM saf_messages GROUP BY kind, target, state",
    ).all() as Totals[];
  }

  oldestQueued(t: TargetRef): string | null {
    const row = this.#s(
      "SELECT enqueued_at AS at FROM saf_messages WHERE kind = ? AND target = ? AND state = 'queued' ORDER BY seq LIMIT 1",
    ).get(t.kind, t.name) as { at: string } | undefined;
    return row?.at ?? null;
  }

  /** A target's parked messages, oldest first, at most limit, never their payloads (through the lane index). */
  parked(limit: number, target: TargetRef): (ParkedMessage & { seq: number })[] {
    return this.#s(
      "SELECT seq, id, kind, target AS name, label, instance, attempts, last_error AS lastError, enqueued_at AS enqueuedAt, last_attempt_at AS lastAttemptAt, parked_at AS parkedAt FROM saf_messages WHERE kind = ? AND target = ? AND state = 'parked' ORDER BY seq LIMIT ?",
    ).all(target.kind, target.name, limit) as (ParkedMessage & { seq: number })[];
  }

  /** The messages with these ids, whatever their state. */
  byIds(ids: readonly string[]): Counted[] {
    const out: Counted[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      out.push(
        ...(this.#db
          .prepare(
            `SELECT id, kind, target AS name, state, bytes FROM saf_messages WHERE id IN (${part.map(() => "?").join(",")})`,
          )
          .all(...part) as Counted[]),
      );
    }
    return out;
  }

  /** Ids of the parked messages matching every given field, oldest first. parkedBefore: an ISO UTC time. */
  matchParked(m: {
    target: string | null;
    label: string | null;
    instance: string | null;
    parkedBefore: string | null;
  }): string[] {
    return (
      this.#s(
        "SELECT id FROM saf_messages WHERE state = 'parked' AND (@target IS NULL OR target = @target) AND (@label IS NULL OR label = @label) AND (@instance IS NULL OR instance = @instance) AND (@parkedBefore IS NULL OR parked_at < @parkedBefore) ORDER BY seq",
      ).all(m) as { id: string }[]
    ).map((r) => r.id);
  }

  /** The next parked messages of a target after seq `after`, in seq order (the lane index pages them). */
  parkedPage(t: TargetRef, after: number, limit: number): (Counted & { seq: number })[] {
    return this.#s(
      "SELECT seq, id, kind, target AS name, state, bytes FROM saf_messages WHERE kind = ? AND target = ? AND state = 'parked' AND seq > ? ORDER BY seq LIMIT ?",
    ).all(t.kind, t.name, after, limit) as (Counted & { seq: number })[];
  }

  /** Parked → queued with a fresh attempt count; keeps its seq, so it is next in its lane. One transaction. */
  requeue(ids: readonly string[]): number {
    return this.#chunked(
      ids,
      (marks) =>
        `UPDATE saf_messages SET state = 'queued', attempts = 0, parked_at = NULL WHERE state = 'parked' AND id IN (${marks})`,
    );
  }

  /** Deletes parked messages; one transaction. */
  discard(ids: readonly string[]): number {
    return this.#chunked(ids, (marks) => `DELETE FROM saf_messages WHERE state = 'parked' AND id IN (${marks})`);
  }

  /** One statement per CHUNK ids (prepared once per chunk size), all in one transaction; the rows changed. */
  #chunked(ids: readonly string[], sql: (marks: string) => string): number {
    return this.#db.transaction(() => {
      let n = 0;
      for (let i = 0; i < ids.length; i += CHUNK) {
        const part = ids.slice(i, i + CHUNK);
        n += this.#s(sql(part.map(() => "?").join(","))).run(...part).changes;
      }
      return n;
    })();
  }
}
