// Large-file benchmarks, run by bench/run.mjs in a child process: `scadalink validate` (the built CLI, a new
// process each run, no cache) of a repo whose one instance file is
//   validate-60k-key-map     a labels map of 60,000 keys (~1 MB): the duplicate-key check must stay linear
//   validate-4mib-dense      a labels map filling the 4 MiB file limit with short keys (the most tokens per byte)
//   validate-4mib-strings    the same size in a few hundred long description lines
//   controller-endpoints-during-compile
//                            /healthz, /readyz and /webhook (a signed ping) of a controller (from dist/) probed every
//                            20 ms while it compiles and deploys the 60,000-key file and then the 4 MiB one from main
// Usage: node bench/big-files.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { Controller } from "../dist/controller/controller.js";
import { emit, log, median, onExit, r1, sleep, target } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
const PROBER = join(ROOT, "test/helpers/http-prober.mjs");
const RUNS = 3;
const LIMIT = 4 * 1024 * 1024;
const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-big-"));
onExit(() => rmSync(tmp, { recursive: true, force: true }));

function repo(name, instanceBody) {
  const dir = join(tmp, name);
  const files = {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/s1.yaml": "kind: Site\nname: s1\nareas: [{ name: A }]\n",
    "templates/t.yaml": "kind: Template\nname: T\nattributes:\n  - { name: X, dataType: Int32, value: 0 }\n",
    "instances/i1.yaml": `kind: Instance\nname: I1\nsite: s1\narea: A\ntemplate: T\n${instanceBody}`,
  };
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  return { dir, bytes: statSync(join(dir, "instances/i1.yaml")).size };
}

/** A repo whose site file (instead of the instance file) is the big one. */
function siteRepo(name, siteBody) {
  const r = repo(name, "");
  writeFileSync(join(r.dir, "sites/s1.yaml"), `kind: Site\nname: s1\n${siteBody}`);
  return { dir: r.dir, bytes: statSync(join(r.dir, "sites/s1.yaml")).size };
}

/** Lines appended until the file is just under `bytes`. */
function fill(head, line, bytes) {
  const out = [head];
  let size = head.length + 60;
  for (let i = 0; ; i++) {
    const l = line(i);
    if (size + l.length + 1 > bytes) break;
    out.push(l);
    size += l.length + 1;
  }
  return `${out.join("\n")}\n`;
}

function measure(bench, { dir, bytes }, refused = false) {
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, "validate", "--repo", dir, "--format", "json"], {
      env: { ...process.env, SCADALINK_CACHE_DIR: join(tmp, `cache-${bench}-${i}`) },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    ms.push(performance.now() - t0);
    const out = JSON.parse(r.stdout);
    const ok = r.status === 0 && !out.errorCount;
    // A file refused is refused for its size, with a yaml-syntax diagnostic, never by a crash or a timeout.
    const expected = refused
      ? r.status === 1 && out.diagnostics?.some((d) => d.rule === "yaml-syntax" && /too large/.test(d.message))
      : ok;
    if (!expected) throw new Error(`${bench}: unexpected validate result: ${r.stdout.slice(0, 500)}`);
  }
  const m = median(ms);
  emit({
    bench,
    bytes,
    medianMs: r1(m),
    maxMs: r1(Math.max(...ms)),
    runs: RUNS,
    ...target(true, m < 2000, "< 2000 ms"),
  });
}

log("big files: 60,000-key map");
const keys = Array.from({ length: 60_000 }, (_, i) => `  k${i}: v${i}`);
measure("validate-60k-key-map", repo("keys60k", `labels:\n${keys.join("\n")}\n`));
log("big files: 4 MiB of short keys");
measure(
  "validate-4mib-dense",
  repo(
    "dense",
    fill("labels:", (i) => `  k${i}: v`, LIMIT - 200),
  ),
);
log("big files: 4 MiB of long strings");
measure(
  "validate-4mib-strings",
  repo("strings", `description: >-\n${fill("", (i) => `  ${"word ".repeat(400)}${i}`, LIMIT - 300).slice(1)}`),
);

log("big files: a site of 4 MiB of areas, block style");
measure(
  "validate-4mib-block-seq",
  siteRepo(
    "block-seq",
    fill("areas:\n  - name: A", (i) => `  - name: a${i}`, LIMIT - 200),
  ),
);
log("big files: a site of 4 MiB of areas on one line");
{
  const areas = [];
  for (let i = 0, size = 0; size < LIMIT - 400; i++) size += areas[areas.push(`{name: a${i}}`) - 1].length + 2;
  measure("validate-4mib-flow-seq", siteRepo("flow-seq", `areas: [{name: A}, ${areas.join(", ")}]\n`));
}
log("big files: 4 MiB of escaped strings");
measure(
  "validate-4mib-escaped",
  repo(
    "escaped",
    fill("labels:", (i) => `  k${i}: "a\\tb\\u00e9"`, LIMIT - 200),
  ),
);
log("big files: 4 MiB of short keys with an anchor (beyond the plain subset: refused by the token bound)");
measure(
  "validate-4mib-beyond-plain",
  repo("anchored", fill("labels:", (i) => `  k${i}: v`, LIMIT - 200).replace("labels:", "x: &a 1\nlabels:")),
  true,
);

log("big files: controller endpoints while it compiles them");
{
  const dir = join(tmp, "controller-repo");
  const git = (...args) =>
    execFileSync("git", ["-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@scadalink.invalid", ...args]);
  const base = repo("controller-repo", "");
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "seed");
  const logger = pino({ level: "warn" }, pino.destination({ dest: 2, sync: true }));
  const secret = "bench-secret";
  const c = await Controller.create(
    {
      repo: dir,
      stateDir: join(tmp, "controller-state"),
      mainBranch: "main",
      pollIntervalMs: 3_600_000,
      http: { host: "127.0.0.1", port: 0, secret },
    },
    logger,
  );
  await c.start();
  await c.reconcile();
  const url = `http://127.0.0.1:${c.address.port}`;
  const times = [];
  const compileMs = [];
  for (const body of [`labels:\n${keys.join("\n")}\n`, fill("labels:", (i) => `  k${i}: v`, LIMIT - 200)]) {
    writeFileSync(
      join(base.dir, "instances/i1.yaml"),
      `kind: Instance\nname: I1\nsite: s1\narea: A\ntemplate: T\n${body}`,
    );
    git("add", "-A");
    git("commit", "-q", "-m", "a big file");
    const child = spawn(process.execPath, [PROBER, url, secret], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise((r) => child.on("exit", r));
    await sleep(300); // the prober running
    const t0 = performance.now();
    await c.reconcile();
    compileMs.push(performance.now() - t0);
    child.stdin.end("stop\n");
    await exited;
    times.push(...JSON.parse(out).times);
  }
  await c.stop();
  times.sort((a, b) => a - b);
  const max = times[times.length - 1];
  emit({
    bench: "controller-endpoints-during-compile",
    probes: times.length,
    passMs: compileMs.map(r1),
    medianMs: r1(median(times)),
    p99Ms: r1(times[Math.floor(times.length * 0.99)]),
    maxMs: r1(max),
    ...target(true, max < 100, "every answer < 100 ms during the compiles"),
  });
}
