import { existsSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { loopMetrics, siteMetrics } from "../../site-reconciler/api/metrics.js";
import {
  API_FILE,
  type ApiHealth,
  hostAllowed,
  isLoopback,
  readApiFile,
  removeApiFile,
  startApi,
  writeApiFile,
} from "../../site-reconciler/api/server.js";
import type { HealthView, InstanceView, RuntimeView } from "../../site-reconciler/runtime/view.js";
import { tempDir } from "./helpers.js";

const AT = "2026-05-01T08:00:00.000Z";
const quiet = pino({ level: "silent" });

const PUMP: InstanceView = {
  name: "Pump07",
  revisionHash: `sha256:${"a".repeat(64)}`,
  state: "enabled",
  running: true,
  result: "pass",
  message: null,
  attributes: [
    { path: "Speed", value: 1460.5, quality: "good", timestamp: AT },
    { path: "Flow", value: undefined, quality: "bad", timestamp: null },
    // Int64 values: a number when exact, else a decimal string.
    { path: "Starts", value: 42n, quality: "good", timestamp: AT },
    { path: "Counter", value: 2n ** 60n, quality: "uncertain", timestamp: AT },
  ],
  alarms: [
    { path: "OverSpeed", active: true, since: AT, priority: 700 },
    { path: "Inlet.Stuck", active: false, since: null, priority: 500 },
  ],
};
const SPACE: InstanceView = {
  ...PUMP,
  name: "Tank 1/A",
  state: "disabled",
  running: false,
  attributes: [],
  alarms: [],
};

const HEALTH: HealthView = {
  connections: [
    { name: "plc-a", state: "connected", since: AT },
    { name: "plc-b", state: "disconnected", since: AT, error: "ECONNREFUSED" },
  ],
  tags: { resolved: 40, unresolved: 2, bad: 1 },
  stats: {
    valueChanges: 1234,
    alarmEvaluations: 1300,
    alarmTransitions: 7,
    activeAlarms: 1,
    scriptRuns: 50,
    scriptErrors: 3,
    scriptTimeouts: 1,
    scriptCrashes: 2,
    scriptHostRestarts: 2,
    scriptRunsDropped: 0,
    scriptLogsDropped: 40,
    scriptsQuarantined: 1,
    eventsSuppressed: 12,
    writes: 9,
    writeFailures: 2,
    quality: { good: 38, bad: 4, uncertain: 1 },
  },
};

/** The interface's data, as the runtime would hold it. */
const view: RuntimeView = {
  instances: () => [PUMP, SPACE],
  instance: (name) => [PUMP, SPACE].find((i) => i.name === name),
  health: () => HEALTH,
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(healthy: ApiHealth = { ok: true, lastLoop: AT, message: null }) {
  const registry = new Registry();
  siteMetrics(registry, view, "plant-north");
  const loop = loopMetrics(registry);
  const api = await startApi({
    port: 0,
    view,
    site: "plant-north",
    deployCommit: () => "c".repeat(40),
    healthy: () => healthy,
    registry,
    log: quiet,
  });
  closers.push(() => api.close());
  const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${api.port}${path}`, init);
  return { api, get, loop };
}

const PUMP_ENTRY = {
  name: "Pump07",
  revisionHash: PUMP.revisionHash,
  state: "enabled",
  attributes: [
    { path: "Speed", value: 1460.5, quality: "good", timestamp: AT },
    { path: "Flow", value: null, quality: "bad", timestamp: null },
    { path: "Starts", value: 42, quality: "good", timestamp: AT },
    { path: "Counter", value: "1152921504606846976", quality: "uncertain", timestamp: AT },
  ],
  alarms: [
    { path: "OverSpeed", active: true, since: AT },
    { path: "Inlet.Stuck", active: false, since: null },
  ],
};

// biome-ignore lint/suspicious/noExplicitAny: response bodies, whose shapes the tests assert exactly.
async function json(res: Response): Promise<any> {
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(res.headers.get("cache-control")).toBe("no-store");
  return res.json();
}

describe("the site read API", () => {
  it("/instances is the site inspect document: exactly its keys, in its order", async () => {
    const { get } = await serve();
    const res = await get("/instances");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(Object.keys(body)).toEqual(["site", "deployCommit", "instances"]);
    expect(body).toEqual({
      site: "plant-north",
      deployCommit: "c".repeat(40),
      instances: [
        PUMP_ENTRY,
        { name: "Tank 1/A", revisionHash: PUMP.revisionHash, state: "disabled", attributes: [], alarms: [] },
      ],
    });
    expect(Object.keys(body.instances[0])).toEqual(["name", "revisionHash", "state", "attributes", "alarms"]);
    expect(Object.keys(body.instances[0].attributes[1])).toEqual(["path", "value", "quality", "timestamp"]);
    expect(Object.keys(body.instances[0].alarms[0])).toEqual(["path", "active", "since"]);
  });

  it("?instance= narrows /instances; /instances/NAME is one entry, its name decoded; unknown names are 404", async () => {
    const { get } = await serve();
    const one = await json(await get("/instances?instance=Pump07"));
    expect(one.instances).toEqual([PUMP_ENTRY]);
    expect(await json(await get("/instances/Pump07"))).toEqual(PUMP_ENTRY);
    expect((await json(await get("/instances/Tank%201%2FA"))).name).toBe("Tank 1/A");
    for (const path of ["/instances?instance=Nope", "/instances/Nope"]) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ error: "no instance Nope on this site" });
    }
    expect((await get("/instances/%E0%A4%A")).status).toBe(400);
  });

  it("/health reports the reconciler's health with the runtime's connections, tags and counters", async () => {
    const { get } = await serve({ ok: false, lastLoop: AT, message: "git unreachable" });
    const body = await json(await get("/health"));
    expect(body).toEqual({
      ok: false,
      lastLoop: AT,
      message: "git unreachable",
      connections: HEALTH.connections,
      tags: HEALTH.tags,
      stats: HEALTH.stats,
    });
  });

  it("/healthz is 200 when healthy and 503 with the message when not", async () => {
    const up = await serve();
    const ok = await up.get("/healthz");
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ ok: true, lastLoop: AT, message: null });
    const down = await serve({ ok: false, lastLoop: null, message: "the manifest was refused" });
    const bad = await down.get("/healthz");
    expect(bad.status).toBe(503);
    expect(await json(bad)).toEqual({ ok: false, lastLoop: null, message: "the manifest was refused" });
  });

  it("/metrics exposes the runtime's health and counters, and the loop's metrics", async () => {
    const { get, loop } = await serve();
    loop.loopDuration.observe(0.2);
    loop.lastPoll.set(1_777_000_000);
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      'scadalink_site_info{site="plant-north"} 1',
      'scadalink_site_connection_up{connection="plc-a"} 1',
      'scadalink_site_connection_up{connection="plc-b"} 0',
      'scadalink_site_connection_state{connection="plc-a",state="connected"} 1',
      'scadalink_site_connection_state{connection="plc-a",state="disconnected"} 0',
      'scadalink_site_connection_state{connection="plc-b",state="disconnected"} 1',
      'scadalink_site_connection_state{connection="plc-b",state="blocked"} 0',
      'scadalink_site_tags{state="resolved"} 40',
      'scadalink_site_tags{state="unresolved"} 2',
      'scadalink_site_tags{state="bad"} 1',
      'scadalink_site_attribute_quality{quality="good"} 38',
      'scadalink_site_attribute_quality{quality="bad"} 4',
      'scadalink_site_attribute_quality{quality="uncertain"} 1',
      "scadalink_site_alarms_active 1",
      "# TYPE scadalink_site_value_changes_total counter",
      "scadalink_site_value_changes_total 1234",
      "scadalink_site_alarm_evaluations_total 1300",
      "scadalink_site_alarm_transitions_total 7",
      "scadalink_site_script_runs_total 50",
      "scadalink_site_script_errors_total 3",
      "scadalink_site_script_timeouts_total 1",
      "scadalink_site_script_host_crashes_total 2",
      "scadalink_site_script_host_restarts_total 2",
      "scadalink_site_script_log_lines_dropped_total 40",
      "scadalink_site_events_suppressed_total 12",
      "scadalink_site_scripts_quarantined 1",
      "scadalink_site_writes_total 9",
      "scadalink_site_write_failures_total 2",
      "scadalink_site_loop_duration_seconds_count 1",
      "scadalink_site_last_poll_timestamp_seconds 1777000000",
    ])
      expect(text.split("\n")).toContain(line);
    // A second scrape reads the runtime afresh and does not add to the counters.
    expect((await (await get("/metrics")).text()).split("\n")).toContain("scadalink_site_value_changes_total 1234");
  });

  it("reads the runtime's health once per scrape, and afresh on the next", async () => {
    let reads = 0;
    let changes = 0;
    const registry = new Registry();
    siteMetrics(
      registry,
      {
        ...view,
        health: () => {
          reads++;
          return { ...HEALTH, stats: { ...HEALTH.stats, valueChanges: (changes += 10) } };
        },
      },
      "plant-north",
    );
    expect(await registry.metrics()).toContain("scadalink_site_value_changes_total 10\n");
    expect(reads).toBe(1);
    expect(await registry.metrics()).toContain("scadalink_site_value_changes_total 20\n");
    expect(reads).toBe(2);
  });

  it("answers HEAD like GET without a body; other methods are 405, unknown paths 404 (JSON)", async () => {
    const { get } = await serve();
    const head = await get("/instances", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(100);
    expect(await head.text()).toBe("");
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await get("/instances", { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      expect((await json(res)).error).toMatch(/read-only/);
    }
    const missing = await get("/nope");
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ error: "no route /nope" });
    expect((await get("/instances/Pump07/x")).status).toBe(404);
  });

  it("refuses a request whose Host header names another server (DNS rebinding), with 421", async () => {
    const { api } = await serve();
    // A raw request: fetch would not let a test set Host.
    const raw = (host: string | null) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port: api.port, path: "/instances", setHost: false, headers: host ? { host } : {} },
          (res) => {
            let body = "";
            res.on("data", (d) => {
              body += d;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    for (const bad of [
      "evil.example",
      `evil.example:${api.port}`,
      "127.0.0.1.nip.io",
      `192.168.1.10:${api.port}`,
      `127.0.0.1:${api.port + 1}`,
      "127.0.0.1",
      `user@127.0.0.1:${api.port}`,
    ]) {
      const r = await raw(bad);
      expect(r.status, bad).toBe(421);
      expect(JSON.parse(r.body).error).toMatch(/Host header refused/);
      expect(r.body).not.toContain("Pump07");
    }
    for (const good of [`127.0.0.1:${api.port}`, `localhost:${api.port}`, `[::1]:${api.port}`, `LOCALHOST:${api.port}`])
      expect((await raw(good)).status, good).toBe(200);
    expect(hostAllowed(`127.5.6.7:80`, 80)).toBe(true);
    expect(hostAllowed("127.0.0.1", 80)).toBe(true);
  });

  it("a view that throws is a 500 JSON error, and the API keeps serving", async () => {
    const registry = new Registry();
    const api = await startApi({
      port: 0,
      view: {
        ...view,
        instances: () => {
          throw new Error("runtime bug");
        },
      },
      site: "plant-north",
      deployCommit: () => null,
      healthy: () => ({ ok: true, lastLoop: null, message: null }),
      registry,
      log: quiet,
    });
    closers.push(() => api.close());
    const res = await fetch(`http://127.0.0.1:${api.port}/instances`);
    expect(res.status).toBe(500);
    expect(await json(res)).toEqual({ error: "internal error" });
    expect((await fetch(`http://127.0.0.1:${api.port}/healthz`)).status).toBe(200);
  });

  it("listens on loopback only: 127.0.0.0/8 and ::1 are taken, any other address is refused", async () => {
    const base = {
      port: 0,
      view,
      site: "plant-north",
      deployCommit: () => null,
      healthy: () => ({ ok: true, lastLoop: null, message: null }),
      registry: new Registry(),
      log: quiet,
    };
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "localhost", "example.com", "::ffff:10.0.0.1"])
      await expect(startApi({ ...base, host })).rejects.toThrow(/loopback only \(127\.0\.0\.0\/8 or ::1\)/);
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])
      expect(isLoopback(host), host).toBe(true);
    const api = await startApi({ ...base, host: "127.0.0.1" });
    closers.push(() => api.close());
    expect(api.port).toBeGreaterThan(0);
  });
});

describe("the API file", () => {
  it("is written whole, read back, and removed; a missing or damaged one reads as none", () => {
    const dir = tempDir("state");
    expect(readApiFile(dir)).toBeUndefined();
    writeApiFile(dir, 40123);
    expect(readApiFile(dir)).toEqual({ port: 40123, pid: process.pid });
    removeApiFile(dir);
    expect(existsSync(join(dir, API_FILE))).toBe(false);
    removeApiFile(dir);
    for (const text of ["{", "null", '{"port":"1","pid":2}', '{"port":70000,"pid":2}', '{"port":1,"pid":0}']) {
      writeFileSync(join(dir, API_FILE), text);
      expect(readApiFile(dir)).toBeUndefined();
    }
  });
});
