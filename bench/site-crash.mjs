// Site reconciler crash safety, run by bench/run.mjs in a child process: the built CLI `scadalink site --once` is
// SIGKILLed at random moments of its fetch and of its apply (test/helpers/site-crash.mjs), against a real git
// smart-HTTP server on loopback and a config repo deployed by the real controller. After every kill the store must be
// intact with each instance at its old or its new revision, and the restarted loop must converge.
// Usage: node bench/site-crash.mjs [PARENT_TMP_DIR]
// stdout: one JSON object, nothing else; progress and violations go to stderr.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { Controller } from "../dist/controller/controller.js";
import { GIT_ENV, startGitHttpServer } from "../test/helpers/git-http-server.mjs";
import { crashFixture, DEPLOY_BRANCH, runCrashRounds } from "../test/helpers/site-crash.mjs";
import { emit, log, onExit, r1 } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
const SITE = "plant-north";
const INSTANCES = 120;
// Killed rounds here; test/site/crash.test.ts kills 60 more in CI (30 in fetch, 30 in apply): 210 in all.
const KILLS = 150;
// Deploy states the branch goes round: fetches to a state not fetched before download its packages.
const STATES = 20;
const CI_KILLS = 60;

const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-crash-"));
onExit(() => rmSync(tmp, { recursive: true, force: true }));
const logger = pino({ level: "warn" }, pino.destination({ dest: 2, sync: true }));

const IDENTITY = ["-c", "user.name=scadalink-bench", "-c", "user.email=bench@scadalink.invalid"];
/** Native git without the user's config; trimmed stdout, throws with stderr. */
function gitCli(args, cwd) {
  const r = spawnSync("git", [...IDENTITY, "-c", "commit.gpgsign=false", ...args], {
    cwd,
    encoding: "utf8",
    env: GIT_ENV,
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Writes files into the work clone, commits them and pushes main. */
function commitPush(work, files, message) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  gitCli(["add", "-A"], work);
  gitCli(["commit", "-q", "-m", message], work);
  gitCli(["push", "-q", "origin", "HEAD:refs/heads/main"], work);
}

const started = performance.now();
const server = await startGitHttpServer({ root: join(tmp, "git") });
let controller;
try {
  const bare = await server.createBareRepo("crash");
  const url = server.repoUrl("crash");
  const work = join(tmp, "work");
  gitCli(["-c", "init.defaultBranch=main", "clone", "-q", url, work]);
  log(`site-crash: ${INSTANCES} instances at ${SITE}, deployed by the controller to ${url}`);
  commitPush(work, crashFixture({ instances: INSTANCES }), "seed");
  controller = await Controller.create(
    { repo: url, stateDir: join(tmp, "ctrl"), mainBranch: "main", pollIntervalMs: 3_600_000 },
    logger,
  );
  await controller.reconcile();
  const head = () => gitCli(["--git-dir", bare, "rev-parse", `refs/heads/${DEPLOY_BRANCH}`]);
  const states = [head()];
  // Each next state changes a template value every pump inherits, so all INSTANCES packages change.
  for (let i = 1; i < STATES; i++) {
    const motor = crashFixture({ instances: INSTANCES, maxSpeed: 1500 + 10 * i })["templates/motor.yaml"];
    commitPush(work, { "templates/motor.yaml": motor }, `MaxSpeed ${1500 + 10 * i}`);
    await controller.reconcile();
    states.push(head());
  }
  if (new Set(states).size !== STATES) throw new Error("a deploy did not move the deploy branch");
  log(`site-crash: ${STATES} deploy states in ${r1((performance.now() - started) / 1000)} s`);

  log(`site-crash: ${KILLS} SIGKILLs, each at a random moment of the fetch or the apply, then a restart`);
  const s = await runCrashRounds({
    bin: BIN,
    url,
    bare,
    site: SITE,
    stateDir: join(tmp, "site"),
    states,
    kills: KILLS,
    phase: "mixed",
    env: { ...process.env, SCADALINK_CACHE_DIR: join(tmp, "cache-unused") },
    onRound: (r) => {
      if (r.round % 25 === 0) log(`site-crash: round ${r.round}`);
    },
  });
  for (const v of s.violations) log(`site-crash VIOLATION: ${JSON.stringify(v)}`);
  const ok = s.violations.length === 0 && !s.stuck && s.kills >= KILLS && s.convergedAfter === s.rounds;
  emit({
    bench: "site-crash",
    kills: s.kills,
    killsFetch: s.killsFetch,
    killsApply: s.killsApply,
    rounds: s.rounds,
    freshFetchKills: s.freshFetchKills,
    notKilled: s.notKilled,
    landed: s.landed,
    partialApplies: s.partialApplies,
    tornFetches: s.tornFetches,
    damagedPacks: s.damagedPacks,
    staleLocksTakenOver: s.staleLocks,
    revertedWhileDown: s.revertedWhileDown,
    mirrorRepairs: s.mirrorRepairs,
    violations: s.violations.length,
    // The evidence of the first few (all of it, with the restart's log, is on stderr).
    violationRounds: s.violations.slice(0, 5).map((v) => ({
      round: v.round,
      phase: v.phase,
      delayMs: v.delayMs,
      landed: v.landed,
      mirror: v.mirror,
      what: v.what.slice(0, 300),
      error: v.log?.at(-1)?.slice(0, 500),
    })),
    integrityOk: s.integrityOk,
    convergedAfter: s.convergedAfter,
    medianRestartMs: s.medianRestartMs,
    maxRestartMs: s.maxRestartMs,
    instances: s.instances,
    states: s.states,
    changedPerFlip: s.changedPerFlip,
    calibration: s.calibration,
    seed: s.seed,
    killsWithCi: s.kills + CI_KILLS,
    totalMs: r1(performance.now() - started),
    target: `>= ${KILLS} kills here (>= 200 with CI's ${CI_KILLS}), 0 violations, every restart converges`,
    pass: ok,
  });
  log(
    `site-crash: ${s.kills} kills, ${s.violations.length} violations in ${r1((performance.now() - started) / 1000)} s`,
  );
} finally {
  await controller?.stop();
  await server.stop();
}
