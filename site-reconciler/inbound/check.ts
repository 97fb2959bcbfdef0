import type { ArtifactApiMethod } from "../../schemas/types.js";
import type { SecretLookup } from "../runtime/runtime.js";
import { checkKey, keyAllowed } from "./auth.js";

/** Method names follow the template name pattern (section 2.2); anything else names no method. */
const METHOD_PATH = /^\/api\/([A-Za-z_][A-Za-z0-9_]*)$/;

export interface RequestHead {
  /** The HTTP method. */
  verb: string | undefined;
  /** The request target, query included. */
  url: string | undefined;
  /** The X-API-Key header, if one. */
  key: string | undefined;
}

export type Refusal = {
  ok: false;
  status: 401 | 403 | 404 | 405;
  reason: string;
  method: ArtifactApiMethod | undefined;
  /** A 403's key, by the name of its secret: which caller tried a method not theirs. */
  keyName?: string;
};

/** Admitted: the method, and the name of the key secret that let the caller in (for the log; never its value). */
export type Admitted = { ok: true; method: ArtifactApiMethod; keyName: string };

/**
 * The decision on a request before its body is read, in this order: a path that is no method (404), a verb other
 * than POST (405), no valid key of this site (401), a method the site does not serve (404), a key not listed for the
 * method (403). The key is checked before the method is looked up, so a caller without a key cannot tell which
 * methods exist.
 */
export function checkRequest(
  head: RequestHead,
  methods: readonly ArtifactApiMethod[],
  secrets: SecretLookup,
): Admitted | Refusal {
  const raw = head.url ?? "/";
  const q = raw.indexOf("?");
  const name = METHOD_PATH.exec(q === -1 ? raw : raw.slice(0, q))?.[1];
  const method = name === undefined ? undefined : methods.find((m) => m.name === name);
  if (name === undefined) return refuse(404, "no such path: methods are at POST /api/<method>", undefined);
  if (head.verb !== "POST") return refuse(405, `${head.verb ?? "?"} is not allowed: call a method with POST`, method);
  const key = checkKey(head.key, methods, secrets);
  if (!key.valid) return refuse(401, key.reason, method);
  if (!method) return refuse(404, `no method ${name} on this site`, undefined);
  const keyName = keyAllowed(key, method);
  if (keyName === undefined)
    return { ...refuse(403, `the key may not call ${method.name}`, method), keyName: [...key.names].sort()[0] };
  return { ok: true, method, keyName };
}

function refuse(status: Refusal["status"], reason: string, method: ArtifactApiMethod | undefined): Refusal {
  return { ok: false, status, reason, method };
}

export type Body = { ok: true; named: Record<string, unknown> } | { ok: false; reason: string };

/** The body as named parameters: a JSON object (an empty body is `{}`: a method without parameters). */
export function parseBody(text: string): Body {
  if (text.trim() === "") return { ok: true, named: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the fault: the body's values stay out of answers and logs.
    return { ok: false, reason: "the body is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, reason: "the body must be a JSON object of named parameters" };
  return { ok: true, named: value as Record<string, unknown> };
}
