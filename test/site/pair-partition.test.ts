import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HmacPeerAuth } from "../../site-reconciler/redundancy/peer-auth.js";
import { WitnessServer } from "../../site-reconciler/redundancy/witness.js";
import { localRepo, scadalink, tempDir } from "../helpers/cli.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { isActive, PAIR_SECRET, type PairNode, pairNodes, startNode, stopAll } from "./pair-helpers.js";
import { siteYaml, until } from "./runtime-helpers.js";

// The peer link cut with both nodes alive (SPEC 9, docs/redundancy.md): each node reaches the other through a TCP
// proxy that stalls (a link that silently stops carrying anything). With a witness exactly one node stays active;
// cut from the witness too, the active steps down before the other takes over. Without one, both become active
// after failoverSeconds, as documented, and when the link returns the lower epoch steps down at once.

const FAILOVER_S = 3;

let plc: Plc;
beforeAll(async () => {
  plc = await startPlc({ variables: [{ id: "T1.Level", dataType: "Double", value: 1 }] });
});
afterAll(async () => {
  await plc.stop();
});

function repo() {
  return localRepo({
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": siteYaml(plc.endpoint),
    "templates/tank.yaml": y`
      kind: Template
      name: Tank
      attributes:
        - { name: Level, dataType: Double, source: data, tag: "ns=2;s=T1.Level" }
        - { name: Count, dataType: Int32, value: 0 }
      scripts:
        - name: Tick
          trigger: { type: interval, everyMs: 100 }
          code: attributes.set("Count", attributes.get("Count") + 1);
    `,
    "instances/t1.yaml": "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
  });
}

interface LogLine {
  time: number;
  msg: string;
  epoch?: number;
}

/** The node's log lines about its role, with their times. */
function roleLog(n: PairNode): LogLine[] {
  return n.out
    .split("\n")
    .filter((l) => l.includes('"msg":"site pair: '))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Intervals in which the node was active, [from, to) on the log's clock (to: Infinity while it still is). */
function activeSpans(n: PairNode): [number, number][] {
  const spans: [number, number][] = [];
  for (const l of roleLog(n)) {
    if (l.msg === "site pair: this node is active") spans.push([l.time, Number.POSITIVE_INFINITY]);
    if (l.msg === "site pair: stepping down" && spans.length) spans.at(-1)![1] = l.time;
  }
  return spans;
}

function overlapMs(a: [number, number][], b: [number, number][]): number {
  let total = 0;
  for (const [s1, e1] of a) for (const [s2, e2] of b) total += Math.max(0, Math.min(e1, e2) - Math.max(s1, s2));
  return total;
}

async function withPair(
  witness: string | undefined,
  body: (o: { nodes: PairNode[]; link: Map<string, TcpProxy>; witnessLink: Map<string, TcpProxy> }) => Promise<void>,
) {
  const r = repo();
  expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
  const nodes = await pairNodes();
  // link.get(x): the proxy x reaches its peer through; witnessLink.get(x): the one x reaches the witness through.
  const link = new Map<string, TcpProxy>();
  const witnessLink = new Map<string, TcpProxy>();
  for (const n of nodes) link.set(n.name, await startTcpProxy(nodes.find((x) => x !== n)!.peerPort));
  if (witness) for (const n of nodes) witnessLink.set(n.name, await startTcpProxy(Number(new URL(witness).port)));
  try {
    for (const n of nodes)
      startNode(n, nodes, {
        repo: r.dir,
        failoverSeconds: FAILOVER_S,
        peerUrl: () => `http://127.0.0.1:${link.get(n.name)!.port}`,
        ...(witness ? { witness: `http://127.0.0.1:${witnessLink.get(n.name)!.port}` } : {}),
      });
    await body({ nodes, link, witnessLink });
  } finally {
    await stopAll(nodes);
    for (const p of [...link.values(), ...witnessLink.values()]) await p.close();
  }
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe("a site pair with its peer link cut, both nodes alive (built CLI)", () => {
  it("with a witness: exactly one node active through the cut; cut from the witness too, it steps down before the other takes over", async () => {
    const witness = new WitnessServer({
      port: 0,
      stateDir: tempDir("witness"),
      auth: new HmacPeerAuth({ secret: Buffer.from(PAIR_SECRET), node: "witness" }),
      log: pino({ level: "silent" }),
    });
    const port = await witness.start();
    try {
      await withPair(`http://127.0.0.1:${port}`, async ({ nodes, link, witnessLink }) => {
        const active = await until("one node active", () => nodes.find(isActive), 30_000);
        const standby = nodes.find((n) => n !== active)!;
        await sleep(1000);
        for (const p of link.values()) p.stall();
        // Three times failoverSeconds with the link cut: the standby asks the witness and is refused.
        await sleep(3 * FAILOVER_S * 1000);
        expect(isActive(active)).toBe(true);
        expect(isActive(standby)).toBe(false);
        expect(activeSpans(standby)).toEqual([]);

        // Now the active loses the witness as well: it stops renewing, steps down, and only then the other is active.
        witnessLink.get(active.name)!.stall();
        await until(`${standby.name} active`, () => isActive(standby), 4 * FAILOVER_S * 1000);
        expect(isActive(active)).toBe(false);
        expect(overlapMs(activeSpans(active), activeSpans(standby))).toBe(0);
        const [, down] = activeSpans(active).at(-1)!;
        const [up] = activeSpans(standby).at(-1)!;
        expect(up - down).toBeGreaterThan(0);
        console.log(JSON.stringify({ witnessCutToStepDownGapMs: up - down }));
        const epochs = [...roleLog(active), ...roleLog(standby)]
          .filter((l) => l.msg === "site pair: this node is active")
          .map((l) => l.epoch);
        expect(epochs[1]).toBeGreaterThan(epochs[0]!);

        // The link and the witness back: the old active joins as standby; still one active.
        for (const p of [...link.values(), ...witnessLink.values()]) p.restore();
        await sleep(2 * FAILOVER_S * 1000);
        expect(nodes.filter(isActive)).toEqual([standby]);
      });
    } finally {
      await witness.stop();
    }
  }, 120_000);

  it("without a witness: both active after failoverSeconds (the documented rule); when the link returns the lower epoch steps down", async () => {
    await withPair(undefined, async ({ nodes, link }) => {
      const first = await until("one node active", () => nodes.find(isActive), 30_000);
      const second = nodes.find((n) => n !== first)!;
      await sleep(1000);
      expect(nodes.filter(isActive)).toEqual([first]);
      for (const p of link.values()) p.stall();
      await until(`${second.name} active too`, () => isActive(second), (FAILOVER_S + 5) * 1000);
      expect(isActive(first)).toBe(true);
      const cutAt = Date.now();
      // The link returns: the older activation (lower epoch) steps down at once.
      for (const p of link.values()) p.restore();
      await until(`${first.name} stepping down`, () => !isActive(first), 10_000);
      expect(Date.now() - cutAt).toBeLessThan(FAILOVER_S * 1000);
      expect(nodes.filter(isActive)).toEqual([second]);
      const down = roleLog(first).filter((l) => l.msg === "site pair: stepping down");
      expect(JSON.stringify(down.at(-1))).toMatch(/higher epoch seen/);
    });
  }, 120_000);
});
