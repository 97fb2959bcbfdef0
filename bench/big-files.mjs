// Large-file benchmarks, run by bench/run.mjs in a child process: `scadalink validate` (the built CLI, a new
// process each run, no cache) of a repo whose one instance file is
//   validate-60k-key-map     a labels map of 60,000 keys (~1 MB): the duplicate-key check must stay linear
//   validate-4mib-dense      a labels map filling the 4 MiB file limit with short keys (the most tokens per byte)
//   validate-4mib-strings    the same size in a few hundred long description lines
// Usage: node bench/big-files.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { emit, log, median, onExit, r1, target } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
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

function measure(bench, { dir, bytes }) {
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
    if (r.status !== 0 || out.summary?.errors) throw new Error(`${bench}: validate failed: ${r.stdout.slice(0, 500)}`);
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
