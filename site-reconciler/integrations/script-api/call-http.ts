import type { ArtifactExternalSystem } from "../../../schemas/types.js";
import type { SecretLookup } from "../../runtime/runtime.js";
import { excerpt } from "../store-and-forward/classify.js";
import { authHeader } from "../store-and-forward/deliver-http.js";
import type { HttpRequest } from "../store-and-forward/types.js";

/** The largest response body externalSystem.call takes in; a bigger one is the call's error. */
export const MAX_RESULT_BYTES = 4 * 2 ** 20;

/** externalSystem.call's error: the HTTP status (null when none came) and words with every secret masked. */
export class CallError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/**
 * externalSystem.call: the request now, with the system's auth, bounded by the system's timeoutMs and by the
 * script's deadline, whichever comes first. Returns the parsed JSON body (the text when it is not JSON, null when
 * empty); a non-2xx status, a connection error or a timeout throws a CallError. No store-and-forward, no retry: the
 * script decides.
 */
export async function callExternal(
  system: ArtifactExternalSystem,
  req: HttpRequest,
  o: { secrets: SecretLookup; deadline: number; now?: () => number },
): Promise<unknown> {
  const where = `${system.name}`;
  const budget = Math.min(system.timeoutMs, o.deadline - (o.now ?? Date.now)());
  if (budget <= 0) throw new CallError(`${where}: no time left in the script's timeout`, null);
  const auth = authHeader(system.auth, o.secrets);
  if (auth.missing) throw new CallError(`${where}: secret ${auth.missing} is not provided`, null);
  const headers = new Headers(req.headers);
  headers.set("accept", "application/json");
  if (req.body !== undefined) headers.set("content-type", "application/json");
  if (auth.header) headers.set(auth.header[0], auth.header[1]);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), budget);
  try {
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        redirect: "manual",
        signal: ac.signal,
      });
    } catch (e) {
      throw new CallError(`${where}: ${ac.signal.aborted ? `timed out after ${budget} ms` : reason(e)}`, null);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new CallError(
        `${where}: ${ac.signal.aborted ? `timed out after ${budget} ms` : `response cut off: ${reason(e)}`}`,
        res.status,
      );
    }
    if (!res.ok) {
      const detail = excerpt(text, auth.values);
      throw new CallError(`${where}: HTTP ${res.status}${detail ? `: ${detail}` : ""}`, res.status);
    }
    if (Buffer.byteLength(text) > MAX_RESULT_BYTES)
      throw new CallError(`${where}: the response is larger than ${MAX_RESULT_BYTES} bytes`, res.status);
    if (text.trim() === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  } finally {
    clearTimeout(timer);
  }
}

function reason(e: unknown): string {
  const cause = e instanceof Error ? (e as Error & { cause?: { code?: unknown; message?: unknown } }).cause : undefined;
  if (cause && typeof cause.code === "string") return `connection failed: ${cause.code}`;
  if (cause && typeof cause.message === "string") return `connection failed: ${cause.message}`;
  return e instanceof Error ? e.message : String(e);
}
