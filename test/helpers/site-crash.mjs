// Crash-safety harness for the site reconciler: moves the deploy branch from one deployed state to the next, runs
// `scadalink site --once` as a child process, SIGKILLs it at a random moment of its fetch or its apply, checks the
// SQLite store it left behind, then restarts it and checks that one loop converges. Plain JS, shared by
// test/site/crash.test.ts and bench/site-crash.mjs.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { onLines } from "../../bench/common.mjs";
import { prng } from "../../bench/generate.mjs";
import { GIT_ENV } from "./git-http-server.mjs";

export const DEPLOY_BRANCH = "scadalink/deploy";
export const FETCH_MARKER = "fetching the deploy branch";
export const APPLY_MARKER = "applying instances";
const APPLIED_MARKER = "deploy applied";
// Warnings of the deploy source's repair of a mirror left unreadable (isomorphic-git #894: a fetch cut off).
const REPAIR_MARKERS = [
  "deploy branch unreadable after fetch: fetching it again",
  "mirror still unreadable: re-creating it",
];

/**
 * A config repo (rollout: auto) with `instances` pumps at site plant-north, all in one InstanceSet. Every package
 * inherits Motor's MaxSpeed, so each value of maxSpeed gives a deploy state in which every instance differs.
 */
export function crashFixture({ instances = 120, maxSpeed = 1500, site = "plant-north" } = {}) {
  const pumps = Array.from({ length: instances }, (_, i) => {
    const n = String(i + 1).padStart(4, "0");
    return `  - { name: P${n}, area: ${i % 2 ? "Line2" : "Line1/Cell1"}, overrides: { AssetId: PN-P-${n} } }`;
  });
  return {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": [
      "kind: Site",
      `name: ${site}`,
      "areas:",
      "  - name: Line1",
      "    areas: [{ name: Cell1 }]",
      "  - name: Line2",
      "dataConnections:",
      '  - { name: plc-a, endpoint: "opc.tcp://127.0.0.1:4840" }',
      "",
    ].join("\n"),
    "templates/valve.yaml": [
      "kind: Template",
      "name: Valve",
      "attributes:",
      '  - { name: Position, dataType: Double, source: data, tag: "{{instance}}.{{module}}.Pos" }',
      '  - { name: Command, dataType: Double, source: data, access: readWrite, tag: "{{instance}}.{{module}}.Cmd" }',
      "  - { name: Travel, dataType: Double, value: 100 }",
      "alarms:",
      "  - { name: Stuck, trigger: { type: rateOfChange, attribute: Position, perSecond: 5 } }",
      "",
    ].join("\n"),
    "templates/motor.yaml": [
      "kind: Template",
      "name: Motor",
      "attributes:",
      '  - { name: Speed, dataType: Double, source: data, tag: "{{instance}}.Speed" }',
      '  - { name: Running, dataType: Boolean, source: data, tag: "{{instance}}.Run" }',
      "  - { name: Mode, dataType: String, value: auto }",
      `  - { name: MaxSpeed, dataType: Double, value: ${maxSpeed}, locked: true }`,
      "  - { name: Rated, dataType: Double, value: 1400 }",
      "  - { name: AssetId, dataType: String, value: unknown }",
      "alarms:",
      "  - name: OverSpeed",
      '    trigger: { type: threshold, attribute: Speed, op: ">", value: 1450 }',
      "    priority: 700",
      "compose:",
      "  - { name: Inlet, template: Valve }",
      "  - { name: Outlet, template: Valve }",
      "",
    ].join("\n"),
    "templates/pump.yaml": [
      "kind: Template",
      "name: Pump",
      "extends: Motor",
      "attributes:",
      '  - { name: Flow, dataType: Double, source: data, tag: "{{instance}}.Flow" }',
      "overrides:",
      "  Rated: { value: 1450 }",
      "",
    ].join("\n"),
    "instances/pumps.yaml": [
      "kind: InstanceSet",
      `site: ${site}`,
      "template: Pump",
      "connection: plc-a",
      "instances:",
      ...pumps,
      "",
    ].join("\n"),
  };
}

/** Native git on a bare repository; trimmed stdout, throws with stderr. */
function git(bare, ...args) {
  const r = spawnSync("git", ["--git-dir", bare, ...args], { encoding: "utf8", env: GIT_ENV, timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout.trim();
}

/** What a deploy commit asks of the site: instance → revision hash (manifest) and → blob id (tree). */
export function deployState(bare, commit, site) {
  const manifest = JSON.parse(git(bare, "show", `${commit}:sites/${site}/manifest.json`));
  const blobs = new Map();
  for (const line of git(bare, "ls-tree", commit, "--", `sites/${site}/instances/`).split("\n").filter(Boolean)) {
    const [meta, path] = line.split("\t");
    const name = path.slice(path.lastIndexOf("/") + 1, -".json".length);
    blobs.set(name, meta.split(" ")[2]);
  }
  return { commit, revisions: new Map(Object.entries(manifest.instances)), blobs };
}

// A pack index's first 8 bytes: the v2 magic "\377tOc" and version 2.
const IDX_V2 = Buffer.from("ff744f6300000002", "hex");

const blobId = (text) => {
  const buf = Buffer.from(text, "utf8");
  return createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
};

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r1 = (x) => Math.round(x * 10) / 10;

/**
 * Reads the store left in stateDir, read-only: PRAGMA integrity_check, every instance row, the deploy commit.
 * A store that cannot be opened or read is reported as such (it is a violation wherever it happens).
 */
export function readStore(stateDir) {
  const file = join(stateDir, "site.db");
  if (!existsSync(file)) return { error: `${file} does not exist` };
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 5000");
    const integrity = db
      .pragma("integrity_check")
      .map((r) => r.integrity_check)
      .join("; ");
    const rows = db.prepare("SELECT name, revision_hash, blob_oid, package, state FROM instances ORDER BY name").all();
    const deployCommit = db.prepare("SELECT value FROM meta WHERE key = 'deployCommit'").get()?.value ?? null;
    return { integrity, rows, deployCommit };
  } catch (e) {
    return { error: `cannot read ${file}: ${e instanceof Error ? e.message : e}` };
  } finally {
    db?.close();
  }
}

/**
 * The store after a kill between states `from` and `to`: intact, every row at its old or its new revision, and
 * every row whole (its package's own revisionHash is the row's, its bytes are the blob it names, and that blob is
 * the deploy branch's for that revision). Instances both states list are all there; no other instance is.
 * Returns the problems found (empty: none) and how many rows are at each state.
 */
export function checkCrashed(store, from, to) {
  const problems = [];
  const counts = { atOld: 0, atNew: 0, rows: 0 };
  if (store.error) return { problems: [store.error], ...counts };
  if (store.integrity !== "ok") problems.push(`PRAGMA integrity_check: ${store.integrity}`);
  counts.rows = store.rows.length;
  const seen = new Set();
  for (const row of store.rows) {
    seen.add(row.name);
    const old = from.revisions.get(row.name) === row.revision_hash;
    const nu = to.revisions.get(row.name) === row.revision_hash;
    if (!old && !nu) {
      problems.push(`${row.name}: revision ${row.revision_hash} is neither the old nor the new one`);
      continue;
    }
    if (nu && !old) counts.atNew++;
    else counts.atOld++;
    const state = nu ? to : from;
    problems.push(...checkRow(row, state));
  }
  for (const name of from.revisions.keys())
    if (to.revisions.has(name) && !seen.has(name)) problems.push(`${name}: listed by both states but not stored`);
  if (store.deployCommit !== from.commit && store.deployCommit !== to.commit)
    problems.push(`meta deployCommit ${store.deployCommit} is neither ${from.commit} nor ${to.commit}`);
  return { problems, ...counts };
}

/** One stored row against the state it claims: whole package, right bytes. */
function checkRow(row, state) {
  const problems = [];
  let pkgHash;
  try {
    pkgHash = JSON.parse(row.package).revisionHash;
  } catch (e) {
    problems.push(`${row.name}: the stored package is not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (pkgHash !== undefined && pkgHash !== row.revision_hash)
    problems.push(`${row.name}: row revision ${row.revision_hash}, its package says ${pkgHash}`);
  const actual = blobId(row.package);
  if (actual !== row.blob_oid) problems.push(`${row.name}: package bytes hash to ${actual}, row says ${row.blob_oid}`);
  const want = state.blobs.get(row.name);
  if (row.blob_oid !== want) problems.push(`${row.name}: blob ${row.blob_oid}, the deploy branch has ${want}`);
  return problems;
}

/** The store after a clean loop at state `want`: intact and exactly the manifest, with the deploy commit recorded. */
export function checkConverged(store, want) {
  if (store.error) return [store.error];
  const problems = [];
  if (store.integrity !== "ok") problems.push(`PRAGMA integrity_check: ${store.integrity}`);
  const names = new Set(store.rows.map((r) => r.name));
  for (const [name, hash] of want.revisions)
    if (!names.has(name)) problems.push(`${name}: in the manifest, not stored`);
    else {
      const row = store.rows.find((r) => r.name === name);
      if (row.revision_hash !== hash) problems.push(`${name}: stored ${row.revision_hash}, manifest ${hash}`);
      else problems.push(...checkRow(row, want));
    }
  for (const name of names) if (!want.revisions.has(name)) problems.push(`${name}: stored, not in the manifest`);
  if (store.deployCommit !== want.commit)
    problems.push(`meta deployCommit ${store.deployCommit}, the deploy branch is at ${want.commit}`);
  return problems;
}

/**
 * Runs `scadalink site --once` on stateDir. With kill: SIGKILLs it delayMs after the first stdout line whose msg is
 * kill.marker. Resolves when it has exited: code, signal, the log lines, and when each marker was seen.
 */
function runSite(o, kill) {
  // The apply's crash safety is under test, not devices: no OPC UA connections (--runtime none). The rounds move the
  // deploy branch back to earlier states, which a site checking releases refuses as a rollback (section 10), so
  // signatures are not checked here (--allow-unsigned); test/site/provenance.test.ts tests them.
  const args = [
    o.bin,
    "site",
    "--site",
    o.site,
    "--repo",
    o.url,
    "--state-dir",
    o.stateDir,
    "--once",
    "--runtime",
    "none",
    "--allow-unsigned",
  ];
  args.push("--log-level", "debug");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env: o.env, stdio: ["ignore", "pipe", "pipe"] });
    const seen = {};
    const lines = [];
    let stderr = "";
    let timer;
    let killedAtMs;
    const deadline = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs);
    onLines(child.stdout, (line) => {
      lines.push(line);
      let msg;
      try {
        msg = JSON.parse(line).msg;
      } catch {
        return;
      }
      const at = performance.now() - t0;
      if (msg && seen[msg] === undefined) seen[msg] = at;
      if (kill && msg === kill.marker && timer === undefined && killedAtMs === undefined) {
        const fire = () => {
          killedAtMs = performance.now() - t0;
          child.kill("SIGKILL");
        };
        if (kill.delayMs <= 0) fire();
        else timer = setTimeout(fire, kill.delayMs);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve({ pid: child.pid, code, signal, ms: performance.now() - t0, lines, seen, killedAtMs, stderr });
    });
  });
}

/**
 * The site's git mirror as a kill left it: "ok"; "damaged-pack" when a pack or its .idx is cut short (isomorphic-git
 * writes both in place, and rewrites a pack it fetches again under the same name); "missing-commit" when its ref of
 * the deploy branch names a commit it does not have (isomorphic-git moves the ref before the pack is on disk, #894).
 */
export function mirrorState(stateDir, branch = DEPLOY_BRANCH) {
  const gitdir = join(stateDir, "mirror.git");
  if (!existsSync(gitdir)) return "none";
  const packs = join(gitdir, "objects", "pack");
  for (const f of existsSync(packs) ? readdirSync(packs) : []) {
    const bytes = readFileSync(join(packs, f));
    if (f.endsWith(".idx") && !bytes.subarray(0, 8).equals(IDX_V2)) return "damaged-pack";
    // A pack ends with the SHA-1 of what precedes it, which is also its name.
    if (f.endsWith(".pack") && `pack-${bytes.subarray(-20).toString("hex")}.pack` !== f) return "damaged-pack";
  }
  let oid;
  const loose = join(gitdir, "refs", "remotes", "origin", ...branch.split("/"));
  if (existsSync(loose)) oid = readFileSync(loose, "utf8").trim();
  else {
    const packed = join(gitdir, "packed-refs");
    const line = existsSync(packed)
      ? readFileSync(packed, "utf8")
          .split("\n")
          .find((l) => l.endsWith(` refs/remotes/origin/${branch}`))
      : undefined;
    oid = line?.split(" ")[0];
  }
  if (!oid) return "no-ref";
  if (!/^[0-9a-f]{40}$/.test(oid)) return "unreadable-ref";
  const r = spawnSync("git", ["--git-dir", gitdir, "cat-file", "-e", `${oid}^{commit}`], { env: GIT_ENV });
  return r.status === 0 ? "ok" : "missing-commit";
}

/** Which phase the kill landed in, from the markers seen before it (stdout may lag the child by a little). */
function landedIn(run) {
  const before = (msg) => run.seen[msg] !== undefined && run.seen[msg] <= run.killedAtMs;
  if (before(APPLIED_MARKER) || before("loop done")) return "after";
  if (before(APPLY_MARKER)) return "apply";
  if (before(FETCH_MARKER)) return "fetch";
  return "startup";
}

/**
 * Kill rounds against one state directory until `kills` rounds ended by SIGKILL (or maxRounds ran). `states` are
 * deploy commits the controller wrote, in order, each differing from the others in every instance. Each round: move
 * the deploy branch (update-ref on the bare repo) to another state (a fetch round to one not fetched yet while there
 * is one, so the fetch downloads a real pack; an apply round back to the state before), start the reconciler, SIGKILL it at a random moment of the chosen phase
 * (a delay drawn from 0 to that phase's duration measured in calibration, after the phase's debug log line), check
 * the store it left, (sometimes) flip the branch back while it is down, restart it, and check the restarted loop
 * exits 0 with the store exactly at the deploy branch. Problems are collected as violations with their evidence,
 * never thrown; onRound sees every round (it may throw to stop the run).
 */
export async function runCrashRounds(opts) {
  const o = {
    branch: DEPLOY_BRANCH,
    phase: "mixed",
    revertChance: 0.2,
    timeoutMs: 60_000,
    seed: Math.floor(Math.random() * 2 ** 32),
    env: process.env,
    calibrationRuns: 2,
    ...opts,
  };
  o.maxRounds ??= Math.ceil(o.kills * 1.5) + 10;
  const rand = prng(o.seed);
  if (o.states.length < 2) throw new Error("runCrashRounds needs at least two deploy states");
  const states = o.states.map((c) => deployState(o.bare, c, o.site));
  const next = (i) => (i + 1) % states.length;
  const changed = (x, y) => [...y.revisions].filter(([n, h]) => x.revisions.get(n) !== h).length;
  // A state no run has gone to yet: its objects are not in the site's mirror, so the fetch downloads a real pack.
  const visited = new Set();
  const flip = (s) => git(o.bare, "update-ref", `refs/heads/${o.branch}`, s.commit);
  const lockFile = join(o.stateDir, "reconciler.lock");
  const violations = [];
  const restartMs = [];
  const summary = {
    seed: o.seed,
    instances: states[1].revisions.size,
    states: states.length,
    changedPerFlip: Math.min(...states.map((s, i) => changed(s, states[next(i)]))),
    rounds: 0,
    kills: 0,
    killsFetch: 0,
    killsApply: 0,
    freshFetchKills: 0,
    notKilled: 0,
    landed: { startup: 0, fetch: 0, apply: 0, after: 0 },
    partialApplies: 0,
    tornFetches: 0,
    damagedPacks: 0,
    staleLocks: 0,
    revertedWhileDown: 0,
    mirrorRepairs: 0,
    integrityOk: 0,
    convergedAfter: 0,
    violations,
    stuck: false,
    calibration: undefined,
    medianRestartMs: null,
    maxRestartMs: null,
  };

  /** A clean loop to state s; returns the run, recording a violation when it does not converge. */
  const converge = async (s, ctx) => {
    const run = await runSite(o);
    const problems = run.code === 0 ? [] : [`exit ${run.code ?? run.signal}`];
    const store = readStore(o.stateDir);
    problems.push(...checkConverged(store, s));
    if (existsSync(lockFile)) problems.push(`${lockFile} left behind after a clean exit`);
    if (problems.length) {
      // The evidence: the restart's warnings and errors, and (when kept) the state directory it started from.
      const log = run.lines.filter((l) => !/"level":(10|20|30),/.test(l)).concat(run.stderr ? [run.stderr] : []);
      const evidence = o.evidenceDir ? join(o.evidenceDir, `round-${ctx.round}`) : undefined;
      if (evidence && existsSync(join(o.evidenceDir, "before-restart")))
        renameSync(join(o.evidenceDir, "before-restart"), evidence);
      const what = problems.slice(0, 4).join("; ") + (problems.length > 4 ? `; and ${problems.length - 4} more` : "");
      violations.push({ ...ctx, restart: "failed", what, log, evidence });
    }
    return { run, problems, integrity: store.integrity ?? store.error };
  };

  // Calibration: clean loops from state 0 on; the first one (maybe a fresh state directory) is not timed.
  const fetchMs = [];
  const applyMs = [];
  flip(states[0]);
  visited.add(0);
  await converge(states[0], { round: "calibration" });
  let current = 0;
  let previous = states.length - 1;
  for (let i = 0; i < o.calibrationRuns; i++) {
    previous = current;
    current = next(current);
    const s = states[current];
    visited.add(current);
    flip(s);
    const { run } = await converge(s, { round: "calibration" });
    const { seen } = run;
    if (seen[FETCH_MARKER] === undefined || seen[APPLY_MARKER] === undefined || seen[APPLIED_MARKER] === undefined)
      throw new Error(`calibration run printed no fetch/apply markers:\n${run.lines.join("\n")}\n${run.stderr}`);
    fetchMs.push(seen[APPLY_MARKER] - seen[FETCH_MARKER]);
    applyMs.push(seen[APPLIED_MARKER] - seen[APPLY_MARKER]);
  }
  if (violations.length) throw new Error(`calibration did not converge: ${JSON.stringify(violations)}`);
  const duration = o.calibration ?? { fetch: median(fetchMs), apply: median(applyMs) };
  summary.calibration = { fetchMs: r1(duration.fetch), applyMs: r1(duration.apply) };

  while (summary.kills < o.kills && summary.rounds < o.maxRounds) {
    const round = ++summary.rounds;
    const phase = o.phase === "mixed" ? (rand() < 0.5 ? "fetch" : "apply") : o.phase;
    // A fetch round goes to a state not fetched yet while there is one; an apply round back to the one before
    // (every state differs from every other in all instances, and its objects are already here).
    let target = next(current);
    if (phase === "fetch") target = states.findIndex((_, i) => !visited.has(i));
    else if (visited.has(previous) && previous !== current) target = previous;
    if (target < 0) target = next(current);
    const from = states[current];
    const to = states[target];
    const fresh = !visited.has(target);
    visited.add(target);
    flip(to);
    const delayMs = r1(rand() * duration[phase]);
    const run = await runSite(o, { marker: phase === "fetch" ? FETCH_MARKER : APPLY_MARKER, delayMs });
    const killed = run.signal === "SIGKILL" && run.killedAtMs !== undefined;
    const r = { round, phase, delayMs, fresh, killed, exit: run.code ?? run.signal, landed: null, crashed: null };
    if (killed) {
      summary.kills++;
      summary[phase === "fetch" ? "killsFetch" : "killsApply"]++;
      if (fresh && phase === "fetch") summary.freshFetchKills++;
      r.landed = landedIn(run);
      summary.landed[r.landed]++;
      const lock = existsSync(lockFile) ? readFileSync(lockFile, "utf8").trim() : "";
      r.staleLock = lock === String(run.pid);
      if (r.staleLock) summary.staleLocks++;
      r.mirror = mirrorState(o.stateDir, o.branch);
      if (r.mirror === "missing-commit") summary.tornFetches++;
      if (r.mirror === "damaged-pack") summary.damagedPacks++;
    } else {
      summary.notKilled++;
      if (run.code !== 0) violations.push({ round, phase, delayMs, what: `not killed, exit ${r.exit}: ${tail(run)}` });
    }
    // After a kill or a clean exit alike: every row at its old or its new revision, the database intact.
    const store = readStore(o.stateDir);
    const crashed = checkCrashed(store, from, to);
    r.crashed = { integrity: store.integrity ?? store.error, ...crashed };
    if (store.integrity === "ok") summary.integrityOk++;
    if (crashed.atNew > 0 && crashed.atOld > 0) summary.partialApplies++;
    if (crashed.problems.length && o.evidenceDir)
      cpSync(o.stateDir, join(o.evidenceDir, `round-${round}-crashed`), { recursive: true });
    for (const p of crashed.problems)
      violations.push({ round, phase, delayMs, landed: r.landed, mirror: r.mirror, what: p });
    // Sometimes the deploy branch goes back while the site is down: the restart must converge to that too.
    let want = to;
    if (killed && rand() < o.revertChance) {
      want = from;
      flip(from);
      summary.revertedWhileDown++;
    }
    r.revertedWhileDown = want === from;
    const ctx = { round, phase, delayMs, landed: r.landed, mirror: r.mirror, revertedWhileDown: r.revertedWhileDown };
    if (o.evidenceDir) {
      rmSync(join(o.evidenceDir, "before-restart"), { recursive: true, force: true });
      cpSync(o.stateDir, join(o.evidenceDir, "before-restart"), { recursive: true });
    }
    const after = await converge(want, ctx);
    r.restart = {
      exit: after.run.code ?? after.run.signal,
      ms: r1(after.run.ms),
      mirrorRepair: REPAIR_MARKERS.some((m) => after.run.seen[m] !== undefined),
      integrity: after.integrity,
      problems: after.problems,
    };
    restartMs.push(after.run.ms);
    if (r.restart.mirrorRepair) summary.mirrorRepairs++;
    if (!after.problems.length) {
      summary.convergedAfter++;
      if (want === to) [previous, current] = [current, target];
    } else {
      // One more loop, for the evidence: does it converge later, or is the site stuck (a crash loop)?
      const again = await converge(want, { ...ctx, round: `${round}-retry` });
      r.retry = { exit: again.run.code ?? again.run.signal, problems: again.problems };
      if (want === to) [previous, current] = [current, target];
      if (again.problems.length) {
        violations.push({ round, phase, delayMs, what: "still not converged after a second restart: stopped" });
        summary.stuck = true;
        await o.onRound?.(r);
        break;
      }
    }
    await o.onRound?.(r);
  }
  summary.medianRestartMs = r1(median(restartMs) ?? 0);
  summary.maxRestartMs = r1(Math.max(0, ...restartMs));
  return summary;
}

function tail(run) {
  return (run.stderr || run.lines.slice(-3).join("\n")).slice(-1500);
}
