// Store-and-forward benchmarks, run by bench/run.mjs in a child process, from dist/:
//   saf-enqueue        durable enqueue throughput into the site store (WAL, synchronous = FULL): one commit per
//                      enqueue, enqueueMany (100 per commit), submit() with 50 callers each waiting for its own
//                      message (group commit), and one commit per enqueue at synchronous = NORMAL for comparison
//                      (survives a killed process, not a power cut)
//   saf-drain          a 100,000-message backlog over 4 targets delivered to a loopback HTTP receiver in another
//                      process: messages/s, the engine process's RSS and heap during the drain, event-loop delay
//   saf-crash          100 rounds of SIGKILL of a child site process while it enqueues and delivers, then a drain:
//                      acknowledged messages lost, duplicates (all with their key), integrity_check
// Usage: node bench/store-and-forward.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { httpDeliverer, StoreAndForward } from "../dist/site-reconciler/integrations/store-and-forward/index.js";
import { Store } from "../dist/site-reconciler/store/store.js";
import { runSafCrashRounds } from "../test/helpers/saf-crash.mjs";
import { startFaultServer } from "../test/helpers/saf-http-server.mjs";
import { emit, log, onExit, onLines, r1, sleep, target } from "./common.mjs";

const SELF = fileURLToPath(import.meta.url);

// The receiver in a process of its own, so the drain's figures are the engine's: prints its port, answers 200.
if (process.argv[2] === "--receiver") {
  const server = await startFaultServer({ record: false });
  process.stdout.write(`${server.port}\n`);
  process.on("SIGTERM", () => server.stop().then(() => process.exit(0)));
} else {
  await main();
}

async function main() {
  const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-saf-"));
  const children = new Set();
  onExit(() => {
    for (const c of children) c.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  });
  const http = httpDeliverer({ secrets: () => undefined });
  let dbs = 0;
  /** A fresh site store (Store.open: WAL, synchronous = FULL) and an engine on it. */
  const fresh = (caps) => {
    const store = Store.open(join(tmp, `site-${++dbs}.db`));
    return { store, engine: new StoreAndForward({ db: store.db, deliverers: { externalSystem: http }, caps }) };
  };
  const input = (name, n, url = "http://127.0.0.1:9/x") => ({
    target: { kind: "externalSystem", name },
    label: "ReportCount",
    instance: "F1",
    payload: { method: "POST", url: `${url}/${name}`, body: { line: "L1", count: n, at: "2026-01-01T00:00:00Z" } },
  });

  // saf-enqueue
  const enqueue = async (mode, n, fn, sync = "FULL") => {
    const { store, engine } = fresh({ maxMessages: 1_000_000, maxBytes: 2 ** 30 });
    store.db.pragma(`synchronous = ${sync}`);
    for (let i = 0; i < 200; i++) engine.enqueue(input("Warm", i)); // statements prepared, file grown a little
    const t0 = performance.now();
    await fn(engine, n);
    const ms = performance.now() - t0;
    const perSecond = Math.round((n / ms) * 1000);
    const stored = engine.totals().messages - 200;
    store.close();
    if (stored !== n) throw new Error(`saf-enqueue ${mode}: ${stored} of ${n} stored`);
    const durable = sync === "FULL";
    emit({
      bench: "saf-enqueue",
      mode,
      synchronous: sync,
      messages: n,
      perSecond,
      usPerMessage: r1((ms * 1000) / n),
      ...target(durable, perSecond >= 5000, ">= 5000 messages/s"),
    });
  };
  log("saf-enqueue: one durable commit per enqueue");
  await enqueue("enqueue", 2_000, (e, n) => {
    for (let i = 0; i < n; i++) e.enqueue(input("Mes", i));
  });
  log("saf-enqueue: enqueueMany, 100 per commit");
  await enqueue("enqueueMany-100", 50_000, (e, n) => {
    for (let i = 0; i < n; i += 100) e.enqueueMany(Array.from({ length: 100 }, (_, j) => input("Mes", i + j)));
  });
  log("saf-enqueue: submit, 50 callers each awaiting its own message");
  await enqueue("submit-50-callers", 50_000, async (e, n) => {
    await Promise.all(
      Array.from({ length: 50 }, async (_, c) => {
        for (let i = c; i < n; i += 50) await e.submit(input(`T${c % 4}`, i));
      }),
    );
  });
  log("saf-enqueue: one commit per enqueue at synchronous = NORMAL");
  await enqueue(
    "enqueue",
    20_000,
    (e, n) => {
      for (let i = 0; i < n; i++) e.enqueue(input("Mes", i));
    },
    "NORMAL",
  );

  // saf-drain
  {
    const BACKLOG = 100_000;
    const TARGETS = ["Mes", "Erp", "Historian", "Lims"];
    const recv = spawn(process.execPath, [SELF, "--receiver"], { stdio: ["ignore", "pipe", "inherit"] });
    children.add(recv);
    const port = await new Promise((resolve) => onLines(recv.stdout, (l) => resolve(Number(l))));
    const url = `http://127.0.0.1:${port}`;
    const { store, engine } = fresh({ maxMessages: 200_000, maxBytes: 2 ** 30 });
    log(`saf-drain: enqueueing a backlog of ${BACKLOG} messages over ${TARGETS.length} targets`);
    for (let i = 0; i < BACKLOG; i += 1000)
      engine.enqueueMany(Array.from({ length: 1000 }, (_, j) => input(TARGETS[(i + j) % TARGETS.length], i + j, url)));
    engine.setTargets(
      TARGETS.map((name) => ({
        kind: "externalSystem",
        name,
        retry: { intervalMs: 1000, maxAttempts: 10 },
        timeoutMs: 10_000,
        maxPerSecond: 100_000,
      })),
    );
    globalThis.gc?.();
    await sleep(200);
    const mb = (b) => r1(b / 2 ** 20);
    const rss = [];
    const heap = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      rss.push(m.rss);
      heap.push(m.heapUsed);
    }, 250);
    const rssBefore = process.memoryUsage().rss;
    log("saf-drain: delivering");
    loop.enable();
    const t0 = performance.now();
    engine.start();
    let last = 0;
    while (engine.totals().messages > 0) {
      await sleep(50);
      if (performance.now() - last > 10_000) {
        last = performance.now();
        log(`saf-drain: ${engine.totals().messages} left`);
      }
    }
    const ms = performance.now() - t0;
    loop.disable();
    clearInterval(sample);
    await engine.stop();
    const { delivered, failedAttempts, parked } = engine.counters;
    store.close();
    recv.kill("SIGTERM");
    children.delete(recv);
    if (delivered !== BACKLOG || parked) throw new Error(`saf-drain: ${delivered} delivered, ${parked} parked`);
    const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
    const tenth = Math.max(1, Math.floor(rss.length / 10));
    emit({
      bench: "saf-drain",
      backlog: BACKLOG,
      targets: TARGETS.length,
      seconds: r1(ms / 1000),
      perSecond: Math.round((BACKLOG / ms) * 1000),
      perTargetPerSecond: Math.round((BACKLOG / TARGETS.length / ms) * 1000),
      failedAttempts,
      rssBeforeMb: mb(rssBefore),
      rssFirstTenthMb: mb(Math.max(...rss.slice(0, tenth))),
      rssLastTenthMb: mb(Math.max(...rss.slice(-tenth))),
      rssPeakMb: mb(Math.max(...rss)),
      heapMedianMb: mb(q(heap, 0.5)),
      heapMaxMb: mb(Math.max(...heap)),
      loopDelayP99Ms: r1(loop.percentile(99) / 1e6),
      loopDelayMaxMs: r1(loop.max / 1e6),
      target: null,
      pass: null,
    });
  }

  // saf-crash
  {
    const ROUNDS = 100;
    const seed = Math.floor(Math.random() * 2 ** 32);
    const server = await startFaultServer();
    const dir = mkdtempSync(join(tmp, "crash-"));
    log(`saf-crash: ${ROUNDS} SIGKILL rounds (seed ${seed})`);
    let bad = 0;
    const t0 = performance.now();
    const run = await runSafCrashRounds({
      dir,
      server,
      rounds: ROUNDS,
      seed,
      onRound: (r) => {
        if (!r.killed || r.integrity !== "ok") bad++;
        if (r.round % 10 === 0) log(`saf-crash: round ${r.round}, ${r.rows} messages stored`);
      },
    });
    await server.stop();
    const c = run.check;
    for (const p of c.problems.slice(0, 10)) log(`saf-crash: ${p}`);
    emit({
      bench: "saf-crash",
      rounds: ROUNDS,
      seed,
      seconds: r1((performance.now() - t0) / 1000),
      acknowledged: run.acked.size,
      delivered: c.delivered,
      duplicates: c.duplicates,
      deliveredUnacknowledged: c.unacked,
      lost: c.lost,
      problems: c.problems.length,
      roundsNotKilledOrNotIntact: bad,
      finalIntegrity: run.drain.integrity,
      finalRows: run.drain.rows,
      ...target(
        true,
        c.problems.length === 0 && bad === 0 && run.drain.code === 0 && run.drain.integrity === "ok",
        "no acknowledged message lost, duplicates with their key, integrity ok",
      ),
    });
  }
}
