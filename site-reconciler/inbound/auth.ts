import { createHash, timingSafeEqual } from "node:crypto";
import type { ArtifactApiMethod } from "../../schemas/types.js";
import type { SecretLookup } from "../runtime/runtime.js";

/**
 * Who a request's key is. A key is valid when it is the value of a secret some ApiMethod of the site names; `names`
 * are the secrets it matched (a value may be shared by two names). Never the value itself.
 */
export type KeyCheck = { valid: false; reason: string } | { valid: true; names: ReadonlySet<string> };

/** The digest the comparison runs on: equal lengths whatever the key, so timingSafeEqual applies and leaks no length. */
const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * Checks a presented key against every key secret of the site's methods, each compared in constant time and all of
 * them compared (no early exit: the time does not say which one matched, or how many are configured). Secrets are
 * read at each request, so a rotated key file takes effect at once; one the site does not provide matches nothing.
 */
export function checkKey(
  presented: string | undefined,
  methods: readonly ArtifactApiMethod[],
  secrets: SecretLookup,
): KeyCheck {
  if (presented === undefined || presented === "") return { valid: false, reason: "no X-API-Key header" };
  const given = digest(presented);
  const names = new Set<string>();
  for (const name of new Set(methods.flatMap((m) => m.keys))) {
    const value = secrets(name);
    if (value === undefined || value === "") continue;
    if (timingSafeEqual(given, digest(value))) names.add(name);
  }
  return names.size ? { valid: true, names } : { valid: false, reason: "the key is not a key of this site" };
}

/** Whether a valid key may call the method: one of the secrets it matched is listed in the method's keys. */
export function keyAllowed(key: { names: ReadonlySet<string> }, method: ArtifactApiMethod): string | undefined {
  return method.keys.find((k) => key.names.has(k));
}

/** The method's keys the site does not provide: with none of them provided, no caller can use the method. */
export function missingKeys(method: ArtifactApiMethod, secrets: SecretLookup): string[] {
  return method.keys.filter((k) => {
    const v = secrets(k);
    return v === undefined || v === "";
  });
}
