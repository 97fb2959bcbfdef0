import type { Outcome } from "../store-and-forward/types.js";

/**
 * SPEC 8.3 for PostgreSQL, by SQLSTATE class. The server itself in trouble, or the connection to it, is transient:
 * the same statement may succeed later. An error about the statement (syntax, a missing table, a constraint, a
 * value out of range, a permission) is permanent: sending it again fails again.
 */
const TRANSIENT_CLASSES = new Set([
  "08", // connection exception
  "40", // transaction rollback: serialization failure, deadlock (retrying is the documented remedy)
  "53", // insufficient resources: disk full, out of memory, too many connections
  "57", // operator intervention: admin or crash shutdown, cannot connect now, statement timeout, cancel
  "58", // system error: I/O errors outside PostgreSQL
]);
/** Of class 08, the one that is about the message: a bind that does not fit the statement (wrong parameter count). */
const PERMANENT_CODES = new Set(["08P01"]);
/** Of a permanent class, the ones that pass: a lock not granted in time (lock_timeout). */
const TRANSIENT_CODES = new Set(["55P03"]);

/** True when code is a SQLSTATE (five characters) rather than a Node socket error code (ECONNREFUSED…). */
export const isSqlState = (code: unknown): code is string => typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);

/** Transient or permanent for an error of a statement sent; errors without a SQLSTATE are the connection's. */
export function transientSqlError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (!isSqlState(code)) return true;
  if (PERMANENT_CODES.has(code)) return false;
  if (TRANSIENT_CODES.has(code)) return true;
  return TRANSIENT_CLASSES.has(code.slice(0, 2));
}

/** lastError of a database error: its message and SQLSTATE or socket code, every secret value masked. */
export function describeDbError(err: unknown, secrets: readonly (string | undefined)[]): string {
  const e = err as { message?: unknown; code?: unknown } | null;
  let s = typeof e?.message === "string" && e.message ? e.message : String(err);
  if (typeof e?.code === "string") s += isSqlState(e.code) ? ` (SQLSTATE ${e.code})` : ` (${e.code})`;
  for (const v of secrets) if (v) s = s.split(v).join("***");
  s = s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** An outcome for a statement's error. */
export function sqlOutcome(err: unknown, secrets: readonly (string | undefined)[]): Outcome {
  return { ok: false, transient: transientSqlError(err), error: describeDbError(err, secrets) };
}
