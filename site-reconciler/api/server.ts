import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { AlarmView, AttributeView, InstanceView, RuntimeView } from "../runtime/view.js";
import type { InstanceState } from "../types.js";

/** In the state directory while a reconciler serves its read API: `{ "port": n, "pid": n }`. */
export const API_FILE = "api.json";

/** An instance as `site inspect --format json` prints it: exactly these keys (the output is an API). */
export interface InspectInstance {
  name: string;
  revisionHash: string;
  state: InstanceState;
  attributes: Pick<AttributeView, "path" | "value" | "quality" | "timestamp">[];
  alarms: Pick<AlarmView, "path" | "active" | "since">[];
}

/** `site inspect --format json`'s document, and the API's /instances. */
export interface InspectDocument {
  site: string | null;
  deployCommit: string | null;
  instances: InspectInstance[];
}

/** Projects an instance (live or parsed from /instances) onto the inspect contract, dropping every other field. */
export function inspectInstance(i: InspectInstance): InspectInstance {
  return {
    name: i.name,
    revisionHash: i.revisionHash,
    state: i.state,
    attributes: i.attributes.map((a) => ({
      path: a.path,
      value: a.value ?? null,
      quality: a.quality,
      timestamp: a.timestamp ?? null,
    })),
    alarms: i.alarms.map((a) => ({ path: a.path, active: a.active, since: a.since ?? null })),
  };
}

export interface ApiHealth {
  ok: boolean;
  lastLoop: string | null;
  message: string | null;
}

export interface ApiOptions {
  port: number;
  /** Loopback only (127.0.0.0/8 or ::1): the API has no authentication. Default 127.0.0.1. */
  host?: string;
  view: RuntimeView;
  site: string;
  deployCommit: () => string | null;
  healthy: () => ApiHealth;
  registry: Registry;
  log: Logger;
}

export interface Api {
  port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const version = isIP(host);
  if (version === 4) return host.startsWith("127.");
  if (version !== 6) return false;
  // The URL parser writes an IPv6 address in its canonical form; ::ffff:7f… is an IPv4-mapped 127.x address.
  const canonical = new URL(`http://[${host}]`).hostname;
  return canonical === "[::1]" || canonical.startsWith("[::ffff:7f");
}

/**
 * Whether a request's Host header names this server: a loopback address or `localhost`, with the port it listens
 * on. A page from any other origin that a browser on the site host is tricked into sending here (DNS rebinding:
 * evil.example resolving to 127.0.0.1) carries its own name, and is refused.
 */
export function hostAllowed(header: string | undefined, port: number): boolean {
  if (header === undefined) return true; // HTTP/1.0 clients; a browser always sends one
  let url: URL;
  try {
    url = new URL(`http://${header}`);
  } catch {
    return false;
  }
  if (url.username || url.password || url.pathname !== "/" || url.search) return false;
  const name = url.hostname.toLowerCase();
  const bare = name.startsWith("[") ? name.slice(1, -1) : name;
  const loopback = name === "localhost" || name.endsWith(".localhost") || (isIP(bare) !== 0 && isLoopback(bare));
  return loopback && (url.port === "" ? port === 80 : Number(url.port) === port);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Values JSON cannot hold as they are: 64-bit integers as numbers when exact, else as decimal strings. */
const replacer = (_key: string, v: unknown) =>
  typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;

/**
 * The site's local read API: live instances (the `site inspect` contract), health, and Prometheus metrics. Read-only
 * and unauthenticated, hence loopback only.
 */
export async function startApi(opts: ApiOptions): Promise<Api> {
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host))
    throw new Error(`the site API listens on loopback only (127.0.0.0/8 or ::1), not on ${JSON.stringify(host)}`);
  const document = (instances: InstanceView[]): InspectDocument => ({
    site: opts.site,
    deployCommit: opts.deployCommit(),
    instances: instances.map(inspectInstance),
  });
  const one = (name: string): InstanceView => {
    const i = opts.view.instance(name);
    if (!i) throw new HttpError(404, `no instance ${name} on this site`);
    return i;
  };
  const route = async (path: string, query: URLSearchParams): Promise<{ status?: number; body: unknown } | string> => {
    if (path === "/instances") {
      const name = query.get("instance");
      return { body: document(name === null ? opts.view.instances() : [one(name)]) };
    }
    if (path.startsWith("/instances/") && path.indexOf("/", "/instances/".length) === -1) {
      let name: string;
      try {
        name = decodeURIComponent(path.slice("/instances/".length));
      } catch {
        throw new HttpError(400, "bad percent-encoding in the instance name");
      }
      return { body: inspectInstance(one(name)) };
    }
    if (path === "/health") {
      const { ok, lastLoop, message } = opts.healthy();
      const { connections, tags, stats } = opts.view.health();
      return { body: { ok, lastLoop, message, connections, tags, stats } };
    }
    if (path === "/healthz") {
      const h = opts.healthy();
      return { status: h.ok ? 200 : 503, body: { ok: h.ok, lastLoop: h.lastLoop, message: h.message } };
    }
    if (path === "/metrics") return opts.registry.metrics();
    throw new HttpError(404, `no route ${path}`);
  };

  const send = (res: ServerResponse, head: boolean, status: number, type: string, body: string) => {
    res.writeHead(status, {
      "content-type": type,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(head ? undefined : body);
  };
  const sendJson = (res: ServerResponse, head: boolean, status: number, body: unknown) =>
    send(res, head, status, "application/json; charset=utf-8", `${JSON.stringify(body, replacer)}\n`);

  // The port listened on, known once listening (0 asks for any free one); requests come only after that.
  let port = opts.port;
  const server = createServer(async (req, res) => {
    const head = req.method === "HEAD";
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q === -1 ? raw : raw.slice(0, q);
    try {
      if (!hostAllowed(req.headers.host, port))
        throw new HttpError(
          421,
          "the site API answers only requests addressed to 127.0.0.1, [::1] or localhost with its own port (Host header refused)",
        );
      if (req.method !== "GET" && !head) {
        res.setHeader("allow", "GET, HEAD");
        throw new HttpError(405, `${req.method} is not allowed: the site API is read-only`);
      }
      const out = await route(path, new URLSearchParams(q === -1 ? "" : raw.slice(q + 1)));
      if (typeof out === "string") send(res, head, 200, opts.registry.contentType, out);
      else sendJson(res, head, out.status ?? 200, out.body);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, head, e.status, { error: e.message });
      // One line; the stack only for whoever asked for debug logs.
      opts.log.error({ err: e instanceof Error ? e.message : String(e), path }, "site API request failed");
      if (e instanceof Error) opts.log.debug({ stack: e.stack, path }, "site API request failed: stack");
      if (!res.headersSent) sendJson(res, head, 500, { error: "internal error" });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === "object" && address ? address.port : opts.port;
  opts.log.info({ host, port }, "site API listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // Keep-alive connections (fetch keeps them) would hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}

/** Tells `site inspect` where the running reconciler's API is; written whole (temporary file and rename). */
export function writeApiFile(stateDir: string, port: number): void {
  const file = join(stateDir, API_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ port, pid: process.pid })}\n`);
  renameSync(tmp, file);
}

export function removeApiFile(stateDir: string): void {
  rmSync(join(stateDir, API_FILE), { force: true });
}

/** The API file's port and pid; undefined when there is none or it is not one this code wrote. */
export function readApiFile(stateDir: string): { port: number; pid: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(stateDir, API_FILE), "utf8"));
  } catch {
    return undefined;
  }
  const { port, pid } = (parsed ?? {}) as { port?: unknown; pid?: unknown };
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) return undefined;
  if (!Number.isInteger(pid) || (pid as number) < 1) return undefined;
  return { port: port as number, pid: pid as number };
}
