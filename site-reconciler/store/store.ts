import Database from "better-sqlite3";
import type { ParkedActionReport } from "../../schemas/types.js";
import type { InstanceState } from "../types.js";
import { MIGRATIONS } from "./migrations.js";

/** What the site has applied of one instance. */
export interface AppliedRevision {
  name: string;
  revisionHash: string;
  /** The git blob id of the package as fetched: the drift check compares the stored bytes against it. */
  blobOid: string;
  state: InstanceState;
  deployCommit: string;
  appliedAt: string;
}

export interface ApplyInput {
  name: string;
  revisionHash: string;
  blobOid: string;
  /** The package, byte for byte as on the deploy branch. */
  packageText: string;
  state: InstanceState;
  deployCommit: string;
  at: string;
  /** Audit wording: "repair" when the drift check restores a package. */
  reason?: "deploy" | "repair";
}

export type AuditAction = "apply" | "enable" | "disable" | "delete" | "refuse" | "repair";

export interface AuditRow {
  id: number;
  at: string;
  instance: string;
  action: AuditAction;
  fromHash: string | null;
  toHash: string | null;
  deployCommit: string | null;
  message: string | null;
}

export interface EventRow {
  id: number;
  at: string;
  kind: string;
  instance: string | null;
  message: string;
}

/** An alarm's persisted state: what `site inspect` shows without a running runtime, and where a restart resumes. */
export interface AlarmState {
  active: boolean;
  /** When the alarm entered this state (ISO). */
  since: string | null;
}

/** An event log query; every field but limit narrows it. */
export interface EventQuery {
  /** Events of this instance only (site-wide events are not included). */
  instance?: string;
  /** ISO timestamp, inclusive. */
  since?: string;
  /** ISO timestamp, exclusive. */
  until?: string;
  /** Substring of the message or the kind, case-insensitive (ASCII letters: SQLite's LIKE). */
  keyword?: string;
  kind?: string;
  /** The newest this many matching events. */
  limit: number;
}

export interface Refusal {
  name: string;
  revisionHash: string;
  deployCommit: string;
  result: string;
  message: string;
}

/** A retry or discard `scadalink site parked` asked of the running site (ids null: every parked message). */
export interface SafRequest {
  id: number;
  action: "retry" | "discard";
  ids: string[] | null;
}

/** What a retry or discard did: ids acted on, ids queued rather than parked, ids not stored. */
export interface SafRequestResult {
  done: string[];
  notParked: string[];
  unknown: string[];
}

/** A ParkedMessages document revision the site has applied (once): what status.json reports of it. */
export type ParkedAction = ParkedActionReport;

/** A parked store-and-forward message as listings show it: never its payload. */
export interface ParkedRow {
  seq: number;
  id: string;
  kind: string;
  target: string;
  label: string;
  instance: string | null;
  attempts: number;
  lastError: string | null;
  enqueuedAt: string;
  lastAttemptAt: string | null;
  parkedAt: string;
}

/**
 * The site's SQLite store (WAL): applied packages, runtime-written static values, the audit trail, the event log,
 * refused revisions and the execution records and evidence the status branch is built from. Every change of an
 * instance is one transaction, so a crash leaves it at its old or its new revision.
 */
export class Store {
  /** Statements of the runtime's hot paths (events, alarm states, static writes), prepared once. */
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * A standby of a pair: what the runtime wrote (static values, alarm states) is the active's, replicated, so a new
   * revision applied here does not reset it; the active's reset reaches this store through the replication log.
   */
  replica = false;

  private constructor(readonly db: Database.Database) {}

  private prepared(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  static open(file: string, opts: { readonly?: boolean } = {}): Store {
    const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    if (!opts.readonly) {
      db.pragma("journal_mode = WAL");
      // FULL: a committed apply survives power loss, not only a killed process.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      migrate(db);
    }
    db.pragma("busy_timeout = 5000");
    return new Store(db);
  }

  close(): void {
    this.db.close();
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(key, value);
  }

  /** Every applied instance, without its package text (what the manifest comparison needs). */
  applied(): Map<string, AppliedRevision> {
    const rows = this.db
      .prepare(
        "SELECT name, revision_hash AS revisionHash, blob_oid AS blobOid, state, deploy_commit AS deployCommit, applied_at AS appliedAt FROM instances ORDER BY name",
      )
      .all() as AppliedRevision[];
    return new Map(rows.map((r) => [r.name, r]));
  }

  packageText(name: string): string | undefined {
    const row = this.db.prepare("SELECT package FROM instances WHERE name = ?").get(name) as
      | { package: string }
      | undefined;
    return row?.package;
  }

  /** Every stored package text (the drift check reads them all). */
  *packageTexts(): IterableIterator<{ name: string; blobOid: string; text: string }> {
    const rows = this.db.prepare("SELECT name, blob_oid AS blobOid, package AS text FROM instances").iterate();
    for (const row of rows) yield row as { name: string; blobOid: string; text: string };
  }

  /**
   * Applies one instance's revision in one transaction: the package, its hash, the deploy commit and an audit row;
   * a new revision resets the static values and alarm states the runtime wrote (not on a replica: see `replica`).
   * Returns false when that revision is already applied.
   */
  apply(a: ApplyInput): boolean {
    return this.db.transaction(() => {
      const prev = this.db
        .prepare("SELECT revision_hash AS hash, state, blob_oid AS blob FROM instances WHERE name = ?")
        .get(a.name) as { hash: string; state: InstanceState; blob: string } | undefined;
      const repair = a.reason === "repair";
      if (prev && prev.hash === a.revisionHash && prev.blob === a.blobOid && !repair) return false;
      this.db
        .prepare(
          `INSERT INTO instances (name, revision_hash, blob_oid, package, state, deploy_commit, applied_at)
           VALUES (@name, @revisionHash, @blobOid, @packageText, @state, @deployCommit, @at)
           ON CONFLICT(name) DO UPDATE SET revision_hash = excluded.revision_hash, blob_oid = excluded.blob_oid,
             package = excluded.package, state = excluded.state, deploy_commit = excluded.deploy_commit,
             applied_at = excluded.applied_at`,
        )
        .run(a);
      if (prev?.hash !== a.revisionHash && !this.replica) {
        this.db.prepare("DELETE FROM static_values WHERE instance = ?").run(a.name);
        // No foreign key on alarm states: a first apply also clears any a runtime wrote for a removed namesake.
        this.db.prepare("DELETE FROM alarm_states WHERE instance = ?").run(a.name);
      }
      this.db.prepare("DELETE FROM refusals WHERE name = ?").run(a.name);
      const action: AuditAction = repair
        ? "repair"
        : prev && prev.state !== a.state
          ? a.state === "enabled"
            ? "enable"
            : "disable"
          : "apply";
      this.audit(a.at, a.name, action, prev?.hash ?? null, a.revisionHash, a.deployCommit, null);
      this.event(a.at, repair ? "repair" : "deploy", `${action} ${a.revisionHash}`, a.name);
      return true;
    })();
  }

  /** Deletes an instance no longer in the manifest: config, static values and alarm states go, the audit row stays. */
  remove(name: string, deployCommit: string, at: string): boolean {
    return this.db.transaction(() => {
      const prev = this.db.prepare("SELECT revision_hash AS hash FROM instances WHERE name = ?").get(name) as
        | { hash: string }
        | undefined;
      this.db.prepare("DELETE FROM refusals WHERE name = ?").run(name);
      this.db.prepare("DELETE FROM alarm_states WHERE instance = ?").run(name);
      if (!prev) return false;
      this.db.prepare("DELETE FROM instances WHERE name = ?").run(name);
      this.audit(at, name, "delete", prev.hash, null, deployCommit, null);
      this.event(at, "deploy", "delete", name);
      return true;
    })();
  }

  /** Records a revision the site refused (the previous one stays applied). */
  refuse(r: Refusal, at: string): void {
    this.db.transaction(() => {
      const prev = this.db.prepare("SELECT revision_hash AS hash FROM refusals WHERE name = ?").get(r.name) as
        | { hash: string }
        | undefined;
      this.db
        .prepare(
          `INSERT INTO refusals (name, revision_hash, deploy_commit, result, message)
           VALUES (@name, @revisionHash, @deployCommit, @result, @message)
           ON CONFLICT(name) DO UPDATE SET revision_hash = excluded.revision_hash,
             deploy_commit = excluded.deploy_commit, result = excluded.result, message = excluded.message`,
        )
        .run(r);
      if (prev?.hash === r.revisionHash) return;
      const current = this.db.prepare("SELECT revision_hash AS hash FROM instances WHERE name = ?").get(r.name) as
        | { hash: string }
        | undefined;
      this.audit(at, r.name, "refuse", current?.hash ?? null, r.revisionHash, r.deployCommit, r.message);
      this.event(at, "refused", `${r.result}: ${r.message}`, r.name);
    })();
  }

  refusals(): Map<string, Refusal> {
    const rows = this.db
      .prepare(
        "SELECT name, revision_hash AS revisionHash, deploy_commit AS deployCommit, result, message FROM refusals",
      )
      .all() as Refusal[];
    return new Map(rows.map((r) => [r.name, r]));
  }

  /** Refusals of instances the manifest no longer lists (or lists at another revision) are over. */
  dropRefusals(keep: (r: Refusal) => boolean): void {
    for (const r of this.refusals().values())
      if (!keep(r)) this.db.prepare("DELETE FROM refusals WHERE name = ?").run(r.name);
  }

  private audit(
    at: string,
    instance: string,
    action: AuditAction,
    fromHash: string | null,
    toHash: string | null,
    deployCommit: string | null,
    message: string | null,
  ): void {
    this.db
      .prepare(
        "INSERT INTO audit (at, instance, action, from_hash, to_hash, deploy_commit, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(at, instance, action, fromHash, toHash, deployCommit, message);
  }

  /** The newest audit rows, newest first (of one instance, or of all). */
  auditTail(limit: number, instance?: string): AuditRow[] {
    const sql = `SELECT id, at, instance, action, from_hash AS fromHash, to_hash AS toHash, deploy_commit AS deployCommit, message
      FROM audit ${instance ? "WHERE instance = ?" : ""} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...(instance ? [instance, limit] : [limit])) as AuditRow[];
  }

  event(at: string, kind: string, message: string, instance?: string): void {
    this.prepared("INSERT INTO events (at, kind, instance, message) VALUES (?, ?, ?, ?)").run(
      at,
      kind,
      instance ?? null,
      message,
    );
  }

  /** Events, oldest first: of one instance (and the site-wide ones) when given. */
  events(opts: { instance?: string; limit: number }): EventRow[] {
    const where = opts.instance ? "WHERE instance = ? OR instance IS NULL" : "";
    const rows = this.db
      .prepare(`SELECT id, at, kind, instance, message FROM events ${where} ORDER BY id DESC LIMIT ?`)
      .all(...(opts.instance ? [opts.instance, opts.limit] : [opts.limit])) as EventRow[];
    return rows.reverse();
  }

  /**
   * Events matching every given filter, oldest first, of the newest `limit` of them by time. Unlike events(), an
   * instance filter leaves out the site-wide events.
   */
  queryEvents(q: EventQuery): EventRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (sql: string, ...values: string[]) => {
      where.push(sql);
      args.push(...values);
    };
    if (q.instance !== undefined) add("instance = ?", q.instance);
    if (q.since !== undefined) add("at >= ?", q.since);
    if (q.until !== undefined) add("at < ?", q.until);
    if (q.kind !== undefined) add("kind = ?", q.kind);
    if (q.keyword !== undefined) {
      const pattern = `%${q.keyword.replace(/[\\%_]/g, "\\$&")}%`;
      add("(message LIKE ? ESCAPE '\\' OR kind LIKE ? ESCAPE '\\')", pattern, pattern);
    }
    args.push(q.limit);
    const rows = this.db
      .prepare(
        `SELECT id, at, kind, instance, message FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY at DESC, id DESC LIMIT ?`,
      )
      .all(...args) as EventRow[];
    return rows.reverse();
  }

  /** Retention: events older than the cutoff go, and at most maxRows stay. */
  pruneEvents(olderThan: string, maxRows: number): number {
    const byAge = this.db.prepare("DELETE FROM events WHERE at < ?").run(olderThan).changes;
    const byCount = this.db
      .prepare("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)")
      .run(maxRows).changes;
    return byAge + byCount;
  }

  /** Keeps at most maxRows events, newest first: cheap enough for every flush (ids only grow). */
  capEvents(maxRows: number): number {
    return this.prepared("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?").run(maxRows).changes;
  }

  /** A static attribute value written at run time; it survives restarts until a new revision is applied. */
  writeStatic(instance: string, path: string, value: unknown, at: string): void {
    this.prepared(
      `INSERT INTO static_values (instance, path, value, written_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(instance, path) DO UPDATE SET value = excluded.value, written_at = excluded.written_at`,
    ).run(instance, path, JSON.stringify(value), at);
  }

  staticValues(instance: string): Map<string, { value: unknown; writtenAt: string }> {
    const rows = this.db
      .prepare("SELECT path, value, written_at AS writtenAt FROM static_values WHERE instance = ?")
      .all(instance) as { path: string; value: string; writtenAt: string }[];
    return new Map(rows.map((r) => [r.path, { value: JSON.parse(r.value), writtenAt: r.writtenAt }]));
  }

  /** The runtime records an alarm's transition (or its first evaluation). */
  setAlarmState(instance: string, path: string, active: boolean, since: string): void {
    this.prepared(
      `INSERT INTO alarm_states (instance, path, active, since) VALUES (?, ?, ?, ?)
       ON CONFLICT(instance, path) DO UPDATE SET active = excluded.active, since = excluded.since`,
    ).run(instance, path, active ? 1 : 0, since);
  }

  /** Persisted alarm states by instance, then by alarm path (of one instance when given). */
  alarmStates(instance?: string): Map<string, Map<string, AlarmState>> {
    const out = new Map<string, Map<string, AlarmState>>();
    // A read-only store is not migrated: a database an older reconciler wrote has no alarm states yet.
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarm_states'").get())
      return out;
    const rows = this.db
      .prepare(
        `SELECT instance, path, active, since FROM alarm_states ${instance === undefined ? "" : "WHERE instance = ?"}
         ORDER BY instance, path`,
      )
      .all(...(instance === undefined ? [] : [instance])) as {
      instance: string;
      path: string;
      active: number;
      since: string | null;
    }[];
    for (const r of rows) {
      let paths = out.get(r.instance);
      if (!paths) out.set(r.instance, (paths = new Map()));
      paths.set(r.path, { active: r.active === 1, since: r.since });
    }
    return out;
  }

  /** Execution records by "<batch>/<instance>", as JSON text. */
  records(): Map<string, string> {
    const rows = this.db.prepare("SELECT batch, instance, record FROM records").all() as {
      batch: string;
      instance: string;
      record: string;
    }[];
    return new Map(rows.map((r) => [`${r.batch}/${r.instance}`, r.record]));
  }

  /** Stores an execution record with the evidence files it references, in one transaction. */
  putRecord(batch: string, instance: string, record: string, evidence: { path: string; content: string }[]): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO records (batch, instance, record) VALUES (?, ?, ?) ON CONFLICT(batch, instance) DO UPDATE SET record = excluded.record",
        )
        .run(batch, instance, record);
      for (const e of evidence)
        this.db
          .prepare(
            "INSERT INTO evidence (path, content) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET content = excluded.content",
          )
          .run(e.path, e.content);
    })();
  }

  evidence(): Map<string, string> {
    const rows = this.db.prepare("SELECT path, content FROM evidence").all() as { path: string; content: string }[];
    return new Map(rows.map((r) => [r.path, r.content]));
  }

  // Store-and-forward operators (migration 5). The messages themselves belong to the engine (saf_messages).

  /** Queues a request for the running site; returns its id. */
  requestSaf(action: "retry" | "discard", ids: readonly string[] | null, at: string): number {
    return Number(
      this.db
        .prepare("INSERT INTO saf_requests (action, ids, requested_at) VALUES (?, ?, ?)")
        .run(action, ids === null ? null : JSON.stringify(ids), at).lastInsertRowid,
    );
  }

  /** Takes every request not taken yet (oldest first), marking them taken in the same transaction. */
  takeSafRequests(at: string): SafRequest[] {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare("SELECT id, action, ids FROM saf_requests WHERE taken_at IS NULL ORDER BY id")
        .all() as { id: number; action: SafRequest["action"]; ids: string | null }[];
      const take = this.db.prepare("UPDATE saf_requests SET taken_at = ? WHERE id = ?");
      for (const r of rows) take.run(at, r.id);
      return rows.map((r) => ({
        id: r.id,
        action: r.action,
        ids: r.ids === null ? null : (JSON.parse(r.ids) as string[]),
      }));
    })();
  }

  /** Requests taken by a process that stopped before finishing them: taken again by the next one. */
  releaseUnfinishedSafRequests(): number {
    return this.db
      .prepare("UPDATE saf_requests SET taken_at = NULL WHERE taken_at IS NOT NULL AND done_at IS NULL")
      .run().changes;
  }

  finishSafRequest(id: number, result: SafRequestResult, at: string): void {
    this.db.prepare("UPDATE saf_requests SET done_at = ?, result = ? WHERE id = ?").run(at, JSON.stringify(result), id);
  }

  /** A request's state: pending (not taken), taken, or done with its result; undefined once it is gone. */
  safRequest(id: number): { taken: boolean; result: SafRequestResult | null } | undefined {
    const row = this.db.prepare("SELECT taken_at, result FROM saf_requests WHERE id = ?").get(id) as
      | { taken_at: string | null; result: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      taken: row.taken_at !== null,
      result: row.result === null ? null : (JSON.parse(row.result) as SafRequestResult),
    };
  }

  /** Withdraws a request no site has taken yet; false when one has. */
  cancelSafRequest(id: number): boolean {
    return this.db.prepare("DELETE FROM saf_requests WHERE id = ? AND taken_at IS NULL").run(id).changes === 1;
  }

  deleteSafRequest(id: number): void {
    this.db.prepare("DELETE FROM saf_requests WHERE id = ?").run(id);
  }

  /** Drops finished requests older than `before` whose asker never collected the result. */
  pruneSafRequests(before: string): number {
    return this.db.prepare("DELETE FROM saf_requests WHERE done_at IS NOT NULL AND done_at < ?").run(before).changes;
  }

  /** Every ParkedMessages revision applied, by revision hash. */
  parkedActions(): Map<string, ParkedAction> {
    const rows = this.db
      .prepare(
        "SELECT revision_hash AS revisionHash, name, action, applied_at AS appliedAt, deploy_commit AS deployCommit, selected, done, not_parked AS notParked, unknown FROM saf_parked_actions",
      )
      .all() as ParkedAction[];
    return new Map(rows.map((r) => [r.revisionHash, r]));
  }

  /** Remembers an applied ParkedMessages revision; applying the same one again is refused by the primary key. */
  recordParkedAction(a: ParkedAction): void {
    this.db
      .prepare(
        "INSERT INTO saf_parked_actions (revision_hash, name, action, applied_at, deploy_commit, selected, done, not_parked, unknown) VALUES (@revisionHash, @name, @action, @appliedAt, @deployCommit, @selected, @done, @notParked, @unknown)",
      )
      .run(a);
  }

  /**
   * The most recently enqueued parked messages of the given targets, newest first, at most limit: per target
   * through the store-and-forward lane index (kind, target, state, seq), never a scan of the queued ones.
   */
  newestParked(targets: readonly { kind: string; name: string }[], limit: number): ParkedRow[] {
    const q = this.prepared(
      "SELECT seq, id, kind, target, label, instance, attempts, last_error AS lastError, enqueued_at AS enqueuedAt, last_attempt_at AS lastAttemptAt, parked_at AS parkedAt FROM saf_messages WHERE kind = ? AND target = ? AND state = 'parked' ORDER BY seq DESC LIMIT ?",
    );
    const rows = targets.flatMap((t) => q.all(t.kind, t.name, limit) as ParkedRow[]);
    return rows.sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  integrityCheck(): string {
    return String(this.db.pragma("integrity_check", { simple: true }));
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > MIGRATIONS.length)
    throw new Error(`the state database is at schema version ${version}; this scadalink knows ${MIGRATIONS.length}`);
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
