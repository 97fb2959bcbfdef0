import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { localRepo, scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";
import type { Files } from "../helpers/repo.js";
import { y } from "../helpers/repo.js";
import { until } from "./runtime-helpers.js";

// Scripts `validate` accepts that, run in the site's own event loop, ended or froze the whole site process. Each
// test runs the built CLI as the site, with the payload in several instances, in a shared script and in an alarm's
// onTrigger script, next to a Counter instance whose interval script counts; then it watches the site for
// OBSERVE_S seconds and stops it with SIGTERM.

const OBSERVE_S = 8;
/** Rows the site keeps in its event log in these tests (--event-max-rows), so the cap is reached and must hold. */
const MAX_ROWS = 300;

const PAYLOADS = {
  /** Near the stack limit the promise hook is not called: rejections left unhandled reach the process. */
  stackLimitRejections: `
    const AF = async () => { await 0; throw new Error("boom"); };
    function g(n) { try { g(n + 1); } catch (e) {} try { AF(); } catch (e) {} }
    g(0);
    return "returned normally";`,
  spin: "for (;;) {}",
  logLoop: 'for (;;) log.error("x".repeat(2000));',
  mapBomb: "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: String(i) });",
  arrayBomb: 'const a = []; for (;;) a.push("x".repeat(64) + a.length);',
} as const;
type Payload = keyof typeof PAYLOADS;

const indent = (code: string, n: number) =>
  code
    .trim()
    .split("\n")
    .map((l) => " ".repeat(n) + l.trim())
    .join("\n");

/** The site's repo: Counter C1, Hostile H1–H3 (the payload on an interval and as an alarm's onTrigger), Caller S1
 * (the payload as a shared script). */
function hostileRepo(payload: Payload, timeoutMs: number): Files {
  const code = PAYLOADS[payload];
  const instance = (name: string, template: string) =>
    `kind: Instance\nname: ${name}\nsite: plant-north\narea: Line1\ntemplate: ${template}\n`;
  return {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": "kind: Site\nname: plant-north\nareas: [{ name: Line1 }]\n",
    "templates/counter.yaml": y`
      kind: Template
      name: Counter
      attributes:
        - { name: Ticks, dataType: Int32, value: 0 }
      scripts:
        - name: Tick
          trigger: { type: interval, everyMs: 100 }
          code: attributes.set("Ticks", attributes.get("Ticks") + 1);
    `,
    "templates/hostile.yaml": [
      "kind: Template",
      "name: Hostile",
      "attributes:",
      "  - { name: Armed, dataType: Boolean, value: true }",
      "alarms:",
      "  - name: Tripped",
      "    trigger: { type: match, attribute: Armed, value: true }",
      "    onTrigger: Triggered",
      "scripts:",
      "  - name: Loop",
      "    trigger: { type: interval, everyMs: 200 }",
      `    timeoutMs: ${timeoutMs}`,
      "    code: |",
      indent(code, 6),
      "  - name: Triggered",
      "    trigger: { type: call }",
      `    timeoutMs: ${timeoutMs}`,
      "    code: |",
      indent(code, 6),
      "",
    ].join("\n"),
    "templates/caller.yaml": y`
      kind: Template
      name: Caller
      attributes:
        - { name: Calls, dataType: Int32, value: 0 }
      scripts:
        - name: Call
          trigger: { type: interval, everyMs: 300 }
          timeoutMs: ${timeoutMs}
          code: callShared("Bomb");
    `,
    "shared-scripts/bomb.yaml": ["kind: SharedScript", "name: Bomb", "code: |", indent(code, 2), ""].join("\n"),
    "instances/c1.yaml": instance("C1", "Counter"),
    "instances/h1.yaml": instance("H1", "Hostile"),
    "instances/h2.yaml": instance("H2", "Hostile"),
    "instances/h3.yaml": instance("H3", "Hostile"),
    "instances/s1.yaml": instance("S1", "Caller"),
  };
}

interface Observed {
  healthzMs: number[];
  ticks: number[];
  metrics: string;
  instances: { name: string; result: string; message: string | null }[];
  stopMs: number;
  exitCode: number | null;
  stateGrowthMb: number;
  hostsLeft: number[];
  rows: { total: number; byKind: Record<string, number>; scriptLogOf: Record<string, number> };
  stderr: string;
}

const du = (dir: string) => Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split(/\s/)[0]) / 1024;
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
};
/** Each instance's result as the site reported it on its status branch. */
function reported(repo: string): Observed["instances"] {
  const status = JSON.parse(
    execFileSync("git", ["-C", repo, "show", "scadalink/status/plant-north:status.json"], { encoding: "utf8" }),
  ) as { instances: Record<string, { result: string; message: string | null }> };
  return Object.entries(status.instances).map(([name, i]) => ({ name, ...i }));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface ObserveOptions {
  signal?: "SIGTERM" | "SIGKILL";
  env?: NodeJS.ProcessEnv;
  /** After the window, waits (up to 60 s) until the metrics say so before stopping the site. */
  until?: (metrics: string) => boolean;
  /** Then waits (up to 30 s) until the status branch says so. */
  untilStatus?: (instances: Observed["instances"]) => boolean;
}

async function observe(payload: Payload, timeoutMs: number, opts: ObserveOptions = {}): Promise<Observed> {
  const signal = opts.signal ?? "SIGTERM";
  const r = localRepo(hostileRepo(payload, timeoutMs));
  const compiled = scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]);
  expect(compiled.code, JSON.stringify(compiled)).toBe(0);
  const state = tempDir("hostile-state");
  const child = spawnScadalink(
    ["site", "--site", "plant-north", "--repo", r.dir, "--state-dir", state, "--log-level", "error"],
    { SCADALINK_API_PORT: "0", SCADALINK_POLL_INTERVAL: "2", SCADALINK_EVENT_MAX_ROWS: String(MAX_ROWS), ...opts.env },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  try {
    const apiFile = join(state, "api.json");
    await until("api.json", () => existsSync(apiFile), 30_000);
    const { port } = JSON.parse(readFileSync(apiFile, "utf8")) as { port: number };
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, text: await res.text() };
    };
    const ticks = async () => {
      const res = await get("/instances/C1");
      if (res.status !== 200) return -1; // not applied yet
      const c1 = JSON.parse(res.text) as { attributes: { path: string; value: number }[] };
      return c1.attributes.find((a) => a.path === "Ticks")?.value ?? -1;
    };
    await until("the counter counting", async () => (await ticks()) > 3, 30_000);
    const baseMb = du(state);
    const observed: Pick<Observed, "healthzMs" | "ticks"> = { healthzMs: [], ticks: [] };
    const t0 = performance.now();
    for (let s = 1; s <= OBSERVE_S; s++) {
      await new Promise((res) => setTimeout(res, t0 + s * 1000 - performance.now()));
      expect(child.exitCode, `the site exited after ${s} s: ${stderr.slice(-2000)}`).toBeNull();
      const a = performance.now();
      const h = await get("/healthz");
      observed.healthzMs.push(performance.now() - a);
      expect(h.status).toBe(200);
      observed.ticks.push(await ticks());
    }
    const check = opts.until;
    const metrics = check
      ? await until(
          "the metrics to say so",
          async () => {
            const text = (await get("/metrics")).text;
            return check(text) ? text : false;
          },
          60_000,
        )
      : (await get("/metrics")).text;
    const wanted = opts.untilStatus;
    if (wanted) await until("the status branch to say so", () => wanted(reported(r.dir)), 30_000);
    const hosts = childrenOf(child.pid!);
    const stopAt = performance.now();
    child.kill(signal);
    const exitCode = await exited;
    const stopMs = performance.now() - stopAt;
    // Hosts go with the site (SIGKILL: their watcher notices the parent gone within a second).
    const left = await until("script hosts gone", () => (hosts.some(alive) ? false : ([] as number[])), 3_000).catch(
      () => hosts.filter(alive),
    );
    const db = new Database(join(state, "site.db"), { readonly: true });
    const byKind = Object.fromEntries(
      (db.prepare("SELECT kind, COUNT(*) AS n FROM events GROUP BY kind").all() as { kind: string; n: number }[]).map(
        (x) => [x.kind, x.n],
      ),
    );
    const scriptLogOf = Object.fromEntries(
      (
        db.prepare("SELECT instance, COUNT(*) AS n FROM events WHERE kind = 'script-log' GROUP BY instance").all() as {
          instance: string;
          n: number;
        }[]
      ).map((x) => [x.instance, x.n]),
    );
    const total = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    db.close();
    const instances = reported(r.dir);
    return {
      ...observed,
      metrics,
      instances,
      stopMs,
      exitCode,
      stateGrowthMb: du(state) - baseMb,
      hostsLeft: left,
      rows: { total, byKind, scriptLogOf },
      stderr,
    };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

const metric = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
};

/** What every payload must leave true. */
function expectSurvived(o: Observed): void {
  // /healthz answered within 100 ms at every second of the window.
  expect(Math.max(...o.healthzMs), `healthz ms: ${o.healthzMs.map((x) => x.toFixed(1)).join(", ")}`).toBeLessThan(100);
  // Another instance's interval script (10 runs a second) counted in every second of it.
  for (let i = 1; i < o.ticks.length; i++)
    expect(o.ticks[i]! - o.ticks[i - 1]!, `ticks per second: ${o.ticks.join(", ")}`).toBeGreaterThanOrEqual(3);
  expect(o.instances.find((i) => i.name === "C1")?.result).toBe("pass");
  // SIGTERM stops the site within 5 s, cleanly, and takes its script hosts with it.
  expect(o.stopMs, o.stderr.slice(-2000)).toBeLessThan(5_000);
  expect(o.exitCode, o.stderr.slice(-2000)).toBe(0);
  expect(o.hostsLeft).toEqual([]);
  expect(o.stateGrowthMb).toBeLessThan(50);
  // The event log's row cap holds, and no instance wrote more rows than its rate cap lets through.
  expect(o.rows.total, JSON.stringify(o.rows.byKind)).toBeLessThanOrEqual(MAX_ROWS);
  for (const [instance, n] of Object.entries(o.rows.scriptLogOf))
    expect(n, `script-log rows of ${instance}`).toBeLessThanOrEqual(200 + 20 * (OBSERVE_S + 30));
}

describe("hostile scripts cannot end, freeze or flood the site (the built CLI as the site)", () => {
  it("unhandled rejections near the stack limit: the site stays up and the scripts keep returning", async () => {
    const o = await observe("stackLimitRejections", 1_000);
    expectSurvived(o);
    expect(metric(o.metrics, "scadalink_site_script_runs_total")).toBeGreaterThan(3 * OBSERVE_S);
    expect(metric(o.metrics, "scadalink_site_scripts_quarantined")).toBe(0);
    for (const h of ["H1", "H2", "H3", "S1"]) expect(o.instances.find((i) => i.name === h)?.result).toBe("pass");
  });

  it("for (;;) {} with a 600 s timeout: other instances go on; the site still stops on SIGTERM", async () => {
    const o = await observe("spin", 600_000);
    expectSurvived(o);
    // The spinning runs hold their hosts: nothing timed out yet, nothing quarantined.
    expect(metric(o.metrics, "scadalink_site_script_timeouts_total")).toBe(0);
  });

  it("for (;;) {} with a 200 ms timeout: each run stops at its timeout, and three in a row quarantine the script", async () => {
    const o = await observe("spin", 200);
    expectSurvived(o);
    expect(metric(o.metrics, "scadalink_site_script_timeouts_total")).toBeGreaterThanOrEqual(3);
    // Timing out three times in a row quarantines the script: reported as the instance's result.
    expect(metric(o.metrics, "scadalink_site_scripts_quarantined")).toBeGreaterThanOrEqual(4);
    const h1 = o.instances.find((i) => i.name === "H1")!;
    expect(h1.result).toBe("local-runtime-blocked");
    expect(h1.message).toMatch(/quarantined: .*timed out 3 times in a row/);
  });

  it("a log loop: lines over the per-script caps are dropped and counted, the event log stays capped", async () => {
    const o = await observe("logLoop", 300);
    expectSurvived(o);
    expect(metric(o.metrics, "scadalink_site_script_log_lines_dropped_total")).toBeGreaterThan(10_000);
  });

  it.each(["mapBomb", "arrayBomb"] as const)(
    "a memory bomb (%s): its host dies at its heap limit and is replaced; the script is quarantined",
    async (payload) => {
      const o = await observe(payload, 30_000, {
        env: { SCADALINK_SCRIPT_MEMORY: "64" },
        until: (m) => metric(m, "scadalink_site_scripts_quarantined") >= 1,
        untilStatus: (instances) => instances.some((i) => i.result === "local-runtime-blocked"),
      });
      expectSurvived(o);
      expect(metric(o.metrics, "scadalink_site_script_host_crashes_total")).toBeGreaterThanOrEqual(3);
      expect(metric(o.metrics, "scadalink_site_script_host_restarts_total"), o.metrics).toBeGreaterThanOrEqual(1);
      expect(metric(o.metrics, "scadalink_site_scripts_quarantined")).toBeGreaterThanOrEqual(1);
      const blocked = o.instances.filter((i) => i.result === "local-runtime-blocked");
      expect(blocked.map((i) => i.message).join("\n")).toMatch(/ran out of memory \(limit 64 MB\) 3 times in a row/);
    },
  );

  it("SIGKILL of the site: its spinning script hosts end within a second or two", async () => {
    const o = await observe("spin", 600_000, { signal: "SIGKILL" });
    expect(o.hostsLeft).toEqual([]);
  });
});
