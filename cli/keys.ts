import { readFileSync } from "node:fs";
import { parseAllowedSigners, readSigningKey, type SigningKey, type TrustedKey } from "../controller/git/sshsig.js";
import { UsageError } from "./commands/validate.js";

/** The controller's release signing key file; a usage error names the file and why, never its content. */
export function signingKeyFile(path: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--signing-key ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    return readSigningKey(text);
  } catch (e) {
    throw new UsageError(`--signing-key ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A site's trusted release keys (allowed_signers format); a usage error names the file and the line. */
export function trustedKeysFile(path: string): TrustedKey[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--trusted-keys ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let keys: TrustedKey[];
  try {
    keys = parseAllowedSigners(text, path);
  } catch (e) {
    throw new UsageError(`--trusted-keys ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!keys.length) throw new UsageError(`--trusted-keys ${path}: holds no key`);
  return keys;
}
