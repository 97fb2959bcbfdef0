import type { ArtifactDatabaseConnection } from "../../../schemas/types.js";
import {
  type Deliverer,
  InvalidMessageError,
  type Message,
  type Outcome,
  type TargetConfig,
} from "../store-and-forward/types.js";
import type { PostgresConnections } from "./connections.js";

/** A DatabaseConnection message (database.cachedWrite): one parameterised statement, `$1`, `$2`… in sql. */
export interface DbWrite {
  sql: string;
  params?: unknown[];
}

/** Checks a DatabaseConnection payload at enqueue time, so a message that can never be run is never stored. */
export function validateDbWrite(payload: unknown): asserts payload is DbWrite {
  const p = payload as Partial<DbWrite> | null;
  if (typeof p !== "object" || p === null || Array.isArray(p))
    throw new InvalidMessageError("a database message needs { sql, params }");
  for (const k of Object.keys(p))
    if (k !== "sql" && k !== "params") throw new InvalidMessageError(`a database message has no field ${k}`);
  if (typeof p.sql !== "string" || p.sql.trim() === "") throw new InvalidMessageError("a database message needs sql");
  if (p.params !== undefined && !Array.isArray(p.params)) throw new InvalidMessageError("params must be an array");
}

/**
 * PostgreSQL delivery: the message's statement on a pooled connection of its DatabaseConnection, autocommitted.
 * Connecting failures and a lost connection are transient, the statement's own errors by SQLSTATE (sqlstate.ts).
 */
export function postgresDeliverer(opts: { connections: PostgresConnections }): Deliverer {
  return {
    validate: validateDbWrite,
    async deliver(message: Message, target: TargetConfig, stop: AbortSignal): Promise<Outcome> {
      const conn = target.document as ArtifactDatabaseConnection | undefined;
      if (!conn) return { ok: false, transient: true, error: `databaseConnection ${target.name} has no definition` };
      const w = message.payload as DbWrite;
      const r = await opts.connections.run(conn, w.sql, w.params ?? [], stop);
      return r.ok ? { ok: true } : { ok: false, transient: r.transient, error: r.error };
    },
  };
}
