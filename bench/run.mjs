// `npm run bench`: generates synthetic repos (bench/generate.mjs) and measures validate against its targets,
// then the controller (bench/controller.mjs), the site reconciler (bench/site.mjs) and its crash safety under
// SIGKILL (bench/site-crash.mjs) against a loopback git server, and the site's OPC UA runtime (bench/runtime.mjs)
// against a node-opcua server in a child process, side by side with a bare node-opcua client, and the script
// hosts (bench/scripts.mjs): the cost of a run and the runtime's event-loop delay while a script spins, and
// store-and-forward (bench/store-and-forward.mjs): durable enqueue throughput, the drain of a 100,000-message backlog
// against a loopback HTTP receiver, and 100 SIGKILL rounds of a site process enqueueing and delivering, and the
// script API's calls (bench/script-calls.mjs): externalSystem.call against a bare fetch, cachedCall per call, and
// site pairs (bench/pair.mjs): SIGKILL of the active to the first value on the new active, replication lag under load,
// and the fleet dashboard (bench/dashboard.mjs): first paint and complete table of 10 × 500 instances in chromium.
// stdout: one JSON object per line, nothing else; progress goes to stderr. Every figure is measured here.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { emit, log, median, onExit, onLines, r1, sleep, stats, target } from "./common.mjs";
import { editOverride } from "./generate.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
const CHILD = join(ROOT, "bench/child.mjs");
const GENERATE = join(ROOT, "bench/generate.mjs");
const CONTROLLER = join(ROOT, "bench/controller.mjs");
const SITE = join(ROOT, "bench/site.mjs");
const SITE_CRASH = join(ROOT, "bench/site-crash.mjs");
const RUNTIME = join(ROOT, "bench/runtime.mjs");
const SCRIPTS = join(ROOT, "bench/scripts.mjs");
const STORE_AND_FORWARD = join(ROOT, "bench/store-and-forward.mjs");
const SCRIPT_CALLS = join(ROOT, "bench/script-calls.mjs");
const PAIR = join(ROOT, "bench/pair.mjs");
const DASHBOARD = join(ROOT, "bench/dashboard.mjs");
const BIG_FILES = join(ROOT, "bench/big-files.mjs");
const RSS_HOOK = pathToFileURL(join(ROOT, "bench/rss-hook.mjs")).href;
const SITES = 10;
const TAGS = 75;
const SMALL = 500;
const LARGE = 10_000;
// Repetitions: above the minimums (5 at 500, 3 at 10k) for steadier medians; the whole run stays
// well within ~6 minutes on 2 cores.
const RUNS = { [SMALL]: 9, [LARGE]: 5 };
const WARM_RUNS = 10;
const INPROCESS_EDITS = 15;
const WATCH_EDITS = 9;
// The file edited by the watch benchmarks: an InstanceSet file of a middle site.
const EDIT_FILE = "instances/wtp-05/intake.yaml";

const tmp = mkdtempSync(join(os.tmpdir(), "scadalink-bench-"));
const children = new Set();

// Never leave children or temp files behind, however the run ends.
function cleanup() {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
  rmSync(tmp, { recursive: true, force: true });
}
onExit(cleanup);
// Own cache dir for every child, so nothing reads or writes the user's ~/.cache.
const baseEnv = { ...process.env, SCADALINK_CACHE_DIR: join(tmp, "cache-unused") };

/** Runs a process to completion; ms is wall time from spawn to exit. */
function run(args, env = baseEnv) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(c);
    let ms = 0;
    const out = [];
    const err = [];
    c.stdout.on("data", (d) => out.push(d));
    c.stderr.on("data", (d) => err.push(d));
    c.on("exit", () => {
      ms = performance.now() - t0;
    });
    c.on("error", reject);
    c.on("close", (code) => {
      children.delete(c);
      resolveRun({ code, ms, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** `validate --format json`, failing loudly unless it exits 0 with 0 errors and every instance. */
async function validate(repo, n, extra = [], env = baseEnv, nodeArgs = []) {
  const r = await run([...nodeArgs, BIN, "validate", "--repo", repo, "--format", "json", ...extra], env);
  let result;
  try {
    result = JSON.parse(r.stdout);
  } catch {
    throw new Error(`validate ${repo} printed no JSON (exit ${r.code}): ${r.stderr.slice(0, 2000)}`);
  }
  if (r.code !== 0 || result.errorCount !== 0 || result.stats.instances !== n)
    throw new Error(
      `validate ${repo}: exit ${r.code}, ${result.errorCount} errors, ${result.stats.instances} instances`,
    );
  return { ms: r.ms, result };
}

/** One measurement of bench/child.mjs in a fresh process. */
async function child(args) {
  const r = await run([CHILD, ...args]);
  if (r.code !== 0)
    throw new Error(`bench/child.mjs ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout);
}

async function coldProcess(repo, n) {
  const times = [];
  for (let i = 0; i < RUNS[n]; i++) times.push((await validate(repo, n, ["--no-cache"])).ms);
  const s = stats(times);
  emit({
    bench: "validate-cold-process",
    instances: n,
    tags: TAGS,
    ...s,
    runs: times.length,
    ...target(n === SMALL, s.medianMs < 1000, "< 1000 ms"),
  });
}

/** In-process cold compile vs the YAML parse floor, alternating fresh children so drift hits both alike. */
async function coldInprocess(repo, n) {
  const compile = [];
  const parse = [];
  for (let i = 0; i < RUNS[n]; i++) {
    const c = await child(["compile", repo]);
    if (c.errorCount !== 0 || c.instances !== n)
      throw new Error(`compile ${repo}: ${c.errorCount} errors, ${c.instances} instances`);
    compile.push(c.ms);
    parse.push((await child(["parse", repo])).ms);
  }
  const floor = median(parse);
  emit({
    bench: "parse-floor",
    instances: n,
    tags: TAGS,
    ...stats(parse),
    firstRunMs: r1(parse[0]),
    runs: parse.length,
    target: null,
    pass: null,
  });
  const ratio = Math.round((median(compile) / floor) * 100) / 100;
  emit({
    bench: "validate-cold-inprocess",
    instances: n,
    tags: TAGS,
    ...stats(compile),
    firstRunMs: r1(compile[0]),
    parseFloorMs: r1(floor),
    ratio,
    runs: compile.length,
    ...target(true, ratio <= 2, "<= 2x parse-floor"),
  });
}

async function warmProcess(repo, n) {
  const cacheDir = join(tmp, `cache-${n}`);
  const env = { ...process.env, SCADALINK_CACHE_DIR: cacheDir };
  await validate(repo, n, [], env); // fills the cache
  if (!existsSync(cacheDir) || readdirSync(cacheDir).length === 0)
    throw new Error(`validate wrote no cache in ${cacheDir}`);
  const times = [];
  for (let i = 0; i < WARM_RUNS; i++) times.push((await validate(repo, n, [], env)).ms);
  const s = stats(times);
  emit({
    bench: "validate-warm-process",
    instances: n,
    tags: TAGS,
    ...s,
    runs: times.length,
    ...target(true, s.medianMs < 200, "< 200 ms"),
  });
}

async function peakRss(repo, n) {
  const file = join(tmp, `rss-${n}`);
  await validate(repo, n, ["--no-cache"], { ...baseEnv, SCADALINK_BENCH_RSS_FILE: file }, ["--import", RSS_HOOK]);
  const mb = Math.round((Number(readFileSync(file, "utf8")) / 1024) * 10) / 10;
  emit({ bench: "peak-rss", instances: n, tags: TAGS, mb, runs: 1, ...target(n === LARGE, mb < 2048, "< 2048 MB") });
}

/** (a) in-process: Compiler.setFile + compile() per one-instance edit, after a cold compile in the same process. */
async function watchInprocess(repo, n) {
  const r = await child(["incremental", repo, EDIT_FILE, String(INPROCESS_EDITS)]);
  if (r.instances !== n) throw new Error(`incremental: ${r.instances} instances`);
  const s = stats(r.editMs);
  emit({
    bench: "watch-revalidate",
    mode: "inprocess",
    instances: n,
    tags: TAGS,
    ...s,
    firstEditMs: r1(r.editMs[0]),
    runs: r.editMs.length,
    ...target(true, s.medianMs < 300, "< 300 ms"),
  });
}

/** (b) end to end: the real `validate --watch --format json`; from writing the file to its next JSON line. */
async function watchProcess(repo, n) {
  const c = spawn(process.execPath, [BIN, "validate", "--repo", repo, "--watch", "--format", "json"], {
    cwd: ROOT,
    env: baseEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(c);
  const lines = [];
  let wake;
  let buf = "";
  let stderr = "";
  c.stdout.setEncoding("utf8");
  c.stdout.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      lines.push({ at: performance.now(), text: buf.slice(0, i) });
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  c.stderr.on("data", (d) => {
    stderr += d;
  });
  let exited = false;
  c.on("exit", () => {
    exited = true;
    wake?.();
  });
  const nextLine = async (timeoutMs) => {
    const until = performance.now() + timeoutMs;
    while (lines.length === 0 && !exited && performance.now() < until) {
      // The timer is cleared on wake: a pending 2-minute timeout would keep the bench alive after it is done.
      let timer;
      await new Promise((r) => {
        wake = r;
        timer = setTimeout(r, Math.max(0, until - performance.now()));
      });
      clearTimeout(timer);
    }
    const line = lines.shift();
    if (line) {
      const res = JSON.parse(line.text);
      if (res.errorCount !== 0 || res.stats.instances !== n) throw new Error(`watch: ${res.errorCount} errors`);
    } else if (exited) throw new Error(`validate --watch exited: ${stderr.slice(0, 2000)}`);
    return line;
  };
  const path = join(repo, EDIT_FILE);
  let text = readFileSync(path, "utf8");
  let edit = 1000; // distinct from the in-process edits' values
  const write = () => {
    text = editOverride(text, edit++);
    writeFileSync(path, text);
  };
  try {
    if (!(await nextLine(120_000))) throw new Error("validate --watch printed no initial result");
    // chokidar gives no ready signal: edit until a result shows the watcher is live (not timed).
    let live = false;
    for (let i = 0; i < 20 && !live; i++) {
      write();
      live = Boolean(await nextLine(2000));
    }
    if (!live) throw new Error("validate --watch never reacted to an edit");
    await sleep(500);
    let extra = lines.splice(0).length;
    const times = [];
    for (let i = 0; i < WATCH_EDITS; i++) {
      const t0 = performance.now();
      write();
      const line = await nextLine(30_000);
      if (!line) throw new Error(`validate --watch printed nothing within 30 s of edit ${i + 1}`);
      times.push(line.at - t0);
      // A second change event for the same write would print another line: count it, keep it out of the next timing.
      await sleep(400);
      extra += lines.splice(0).length;
    }
    const s = stats(times);
    emit({
      bench: "watch-revalidate",
      mode: "process",
      instances: n,
      tags: TAGS,
      ...s,
      extraLines: extra,
      runs: times.length,
      ...target(true, s.medianMs < 300, "< 300 ms"),
    });
  } finally {
    c.kill("SIGTERM");
    await new Promise((r) => (exited ? r() : c.once("exit", r)));
    children.delete(c);
  }
}

async function scale(n) {
  const repo = join(tmp, `repo-${n}`);
  log(`generating ${SITES} sites, ${n} instances, ${TAGS} tags each in ${repo}`);
  const t0 = performance.now();
  // In a child: the check compiles the repo, and a big idle heap here would GC concurrently with the timed runs.
  const gen = await run([GENERATE, repo, "--sites", String(SITES), "--instances", String(n), "--tags", String(TAGS)]);
  if (gen.code !== 0) throw new Error(`bench/generate.mjs failed (exit ${gen.code}): ${gen.stderr.slice(0, 4000)}`);
  const g = JSON.parse(gen.stdout);
  log(`generated and checked ${g.files} files, ${g.bindings} bindings in ${r1(performance.now() - t0)} ms`);
  log(`${n}: validate-cold-process x${RUNS[n]}`);
  await coldProcess(repo, n);
  log(`${n}: validate-cold-inprocess and parse-floor x${RUNS[n]}`);
  await coldInprocess(repo, n);
  log(`${n}: validate-warm-process x${WARM_RUNS}`);
  await warmProcess(repo, n);
  log(`${n}: peak-rss`);
  await peakRss(repo, n);
  if (n === LARGE) {
    log(`${n}: watch-revalidate in-process x${INPROCESS_EDITS}`);
    await watchInprocess(repo, n);
    log(`${n}: watch-revalidate validate --watch x${WATCH_EDITS}`);
    await watchProcess(repo, n);
  }
  rmSync(repo, { recursive: true, force: true });
}

/** A benchmark script in its own process (its heap apart from the compiler runs); its JSON lines are passed on. */
async function childBenches(script) {
  // Its temp files go under ours, so they are removed even if it is killed.
  const c = spawn(process.execPath, [script, tmp], {
    cwd: ROOT,
    env: baseEnv,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(c);
  let bad = 0;
  const rest = onLines(c.stdout, (line) => {
    try {
      emit(JSON.parse(line));
    } catch {
      bad++;
      log(`${relative(ROOT, script)} printed a non-JSON line: ${line.slice(0, 500)}`);
    }
  });
  const code = await new Promise((r, reject) => {
    c.on("error", reject);
    c.on("close", r);
  });
  children.delete(c);
  if (code !== 0 || bad || rest())
    throw new Error(`${relative(ROOT, script)} failed (exit ${code}, ${bad} non-JSON lines)`);
}

const started = performance.now();
emit({
  bench: "env",
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? null,
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  totalMemMb: Math.round(os.totalmem() / 2 ** 20),
  // Wall times on a shared machine: a load near the core count means the figures are inflated.
  loadavg1m: Math.round(os.loadavg()[0] * 100) / 100,
});
try {
  await scale(SMALL);
  await scale(LARGE);
  await childBenches(BIG_FILES);
  await childBenches(CONTROLLER);
  await childBenches(SITE);
  await childBenches(SITE_CRASH);
  await childBenches(RUNTIME);
  await childBenches(SCRIPTS);
  await childBenches(STORE_AND_FORWARD);
  await childBenches(SCRIPT_CALLS);
  await childBenches(PAIR);
  await childBenches(DASHBOARD);
  log(`done in ${r1((performance.now() - started) / 1000)} s; load average now ${os.loadavg()[0].toFixed(2)}`);
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
}
