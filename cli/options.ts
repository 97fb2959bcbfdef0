import { UsageError } from "./commands/validate.js";

/** A positive number given as a flag's value (seconds, intervals); anything else is a usage error. */
export function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${value}: a positive number is needed`);
  return n;
}

/** A positive whole number given as a flag's value (counts, sizes); anything else is a usage error. */
export function whole(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} ${value}: a positive whole number is needed`);
  return n;
}
