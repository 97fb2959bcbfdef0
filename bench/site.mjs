// Site reconciler benchmarks, run by bench/run.mjs in a child process (its own heap, apart from the compiler and
// controller runs): site-cold-apply, site-apply-one-change, site-noop-poll, release-sign-verify and
// site-fetch-isomorphic-vs-native, for a site of 1,000 instances on a deploy branch the controller wrote (signed, as
// every site verifies it: section 10), on a real git smart-HTTP server on loopback.
// Usage: node bench/site.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress and reconciler warnings go to stderr.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { Controller } from "../dist/controller/controller.js";
import { splitCommit } from "../dist/controller/git/objects.js";
import { Repo } from "../dist/controller/git/repo.js";
import { parseAllowedSigners, publicKeyLine, readSigningKey, signMessage } from "../dist/controller/git/sshsig.js";
import { checkRelease } from "../dist/site-reconciler/provenance.js";
import { packageRuntime, Reconciler } from "../dist/site-reconciler/reconciler.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.mjs";
import { emit, log, median, onExit, r1, stats, target } from "./common.mjs";
import { DEPLOY_BRANCH, deployHead, generatedRepo, gitCli, pushFileEdit, sourceCommit } from "./config-repo.mjs";

// A site fetches the whole fleet's deploy branch, so its fetch grows with the fleet (fleetInstances in the JSON).
// Two sites of 1,000, measuring the second: the generated repo's executed pilot batch is on the first site, and
// ten sites would take the controller and the site's fetches past the time budget.
const SITES = 2;
const PER_SITE = 1000;
const TAGS = 75;
const SITE = "wtp-02";
// An InstanceSet file of the measured site (the controller benchmarks edit the same one).
const EDIT_FILE = `instances/${SITE}/intake.yaml`;
// Above the brief's minimums (7, 15) where a run is cheap, for steadier medians within the time budget.
const COLD_RUNS = 3;
const EDITS = 9;
const NOOP_RUNS = 20;
const FETCH_RUNS = 5;
// The site's only secret (its utilities PLC login), so every instance converges to pass.
const ENV = { [`SCADALINK_SECRET_SITE${SITE.slice(-2)}_PLC_PASSWORD`]: "bench" };

// Under run.mjs's temp dir when given, so a killed child's files still go with the parent's cleanup.
const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-site-"));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
onExit(cleanup);
// Warnings (a refused head, an unreachable branch) on stderr: stdout carries JSON lines only.
const logger = pino({ level: "warn" }, pino.destination({ dest: 2, sync: true }));
// The release key of this run: the controller signs every deploy commit, the site trusts only this key.
const signingKey = readSigningKey(
  generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
);
const trustedKeys = parseAllowedSigners(`bench@scadalink namespaces="git" ${publicKeyLine(signingKey)}\n`);
const SIGN_RUNS = 200;

let stateDirs = 0;
/** A site reconciler on a new, empty state directory; no timer runs (every loop timed here is once()). */
const siteReconciler = (url) =>
  Reconciler.create(
    {
      site: SITE,
      repo: url,
      stateDir: join(tmp, `site-state-${++stateDirs}`),
      pollIntervalMs: 3_600_000,
      heartbeatMs: 3_600_000,
      env: ENV,
      // The loop is measured here, not devices (bench/runtime.mjs): the generated sites' PLCs are not on loopback.
      runtime: packageRuntime,
      trustedKeys,
    },
    logger,
  );

/** One loop, failing loudly unless it synced head and put no instance aside. */
async function loop(site, head, what) {
  const r = await site.once();
  if (r.sync.state !== "ok" || r.head !== head || r.refused.length || r.repaired.length || r.status === "failed")
    throw new Error(`${what}: ${JSON.stringify({ ...r, applied: r.applied.length })}`);
  return r;
}

/** A first sync into an empty state directory, COLD_RUNS times; the last site stays open for the next benchmarks. */
async function coldApply(repo, head) {
  log(`site ${SITE}: site-cold-apply x${COLD_RUNS}`);
  const total = [];
  const apply = [];
  let site;
  for (let i = 0; i < COLD_RUNS; i++) {
    if (site) {
      await site.stop();
      rmSync(site.config.stateDir, { recursive: true, force: true });
    }
    site = await siteReconciler(repo.url);
    const r = await loop(site, head, `cold apply ${i}`);
    if (r.applied.length !== PER_SITE || r.status !== "change")
      throw new Error(`cold apply ${i}: ${r.applied.length} instances applied, status ${r.status}`);
    total.push(r.durationMs);
    apply.push(r.applyMs);
  }
  emit({
    bench: "site-cold-apply",
    instances: PER_SITE,
    fleetInstances: SITES * PER_SITE,
    tags: TAGS,
    ...stats(total),
    applyMs: stats(apply),
    firstRunMs: r1(total[0]),
    runs: total.length,
    target: null,
    pass: null,
  });
  return site;
}

/** One instance edited on main and deployed by the controller (not timed), then the site's loop. */
async function applyOneChange(repo, controller, site) {
  log(`site ${SITE}: site-apply-one-change x${EDITS}`);
  const apply = [];
  const total = [];
  let applied;
  for (let i = 0; i < EDITS; i++) {
    const { sha, instance } = await pushFileEdit(repo, EDIT_FILE, i);
    const pass = await controller.reconcile();
    const head = await deployHead(repo.bare);
    if (pass.deployCommits.length !== 1 || pass.deployCommits[0] !== head || pass.processed[0]?.commit !== sha)
      throw new Error(`edit ${i}: controller pass ${JSON.stringify(pass)}, server deploy branch at ${head}`);
    const r = await loop(site, head, `one change ${i}`);
    if (r.applied.length !== 1 || r.applied[0] !== instance || r.removed.length)
      throw new Error(`edit ${i} of ${instance}: applied ${r.applied.join(", ")}; removed ${r.removed.join(", ")}`);
    apply.push(r.applyMs);
    total.push(r.durationMs);
    applied ??= r.applied;
  }
  const s = stats(apply);
  emit({
    bench: "site-apply-one-change",
    instances: PER_SITE,
    fleetInstances: SITES * PER_SITE,
    tags: TAGS,
    ...s,
    firstRunMs: r1(apply[0]),
    durationMs: stats(total),
    applied, // of the first edit; every run is checked to apply exactly its edited instance
    runs: apply.length,
    ...target(true, s.medianMs < 200, "< 200 ms"),
  });
}

/** Loops while the deploy branch stays where it is: a ref listing, the drift check and convergence, nothing pushed. */
async function noopPoll(repo, site) {
  log(`site ${SITE}: site-noop-poll x${NOOP_RUNS}`);
  const head = await deployHead(repo.bare);
  const times = [];
  const published = { change: 0, heartbeat: 0, none: 0 };
  for (let i = 0; i < NOOP_RUNS; i++) {
    const r = await loop(site, head, `no-op poll ${i}`);
    if (r.applied.length || r.removed.length) throw new Error(`no-op poll ${i} applied or removed instances`);
    times.push(r.durationMs);
    published[r.status]++;
  }
  emit({
    bench: "site-noop-poll",
    instances: PER_SITE,
    fleetInstances: SITES * PER_SITE,
    tags: TAGS,
    ...stats(times),
    firstRunMs: r1(times[0]),
    statusCommits: published.change + published.heartbeat,
    runs: times.length,
    target: null,
    pass: null,
  });
}

/**
 * What signed releases cost per release: the controller's signature of one deploy commit, and the site's check of
 * a new head (its signature, and the walk back to the release applied before, EDITS deploy commits earlier).
 */
async function releaseSigning(repo) {
  log(`site ${SITE}: release-sign-verify x${SIGN_RUNS}`);
  const git = await Repo.open(repo.bare, join(tmp, "state-sign"));
  const head = await deployHead(repo.bare);
  const raw = await git.readRawCommit(head);
  const { payload } = splitCommit(raw);
  let base = head;
  for (let i = 0; i < EDITS; i++) base = (await git.readCommit(base)).parents[0];
  const time = async (fn) => {
    const t = [];
    for (let i = 0; i < SIGN_RUNS; i++) {
      const t0 = performance.now();
      await fn();
      t.push(performance.now() - t0);
    }
    return { medianUs: Math.round(median(t) * 1000), maxUs: Math.round(Math.max(...t) * 1000) };
  };
  const noDeepen = async () => undefined;
  const check = async (from) => {
    const c = await checkRelease(git, head, from, trustedKeys, noDeepen);
    if (!c.ok) throw new Error(`release check: ${c.message}`);
  };
  emit({
    bench: "release-sign-verify",
    commitBytes: raw.length,
    sign: await time(() => signMessage(signingKey, payload)),
    verifySignature: await time(() => check(head)),
    verifyAndWalk: await time(() => check(base)),
    walkCommits: EDITS,
    runs: SIGN_RUNS,
    target: null,
    pass: null,
  });
}

/** Size of a git directory's packs, in MB. */
async function packMb(gitdir) {
  const sizes = await gitCli(["--git-dir", gitdir, "count-objects", "-v"]);
  return r1(Number(/^size-pack: (\d+)$/m.exec(sizes)[1]) / 1024);
}

/**
 * The reconciler's fetch of the deploy branch (isomorphic-git, depth 1, one branch) into a new mirror vs native
 * git's `fetch --depth 1` of the same branch into a new bare repo, alternating. Only the fetch is timed.
 */
async function fetchCompare(repo) {
  log(`site ${SITE}: site-fetch-isomorphic-vs-native x${FETCH_RUNS}`);
  const head = await deployHead(repo.bare);
  const files = await gitCli(["--git-dir", repo.bare, "ls-tree", "-r", "--name-only", head]);
  const iso = [];
  const native = [];
  const packs = { iso: [], native: [] };
  for (let i = 0; i < FETCH_RUNS; i++) {
    const isoDir = join(tmp, `fetch-iso-${i}`);
    const mirror = await Repo.open(repo.url, isoDir);
    let t0 = performance.now();
    const got = await mirror.fetchBranch(DEPLOY_BRANCH, { depth: 1 });
    iso.push(performance.now() - t0);
    if (got !== head) throw new Error(`isomorphic fetch: ${got}, expected ${head}`);
    const nativeDir = join(tmp, `fetch-native-${i}`);
    await gitCli(["init", "--quiet", "--bare", nativeDir]);
    await gitCli(["--git-dir", nativeDir, "remote", "add", "origin", repo.url]);
    t0 = performance.now();
    await gitCli(["--git-dir", nativeDir, "fetch", "--quiet", "--depth", "1", "origin", DEPLOY_BRANCH]);
    native.push(performance.now() - t0);
    // Both must hold the tip's whole tree (checked with native git, outside the timings).
    for (const [dir, key] of [
      [mirror.gitdir, "iso"],
      [nativeDir, "native"],
    ]) {
      if ((await gitCli(["--git-dir", dir, "ls-tree", "-r", "--name-only", head])) !== files)
        throw new Error(`fetch into ${dir}: the tree of ${head} differs from the server's`);
      packs[key].push(await packMb(dir));
    }
    rmSync(isoDir, { recursive: true, force: true });
    rmSync(nativeDir, { recursive: true, force: true });
  }
  emit({
    bench: "site-fetch-isomorphic-vs-native",
    instances: PER_SITE,
    fleetInstances: SITES * PER_SITE,
    tags: TAGS,
    files: files.split("\n").length,
    isomorphic: { ...stats(iso), packMb: median(packs.iso), runs: iso.length },
    native: { ...stats(native), packMb: median(packs.native), runs: native.length },
    ratio: Math.round((median(iso) / median(native)) * 100) / 100,
    target: null,
    pass: null,
  });
}

const server = await startGitHttpServer({ root: join(tmp, "git-root") });
let site;
try {
  log(`site: git server at ${server.url}`);
  const n = SITES * PER_SITE;
  log(`site: generating ${SITES} sites, ${n} instances, ${TAGS} tags each; deploying them with the controller`);
  const repo = await generatedRepo(server, "config", join(tmp, "work"), { sites: SITES, instances: n, tags: TAGS });
  const controller = await Controller.create(
    { repo: repo.url, stateDir: join(tmp, "state-ctl"), mainBranch: "main", pollIntervalMs: 3_600_000, signingKey },
    logger,
  );
  const t0 = performance.now();
  const first = await controller.reconcile();
  const head = await deployHead(repo.bare);
  if (first.deployCommits.length !== 1 || first.processed.some((p) => p.errors > 0))
    throw new Error(`first deploy: ${JSON.stringify(first)}`);
  if ((await sourceCommit(repo.bare, head)) !== repo.seed)
    throw new Error("first deploy: the server's deploy branch is not built from the seed commit");
  log(`site: deploy branch written in ${r1(performance.now() - t0)} ms`);
  site = await coldApply(repo, head);
  await applyOneChange(repo, controller, site);
  await noopPoll(repo, site);
  await releaseSigning(repo);
  await fetchCompare(repo);
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await site?.stop();
  await server.stop();
}
