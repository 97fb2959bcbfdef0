import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { packageRoot } from "../controller/package-root.js";
import { fleetPages } from "./fleet-pages.js";
import type { InstancePages } from "./instance.js";
import { notFoundBody, page } from "./render.js";
import type { readFleet } from "./source.js";

/**
 * What a dashboard shows: pages rendered from a view read again every pollMs (the fleet from the branches, one site
 * from its runtime). Live pages are rendered again from the view and pushed when their HTML changed.
 */
export interface Pages {
  /** Reads the view again; true when it changed (false also when it could not be read: the last one stays). */
  refresh(now: number): Promise<boolean>;
  /** Whether a view has been read yet. */
  ready(): boolean;
  /** The body of a live page, or undefined when there is no such page. */
  body(path: string): string | undefined;
  title(path: string): string;
  /** A page rendered on request and not pushed; undefined when the path is not one of these. */
  page?(path: string, query: URLSearchParams): Promise<{ status: number; title: string; body: string }> | undefined;
  /** JSON for /api/…; undefined: no such path. */
  json(path: string): string | undefined;
}

export interface DashboardOptions {
  /** The fleet's pages from the branches: source.ts's readFleet bound to a clone (a fetch included). */
  read?: (now: number) => ReturnType<typeof readFleet>;
  /** Instance pages of the fleet (package, provenance, diff, records); without them /instances/… is 404. */
  instances?: InstancePages;
  /** Other pages instead of the fleet's (a site's, from its runtime). */
  pages?: Pages;
  port: number;
  /** Default 127.0.0.1. Any address that is not loopback needs a token. */
  host?: string;
  /** The bearer token's value (read by its secret's name); required off loopback. */
  token?: string;
  /** Host header values accepted besides the bind address and localhost (the name people type: scada.plant.local:8080). */
  allowedHosts?: readonly string[];
  /** How often the view is read again (default 5 s). */
  pollMs?: number;
  log: Logger;
}

export interface Dashboard {
  url: string;
  port: number;
  /** Reads the branches now and pushes what changed (tests; the timer does it every pollMs). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const ASSETS: Record<string, string> = {
  "/assets/app.js": "text/javascript; charset=utf-8",
  "/assets/app.css": "text/css; charset=utf-8",
};
const COOKIE = "scadalink_ui";
/** Every page: nothing from elsewhere, no inline script, no framing (SPEC 11: no CDN, CSP headers). */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export class DashboardAuthError extends Error {}

export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);

/**
 * The fleet dashboard's web server (SPEC 11): server-rendered pages, their live updates as server-sent events (the
 * page's body, rendered again whenever what it shows changed), JSON of the fleet, and its two static assets.
 * Read-only: every route is a GET.
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? "127.0.0.1";
  if (!isLoopback(host) && !o.token)
    throw new DashboardAuthError(
      `${host} is not a loopback address: the dashboard needs a token there (--ui-token-secret NAME)`,
    );
  const assets = new Map(
    Object.keys(ASSETS).map((p) => [p, readFileSync(join(packageRoot(), "dashboard", p.slice(1)))]),
  );
  const tokenHash = o.token ? createHash("sha256").update(o.token).digest() : undefined;
  // The cookie a browser gets for the token: random per process, so a stolen cookie dies with a restart.
  const session = randomBytes(32).toString("hex");
  const pages =
    o.pages ??
    fleetPages({
      read: o.read ?? missingRead,
      ...(o.instances ? { instances: o.instances } : {}),
      log: o.log,
    });
  const clients = new Set<{ res: ServerResponse; path: string; last: string }>();
  const refresh = async () => {
    if (!(await pages.refresh(Date.now()))) return;
    for (const c of clients) push(c);
  };
  const push = (c: { res: ServerResponse; path: string; last: string }) => {
    if (!pages.ready()) return;
    const html = pages.body(c.path) ?? notFoundBody(c.path);
    if (html === c.last) return;
    c.last = html;
    c.res.write(`event: body\ndata: ${JSON.stringify({ html })}\n\n`);
  };

  const allowed = new Set<string>();
  const authorized = (req: IncomingMessage): boolean => {
    if (!tokenHash) return true;
    const auth = req.headers.authorization;
    const given = auth?.startsWith("Bearer ") ? auth.slice(7) : cookieOf(req, COOKIE) === session ? o.token : undefined;
    if (given === undefined) return false;
    return timingSafeEqual(createHash("sha256").update(given).digest(), tokenHash);
  };

  const server: Server = createServer((req, res) => {
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    // DNS rebinding: a page elsewhere that makes its name point here still sends its own name.
    if (!allowed.has(hostHeader)) return send(res, 421, "text/plain", `unknown Host ${hostHeader.slice(0, 100)}\n`);
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "text/plain", "the dashboard is read-only\n", { allow: "GET, HEAD" });
    const url = new URL(req.url ?? "/", "http://dashboard");
    // A link with ?token= (typed once, or from a bookmark) sets the session cookie and is forgotten.
    const t = url.searchParams.get("token");
    if (tokenHash && t !== null) {
      if (!timingSafeEqual(createHash("sha256").update(t).digest(), tokenHash))
        return send(res, 401, "text/plain", "wrong token\n");
      url.searchParams.delete("token");
      return send(res, 303, "text/plain", "", {
        location: url.pathname + url.search,
        "set-cookie": `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      });
    }
    if (!authorized(req))
      return send(
        res,
        401,
        "text/plain",
        "a token is needed: Authorization: Bearer …, or open the page once with ?token=…\n",
        {
          "www-authenticate": 'Bearer realm="scadalink"',
        },
      );
    const path = url.pathname;
    const asset = assets.get(path);
    if (asset) return send(res, 200, ASSETS[path]!, asset);
    if (path.startsWith("/api/") && path !== "/api/events") {
      const json = pages.ready() ? pages.json(path) : undefined;
      if (!pages.ready()) return send(res, 503, "application/json", `${JSON.stringify({ error: "not read yet" })}\n`);
      if (json === undefined)
        return send(res, 404, "application/json", `${JSON.stringify({ error: "no such path" })}\n`);
      return send(res, 200, "application/json", `${json}\n`);
    }
    if (path === "/api/events") {
      const target = url.searchParams.get("page") ?? "/";
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        connection: "keep-alive",
      });
      res.write("retry: 2000\n\n");
      const c = { res, path: target, last: "" };
      clients.add(c);
      req.on("close", () => clients.delete(c));
      push(c);
      return;
    }
    const ready = pages.ready();
    if (path === "/healthz") return send(res, ready ? 200 : 503, "text/plain", ready ? "ok\n" : "not read yet\n");
    if (!ready) return send(res, 503, "text/html; charset=utf-8", page("Starting", notFoundBody("not read yet")));
    const onRequest = pages.page?.(path, url.searchParams);
    if (onRequest) {
      void onRequest.then(
        (p) => send(res, p.status, "text/html; charset=utf-8", page(p.title, p.body)),
        (e) => {
          o.log.warn({ err: e instanceof Error ? e.message : String(e), path }, "dashboard: page failed");
          send(res, 500, "text/html; charset=utf-8", page("Error", notFoundBody("the page could not be read")));
        },
      );
      return;
    }
    const body = pages.body(path);
    if (body === undefined) return send(res, 404, "text/html; charset=utf-8", page("Not found", notFoundBody(path)));
    return send(res, 200, "text/html; charset=utf-8", page(pages.title(path), body, { live: path }));
  });

  await refresh();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const bracket = host.includes(":") ? `[${host}]` : host;
  for (const h of [
    `${bracket}:${port}`,
    `localhost:${port}`,
    `127.0.0.1:${port}`,
    `[::1]:${port}`,
    ...(o.allowedHosts ?? []),
  ])
    allowed.add(h.toLowerCase());
  const timer = setInterval(() => void refresh(), o.pollMs ?? 5_000);
  // Comments keep idle streams open through proxies that close quiet connections.
  const keepAlive = setInterval(() => {
    for (const c of clients) c.res.write(": keep-alive\n\n");
  }, 15_000);
  o.log.info(
    { url: `http://${bracket}:${port}/`, auth: tokenHash ? "token" : "none (loopback)" },
    "dashboard listening",
  );
  return {
    url: `http://${bracket}:${port}/`,
    port,
    refresh,
    async stop() {
      clearInterval(timer);
      clearInterval(keepAlive);
      for (const c of clients) c.res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const missingRead = (): never => {
  throw new Error("startDashboard: give read (the fleet's branches) or pages");
};

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
