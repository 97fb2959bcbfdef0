import type Database from "better-sqlite3";
import { REPLICATED } from "../store/migrations.js";

/** One committed change of a replicated table, as the capture triggers wrote it (migration 6). */
export interface ReplChange {
  seq: number;
  tbl: string;
  op: "upsert" | "delete";
  /** upsert: the whole new row; delete: the key columns. */
  row: Record<string, unknown>;
  /** When it committed on the active (ISO, ms). */
  at: string;
}

/** The replicated tables as of one log position: what a standby starts from. */
export interface ReplSnapshot {
  /** The log position the snapshot includes: the standby reads on from here. */
  seq: number;
  tables: Record<string, Record<string, unknown>[]>;
}

/** Who a standby's log position refers to: a position in one active's log means nothing in another's. */
export interface ReplOrigin {
  node: string;
  epoch: number;
}

/** Events a snapshot carries: the newest, enough for the status branch and `site inspect` of a new active. */
export const SNAPSHOT_EVENTS = 5_000;

const META_CAPTURE = "replCapture";
const META_PRUNED = "replPrunedThrough";

/**
 * The active's side: capture on or off, the log read by position, a snapshot in one read transaction, and pruning of
 * what the standby acknowledged. Everything reads the SQLite log the triggers wrote; nothing here is on the path of
 * the writes themselves.
 */
export class ReplicationSource {
  readonly #db: Database.Database;
  readonly #read: Database.Statement;
  readonly #at: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#read = db.prepare("SELECT seq, tbl, op, row, at FROM repl_log WHERE seq > ? ORDER BY seq LIMIT ?");
    this.#at = db.prepare("SELECT at FROM repl_log WHERE seq = ?");
  }

  /** On while this node is the active of a pair: from then on every change is logged in its own transaction. */
  setCapture(on: boolean): void {
    this.#db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(META_CAPTURE, on ? "1" : "0");
  }

  get capturing(): boolean {
    return this.#meta(META_CAPTURE) === "1";
  }

  /** The last position written (0: none). */
  head(): number {
    const r = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'repl_log'").get() as
      | { seq: number }
      | undefined;
    return r?.seq ?? 0;
  }

  /**
   * Changes after position `from`, at most `limit`. "gone": part of what follows `from` was pruned already (a standby
   * that was away too long, or one that read another active's log): it must start from a snapshot.
   */
  changesSince(from: number, limit = 1_000): ReplChange[] | "gone" {
    if (from < Number(this.#meta(META_PRUNED) ?? 0)) return "gone";
    if (from > this.head()) return "gone";
    return (this.#read.all(from, limit) as { seq: number; tbl: string; op: string; row: string; at: string }[]).map(
      (r) => ({ seq: r.seq, tbl: r.tbl, op: r.op as ReplChange["op"], row: JSON.parse(r.row), at: r.at }),
    );
  }

  /** Every replicated table (events: the newest SNAPSHOT_EVENTS) and the log position they include, consistently. */
  snapshot(): ReplSnapshot {
    return this.#db.transaction(() => {
      const tables: ReplSnapshot["tables"] = {};
      for (const [t, d] of Object.entries(REPLICATED)) {
        const cols = d.columns.join(", ");
        tables[t] = this.#db
          .prepare(
            t === "events"
              ? `SELECT ${cols} FROM (SELECT * FROM events ORDER BY id DESC LIMIT ${SNAPSHOT_EVENTS}) ORDER BY id`
              : `SELECT ${cols} FROM ${t}`,
          )
          .all() as Record<string, unknown>[];
      }
      return { seq: this.head(), tables };
    })();
  }

  /**
   * The standby has applied everything up to `seq`: that part of the log goes. Returns the lag of that position
   * (from its commit here to now), or null when the position is not in the log.
   */
  acknowledge(seq: number, now = Date.now()): number | null {
    const row = this.#at.get(seq) as { at: string } | undefined;
    this.#db.transaction(() => {
      this.#db.prepare("DELETE FROM repl_log WHERE seq <= ?").run(seq);
      const pruned = Number(this.#meta(META_PRUNED) ?? 0);
      if (seq > pruned)
        this.#db
          .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
          .run(META_PRUNED, String(seq));
    })();
    return row ? Math.max(0, now - Date.parse(row.at)) : null;
  }

  /** Log entries not yet acknowledged, and when the oldest of them committed. */
  backlog(): { entries: number; oldestAt: string | null } {
    const r = this.#db.prepare("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM repl_log").get() as {
      n: number;
      oldest: string | null;
    };
    return { entries: r.n, oldestAt: r.oldest };
  }

  #meta(key: string): string | undefined {
    return (this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
  }
}

/**
 * The standby's side: a snapshot or a batch of changes applied in one transaction each, the position reached kept
 * in the same transaction (so a crash never applies a batch twice or skips one), and static values of instances
 * this node has not applied yet held in repl_waiting until it has (packages come from git, not from the active).
 */
export class ReplicationSink {
  readonly #db: Database.Database;
  readonly #upserts = new Map<string, Database.Statement>();
  readonly #deletes = new Map<string, Database.Statement>();
  readonly #hasInstance: Database.Statement;
  readonly #isWaiting: Database.Statement;
  readonly #hold: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#hasInstance = db.prepare("SELECT 1 FROM instances WHERE name = ?");
    this.#isWaiting = db.prepare("SELECT 1 FROM repl_waiting WHERE instance = ? AND path = ?");
    this.#hold = db.prepare("INSERT OR REPLACE INTO repl_waiting (instance, path, row) VALUES (?, ?, ?)");
    for (const [t, d] of Object.entries(REPLICATED)) {
      const cols = t === "events" ? d.columns.filter((c) => c !== "id") : d.columns;
      const verb = t === "events" ? "INSERT" : "INSERT OR REPLACE";
      this.#upserts.set(
        t,
        db.prepare(`${verb} INTO ${t} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`),
      );
      if (d.deletes)
        this.#deletes.set(t, db.prepare(`DELETE FROM ${t} WHERE ${d.key.map((k) => `${k} = @${k}`).join(" AND ")}`));
    }
  }

  /** Where this node is in which active's log; null: nowhere yet (a snapshot comes first). */
  position(): { origin: ReplOrigin; seq: number } | null {
    const v = (
      this.#db.prepare("SELECT value FROM meta WHERE key = 'replPosition'").get() as { value: string } | undefined
    )?.value;
    return v ? (JSON.parse(v) as { origin: ReplOrigin; seq: number }) : null;
  }

  /** Replaces every replicated table with the snapshot's rows (this node's own event log included). */
  applySnapshot(s: ReplSnapshot, origin: ReplOrigin): void {
    this.#db.transaction(() => {
      this.#db.prepare("DELETE FROM repl_waiting").run();
      for (const t of Object.keys(REPLICATED)) this.#db.prepare(`DELETE FROM ${t}`).run();
      for (const [t, rows] of Object.entries(s.tables)) for (const row of rows) this.#upsert(t, row, origin.node);
      this.#setPosition(origin, s.seq);
    })();
  }

  /**
   * Applies changes that follow on from this node's position in origin's log. Throws (nothing applied) when they do
   * not: a gap, or another origin; the caller then starts over from a snapshot.
   */
  apply(changes: readonly ReplChange[], origin: ReplOrigin): number {
    const at = this.position();
    if (!at || at.origin.node !== origin.node || at.origin.epoch !== origin.epoch)
      throw new Error("replication: these changes are of another active's log");
    if (changes.length === 0) return at.seq;
    if (changes[0]!.seq <= at.seq) throw new Error(`replication: change ${changes[0]!.seq} was applied already`);
    return this.#db.transaction(() => {
      for (const c of changes) {
        if (c.op === "upsert") this.#upsert(c.tbl, c.row, origin.node);
        else this.#delete(c.tbl, c.row);
      }
      const seq = changes.at(-1)!.seq;
      this.#setPosition(origin, seq);
      return seq;
    })();
  }

  /** Static values still waiting for their instance. */
  get waiting(): number {
    return (this.#db.prepare("SELECT COUNT(*) AS n FROM repl_waiting").get() as { n: number }).n;
  }

  /** After this node applied packages: the waiting static values of instances it now has are written. */
  release(): void {
    this.#db.transaction(() => {
      const rows = this.#db
        .prepare("SELECT w.instance, w.path, w.row FROM repl_waiting w JOIN instances i ON i.name = w.instance")
        .all() as { instance: string; path: string; row: string | null }[];
      for (const w of rows) {
        if (w.row) this.#upserts.get("static_values")!.run(JSON.parse(w.row));
        else this.#deletes.get("static_values")!.run({ instance: w.instance, path: w.path });
        this.#db.prepare("DELETE FROM repl_waiting WHERE instance = ? AND path = ?").run(w.instance, w.path);
      }
    })();
  }

  #upsert(tbl: string, row: Record<string, unknown>, node: string): void {
    const stmt = this.#upserts.get(tbl);
    if (!stmt) throw new Error(`replication: ${tbl} is not a replicated table`);
    if (tbl === "static_values" && !this.#hasInstance.get(row.instance)) {
      this.#hold.run(row.instance, row.path, JSON.stringify(row));
      return;
    }
    if (tbl === "events") {
      const { id: _, ...rest } = row;
      stmt.run({ ...rest, node: rest.node ?? node });
      return;
    }
    stmt.run(row);
  }

  #delete(tbl: string, key: Record<string, unknown>): void {
    const stmt = this.#deletes.get(tbl);
    if (!stmt) throw new Error(`replication: ${tbl} rows are not deleted by replication`);
    if (tbl === "static_values" && this.#isWaiting.get(key.instance, key.path)) {
      this.#hold.run(key.instance, key.path, null);
      return;
    }
    stmt.run(key);
  }

  #setPosition(origin: ReplOrigin, seq: number): void {
    this.#db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('replPosition', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(JSON.stringify({ origin, seq }));
  }
}
