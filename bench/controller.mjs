// Controller benchmarks, run by bench/run.mjs in a child process (its own heap, apart from the compiler runs):
// webhook-to-deploy, deploy-first, deploy-one-change and fetch-isomorphic-vs-native, all against a real git
// smart-HTTP server on loopback. Usage: node bench/controller.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress and controller warnings go to stderr.
import { createHmac } from "node:crypto";
import fs, { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import pino from "pino";
import { Controller } from "../dist/controller/controller.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.mjs";
import { emit, log, median, onExit, r1, sleep, stats, target } from "./common.mjs";
import { deployHead, generatedRepo, gitCli, pushFileEdit, sourceCommit } from "./config-repo.mjs";

const SITES = 10;
const TAGS = 75;
const SMALL = 500;
const LARGE = 10_000;
// Above the brief's minimums (7, 5, 3) where a run is cheap, for steadier medians within the time budget.
const WEBHOOK_EDITS = 9;
const DEPLOY_EDITS = 7;
const FETCH_RUNS = 5;
// Same file as the compiler's watch benchmarks: an InstanceSet file of a middle site.
const EDIT_FILE = "instances/wtp-05/intake.yaml";
const SECRET = "bench-secret";

// Under run.mjs's temp dir when given, so a killed child's files still go with the parent's cleanup.
const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-ctl-"));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
onExit(cleanup);
// Warnings (a commit that does not compile, a failed pass) on stderr: stdout carries JSON lines only.
const logger = pino({ level: "warn" }, pino.destination({ dest: 2, sync: true }));

/** The generated repo of n instances on the server, with its work clone under tmp. */
function serverRepo(server, n) {
  const name = `config-${n}`;
  log(`controller: generating ${SITES} sites, ${n} instances, ${TAGS} tags each; pushing to ${server.repoUrl(name)}`);
  return generatedRepo(server, name, join(tmp, `work-${n}`), { sites: SITES, instances: n, tags: TAGS });
}

/** A one-instance edit of EDIT_FILE, committed and pushed. */
const pushEdit = (repo, i) => pushFileEdit(repo, EDIT_FILE, i);

/**
 * Resolves performance.now() at the first sight of a deploy branch on the server whose Source-Commit is sha.
 * Polls every ~10 ms; git is asked for the trailer only when the branch has moved.
 */
async function waitDeployed(bare, sha, timeoutMs) {
  const until = performance.now() + timeoutMs;
  let seen;
  while (performance.now() < until) {
    const oid = await deployHead(bare);
    const at = performance.now();
    if (oid && oid !== seen) {
      seen = oid;
      if ((await sourceCommit(bare, oid)) === sha) return { at, oid };
    }
    await sleep(10);
  }
  throw new Error(`no deploy commit for ${sha} on the server within ${timeoutMs} ms`);
}

async function webhookToDeploy(server) {
  const repo = await serverRepo(server, SMALL);
  const c = await Controller.create(
    {
      repo: repo.url,
      stateDir: join(tmp, "state-webhook"),
      mainBranch: "main",
      // No poll during the run: every pass timed here is the webhook's.
      pollIntervalMs: 3_600_000,
      http: { host: "127.0.0.1", port: 0, secret: SECRET },
    },
    logger,
  );
  try {
    const t0 = performance.now();
    await c.start(); // its first poll runs the first pass at once
    await waitDeployed(repo.bare, repo.seed, 180_000);
    log(`controller ${SMALL}: first deploy on the server after ${r1(performance.now() - t0)} ms`);
    const hook = `http://127.0.0.1:${c.address.port}/webhook`;
    const times = [];
    for (let i = 0; i < WEBHOOK_EDITS; i++) {
      const { sha } = await pushEdit(repo, i);
      const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
      const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
      const sent = performance.now();
      const res = await fetch(hook, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": `bench-${i}`,
          "x-hub-signature-256": signature,
        },
        body,
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
      const { at } = await waitDeployed(repo.bare, sha, 60_000);
      times.push(at - sent);
      // Let the pass finish its bookkeeping before the next push, so passes never overlap the next timing.
      await sleep(300);
    }
    const s = stats(times);
    emit({
      bench: "webhook-to-deploy",
      instances: SMALL,
      tags: TAGS,
      ...s,
      firstRunMs: r1(times[0]),
      runs: times.length,
      ...target(true, s.medianMs < 1000, "< 1000 ms"),
    });
  } finally {
    await c.stop();
  }
}

/** Objects the deploy commit `after` added over `before`, by type, counted by native git on the server. */
async function newObjects(bare, before, after) {
  const lines = (await gitCli(["--git-dir", bare, "rev-list", "--objects", after, "--not", before])).split("\n");
  const oids = lines.filter(Boolean).map((l) => l.split(" ")[0]);
  const types = await gitCli(["--git-dir", bare, "cat-file", "--batch-check=%(objecttype)"], {
    input: `${oids.join("\n")}\n`,
  });
  const byType = { commit: 0, tree: 0, blob: 0 };
  for (const t of types.split("\n")) byType[t] = (byType[t] ?? 0) + 1;
  return { total: oids.length, ...byType };
}

/**
 * What one deploy commit changed on the server, by native git: the changed files must be exactly `expected`
 * (one package and its site's manifest); prepared batches' artifacts do not name the source commit, so they
 * stay as they are. New objects: 1 commit, a tree per directory above a changed file, a blob per changed file.
 */
async function deployDiff(bare, before, after, expected) {
  const changedFiles = (await gitCli(["--git-dir", bare, "diff-tree", "-r", "--name-only", before, after]))
    .split("\n")
    .filter(Boolean);
  const filesOk = changedFiles.length === expected.length && expected.every((f) => changedFiles.includes(f));
  const dirs = new Set([""]);
  for (const f of changedFiles) {
    const parts = f.split("/");
    for (let k = 1; k < parts.length; k++) dirs.add(parts.slice(0, k).join("/"));
  }
  const objects = await newObjects(bare, before, after);
  return {
    changedFiles,
    newObjects: objects.total,
    newCommits: objects.commit,
    newTrees: objects.tree,
    newBlobs: objects.blob,
    pass: filesOk && objects.commit === 1 && objects.tree === dirs.size && objects.blob === changedFiles.length,
  };
}

async function deployLarge(server) {
  const repo = await serverRepo(server, LARGE);
  const c = await Controller.create(
    { repo: repo.url, stateDir: join(tmp, "state-large"), mainBranch: "main", pollIntervalMs: 3_600_000 },
    logger,
  );
  log(`controller ${LARGE}: deploy-first`);
  let t0 = performance.now();
  const first = await c.reconcile();
  const firstMs = performance.now() - t0;
  if (first.deployCommits.length !== 1 || first.processed.some((p) => p.errors > 0))
    throw new Error(`first deploy: ${JSON.stringify(first)}`);
  if ((await sourceCommit(repo.bare, await deployHead(repo.bare))) !== repo.seed)
    throw new Error("first deploy: the server's deploy branch is not built from the seed commit");
  emit({ bench: "deploy-first", instances: LARGE, tags: TAGS, ms: r1(firstMs), runs: 1, target: null, pass: null });

  log(`controller ${LARGE}: deploy-one-change x${DEPLOY_EDITS}`);
  const site = EDIT_FILE.split("/")[1];
  const times = [];
  let proof; // of the first edit
  for (let i = 0; i < DEPLOY_EDITS; i++) {
    const { sha, instance } = await pushEdit(repo, i);
    const before = await deployHead(repo.bare);
    t0 = performance.now();
    const r = await c.reconcile();
    times.push(performance.now() - t0);
    const after = await deployHead(repo.bare);
    if (r.deployCommits.length !== 1 || r.deployCommits[0] !== after || r.processed[0]?.commit !== sha)
      throw new Error(`edit ${i}: pass ${JSON.stringify(r)}, server deploy branch at ${after}`);
    if (i === 0)
      proof = await deployDiff(repo.bare, before, after, [
        `sites/${site}/instances/${instance}.json`,
        `sites/${site}/manifest.json`,
      ]);
  }
  const { pass, ...proofFields } = proof;
  emit({
    bench: "deploy-one-change",
    instances: LARGE,
    tags: TAGS,
    ...stats(times),
    firstRunMs: r1(times[0]),
    runs: times.length,
    ...proofFields,
    target: null,
    pass,
  });
  return repo;
}

/** A full fetch of every branch into an empty bare repo: isomorphic-git vs native git, alternating. */
async function fetchCompare(repo) {
  log(`controller ${LARGE}: fetch-isomorphic-vs-native x${FETCH_RUNS}`);
  const refsOf = (gitdir, prefix) =>
    gitCli(["--git-dir", gitdir, "for-each-ref", "--format=%(objectname) %(refname)", prefix]);
  const expected = (await refsOf(repo.bare, "refs/heads")).replaceAll(" refs/heads/", " refs/remotes/origin/");
  // isomorphic-git also records the remote's HEAD: only the branches are compared.
  const branches = (refs) =>
    refs
      .split("\n")
      .filter((l) => !l.endsWith(" refs/remotes/origin/HEAD"))
      .join("\n");
  const iso = [];
  const native = [];
  for (let i = 0; i < FETCH_RUNS; i++) {
    const isoDir = join(tmp, `fetch-iso-${i}`);
    let t0 = performance.now();
    await git.init({ fs, gitdir: isoDir, bare: true });
    await git.addRemote({ fs, gitdir: isoDir, remote: "origin", url: repo.url });
    await git.fetch({ fs, http, gitdir: isoDir, url: repo.url, remote: "origin", singleBranch: false, tags: false });
    iso.push(performance.now() - t0);
    const nativeDir = join(tmp, `fetch-native-${i}`);
    t0 = performance.now();
    await gitCli(["init", "--quiet", "--bare", nativeDir]);
    await gitCli(["--git-dir", nativeDir, "fetch", "--quiet", repo.url, "+refs/heads/*:refs/remotes/origin/*"]);
    native.push(performance.now() - t0);
    // Both must hold every branch at the server's commit (checked with native git, outside the timings).
    for (const dir of [isoDir, nativeDir]) {
      const got = branches(await refsOf(dir, "refs/remotes"));
      if (got !== expected) throw new Error(`fetch into ${dir}: refs ${got}, expected ${expected}`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  emit({
    bench: "fetch-isomorphic-vs-native",
    instances: LARGE,
    tags: TAGS,
    isomorphic: { ...stats(iso), runs: iso.length },
    native: { ...stats(native), runs: native.length },
    ratio: Math.round((median(iso) / median(native)) * 100) / 100,
    target: null,
    pass: null,
  });
}

const server = await startGitHttpServer({ root: join(tmp, "git-root") });
try {
  log(`controller: git server at ${server.url}`);
  await webhookToDeploy(server);
  await fetchCompare(await deployLarge(server));
} catch (e) {
  log(`FAILED: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await server.stop();
}
