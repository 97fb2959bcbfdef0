// Fleet dashboard benchmarks (SPEC 11), run by bench/run.mjs in a child process, from the built CLI:
//   dashboard-fleet-page   10 sites × 500 instances (bench/generate.mjs), deployed by `scadalink controller --once`,
//                          every site's status branch written by `scadalink site --once --runtime none`; then
//                          `scadalink dashboard` in its own process and Debian chromium (playwright-core) opening the
//                          fleet page: first contentful paint, and the complete fleet table (every instance row in
//                          the DOM, the load event), over RUNS cold page loads; the server's RSS with that fleet
// Usage: node bench/dashboard.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { emit, log, median, onExit, onLines, r1, target } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
const GENERATE = join(ROOT, "bench/generate.mjs");
const SITES = 10;
const PER_SITE = 500;
const RUNS = 7;
const BROWSER = process.env.SCADALINK_CHROMIUM ?? "/usr/bin/chromium";

const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-dash-"));
const children = new Set();
onExit(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});
const env = { ...process.env, SCADALINK_CACHE_DIR: join(tmp, "cache"), NO_COLOR: "1" };

function sh(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 1 << 28, ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(" ")} failed: ${r.stderr?.slice(0, 2000)}`);
  return r.stdout;
}
const git = (args, cwd) =>
  sh("git", ["-c", "user.name=bench", "-c", "user.email=bench@scadalink.invalid", ...args], { cwd });

async function main() {
  if (!existsSync(BROWSER)) throw new Error(`no browser at ${BROWSER} (Debian package chromium)`);
  const repo = join(tmp, "repo");
  log(`dashboard: generating ${SITES} sites × ${PER_SITE} instances`);
  sh(process.execPath, [
    GENERATE,
    repo,
    "--sites",
    String(SITES),
    "--instances",
    String(SITES * PER_SITE),
    "--no-check",
  ]);
  // Every instance released at once: the fleet page shows 5,000 rows with a desired and an applied revision.
  const config = join(repo, "scadalink.yaml");
  writeFileSync(config, readFileSync(config, "utf8").replace("rollout: batch", "rollout: auto"));
  git(["init", "-q", "-b", "main"], repo);
  git(["add", "-A"], repo);
  git(["commit", "-q", "-m", "seed"], repo);
  let t = performance.now();
  sh(process.execPath, [BIN, "controller", "--repo", repo, "--once", "--log-level", "error"]);
  log(`dashboard: deployed in ${Math.round(performance.now() - t)} ms`);
  const sites = sh("git", ["ls-tree", "--name-only", "scadalink/deploy:sites/"], { cwd: repo }).trim().split("\n");
  t = performance.now();
  for (const site of sites)
    sh(process.execPath, [
      BIN,
      "site",
      "--site",
      site,
      "--repo",
      repo,
      "--state-dir",
      join(tmp, `state-${site}`),
      "--once",
      "--runtime",
      "none",
      "--allow-unsigned",
      "--log-level",
      "error",
    ]);
  log(`dashboard: ${sites.length} status branches written in ${Math.round(performance.now() - t)} ms`);

  const server = spawn(
    process.execPath,
    [BIN, "dashboard", "--repo", repo, "--ui-port", "0", "--state-dir", join(tmp, "dash"), "--log-level", "error"],
    {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.add(server);
  const url = await new Promise((res, rej) => {
    onLines(server.stdout, (line) => {
      const m = /dashboard: (http:\S+)/.exec(line);
      if (m) res(m[1]);
    });
    server.once("exit", (code) => rej(new Error(`dashboard exited ${code}`)));
  });
  const browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ["--no-sandbox"] });
  const fcp = [];
  const table = [];
  let rows = 0;
  let bytes = 0;
  try {
    for (let k = 0; k < RUNS; k++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const t0 = Date.now();
      const res = await page.goto(url, { waitUntil: "load" });
      const loadedAt = Date.now();
      bytes = (await res.body()).length;
      const paint = await page.evaluate(() => {
        const e = performance.getEntriesByName("first-contentful-paint")[0];
        const nav = performance.getEntriesByType("navigation")[0];
        return { fcp: e ? e.startTime : null, load: nav ? nav.loadEventEnd : null };
      });
      rows = await page.locator("tr[data-instance]").count();
      if (rows !== SITES * PER_SITE) throw new Error(`the fleet table has ${rows} rows, not ${SITES * PER_SITE}`);
      if (paint.fcp !== null) fcp.push(paint.fcp);
      table.push(paint.load ?? loadedAt - t0);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  server.kill("SIGTERM");
  const ok = Math.max(...table) < 1_000;
  emit({
    bench: "dashboard-fleet-page",
    sites: SITES,
    instances: rows,
    runs: RUNS,
    htmlBytes: bytes,
    firstContentfulPaintMs: { median: r1(median(fcp)), max: r1(Math.max(...fcp)) },
    completeTableMs: { median: r1(median(table)), max: r1(Math.max(...table)) },
    serverRssMb: r1(rssKb / 1024),
    ...target(true, ok, "< 1 s to a complete fleet table of 10 sites × 500 instances"),
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`dashboard: ${e.stack ?? e}`);
    process.exit(1);
  },
);
