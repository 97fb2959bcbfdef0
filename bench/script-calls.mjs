// Script API call benchmarks, run by bench/run.mjs in a child process, from dist/:
//   script-call-overhead  externalSystem.call from a script in a real script host (the call crosses the host's I/O
//                         pipe to the site process, which makes the request with the system's auth) against a bare
//                         fetch of the same endpoint from the site process, one after another, per call
//   script-cached-call    externalSystem.cachedCall: per call, each one committed to the site store (WAL,
//                         synchronous = FULL) before the script goes on
// The receiver runs in a process of its own (bench/store-and-forward.mjs --receiver: answers 200).
// Usage: node bench/script-calls.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { ScriptIntegrations } from "../dist/site-reconciler/integrations/script-api/index.js";
import { httpDeliverer, StoreAndForward } from "../dist/site-reconciler/integrations/store-and-forward/index.js";
import { ScriptPool } from "../dist/site-reconciler/runtime/scripts/pool.js";
import { Store } from "../dist/site-reconciler/store/store.js";
import { emit, log, median, onExit, target } from "./common.mjs";

const RECEIVER = fileURLToPath(new URL("./store-and-forward.mjs", import.meta.url));
const KEY = "bench-key";
const CALLS_PER_RUN = 200;
const RUNS = 15;
const CACHED_RUNS = 5;

const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-calls-"));
const children = new Set();
onExit(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

async function receiver() {
  const c = spawn(process.execPath, [RECEIVER, "--receiver"], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(c);
  const port = await new Promise((resolve, reject) => {
    c.stdout.setEncoding("utf8");
    c.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    c.once("exit", (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => c.kill("SIGTERM") };
}

async function main() {
  const rx = await receiver();
  const system = {
    name: "Mes",
    baseUrl: `${rx.url}/api`,
    auth: { type: "apiKey", header: "X-Api-Key", secret: "MES_API_KEY" },
    timeoutMs: 5_000,
    retry: { intervalMs: 30_000, maxAttempts: 20 },
    methods: [
      {
        name: "ReportCount",
        http: "POST",
        path: "/lines/{line}/counts",
        parameters: [
          { name: "line", type: "String" },
          { name: "count", type: "Int32" },
        ],
        returns: "Boolean",
      },
    ],
  };
  const store = Store.open(join(tmp, "site.db"));
  const secrets = (n) => (n === "MES_API_KEY" ? KEY : undefined);
  const engine = new StoreAndForward({
    db: store.db,
    deliverers: { externalSystem: httpDeliverer({ secrets }) },
    caps: { maxMessages: 1_000_000, maxBytes: 2 ** 30 },
  });
  const integrations = new ScriptIntegrations({ secrets, saf: engine });
  integrations.configure({ externalSystems: [system] });
  const pool = new ScriptPool({
    log: pino({ level: "silent" }),
    hosts: 1,
    counters: { scriptHostRestarts: 0, scriptCrashes: 0 },
    event: () => undefined,
    io: (r) => integrations.handle(r),
  });
  const def = (path, code) => ({ path, scope: "", parameters: [], code, timeoutMs: 60_000, expression: null });
  const h = pool.load(
    "F1",
    [
      def("Calls", `for (let i = 0; i < ${CALLS_PER_RUN}; i++) externalSystem.call("Mes", "ReportCount", "L1", i);`),
      def("One", 'externalSystem.call("Mes", "ReportCount", "L1", 1);'),
      def(
        "Cached",
        `for (let i = 0; i < ${CALLS_PER_RUN}; i++) externalSystem.cachedCall("Mes", "ReportCount", "L1", i);`,
      ),
      def("Empty", "return 1;"),
      // A call the site answers at once (no such system): the round trip through the pipe alone.
      def("Nop", 'try { externalSystem.call("None", "Nothing"); } catch {}'),
    ],
    [],
    () => [],
  );
  const bare = async (n) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${rx.url}/api/lines/L1/counts`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-api-key": KEY },
        body: JSON.stringify({ count: i }),
        redirect: "manual",
      });
      await res.text();
    }
  };
  const timeRun = async (path) => {
    const t0 = performance.now();
    const r = await h.run(path, "run");
    if (!r.result.ok) throw new Error(`${path}: ${r.result.error}`);
    return performance.now() - t0;
  };

  log("script-call-overhead: warming up");
  await bare(500);
  for (let i = 0; i < 3; i++) await timeRun("Calls");
  // Interleaved, so both see the same machine.
  const bareMs = [];
  const callMs = [];
  const oneMs = [];
  const emptyMs = [];
  const nopMs = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await bare(CALLS_PER_RUN);
    bareMs.push((performance.now() - t0) / CALLS_PER_RUN);
    callMs.push((await timeRun("Calls")) / CALLS_PER_RUN);
    for (let i = 0; i < 20; i++) oneMs.push(await timeRun("One"));
    for (let i = 0; i < 20; i++) emptyMs.push(await timeRun("Empty"));
    for (let i = 0; i < 20; i++) nopMs.push(await timeRun("Nop"));
  }
  const fetchPerCall = median(bareMs);
  const callPerCall = median(callMs);
  const limit = 1.2 * fetchPerCall + 1;
  emit({
    bench: "script-call-overhead",
    calls: RUNS * CALLS_PER_RUN,
    bareFetchMsPerCall: Math.round(fetchPerCall * 1000) / 1000,
    externalSystemCallMsPerCall: Math.round(callPerCall * 1000) / 1000,
    ratio: Math.round((callPerCall / fetchPerCall) * 100) / 100,
    addedMsPerCall: Math.round((callPerCall - fetchPerCall) * 1000) / 1000,
    runWithOneCallMedianMs: Math.round(median(oneMs) * 1000) / 1000,
    emptyRunMedianMs: Math.round(median(emptyMs) * 1000) / 1000,
    ioRoundTripMs: Math.round((median(nopMs) - median(emptyMs)) * 1000) / 1000,
    ...target(true, callPerCall <= limit, "externalSystem.call <= 1.2 x bare fetch + 1 ms"),
  });

  log("script-cached-call");
  const cachedMs = [];
  for (let r = 0; r < CACHED_RUNS; r++) cachedMs.push((await timeRun("Cached")) / CALLS_PER_RUN);
  const stored = engine.totals().messages;
  if (stored !== CACHED_RUNS * CALLS_PER_RUN) throw new Error(`script-cached-call: ${stored} stored`);
  emit({
    bench: "script-cached-call",
    calls: CACHED_RUNS * CALLS_PER_RUN,
    msPerCall: Math.round(median(cachedMs) * 1000) / 1000,
    perSecondOneScript: Math.round(1000 / median(cachedMs)),
    durable: "each call committed (synchronous = FULL) before it returns",
    ...target(false),
  });
  await pool.close();
  await engine.stop();
  store.close();
  rx.stop();
}

await main();
process.exit(0);
