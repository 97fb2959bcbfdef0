// Site pair benchmarks (docs/redundancy.md), run by bench/run.mjs in a child process, from dist/ and the built CLI:
//   pair-failover           SIGKILL of the active node to the first value on the new active: the time until a
//                           value the PLC set after the kill is in the new active's store (its script wrote it), per
//                           round; and kill to "this node is active" in the new active's log
//   pair-replication-lag    under the load the runtime sustains here (a script writing a static every 20 ms, another
//                           following a tag the PLC changes every 20 ms, each change in the replication log), the
//                           active's measured lag (commit on the active to the standby's acknowledgement), sampled
//                           from its metrics, and the standby's distance in changes at the same instants
// Two `scadalink site` nodes with their own state directories, a node-opcua PLC on 127.0.0.1, a local config repo
// deployed by `scadalink controller --once`.
// Usage: node bench/pair.mjs [PARENT_TMP_DIR]
// stdout: one JSON object per line, nothing else; progress goes to stderr.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { startPlc } from "../dist/demo/plc.js";
import { emit, log, median, onExit, onLines, r1, sleep, target } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "dist/bundle/scadalink.js");
const ROUNDS = 10;
const FAILOVER_S = 3;
const LAG_SECONDS = 20;
const SECRET = "bench-pair-secret-0123456789";

const tmp = mkdtempSync(join(process.argv[2] ?? os.tmpdir(), "scadalink-bench-pair-"));
const children = new Set();
onExit(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});
const env = { ...process.env, SCADALINK_CACHE_DIR: join(tmp, "cache"), NO_COLOR: "1" };

function git(args, cwd) {
  const r = spawnSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@scadalink.invalid", ...args], {
    cwd,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
}

async function freePort() {
  const s = createServer();
  await new Promise((res) => s.listen(0, "127.0.0.1", res));
  const port = s.address().port;
  await new Promise((res) => s.close(res));
  return port;
}

function repo(endpoint) {
  const dir = join(tmp, "config");
  const files = {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": [
      "kind: Site",
      "name: plant-north",
      "areas: [{ name: Line1 }]",
      "dataConnections:",
      "  - name: plc",
      `    endpoint: "${endpoint}"`,
      "    samplingIntervalMs: 20",
      "    publishingIntervalMs: 20",
      "    reconnectIntervalMs: 500",
      "",
    ].join("\n"),
    "templates/tank.yaml": [
      "kind: Template",
      "name: Tank",
      "attributes:",
      '  - { name: Level, dataType: Double, source: data, tag: "ns=2;s=T1.Level" }',
      "  - { name: Count, dataType: Int32, value: 0 }",
      "  - { name: LastLevel, dataType: Double, value: 0 }",
      "scripts:",
      "  - name: Tick",
      "    trigger: { type: interval, everyMs: 20 }",
      '    code: attributes.set("Count", attributes.get("Count") + 1);',
      "  - name: Follow",
      "    trigger: { type: onChange, attribute: Level }",
      '    code: attributes.set("LastLevel", attributes.get("Level"));',
      "",
    ].join("\n"),
    "instances/t1.yaml": "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  git(["init", "-q", "-b", "main"], dir);
  git(["add", "-A"], dir);
  git(["commit", "-q", "-m", "seed"], dir);
  const r = spawnSync(process.execPath, [BIN, "controller", "--repo", dir, "--once", "--log-level", "error"], {
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`controller --once failed: ${r.stderr}`);
  return dir;
}

function staticOf(state, path) {
  if (!existsSync(join(state, "site.db"))) return -1;
  let db;
  try {
    db = new Database(join(state, "site.db"), { readonly: true, fileMustExist: true });
    const row = db.prepare("SELECT value FROM static_values WHERE instance = 'T1' AND path = ?").get(path);
    return row ? Number(JSON.parse(row.value)) : -1;
  } catch {
    return -1;
  } finally {
    db?.close();
  }
}

async function until(what, check, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function start(n, nodes, dir) {
  const peer = nodes.find((x) => x !== n);
  n.activeAt = undefined;
  n.standbyLogged = false;
  n.child = spawn(
    process.execPath,
    [
      BIN,
      "site",
      "--site",
      "plant-north",
      "--repo",
      dir,
      "--state-dir",
      n.state,
      "--allow-unsigned",
      "--node",
      n.name,
      "--peer",
      `http://127.0.0.1:${peer.peerPort}`,
      "--peer-port",
      String(n.peerPort),
      "--peer-secret",
      "PAIR_SECRET",
      "--failover-seconds",
      String(FAILOVER_S),
      "--log-level",
      "info",
    ],
    {
      env: { ...env, SCADALINK_SECRET_PAIR_SECRET: SECRET, SCADALINK_POLL_INTERVAL: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.add(n.child);
  const seen = (line) => {
    if (line.includes("site pair: this node is active")) n.activeAt = Date.now();
    if (line.includes("site pair: starting as standby")) n.standbyLogged = true;
  };
  onLines(n.child.stdout, seen);
  onLines(n.child.stderr, seen);
  n.exited = new Promise((res) => n.child.on("exit", res));
}

async function metric(n, name) {
  const file = join(n.state, "api.json");
  if (!existsSync(file)) return undefined;
  const { port } = JSON.parse(readFileSync(file, "utf8"));
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

async function main() {
  let level = 0;
  const plc = await startPlc({ variables: [{ id: "T1.Level", dataType: "Double", value: 0 }] });
  const drive = setInterval(() => plc.set("T1.Level", ++level), 20);
  const dir = repo(plc.endpoint);
  const nodes = [];
  for (const name of ["a", "b"]) nodes.push({ name, state: join(tmp, `state-${name}`), peerPort: await freePort() });
  try {
    for (const n of nodes) start(n, nodes, dir);
    let active = await until("one node active", () => nodes.find((n) => n.activeAt), 60_000);
    await until("the count going", () => staticOf(active.state, "Count") > 20, 60_000);

    // Replication lag under load: the active's metric and the standby's distance, sampled every 250 ms.
    const standby = nodes.find((n) => n !== active);
    await until(
      "the standby caught up",
      () => staticOf(standby.state, "Count") >= staticOf(active.state, "Count") - 5,
      30_000,
    );
    const lags = [];
    const behind = [];
    const end = Date.now() + LAG_SECONDS * 1000;
    const c0 = staticOf(active.state, "Count");
    const t0 = Date.now();
    while (Date.now() < end) {
      const lag = await metric(active, "scadalink_site_pair_replication_lag_seconds");
      if (lag !== undefined) lags.push(lag * 1000);
      const [a, s] = [staticOf(active.state, "Count"), staticOf(standby.state, "Count")];
      if (a >= 0 && s >= 0) behind.push(Math.max(0, a - s));
      await sleep(250);
    }
    const rate = (staticOf(active.state, "Count") - c0) / ((Date.now() - t0) / 1000);
    const sorted = [...lags].sort((x, y) => x - y);
    const p95 = sorted[Math.floor(sorted.length * 0.95)] ?? null;
    emit({
      bench: "pair-replication-lag",
      seconds: LAG_SECONDS,
      staticWritesPerSec: r1(rate * 2),
      lagMs: {
        median: r1(median(lags)),
        p95: p95 === null ? null : r1(p95),
        max: r1(Math.max(...lags)),
        samples: lags.length,
      },
      standbyBehindChanges: { median: median(behind), max: Math.max(...behind) },
      ...target(false),
    });

    // Failover rounds.
    const toActive = [];
    const toValue = [];
    for (let k = 0; k < ROUNDS; k++) {
      const next = nodes.find((n) => n !== active);
      const caughtUp = staticOf(active.state, "Count");
      await until(`round ${k}: standby caught up`, () => staticOf(next.state, "Count") >= caughtUp, 30_000);
      await sleep(300 + Math.random() * 500);
      const killed = Date.now();
      const after = level;
      active.child.kill("SIGKILL");
      await active.exited;
      children.delete(active.child);
      await until(`round ${k}: ${next.name} active`, () => next.activeAt, (FAILOVER_S + 10) * 1000);
      toActive.push(next.activeAt - killed);
      await until(`round ${k}: a value on ${next.name}`, () => staticOf(next.state, "LastLevel") > after, 30_000);
      toValue.push(Date.now() - killed);
      log(`pair-failover round ${k}: active after ${toActive.at(-1)} ms, first value after ${toValue.at(-1)} ms`);
      start(active, nodes, dir);
      await until(`round ${k}: ${active.name} back as standby`, () => active.standbyLogged, 60_000);
      active = next;
    }
    const ok = Math.max(...toValue) < 5_000;
    emit({
      bench: "pair-failover",
      rounds: ROUNDS,
      failoverSeconds: FAILOVER_S,
      killToActiveMs: { median: median(toActive), max: Math.max(...toActive) },
      killToFirstValueMs: { median: median(toValue), min: Math.min(...toValue), max: Math.max(...toValue) },
      limitMs: 10_000,
      withinLimit: Math.max(...toValue) < 10_000,
      ...target(true, ok, "< 5 s from kill to the first value on the new active (limit 10 s)"),
    });
  } finally {
    clearInterval(drive);
    for (const n of nodes) {
      n.child?.kill("SIGTERM");
      await n.exited;
    }
    await plc.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`pair: ${e.stack ?? e}`);
    process.exit(1);
  },
);
