import { UsageError } from "./commands/validate.js";

/** A positive number given as a flag's value (seconds, intervals); anything else is a usage error. */
export function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: a positive number is needed`);
  return n;
}
