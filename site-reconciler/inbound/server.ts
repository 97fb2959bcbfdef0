import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { ArtifactApiMethod } from "../../schemas/types.js";
import { type InboundMetrics, inboundMetrics, NO_METHOD } from "../api/metrics.js";
import type { ScriptCaller, ScriptCallResult, SecretLookup } from "../runtime/runtime.js";
import { missingKeys } from "./auth.js";
import { MAX_BODY_BYTES, readBody } from "./body.js";
import { checkRequest, parseBody } from "./check.js";
import { parameterNames } from "./params.js";

export interface InboundOptions {
  /** 0: any free port. */
  port: number;
  /** The address to bind (default 127.0.0.1); the API faces other systems, so any address may be given. */
  host?: string;
  /** The ApiMethods of the applied site.json, read at each request (a new release changes them at once). */
  methods: () => readonly ArtifactApiMethod[];
  secrets: SecretLookup;
  runtime: ScriptCaller;
  log: Logger;
  /** Largest body read (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface Inbound {
  port: number;
  host: string;
  metrics: InboundMetrics;
  /** Says which methods no caller can use (none of their key secrets provided); once per change of site.json. */
  checkKeys(): void;
  /** Stops listening; calls still waiting are answered 503 at once (a run already started finishes on its own). */
  close(): Promise<void>;
}

/** The inbound API did not start listening (the port taken, the address not on this host). */
export class InboundListenError extends Error {}

/** An answer: its status, the JSON body, and the words the log gets for a failure. */
interface Answer {
  status: number;
  body: unknown;
  reason?: string;
  headers?: Record<string, string>;
}

const fail = (status: number, reason: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { error: reason },
  reason,
  headers,
});

/**
 * The site's inbound API (section 8.4): `POST /api/<method>` with a JSON object of named parameters and an X-API-Key
 * header, answered by the method's call-triggered script. A listener of its own, apart from the loopback read API:
 * it faces other systems. Every request is counted by method and status; every failure is logged at warn with the
 * method, the status, the reason and the parameter names, never a key nor a parameter's value.
 */
export async function startInbound(opts: InboundOptions): Promise<Inbound> {
  const host = opts.host ?? "127.0.0.1";
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const metrics = inboundMetrics();
  const log = opts.log;
  let stopping = false;
  let stop!: () => void;
  const stopped = new Promise<"stopping">((resolve) => {
    stop = () => resolve("stopping");
  });
  const handlers = new Set<Promise<void>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const t0 = performance.now();
    const remote = req.socket.remoteAddress;
    let label = NO_METHOD;
    let params: string[] | undefined;
    let keySecret: string | undefined;
    let answer: Answer;
    try {
      answer = await respond(req, {
        method: (name) => (label = name),
        key: (name) => (keySecret = name),
        params: (names) => (params = names),
      });
    } catch (e) {
      log.error({ method: label, err: e instanceof Error ? e.message : String(e) }, "inbound API request failed");
      answer = fail(500, "internal error");
    }
    const [final, text] = render(answer);
    answer = final;
    const seconds = (performance.now() - t0) / 1000;
    metrics.requests.inc({ method: label, code: String(answer.status) });
    metrics.duration.observe({ method: label }, seconds);
    // The key by the name of its secret (which caller it was), never by value.
    const fields = { method: label, status: answer.status, keySecret, params, remote, ms: Math.round(seconds * 1000) };
    if (answer.status >= 400) log.warn({ ...fields, reason: answer.reason }, "inbound API request failed");
    else log.debug(fields, "inbound API call");
    send(res, answer, text);
  };

  /** The answer to one request; tells `seen` the method, the key's secret name and the parameter names as it learns them. */
  const respond = async (
    req: IncomingMessage,
    seen: { method(name: string): void; key(name: string): void; params(names: string[]): void },
  ): Promise<Answer> => {
    // Refusals before the body is read close the connection: an unread body is not left for the next request.
    const close = { connection: "close" };
    if (stopping) return fail(503, "the site is stopping", close);
    const head = checkRequest(
      { verb: req.method, url: req.url, key: header(req.headers["x-api-key"]) },
      opts.methods(),
      opts.secrets,
    );
    if (head.method) seen.method(head.method.name);
    if (head.keyName !== undefined) seen.key(head.keyName);
    if (!head.ok) {
      const headers: Record<string, string> = { ...close };
      if (head.status === 405) headers.allow = "POST";
      if (head.status === 401) headers["www-authenticate"] = 'ApiKey header="X-API-Key"';
      return fail(head.status, head.reason, headers);
    }
    const m = head.method;
    const text = await Promise.race([readBody(req, maxBody), stopped]);
    if (text === "stopping") return fail(503, "the site is stopping", close);
    if (!text.ok) return fail(text.status, text.reason, close);
    const body = parseBody(text.text);
    if (!body.ok) return fail(400, body.reason);
    seen.params(parameterNames(body.named));
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), m.timeoutMs);
    });
    const call = opts.runtime.callScript(m.instance, m.script, body.named, { signal: ac.signal });
    const r = await Promise.race([call, deadline, stopped]);
    clearTimeout(timer);
    if (r === "timeout" || r === "stopping") {
      // A call still queued is withdrawn and never runs; one already running finishes within its script's own
      // timeout, its writes and logs taken in as for any run: only its result has no one left to take it.
      ac.abort();
      void call.then((late) => {
        if (late.status !== "withdrawn")
          log.info({ method: m.name, result: late.status }, "inbound API call finished after its caller was answered");
      });
      return r === "timeout" ? fail(504, `no answer within ${m.timeoutMs} ms`) : fail(503, "the site is stopping");
    }
    return fromCall(r, m);
  };

  const server = createServer((req, res) => {
    const h = handle(req, res).finally(() => handlers.delete(h));
    handlers.add(h);
  });
  // Slow clients hold no connection for long: the headers within 10 s, the whole request within 30 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new InboundListenError(e.message)));
    server.listen(opts.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  log.info({ host, port }, "inbound API listening (plain HTTP: TLS, where needed, comes from a reverse proxy)");

  let keysSaid = "";
  const checkKeys = () => {
    const unusable = opts
      .methods()
      .filter((m) => missingKeys(m, opts.secrets).length === m.keys.length)
      .map((m) => ({ method: m.name, keys: m.keys }));
    const said = JSON.stringify(unusable);
    if (said === keysSaid) return;
    keysSaid = said;
    for (const u of unusable)
      log.warn(u, "inbound API method has none of its key secrets on this site: every call to it is refused (401)");
  };
  checkKeys();

  return {
    port,
    host,
    metrics,
    checkKeys,
    async close() {
      stopping = true;
      stop();
      await Promise.allSettled([...handlers]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      });
    },
  };
}

/** The answer to what the runtime said. */
function fromCall(r: ScriptCallResult, m: ArtifactApiMethod): Answer {
  switch (r.status) {
    case "ok":
      return { status: 200, body: { result: r.value ?? null } };
    case "unfit":
      return fail(400, r.message);
    case "unavailable":
      return fail(503, r.message);
    case "failed":
      // The script's message only, never a stack: it is the script's answer to the caller.
      return fail(500, r.message);
    case "withdrawn":
      return fail(503, `the call of ${m.name} was withdrawn before it ran`);
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The answer as JSON text; one JSON cannot hold (the host sends JSON data, so not expected) becomes a 500. */
function render(a: Answer): [Answer, string] {
  try {
    return [a, `${JSON.stringify(a.body)}\n`];
  } catch {
    const b = fail(500, "the script's result is not JSON");
    return [b, `${JSON.stringify(b.body)}\n`];
  }
}

function send(res: ServerResponse, a: Answer, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(a.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...a.headers,
  });
  res.end(text);
}
