import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretLookup } from "./runtime/runtime.js";

/** Secret names are validated by the compiler; anything else never reaches the file system. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Named secrets (section 6.6): the environment variable SCADALINK_SECRET_<NAME>, else the file <NAME> in the
 * secrets directory (one trailing newline trimmed). Values are returned, never logged; a read error yields
 * undefined, so no message can carry file content.
 */
export function secretLookup(env: NodeJS.ProcessEnv, dir: string | undefined): SecretLookup {
  return (name) => {
    if (!NAME.test(name)) return undefined;
    const fromEnv = env[`SCADALINK_SECRET_${name}`];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    if (!dir) return undefined;
    try {
      return readFileSync(join(dir, name), "utf8").replace(/\r?\n$/, "");
    } catch {
      return undefined;
    }
  };
}
