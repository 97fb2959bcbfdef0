import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepo, scadalink } from "../helpers/cli.js";
import { runGit } from "../helpers/git-server.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { apiPortOf, isActive, PAIR_SECRET, pairNodes, startNode, staticOf, stopAll } from "./pair-helpers.js";
import { siteYaml, until } from "./runtime-helpers.js";

// A site run as a pair through the built CLI (docs/redundancy.md): two nodes with their own state directories, one
// PLC (a real node-opcua server), a script writing a static attribute every 50 ms. One node becomes active, the
// other replicates; the active is SIGKILLed, the standby takes over within failoverSeconds with the replicated
// count, values flow again, the killed node returns as standby and catches up, and the status branch says so.

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
        - { name: LastLevel, dataType: Double, value: 0 }
      scripts:
        - name: Tick
          trigger: { type: interval, everyMs: 50 }
          code: attributes.set("Count", attributes.get("Count") + 1);
        - name: Follow
          trigger: { type: onChange, attribute: Level }
          code: attributes.set("LastLevel", attributes.get("Level"));
    `,
    "instances/t1.yaml": "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
  });
}

describe("a site pair through the built CLI", () => {
  it("fails over on SIGKILL of the active within failoverSeconds, keeps the replicated state, and takes the old active back as standby", async () => {
    const r = repo();
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const nodes = await pairNodes();
    const setup = { repo: r.dir, failoverSeconds: FAILOVER_S };
    const start = (n: (typeof nodes)[number]) => startNode(n, nodes, setup);
    const activeNow = () => nodes.filter(isActive);
    try {
      for (const n of nodes) start(n);
      const [first] = await until("one node active", () => (activeNow().length ? activeNow() : undefined), 30_000);
      const other = nodes.find((n) => n !== first)!;
      // Exactly one: the other has heard it and stays standby.
      await until("the active counting", () => staticOf(first!.state, "Count") > 20, 30_000);
      expect(activeNow()).toEqual([first]);
      // A cold standby holds no session on the PLC: the tag is monitored once, by the active.
      expect(plc.monitoredIds()).toEqual(["T1.Level"]);
      // The standby holds the active's count, replicated, within a short window.
      await until("the count replicated", () => staticOf(other.state, "Count") > 20, 10_000);

      // Values flow on the active: a PLC change reaches the script.
      plc.set("T1.Level", 4.5);
      await until("LastLevel 4.5 on the active", () => staticOf(first!.state, "LastLevel") === 4.5, 10_000);

      first!.child!.kill("SIGKILL");
      const killedAt = Date.now();
      await first!.exited;
      const before = staticOf(first!.state, "Count");
      await until("the standby active", () => isActive(other), (FAILOVER_S + 5) * 1000);
      const takeover = Date.now() - killedAt;
      expect(takeover).toBeLessThan(FAILOVER_S * 1000);
      // The new active goes on from the replicated count (nothing beyond the window lost), and counts on.
      const resumed = await until(
        "the new active counting",
        () => {
          const c = staticOf(other.state, "Count");
          return c > before ? c : undefined;
        },
        15_000,
      );
      expect(resumed).toBeGreaterThan(before);
      plc.set("T1.Level", 7.25);
      await until("LastLevel 7.25 on the new active", () => staticOf(other.state, "LastLevel") === 7.25, 15_000);

      // The killed node returns as standby and catches up.
      start(first!);
      await until("the returning node starting as standby", () => /starting as standby/.test(first!.out), 30_000);
      const now = staticOf(other.state, "Count");
      await until("the returning node caught up", () => staticOf(first!.state, "Count") >= now, 15_000);
      expect(isActive(first!)).toBe(false);
      // One writer again: the killed node's session is gone, the returning standby opened none.
      await until("one monitored item", () => plc.monitoredIds().length === 1, 30_000);
      expect(plc.monitoredIds()).toEqual(["T1.Level"]);
      console.log(JSON.stringify({ takeoverMs: takeover, countAtKill: before, resumedAt: resumed }));

      // The status branch: written by the new active, with both nodes.
      const status = await until(
        "status.json with both nodes",
        () => {
          let show: string;
          try {
            show = runGit(r.dir, ["show", "scadalink/status/plant-north:status.json"]);
          } catch {
            return undefined;
          }
          const s = JSON.parse(show) as { nodes?: { node: string; role: string; epoch: number }[] };
          const active = s.nodes?.find((n) => n.role === "active");
          return active?.node === other.name && s.nodes?.some((n) => n.node === first!.name && n.role === "standby")
            ? s
            : undefined;
        },
        20_000,
      );
      expect(status.nodes!.find((n) => n.role === "active")!.epoch).toBeGreaterThan(1);
      for (const n of nodes) expect(n.out).not.toContain(PAIR_SECRET);

      // Metrics of both nodes say who is what.
      const metrics = async (n: (typeof nodes)[number]) => {
        const port = await until(`${n.name}'s api.json`, () => apiPortOf(n), 20_000);
        return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      };
      const activeMetrics = await metrics(other);
      expect(activeMetrics).toMatch(
        new RegExp(`^scadalink_site_pair_role\\{node="${other.name}",role="active"\\} 1$`, "m"),
      );
      expect(activeMetrics).toMatch(/^scadalink_site_pair_activations_total 1$/m);
      expect(await metrics(first!)).toMatch(
        new RegExp(`^scadalink_site_pair_role\\{node="${first!.name}",role="standby"\\} 1$`, "m"),
      );
      // Prometheus's own checker takes both expositions (CI installs promtool).
      if (spawnSync("promtool", ["--version"]).status === 0 || process.env.CI)
        for (const text of [activeMetrics, await metrics(first!)]) {
          const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
          expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
        }
      // One writer at a time on the status branch: its history is a's reports, then b's (or b's then a's), never
      // interleaved, with sequences rising across the failover.
      const history = runGit(r.dir, ["log", "--format=%H", "scadalink/status/plant-north"]).split("\n").reverse();
      const writers: string[] = [];
      let lastSeq = 0;
      for (const c of history) {
        const s = JSON.parse(runGit(r.dir, ["show", `${c}:status.json`])) as {
          sequence: number;
          nodes?: { node: string; role: string }[];
        };
        expect(s.sequence).toBeGreaterThan(lastSeq);
        lastSeq = s.sequence;
        const w = s.nodes?.find((n) => n.role === "active")?.node;
        if (w && writers.at(-1) !== w) writers.push(w);
      }
      expect(writers).toEqual([first!.name, other.name]);
      // scadalink status shows the pair from the status branch; site inspect shows what each node's store says.
      const shown = scadalink(["status", "--repo", r.dir]);
      expect(shown.stdout).toMatch(new RegExp(`pair  ${other.name} active \\(epoch \\d+`));
      const inspect = scadalink(["site", "inspect", "--state-dir", first!.state, "--offline"]);
      expect(inspect.stdout, inspect.stderr).toMatch(
        new RegExp(`pair  node ${first!.name}  standby  epoch \\d+  replicated from ${other.name}@`),
      );
    } finally {
      await stopAll(nodes);
    }
  }, 120_000);

  it("--standby warm keeps the standby's sessions open (no subscription, no write) and takes over on them", async () => {
    const r = repo();
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const nodes = await pairNodes(["c", "d"]);
    const setup = { repo: r.dir, failoverSeconds: FAILOVER_S, args: ["--standby", "warm"] };
    try {
      for (const n of nodes) startNode(n, nodes, setup);
      const active = await until("one node active", () => nodes.find(isActive), 30_000);
      const standby = nodes.find((n) => n !== active)!;
      await until("the active counting", () => staticOf(active.state, "Count") > 5, 30_000);
      // The standby's session is open and named for it; the tag is monitored once, by the active.
      await until(
        "the warm standby's session",
        () => plc.sessions().some((s) => s.startsWith(`scadalink ${standby.name} standby `)),
        30_000,
      );
      expect(plc.monitoredIds()).toEqual(["T1.Level"]);
      // The active took over on the session it opened as a warm standby: it is named for the node.
      expect(
        plc.sessions().some((s) => s.startsWith(`scadalink ${active.name} `)),
        plc.sessions().join(", "),
      ).toBe(true);

      active.child!.kill("SIGKILL");
      const killedAt = Date.now();
      await active.exited;
      await until("the standby active", () => isActive(standby), (FAILOVER_S + 5) * 1000);
      plc.set("T1.Level", 9.5);
      await until("LastLevel 9.5 on the new active", () => staticOf(standby.state, "LastLevel") === 9.5, 15_000);
      console.log(JSON.stringify({ warmKillToValueMs: Date.now() - killedAt }));
    } finally {
      await stopAll(nodes);
    }
  }, 120_000);
});
