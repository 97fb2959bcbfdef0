import { request } from "node:http";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { FleetInputs } from "../../dashboard/model.js";
import { type Dashboard, DashboardAuthError, startDashboard } from "../../dashboard/server.js";
import type { SiteManifest } from "../../schemas/types.js";

// The dashboard's HTTP server on 127.0.0.1: what every response carries, who is let in, and live updates. Its input
// is the fleet as source.ts reads it from the branches; here the inputs are given directly, so each rule is tested
// on its own (test/dashboard/browser.test.ts runs it against real branches in a real browser).

const TOKEN = "ui-token-CANARY-5a9c03e1b7";
const log = pino({ level: "silent" });
let inputs: FleetInputs;
const open: Dashboard[] = [];

function fleet(hash: string): FleetInputs {
  return {
    deployCommit: "d".repeat(40),
    sourceCommit: null,
    manifests: new Map([
      ["north", { site: "north", siteRevisionHash: hash, instances: { P1: hash } } as unknown as SiteManifest],
    ]),
    statuses: new Map(),
    batches: new Map(),
    now: Date.now(),
    heartbeatMs: 60_000,
  };
}

async function start(o: { host?: string; token?: string; allowedHosts?: string[] } = {}) {
  inputs = fleet(`sha256:${"a".repeat(64)}`);
  const d = await startDashboard({
    read: async () => ({ inputs, heads: { main: null, deploy: null, statuses: "" } }),
    port: 0,
    pollMs: 60_000,
    log,
    ...o,
  });
  open.push(d);
  return d;
}

afterEach(async () => {
  for (const d of open.splice(0)) await d.stop();
});

/** A GET with exactly these headers (fetch would not let the Host header be set). */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
        (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on("error", reject);
      req.end();
    },
  );
}

describe("the dashboard server", () => {
  it("serves the fleet page, its assets and JSON, each with CSP, no framing and no sniffing", async () => {
    const d = await start();
    for (const path of ["/", "/assets/app.js", "/assets/app.css", "/api/fleet", "/sites/north"]) {
      const r = await get(d.port, path);
      expect(r.status, path).toBe(200);
      expect(r.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
      expect(r.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
    }
    const page = await get(d.port, "/");
    expect(page.body).toContain('data-instance="north/P1"');
    // Nothing from elsewhere: every script and stylesheet is the tool's own.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.body).not.toMatch(/<script>(?!<\/script>)/);
    expect(JSON.parse((await get(d.port, "/api/fleet")).body).sites[0].site).toBe("north");
    expect((await get(d.port, "/sites/nowhere")).status).toBe(404);
  });

  it("refuses a Host it does not serve (DNS rebinding), and takes one it was told of", async () => {
    const d = await start({ allowedHosts: ["scada.plant.local:8080"] });
    expect((await get(d.port, "/", { host: `evil.example:${d.port}` })).status).toBe(421);
    expect((await get(d.port, "/api/fleet", { host: "evil.example" })).status).toBe(421);
    expect((await get(d.port, "/", { host: "scada.plant.local:8080" })).status).toBe(200);
    expect((await get(d.port, "/", { host: `localhost:${d.port}` })).status).toBe(200);
  });

  it("is read-only: any method but GET and HEAD is refused", async () => {
    const d = await start();
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: "127.0.0.1", port: d.port, path: "/", method: "POST" }, (res) =>
        resolve(res.statusCode ?? 0),
      );
      req.end("x");
    });
    expect(status).toBe(405);
  });

  it("will not bind other than loopback without a token", async () => {
    await expect(start({ host: "0.0.0.0" })).rejects.toBeInstanceOf(DashboardAuthError);
  });

  it("off loopback: refuses every request without the token, takes a bearer token or the session a ?token= link gives", async () => {
    const d = await start({ host: "0.0.0.0", token: TOKEN });
    for (const path of ["/", "/api/fleet", "/api/events", "/assets/app.js", "/sites/north"]) {
      const r = await get(d.port, path);
      expect(r.status, path).toBe(401);
      expect(r.body).not.toContain("north");
    }
    expect((await get(d.port, "/", { authorization: "Bearer wrong-token-0000000000" })).status).toBe(401);
    expect((await get(d.port, "/", { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(d.port, "/?token=wrong")).status).toBe(401);
    const login = await get(d.port, `/sites/north?token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe("/sites/north");
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // The cookie is a session of this process, not the token itself.
    expect(cookie).not.toContain(TOKEN);
    const withCookie = await get(d.port, "/sites/north", { cookie: cookie.split(";")[0]! });
    expect(withCookie.status).toBe(200);
    expect(withCookie.body).not.toContain(TOKEN);
  });

  it("pushes a page's new body as a server-sent event when what it shows changed", async () => {
    const d = await start();
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: d.port, path: "/api/events?page=%2F", headers: { host: `127.0.0.1:${d.port}` } },
        (res) => {
          expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
          let buf = "";
          res.on("data", (chunk) => {
            buf += chunk;
            for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const data = /^data: (.*)$/m.exec(block);
              if (/^event: body$/m.test(block) && data) events.push((JSON.parse(data[1]!) as { html: string }).html);
              if (events.length === 2) {
                req.destroy();
                resolve();
              }
            }
          });
        },
      );
      req.on("error", (e) => (events.length === 2 ? undefined : reject(e)));
      req.end();
    });
    // The first event is the page as it is; a new release makes the second.
    await new Promise((r) => setTimeout(r, 200));
    inputs = fleet(`sha256:${"b".repeat(64)}`);
    await d.refresh();
    await done;
    expect(events[0]).toContain("aaaaaaaaaa");
    expect(events[1]).toContain("bbbbbbbbbb");
    expect(events[1]).not.toContain("<html");
  });
});
