// Script host benchmarks, run by bench/run.mjs in a child process, from dist/:
//   script-run-cost          one script run (an attributes.get and an attributes.set) in today's host process
//                            (ScriptPool: IPC both ways, the change mirrored first) against the same run in an
//                            in-process realm (Sandbox, the engine inside each host): wall time per run one after
//                            another, the runtime process's CPU per run, and runs/s with 50 instances at once
//   site-loop-delay-spinning the live runtime's event-loop delay (p50/p99/max) while one instance's script spins
//                            (for (;;) {} with a 600 s timeout) and 50 other instances' interval scripts count,
//                            and how many of their runs got through, against the same runtime without the spinner
// Usage: node bench/scripts.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import pino from "pino";
import { LiveRuntime } from "../dist/site-reconciler/runtime/live-runtime.js";
import { ScriptPool } from "../dist/site-reconciler/runtime/scripts/pool.js";
import { Sandbox } from "../dist/site-reconciler/runtime/scripts/sandbox.js";
import { Store } from "../dist/site-reconciler/store/store.js";
import { emit, log, onExit, r1, sleep, target } from "./common.mjs";

const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-scripts-"));
onExit(() => rmSync(tmp, { recursive: true, force: true }));
const logger = pino({ level: "warn" }, pino.destination({ dest: 2, sync: true }));

const CODE = 'attributes.set("Count", attributes.get("Count") + 1);';
const DEF = { path: "Bump", scope: "", parameters: [], code: CODE, timeoutMs: 1000, expression: null };
const SEQUENTIAL = { realm: 50_000, host: 5_000 };
const PARALLEL_INSTANCES = 50;
const PARALLEL_RUNS = 200; // per instance
const OBSERVE_S = 10;
const COUNTERS = 50;
const TICK_MS = 100;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function runCost() {
  // In-process realm: the sandbox calls the host functions directly.
  const values = new Map([["Count", 0]]);
  const sandbox = new Sandbox();
  const { scripts } = sandbox.load("P1", [DEF], {
    get: (p) => values.get(p),
    set: (p, v) => values.set(p, v),
    log: () => undefined,
  });
  for (let i = 0; i < 2_000; i++) scripts.run("Bump");
  let c0 = cpuMs();
  let t0 = performance.now();
  for (let i = 0; i < SEQUENTIAL.realm; i++) scripts.run("Bump");
  const realmUs = ((performance.now() - t0) * 1000) / SEQUENTIAL.realm;
  const realmCpuUs = ((cpuMs() - c0) * 1000) / SEQUENTIAL.realm;

  // Script host process: the runtime sends the change and the run, the host answers with the write.
  const counters = { scriptHostRestarts: 0, scriptCrashes: 0 };
  const pool = new ScriptPool({ log: logger, counters, event: () => undefined });
  const attrs = [{ path: "Count", dataType: "Int32", source: "static", access: "read" }];
  const handles = Array.from({ length: PARALLEL_INSTANCES }, (_, i) =>
    pool.load(`P${i}`, [DEF], attrs, () => [["Count", 0]]),
  );
  const h = handles[0];
  let count = 0;
  for (let i = 0; i < 500; i++) {
    h.update("Count", count);
    count = (await h.run("Bump", "run")).writes[0][1];
  }
  c0 = cpuMs();
  t0 = performance.now();
  for (let i = 0; i < SEQUENTIAL.host; i++) {
    h.update("Count", count);
    const r = await h.run("Bump", "run");
    if (!r.result.ok) throw new Error(r.result.error);
    count = r.writes[0][1];
  }
  const hostUs = ((performance.now() - t0) * 1000) / SEQUENTIAL.host;
  const hostCpuUs = ((cpuMs() - c0) * 1000) / SEQUENTIAL.host;
  // Many instances at once: the shards work in parallel, one run in flight per host.
  t0 = performance.now();
  await Promise.all(
    handles.map(async (hh) => {
      for (let i = 0; i < PARALLEL_RUNS; i++) await hh.run("Bump", "run");
    }),
  );
  const parallelPerSec = Math.round((PARALLEL_INSTANCES * PARALLEL_RUNS) / ((performance.now() - t0) / 1000));
  const hosts = pool.hostCount;
  await pool.close();
  emit({
    bench: "script-run-cost",
    realmUsPerRun: r1(realmUs),
    realmCpuUsPerRun: r1(realmCpuUs),
    hostUsPerRun: r1(hostUs),
    hostRuntimeCpuUsPerRun: r1(hostCpuUs),
    hostOverRealm: r1(hostUs / realmUs),
    parallelInstances: PARALLEL_INSTANCES,
    parallelRunsPerSec: parallelPerSec,
    hosts,
    ...target(false),
  });
}

const HASH = `sha256:${"0".repeat(64)}`;
function pkg(name, script) {
  return {
    apiVersion: "scadalink/v1",
    kind: "DeploymentPackage",
    instance: { site: "bench", name, area: null, template: "Bench", state: "enabled", labels: {} },
    templateChain: ["Bench"],
    attributes: [
      {
        path: "Ticks",
        dataType: "Int32",
        source: "static",
        access: "read",
        connection: null,
        tag: null,
        units: null,
        value: 0,
      },
    ],
    alarms: [],
    scripts: [script],
    sharedScripts: [],
    revisionHash: HASH,
  };
}
const script = (code, trigger, timeoutMs) => ({
  path: "Run",
  trigger,
  parameters: [],
  returns: null,
  timeoutMs,
  scope: "",
  code,
});

async function loopDelay(spinner) {
  const instances = new Map();
  const add = (name, p) => instances.set(name, { name, revisionHash: HASH, state: "enabled", package: p });
  for (let i = 0; i < COUNTERS; i++)
    add(
      `C${i}`,
      pkg(
        `C${i}`,
        script('attributes.set("Ticks", attributes.get("Ticks") + 1);', { type: "interval", everyMs: TICK_MS }, 1000),
      ),
    );
  if (spinner) add("Spinner", pkg("Spinner", script("for (;;) {}", { type: "interval", everyMs: 200 }, 600_000)));
  const dir = mkdtempSync(join(tmp, "site-"));
  const store = Store.open(join(dir, "site.db"));
  const live = await LiveRuntime.create({ secrets: () => undefined, store, stateDir: dir, log: logger, settleMs: 100 });
  const artifacts = {
    apiVersion: "scadalink/v1",
    kind: "SiteArtifacts",
    site: "bench",
    dataConnections: [],
    sharedScripts: [],
    revisionHash: HASH,
  };
  // Static values are stored per applied instance.
  for (const name of instances.keys())
    store.apply({
      name,
      revisionHash: HASH,
      blobOid: "0".repeat(40),
      packageText: "{}",
      state: "enabled",
      deployCommit: "c".repeat(40),
      at: new Date().toISOString(),
    });
  await live.converge({ site: "bench", artifacts, instances });
  await sleep(1_500); // hosts started, the spinner holding its host, the others moved off it
  const ticks = () => live.instances().reduce((n, i) => n + (i.name.startsWith("C") ? i.attributes[0].value : 0), 0);
  const h = monitorEventLoopDelay({ resolution: 1 });
  const a = ticks();
  h.enable();
  await sleep(OBSERVE_S * 1000);
  h.disable();
  const b = ticks();
  const t0 = performance.now();
  await live.close();
  const closeMs = performance.now() - t0;
  store.close();
  return {
    p50: r1(h.percentile(50) / 1e6),
    p99: r1(h.percentile(99) / 1e6),
    max: r1(h.max / 1e6),
    runsPerSec: Math.round((b - a) / OBSERVE_S),
    closeMs: r1(closeMs),
  };
}

async function spinning() {
  const base = await loopDelay(false);
  const spin = await loopDelay(true);
  const expected = Math.round((COUNTERS * 1000) / TICK_MS);
  emit({
    bench: "site-loop-delay-spinning",
    counters: COUNTERS,
    expectedRunsPerSec: expected,
    loopDelayMs: { p50: spin.p50, p99: spin.p99, max: spin.max },
    counterRunsPerSec: spin.runsPerSec,
    closeMs: spin.closeMs,
    withoutSpinner: {
      loopDelayMs: { p50: base.p50, p99: base.p99, max: base.max },
      counterRunsPerSec: base.runsPerSec,
    },
    ...target(true, spin.p99 < 50, "event-loop delay p99 < 50 ms while one script spins"),
  });
}

log("scripts: run cost");
await runCost();
log("scripts: event-loop delay while a script spins");
await spinning();
