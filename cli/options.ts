import { isIP } from "node:net";
import { resolve } from "node:path";
import { secretLookup } from "../site-reconciler/secrets.js";
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

/** A TCP port given as a flag's value (0: any free one). */
export function portOption(value: string, flag: string, orOff = false): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65_535)
    throw new UsageError(`${flag} ${value}: a port (0-65535)${orOff ? " or off" : ""}`);
  return n;
}

/** An address to bind: an IP address or localhost. */
export function bindAddress(value: string, flag: string): string {
  if (isIP(value) === 0 && value !== "localhost")
    throw new UsageError(`${flag} ${value}: an IP address to bind (127.0.0.1, 0.0.0.0, ::, 10.0.0.5…) or localhost`);
  return value;
}

/**
 * A secret named by a flag (SPEC 6.6: SCADALINK_SECRET_<NAME>, or the file NAME in --secrets-dir), at least minBytes
 * long. Only its name is ever shown.
 */
export function namedSecret(
  name: string,
  flag: string,
  o: { secretsDir?: string; env: NodeJS.ProcessEnv; minBytes: number; what: string },
): string {
  const value = secretLookup(o.env, o.secretsDir ? resolve(o.secretsDir) : undefined)(name);
  if (value === undefined)
    throw new UsageError(
      `${flag} ${name}: no such secret (SCADALINK_SECRET_${name}, or the file ${name} in --secrets-dir)`,
    );
  if (Buffer.byteLength(value) < o.minBytes)
    throw new UsageError(`${flag} ${name}: the ${o.what} needs at least ${o.minBytes} bytes`);
  return value;
}
