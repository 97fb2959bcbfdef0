import type { PackageScriptParameter } from "../../schemas/types.js";
import { fits } from "../runtime/opcua/data-types.js";

/** Names quoted in one message at most, and characters of each: a caller's names are not echoed without bound. */
const NAMES_SHOWN = 10;
const NAME_CHARS = 64;

export type Fitted = { ok: true; args: unknown[] } | { ok: false; message: string };

/**
 * A JSON body's named parameters as the positional arguments of a script declaring `parameters` (section 8.4):
 * every declared parameter present with a value of its type (fits, as for attribute writes), nothing else. The
 * words name the parameters and their types, never a value: a value may be a secret the caller sent.
 */
export function fitArguments(
  parameters: readonly PackageScriptParameter[],
  named: Readonly<Record<string, unknown>>,
): Fitted {
  const declared = new Set(parameters.map((p) => p.name));
  const given = Object.keys(named);
  const problems: string[] = [];
  const missing = parameters.filter((p) => !Object.hasOwn(named, p.name)).map((p) => `${p.name} (${p.type})`);
  if (missing.length) problems.push(`missing ${plural(missing.length)} ${list(missing)}`);
  const extra = given.filter((n) => !declared.has(n));
  if (extra.length) problems.push(`unknown ${plural(extra.length)} ${list(extra)}`);
  const wrong = parameters
    .filter((p) => Object.hasOwn(named, p.name) && !fits(p.type, named[p.name]))
    .map((p) => `${p.name} is not a ${p.type}`);
  if (wrong.length) problems.push(list(wrong));
  if (problems.length) {
    const expects = parameters.length
      ? `the method takes ${parameters.map((p) => `${p.name} (${p.type})`).join(", ")}`
      : "the method takes no parameters";
    return { ok: false, message: `${problems.join("; ")}: ${expects}` };
  }
  return { ok: true, args: parameters.map((p) => named[p.name]) };
}

function plural(n: number): string {
  return n === 1 ? "parameter" : "parameters";
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).map((n) => (n.length > NAME_CHARS ? `${n.slice(0, NAME_CHARS)}…` : n));
  return names.length > NAMES_SHOWN ? `${shown.join(", ")} and ${names.length - NAMES_SHOWN} more` : shown.join(", ");
}

/** The parameter names of a body for the log: capped like the messages, values never. */
export function parameterNames(named: Readonly<Record<string, unknown>> | undefined): string[] {
  if (!named) return [];
  const names = Object.keys(named);
  const shown = names.slice(0, NAMES_SHOWN).map((n) => (n.length > NAME_CHARS ? `${n.slice(0, NAME_CHARS)}…` : n));
  return names.length > NAMES_SHOWN ? [...shown, `… ${names.length - NAMES_SHOWN} more`] : shown;
}
