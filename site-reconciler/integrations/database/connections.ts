import pg from "pg";
import type { ArtifactDatabaseConnection } from "../../../schemas/types.js";
import type { SecretLookup } from "../../runtime/runtime.js";
import { describeDbError, isSqlState, transientSqlError } from "./sqlstate.js";

/** What failed, and whether it may pass: `connect` failures never say anything about the statement. */
export type RunResult =
  | { ok: true; result: pg.QueryResult }
  | { ok: false; phase: "connect" | "statement"; transient: boolean; error: string; code?: string };

/** database.query's error: the connection's name, the server's message and SQLSTATE; never a secret. */
export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "DatabaseError";
  }
}

interface Entry {
  key: string;
  pool: pg.Pool;
}

class Aborted extends Error {}

/**
 * PostgreSQL connections of a site: one pg.Pool per DatabaseConnection (poolSize connections at most), made on
 * first use and replaced when the document changes. The password is resolved by name each time a connection is
 * opened, so a rotated secret is used by the next connection without a restart.
 */
export class PostgresConnections {
  readonly #secrets: SecretLookup;
  readonly #pools = new Map<string, Entry>();

  constructor(opts: { secrets: SecretLookup }) {
    this.#secrets = opts.secrets;
  }

  #pool(c: ArtifactDatabaseConnection): pg.Pool {
    const key = JSON.stringify([c.host, c.port, c.database, c.user, c.passwordSecret, c.poolSize, c.timeoutMs]);
    const cur = this.#pools.get(c.name);
    if (cur?.key === key) return cur.pool;
    if (cur) cur.pool.end().catch(() => undefined);
    const secret = c.passwordSecret;
    const pool = new pg.Pool({
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      password: secret === null ? undefined : () => this.#secrets(secret) ?? "",
      max: c.poolSize,
      connectionTimeoutMillis: c.timeoutMs,
      // The server cancels a statement past it (57014, transient) rather than leaving it running after we gave up.
      statement_timeout: c.timeoutMs,
      idleTimeoutMillis: 30_000,
      // Idle connections never keep the site process alive; close() is for a stop that must not wait for them.
      allowExitOnIdle: true,
      keepAlive: true,
      application_name: "scadalink-site",
    });
    // An idle connection the server drops (a restart) is an error event; unhandled it would end the process.
    pool.on("error", () => undefined);
    // So does a connection lost while checked out between queries; the query in flight reports it instead.
    pool.on("connect", (client) => client.on("error", () => undefined));
    this.#pools.set(c.name, { key, pool });
    return pool;
  }

  /**
   * One statement on a pooled connection, bounded by timeoutMs (connecting included) and by signal. Never throws.
   * A connection that failed or timed out is destroyed rather than put back in the pool.
   */
  async run(
    c: ArtifactDatabaseConnection,
    sql: string,
    params: readonly unknown[],
    signal?: AbortSignal,
  ): Promise<RunResult> {
    const masked = this.#maskValues(c);
    if (c.passwordSecret !== null && this.#secrets(c.passwordSecret) === undefined)
      return { ok: false, phase: "connect", transient: true, error: `secret ${c.passwordSecret} is not provided` };
    const pool = this.#pool(c);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), c.timeoutMs);
    const onStop = () => ac.abort();
    signal?.addEventListener("abort", onStop, { once: true });
    const aborted = new Promise<never>((_, reject) => {
      ac.signal.addEventListener("abort", () => reject(new Aborted()), { once: true });
    });
    aborted.catch(() => undefined);
    const timedOut = () => `timed out after ${c.timeoutMs} ms`;
    try {
      let client: pg.PoolClient;
      const connecting = pool.connect();
      try {
        client = await Promise.race([connecting, aborted]);
      } catch (e) {
        // A connection that arrives after we gave up goes back to the pool.
        if (e instanceof Aborted)
          connecting.then(
            (cl) => cl.release(),
            () => undefined,
          );
        const error = e instanceof Aborted ? timedOut() : describeDbError(e, masked);
        const code = (e as { code?: string }).code;
        // Whatever the server said while connecting (a bad password, no such database) is about the
        // configuration, not the message: transient, so that a fix lets the queue go on in order.
        return { ok: false, phase: "connect", transient: true, error, ...(code ? { code } : {}) };
      }
      const querying = client.query({ text: sql, values: params as unknown[] });
      try {
        const result = await Promise.race([querying, aborted]);
        client.release();
        return { ok: true, result };
      } catch (e) {
        querying.catch(() => undefined);
        const code = (e as { code?: unknown }).code;
        // The statement's own error leaves the connection usable; anything else (a cut, a timeout) does not.
        client.release(isSqlState(code) && !(e instanceof Aborted) ? undefined : true);
        if (e instanceof Aborted) return { ok: false, phase: "statement", transient: true, error: timedOut() };
        return {
          ok: false,
          phase: "statement",
          transient: transientSqlError(e),
          error: describeDbError(e, masked),
          ...(typeof code === "string" ? { code } : {}),
        };
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onStop);
    }
  }

  /** database.query of the script API: the rows, or a DatabaseError naming the connection. */
  async query(c: ArtifactDatabaseConnection, sql: string, params: readonly unknown[] = []): Promise<unknown[]> {
    const r = await this.run(c, sql, params);
    if (r.ok) return r.result.rows;
    throw new DatabaseError(`database ${c.name}: ${r.error}`, r.code, r.transient);
  }

  /** Closes every pool (the site stopping); connections in use are closed once released. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.pool.end().catch(() => undefined)));
  }

  #maskValues(c: ArtifactDatabaseConnection): (string | undefined)[] {
    return c.passwordSecret === null ? [] : [this.#secrets(c.passwordSecret)];
  }
}
