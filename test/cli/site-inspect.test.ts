import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import type { DeploymentPackage } from "../../schemas/types.js";
import { API_FILE, startApi, writeApiFile } from "../../site-reconciler/api/server.js";
import { DB_FILE } from "../../site-reconciler/reconciler.js";
import { emptyStats, type InstanceView, type RuntimeView } from "../../site-reconciler/runtime/view.js";
import { Store } from "../../site-reconciler/store/store.js";
import { AUTO } from "../controller/helpers.js";
import { tempDir } from "../helpers/cli.js";
import { compile } from "../helpers/repo.js";

const AT = "2026-01-10T00:00:00.000Z";
const COMMIT = "c".repeat(40);
const PACKAGES = compile(AUTO).packages(["plant-north/Pump07", "plant-north/Pump08"]);
const PUMP07 = PACKAGES[0]!;

/** A state directory as a reconciler leaves it: two applied instances of the AUTO repo, the store closed. */
function stateDir(seed: (store: Store) => void = () => {}): string {
  const dir = tempDir("state");
  const store = Store.open(join(dir, DB_FILE));
  store.setMeta("site", "plant-north");
  store.setMeta("deployCommit", COMMIT);
  for (const p of PACKAGES)
    store.apply({
      name: p.instance.name,
      revisionHash: p.revisionHash,
      blobOid: "b".repeat(40),
      packageText: JSON.stringify(p),
      state: p.instance.state,
      deployCommit: COMMIT,
      at: AT,
    });
  seed(store);
  store.close();
  return dir;
}

/** Runs `scadalink site inspect ARGS` in this process. */
async function inspect(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((c) => {
    stdout += String(c);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((c) => {
    stderr += String(c);
    return true;
  });
  try {
    const code = await main(["site", "inspect", ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function inspectJson(...args: string[]) {
  const r = await inspect(...args, "--format", "json");
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const MIN = 60_000;

describe("site inspect: persisted state", () => {
  it("shows alarm states as the runtime recorded them, normal and never evaluated otherwise", async () => {
    const dir = stateDir((s) => {
      s.setAlarmState("Pump07", "OverSpeed", true, "2026-01-10T01:00:00.000Z");
      s.setAlarmState("Pump08", "OverSpeed", false, "2026-01-10T02:00:00.000Z");
    });
    const doc = await inspectJson("--state-dir", dir, "--offline");
    expect(Object.keys(doc)).toEqual(["site", "deployCommit", "instances"]);
    const [p7, p8] = doc.instances;
    expect(p7.alarms).toEqual(
      PUMP07.alarms.map((a) =>
        a.path === "OverSpeed"
          ? { path: a.path, active: true, since: "2026-01-10T01:00:00.000Z" }
          : { path: a.path, active: false, since: null },
      ),
    );
    expect(p8.alarms.find((a: { path: string }) => a.path === "OverSpeed")).toEqual({
      path: "OverSpeed",
      active: false,
      since: "2026-01-10T02:00:00.000Z",
    });
    const text = await inspect("--state-dir", dir, "--instance", "Pump07");
    expect(text.stdout).toMatch(/site plant-north {2}deploy c{12} {2}persisted/);
    expect(text.stdout).toMatch(/alarm OverSpeed\s+ACTIVE\s+since 2026-01-10T01:00:00.000Z/);
    expect(text.stdout).toMatch(/alarm Inlet.Stuck\s+normal\s+not evaluated/);
    expect(text.stdout).toMatch(/Mode\s+"manual"\s+good/);
    expect(text.stdout).toContain("1 instance applied, 1 alarm active");
  });

  it("--audit and --limit take positive whole numbers only", async () => {
    const dir = stateDir();
    for (const args of [
      ["--audit", "0"],
      ["--audit", "x"],
      ["--events", "--limit", "1.5"],
      ["--events", "--limit", "-3"],
    ]) {
      const r = await inspect("--state-dir", dir, ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/a positive whole number is needed/);
    }
    expect((await inspect("--state-dir", dir, "--audit", "1")).stdout.match(/ apply /g)).toHaveLength(1);
  });
});

describe("site inspect --events", () => {
  function logged(): string {
    return stateDir((s) => {
      s.event(ago(2 * 86_400_000), "alarm", "OverSpeed active (1460 > 1450)", "Pump07");
      s.event(ago(3 * 3_600_000), "script", "LogOver threw: TypeError", "Pump07");
      s.event(ago(30 * MIN), "connection", "plc-a disconnected: ECONNRESET");
      s.event(ago(10 * MIN), "alarm", "OverSpeed normal", "Pump08");
      s.event(ago(5 * MIN), "script", "rate 100% of limit_max", "Pump08");
    });
  }

  it("prints the event log as at, kind, instance and message lines, oldest first", async () => {
    const r = await inspect("--state-dir", logged(), "--events");
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // Two deploy events of the applies, the five above, and the summary.
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^2026-01-10T00:00:00.000Z {2}deploy {6}Pump07 +apply sha256:/);
    expect(lines[4]).toMatch(/^\S+Z {2}connection {2}- +plc-a disconnected: ECONNRESET$/);
    expect(lines[7]).toBe("7 events");
  });

  it("shows terminal control sequences from script logs and refusals as escapes, never raw; JSON keeps them exact", async () => {
    const evil = "x\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eevil\r\nnext";
    const dir = stateDir((s) => {
      s.event(ago(MIN), "script-log", `Loop: ${evil}`, "Pump07");
      s.refuse(
        {
          name: "Pump08",
          revisionHash: `sha256:${"d".repeat(64)}`,
          deployCommit: COMMIT,
          result: "artifact-mismatch",
          message: evil,
        },
        AT,
      );
    });
    const events = await inspect("--state-dir", dir, "--events");
    const text = await inspect("--state-dir", dir);
    for (const out of [events.stdout, text.stdout]) {
      expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
      expect(out).toContain("x\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202eevil\\r\\nnext");
    }
    const doc = await inspectJson("--state-dir", dir, "--events", "--kind", "script-log");
    expect(doc.events[0].message).toBe(`Loop: ${evil}`);
  });

  it("--format json prints { site, events } instead of the instances document", async () => {
    const doc = await inspectJson("--state-dir", logged(), "--events", "--kind", "connection");
    expect(doc).toEqual({
      site: "plant-north",
      events: [
        { at: expect.any(String), kind: "connection", instance: null, message: "plc-a disconnected: ECONNRESET" },
      ],
    });
    expect(Object.keys(doc.events[0])).toEqual(["at", "kind", "instance", "message"]);
  });

  it("filters by instance (without the site-wide events), kind, keyword and limit", async () => {
    const dir = logged();
    const messages = async (...args: string[]) =>
      (await inspectJson("--state-dir", dir, "--events", ...args)).events.map((e: { message: string }) => e.message);
    expect(await messages("--instance", "Pump08")).toEqual([
      expect.stringMatching(/^apply /),
      "OverSpeed normal",
      "rate 100% of limit_max",
    ]);
    expect(await messages("--kind", "alarm")).toEqual(["OverSpeed active (1460 > 1450)", "OverSpeed normal"]);
    expect(await messages("--grep", "OVERSPEED", "--instance", "Pump07")).toEqual(["OverSpeed active (1460 > 1450)"]);
    expect(await messages("--grep", "0%")).toEqual(["rate 100% of limit_max"]);
    expect(await messages("--grep", "t_m")).toEqual(["rate 100% of limit_max"]);
    expect(await messages("--grep", "connect")).toEqual(["plc-a disconnected: ECONNRESET"]);
    expect(await messages("--limit", "2")).toEqual(["OverSpeed normal", "rate 100% of limit_max"]);
    const text = await inspect("--state-dir", dir, "--events", "--limit", "2");
    expect(text.stdout).toContain("2 events (the newest 2; --limit for more)");
  });

  it("takes a time window as ISO times or as how long ago", async () => {
    const dir = logged();
    const messages = async (...args: string[]) =>
      (await inspectJson("--state-dir", dir, "--events", ...args)).events.map((e: { message: string }) => e.message);
    expect(await messages("--since", "15m")).toEqual(["OverSpeed normal", "rate 100% of limit_max"]);
    expect(await messages("--since", "1h", "--until", "7m")).toEqual([
      "plc-a disconnected: ECONNRESET",
      "OverSpeed normal",
    ]);
    expect(await messages("--since", "1d", "--kind", "script")).toEqual([
      "LogOver threw: TypeError",
      "rate 100% of limit_max",
    ]);
    expect(await messages("--since", "3d", "--until", "1d")).toEqual(["OverSpeed active (1460 > 1450)"]);
    expect(await messages("--since", "2026-01-10", "--until", "2026-01-10T00:00:00.001Z")).toEqual([
      expect.stringMatching(/^apply /),
      expect.stringMatching(/^apply /),
    ]);
    expect(await messages("--until", "2026-01-10T01:00:00+01:00")).toEqual([]);
  });

  it("a bad time, an empty window or an event filter without --events is a usage error", async () => {
    const dir = logged();
    for (const [args, message] of [
      [["--events", "--since", "yesterday"], "--since yesterday: an ISO 8601 time"],
      [["--events", "--until", "2026-02-30"], "--until 2026-02-30: an ISO 8601 time"],
      [["--events", "--since", "15x"], "--since 15x: an ISO 8601 time"],
      [["--events", "--since", "1h", "--until", "2h"], "--since 1h is not before --until 2h"],
      [["--since", "1h"], "--since filters the event log: use it with --events"],
      [["--grep", "x"], "--grep filters the event log: use it with --events"],
    ] as const) {
      const r = await inspect("--state-dir", dir, ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
    }
  });
});

describe("site inspect: live from a running reconciler", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  /** Pump07 as the runtime holds it: live values, one alarm active. */
  const live: InstanceView = {
    name: "Pump07",
    revisionHash: PUMP07.revisionHash,
    state: "enabled",
    running: true,
    result: "pass",
    message: null,
    attributes: PUMP07.attributes.map((a: DeploymentPackage["attributes"][number]) => ({
      path: a.path,
      value: a.path === "Speed" ? 1461.25 : a.source === "static" ? a.value : null,
      quality: a.path === "Flow" ? "uncertain" : "good",
      timestamp: "2026-01-10T03:00:00.000Z",
    })),
    alarms: PUMP07.alarms.map((a) => ({
      path: a.path,
      active: a.path === "OverSpeed",
      since: "2026-01-10T03:00:00.000Z",
      priority: a.priority,
    })),
  };
  const view: RuntimeView = {
    instances: () => [live],
    instance: (name) => (name === live.name ? live : undefined),
    health: () => ({
      connections: [],
      tags: { resolved: 0, unresolved: 0, bad: 0 },
      stats: { ...emptyStats(), activeAlarms: 1 },
    }),
  };

  async function running(dir: string) {
    const api = await startApi({
      port: 0,
      view,
      site: "plant-north",
      deployCommit: () => "d".repeat(40),
      healthy: () => ({ ok: true, lastLoop: null, message: null }),
      registry: new Registry(),
      log: pino({ level: "silent" }),
    });
    closers.push(() => api.close());
    writeApiFile(dir, api.port);
    return api;
  }

  it("prints the runtime's values and alarms; --offline the persisted ones", async () => {
    const dir = stateDir();
    await running(dir);
    const doc = await inspectJson("--state-dir", dir);
    expect(doc).toEqual({
      site: "plant-north",
      deployCommit: "d".repeat(40),
      instances: [
        {
          name: "Pump07",
          revisionHash: PUMP07.revisionHash,
          state: "enabled",
          attributes: live.attributes,
          alarms: live.alarms.map(({ path, active, since }) => ({ path, active, since })),
        },
      ],
    });
    expect(Object.keys(doc.instances[0])).toEqual(["name", "revisionHash", "state", "attributes", "alarms"]);

    const text = await inspect("--state-dir", dir);
    expect(text.stdout).toContain(`live (reconciler pid ${process.pid})`);
    expect(text.stdout).toMatch(/Speed\s+1461\.25\s+good\s+2026-01-10T03:00:00.000Z/);
    expect(text.stdout).toMatch(/Flow\s+-\s+uncertain/);
    expect(text.stdout).toMatch(/alarm OverSpeed\s+ACTIVE\s+since 2026-01-10T03:00:00.000Z/);
    expect(text.stdout).toMatch(/apply\s+Pump07/);

    const offline = await inspectJson("--state-dir", dir, "--offline");
    expect(offline.deployCommit).toBe(COMMIT);
    expect(offline.instances.map((i: { name: string }) => i.name)).toEqual(["Pump07", "Pump08"]);
    expect(offline.instances[0].attributes.find((a: { path: string }) => a.path === "Speed")).toEqual({
      path: "Speed",
      value: null,
      quality: "bad",
      timestamp: null,
    });
  });

  it("shows control characters in live attribute values as escapes; JSON keeps the value exact", async () => {
    const dir = stateDir();
    await running(dir);
    // JSON escapes C0 controls (\x1b, \x07) but neither C1 ones (\x9b, a CSI) nor bidi controls (\u202e).
    const evil = "\x9b2J\u202e\x1b]0;x\x07";
    const speed = live.attributes.find((a) => a.path === "Speed")!;
    const before = speed.value;
    speed.value = evil;
    try {
      const text = await inspect("--state-dir", dir);
      expect(text.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
      expect(text.stdout).toContain(String.raw`"\x9b2J\u202e\u001b]0;x\u0007"`);
      const doc = await inspectJson("--state-dir", dir);
      expect(doc.instances[0].attributes.find((a: { path: string }) => a.path === "Speed").value).toBe(evil);
    } finally {
      speed.value = before;
    }
  });

  it("--instance asks the runtime for that instance; one it does not hold is looked up in the persisted state", async () => {
    const dir = stateDir();
    await running(dir);
    const one = await inspectJson("--state-dir", dir, "--instance", "Pump07");
    expect(one.deployCommit).toBe("d".repeat(40));
    const other = await inspectJson("--state-dir", dir, "--instance", "Pump08");
    expect(other.deployCommit).toBe(COMMIT);
    expect(other.instances.map((i: { name: string }) => i.name)).toEqual(["Pump08"]);
    expect((await inspect("--state-dir", dir, "--instance", "Nope")).code).toBe(2);
  });

  it("falls back to the persisted values when the API file names a dead process", async () => {
    const dir = stateDir();
    const api = await running(dir);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    writeFileSync(join(dir, API_FILE), JSON.stringify({ port: api.port, pid: dead }));
    const r = await inspect("--state-dir", dir, "--format", "json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).deployCommit).toBe(COMMIT);
    expect(r.stderr).toBe("");
  });

  it("falls back to the persisted values, with a note on stderr, when the API does not answer", async () => {
    const dir = stateDir();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    writeApiFile(dir, port);
    const r = await inspect("--state-dir", dir, "--format", "json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).deployCommit).toBe(COMMIT);
    expect(r.stderr).toContain(`the reconciler's API (pid ${process.pid}, port ${port}) did not answer`);
  });
});
