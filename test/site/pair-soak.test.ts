import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepo, scadalink } from "../helpers/cli.js";
import { type Plc, type PlcWrite, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { type FaultServer, type ReceivedRequest, startFaultServer } from "../helpers/saf-http-server.mjs";
import { isActive, type PairNode, pairNodes, startNode, staticOf, stopAll } from "./pair-helpers.js";
import { siteYaml, until } from "./runtime-helpers.js";

// SPEC 9 under load, through the built CLI: values changing at the PLC, a script writing a static count, a device
// setpoint and a store-and-forward message every 100 ms, and the active node SIGKILLed 20 times in a row. Each time
// the standby is active within failoverSeconds and values flow again; every count the final store holds reached
// the MES; a count lost with its message is one of the replication window (stated); the PLC never sees writes of
// two nodes in one epoch, nor of a node after it stopped being active.

const KILLS = 20;
const FAILOVER_S = 3;
const MES_KEY = "mes-key-CANARY-41c0";

let plc: Plc;
let mes: FaultServer;
const writes: PlcWrite[] = [];
const taken: ReceivedRequest[] = [];
let level = 0;
let levels: NodeJS.Timeout;

beforeAll(async () => {
  plc = await startPlc({
    variables: [
      { id: "T1.Level", dataType: "Double", value: 0 },
      { id: "T1.Setpoint", dataType: "Int32", value: 0 },
    ],
    onWrite: (w) => writes.push(w),
  });
  levels = setInterval(() => plc.set("T1.Level", ++level), 100);
  mes = await startFaultServer();
  mes.behave((r) => {
    taken.push(r);
    return { status: 200 };
  });
});
afterAll(async () => {
  clearInterval(levels);
  await plc.stop();
  await mes.stop();
});

function repo() {
  return localRepo({
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": siteYaml(plc.endpoint),
    "integrations/mes.yaml": y`
      kind: ExternalSystem
      name: Mes
      baseUrl: ${mes.url}/api
      auth: { type: apiKey, header: X-Api-Key, secret: MES_API_KEY }
      timeoutMs: 2000
      retry: { intervalMs: 100, maxAttempts: 100000 }
      methods:
        - name: ReportCount
          http: POST
          path: /lines/{line}/counts
          parameters: [{ name: line, type: String }, { name: count, type: Int32 }]
    `,
    "templates/tank.yaml": y`
      kind: Template
      name: Tank
      attributes:
        - { name: Level, dataType: Double, source: data, tag: "ns=2;s=T1.Level" }
        - { name: Setpoint, dataType: Int32, source: data, access: readWrite, tag: "ns=2;s=T1.Setpoint" }
        - { name: Count, dataType: Int32, value: 0 }
        - { name: LastLevel, dataType: Double, value: 0 }
      scripts:
        - name: Tick
          trigger: { type: interval, everyMs: 100 }
          code: |
            const n = attributes.get("Count") + 1;
            externalSystem.cachedCall("Mes", "ReportCount", "L1", n);
            attributes.set("Count", n);
            attributes.set("Setpoint", n);
        - name: Follow
          trigger: { type: onChange, attribute: Level }
          code: attributes.set("LastLevel", attributes.get("Level"));
    `,
    "instances/t1.yaml": "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
  });
}

interface Round {
  takeoverMs: number;
  flowMs: number;
  /** The killed node's own count after its death, and the count the new active went on from. */
  killedAt: number;
  replicatedAt: number;
}

describe("a site pair under load, 20 SIGKILLs of the active in a row (built CLI)", () => {
  it("fails over every time within failoverSeconds, loses nothing beyond the replication window, one writer per epoch", async () => {
    const r = repo();
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const nodes = await pairNodes();
    const setup = { repo: r.dir, failoverSeconds: FAILOVER_S, env: { SCADALINK_SECRET_MES_API_KEY: MES_KEY } };
    const rounds: Round[] = [];
    try {
      for (const n of nodes) startNode(n, nodes, setup);
      let active: PairNode = await until("one node active", () => nodes.find(isActive), 30_000);
      await until("the count going", () => staticOf(active.state, "Count") > 10, 30_000);
      for (let k = 0; k < KILLS; k++) {
        const standby = nodes.find((n) => n !== active)!;
        // The standby has caught up with the active before the next kill (a returning node snapshots first).
        const now = staticOf(active.state, "Count");
        await until(`round ${k}: the standby caught up`, () => staticOf(standby.state, "Count") >= now, 30_000);
        await new Promise((res) => setTimeout(res, 200 + Math.random() * 600));
        const t0 = Date.now();
        active.child!.kill("SIGKILL");
        await active.exited;
        // What the standby holds at the kill (it runs no script until it is active): the replication window is the
        // killed node's count beyond this.
        const replicatedAt = staticOf(standby.state, "Count");
        await until(`round ${k}: ${standby.name} active`, () => isActive(standby), (FAILOVER_S + 5) * 1000);
        const takeoverMs = Date.now() - t0;
        // Values flow on the new active: a level the PLC set after the kill reaches its script.
        const after = level;
        await until(
          `round ${k}: values on ${standby.name}`,
          () => staticOf(standby.state, "LastLevel") > after,
          15_000,
        );
        const flowMs = Date.now() - t0;
        const killedAt = staticOf(active.state, "Count");
        rounds.push({ takeoverMs, flowMs, killedAt, replicatedAt });
        startNode(active, nodes, setup);
        await until(`round ${k}: ${active.name} back as standby`, () => /starting as standby/.test(active.out), 30_000);
        active = standby;
      }
      // Let the backlog drain at the MES, then stop both.
      const final = staticOf(active.state, "Count");
      await until(
        "every count of the final store at the MES",
        () => new Set(taken.map((t) => (t.body as { count: number }).count)).size >= final,
        60_000,
      );
    } finally {
      await stopAll(nodes);
    }

    // 1. Every failover within failoverSeconds, values flowing within a few seconds more.
    const figures = {
      takeoverMs: { max: Math.max(...rounds.map((x) => x.takeoverMs)), all: rounds.map((x) => x.takeoverMs) },
      flowMs: { max: Math.max(...rounds.map((x) => x.flowMs)) },
    };
    for (const x of rounds) expect(x.takeoverMs).toBeLessThan(FAILOVER_S * 1000);
    for (const x of rounds) expect(x.flowMs).toBeLessThan((FAILOVER_S + 5) * 1000);

    // 2. Every count from 1 to the last arrived at the MES: a message lost with the window is made again by the
    // script, which goes on from the replicated count. Redeliveries of one message carry one idempotency key.
    const byKey = new Map<string, { count: number; epochs: Set<string>; nodes: Set<string> }>();
    for (const t of taken) {
      const key = t.key ?? "";
      const count = (t.body as { count: number }).count;
      const e = byKey.get(key) ?? { count, epochs: new Set(), nodes: new Set() };
      expect(e.count).toBe(count); // one key, one message
      e.epochs.add(String(t.headers["x-scadalink-epoch"]));
      e.nodes.add(String(t.headers["x-scadalink-node"]));
      byKey.set(key, e);
    }
    const counts = new Set([...byKey.values()].map((e) => e.count));
    const last = Math.max(...counts);
    const missing = [];
    for (let c = 1; c <= last; c++) if (!counts.has(c)) missing.push(c);
    expect(missing).toEqual([]);
    // A count sent under two keys is one the script made twice: only in a replication window (after the count the
    // new active went on from, up to what the killed node had counted).
    const twice = [...counts].filter((c) => [...byKey.values()].filter((e) => e.count === c).length > 1);
    const inWindow = (c: number) => rounds.some((x) => c > x.replicatedAt - 2 && c <= x.killedAt + 1);
    expect(twice.filter((c) => !inWindow(c))).toEqual([]);
    const windows = rounds.map((x) => Math.max(0, x.killedAt - x.replicatedAt));

    // 3. Every delivery names the node and epoch that made it, and one epoch is one node's.
    const epochNode = new Map<string, Set<string>>();
    for (const t of taken) {
      const e = String(t.headers["x-scadalink-epoch"]);
      const set = epochNode.get(e) ?? new Set();
      set.add(String(t.headers["x-scadalink-node"]));
      epochNode.set(e, set);
    }
    for (const [epoch, who] of epochNode) expect([...who], `epoch ${epoch}`).toHaveLength(1);
    expect(epochNode.size).toBeGreaterThanOrEqual(KILLS);

    // 4. The PLC: writes come from sessions named for a node and an epoch, one node per epoch, epochs only rising.
    const sessions = writes
      .filter((w) => w.id === "T1.Setpoint")
      .map((w) => ({ ...w, m: /^scadalink (\S+) epoch (\d+) /.exec(w.session) }));
    expect(sessions.every((w) => w.m)).toBe(true);
    const plcEpochs = new Map<number, Set<string>>();
    let highest = 0;
    let fromOlder = 0;
    for (const w of sessions) {
      const epoch = Number(w.m![2]);
      const set = plcEpochs.get(epoch) ?? new Set();
      set.add(w.m![1]!);
      plcEpochs.set(epoch, set);
      if (epoch < highest) fromOlder++;
      highest = Math.max(highest, epoch);
    }
    for (const [epoch, who] of plcEpochs) expect([...who], `epoch ${epoch} at the PLC`).toHaveLength(1);
    // The killed node is dead before the other takes over: no write of an older epoch ever follows a newer one.
    expect(fromOlder).toBe(0);
    console.log(
      JSON.stringify({
        ...figures,
        // One count per 100 ms: a window of n counts is about n × 100 ms of the active's work.
        windowCounts: { max: Math.max(...windows), all: windows },
        countsTwice: twice.length,
        deliveries: taken.length,
        messages: byKey.size,
        plcWrites: sessions.length,
        plcWritesOfOlderEpoch: fromOlder,
      }),
    );
  }, 600_000);
});
