import type { ArtifactExternalMethod, ArtifactExternalSystem } from "../../../schemas/types.js";
import { fits } from "../../runtime/opcua/data-types.js";
import type { HttpRequest } from "../store-and-forward/types.js";

/** Methods whose parameters travel in the query string; the others send them as a JSON body. */
const QUERY_METHODS: ReadonlySet<string> = new Set(["GET", "DELETE"]);

/** A call that does not fit its method's definition: the script's error, nothing is sent or stored. */
export class CallMismatchError extends Error {}

/**
 * The request of externalSystem.call / cachedCall (SPEC 8.1): positional arguments name the method's parameters in
 * order and must fit their types; `{param}` placeholders of the path take theirs URL-encoded; the rest go in the
 * query string (GET, DELETE) or as a JSON object body (POST, PUT, PATCH). Pure: no I/O, no secrets (auth is added at
 * delivery).
 */
export function httpRequestOf(
  system: ArtifactExternalSystem,
  method: ArtifactExternalMethod,
  args: readonly unknown[],
): HttpRequest {
  const params = method.parameters;
  const where = `${system.name}.${method.name}`;
  if (args.length !== params.length)
    throw new CallMismatchError(
      `${where} takes ${params.length} argument(s) (${params.map((p) => p.name).join(", ") || "none"}), not ${args.length}`,
    );
  const named = new Map<string, unknown>();
  params.forEach((p, i) => {
    const v = args[i];
    if (v === null || v === undefined || !fits(p.type as Parameters<typeof fits>[0], v))
      throw new CallMismatchError(`${where}: argument ${i + 1} (${p.name}) must be a ${p.type}, not ${describe(v)}`);
    named.set(p.name, v);
  });
  const used = new Set<string>();
  const path = method.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    used.add(name);
    return encodeURIComponent(String(named.get(name)));
  });
  const rest = [...named].filter(([n]) => !used.has(n));
  const url = new URL(joinUrl(system.baseUrl, path));
  if (QUERY_METHODS.has(method.http)) {
    for (const [n, v] of rest) url.searchParams.append(n, typeof v === "string" ? v : JSON.stringify(v));
    return { method: method.http, url: url.href };
  }
  return { method: method.http, url: url.href, body: Object.fromEntries(rest) };
}

/** baseUrl's own path kept: https://mes/api + /lines/1 is https://mes/api/lines/1. */
function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  return Array.isArray(v) ? "an array" : "an object";
}
