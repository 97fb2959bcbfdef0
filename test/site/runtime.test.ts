import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionRecord, SiteStatus } from "../../schemas/types.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { git, STATUS, show } from "./helpers.js";
import {
  alarm,
  attr,
  instanceYaml,
  liveReconciler,
  liveSite,
  PUMP,
  pumpRepo,
  pumpVariables,
  until,
} from "./runtime-helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

describe("the site runtime against a real OPC UA server", () => {
  let plc: Plc;
  beforeAll(async () => {
    plc = await startPlc({ variables: [...pumpVariables("P1"), ...pumpVariables("P2")] });
  });
  afterAll(async () => {
    await plc.stop();
  });

  it("values flow into the attribute table; every alarm type activates and clears; scripts run on every trigger", async () => {
    const { site, live, fleet } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      const r = await site.once();
      expect(r.applied).toEqual(["P1"]);
      const v = () => live.instance("P1");
      // Values from the server, with good quality and the source timestamp.
      await until("first values", () => attr(v(), "Speed")?.value === 1000);
      expect(attr(v(), "Speed")).toMatchObject({ quality: "good" });
      expect(Date.parse(attr(v(), "Speed")!.timestamp!)).toBeGreaterThan(Date.now() - 60_000);
      expect(attr(v(), "Running")).toMatchObject({ value: true, quality: "good" });
      expect(v()!.result).toBe("pass");
      for (const a of ["OverSpeed", "LevelBand", "Stopped", "Surge"]) expect(alarm(v(), a)?.active).toBe(false);

      // threshold → active, onTrigger runs CountTrip, which calls One through callScript.
      plc.set("P1.Speed", 1500);
      await until("OverSpeed active", () => alarm(v(), "OverSpeed")?.active);
      await until("onTrigger ran", () => attr(v(), "Trips")?.value === 1);
      // onChange ran on the Speed change.
      await until("onChange ran", () => attr(v(), "LastSpeed")?.value === 1500);
      plc.set("P1.Speed", 1400);
      await until("OverSpeed normal", () => alarm(v(), "OverSpeed")?.active === false);
      expect(attr(v(), "Trips")?.value).toBe(1);

      // range: active outside [1, 9]; the expression trigger fires on its rising edge only.
      plc.set("P1.Level", 9.5);
      await until("LevelBand active", () => alarm(v(), "LevelBand")?.active);
      await until("expression ran", () => attr(v(), "HighSeen")?.value === 1);
      plc.set("P1.Level", 9.7);
      await until("value seen", () => attr(v(), "Level")?.value === 9.7);
      plc.set("P1.Level", 5);
      await until("LevelBand normal", () => alarm(v(), "LevelBand")?.active === false);
      expect(attr(v(), "HighSeen")?.value).toBe(1);

      // match
      plc.set("P1.Running", false);
      await until("Stopped active", () => alarm(v(), "Stopped")?.active);
      plc.set("P1.Running", true);
      await until("Stopped normal", () => alarm(v(), "Stopped")?.active === false);

      // rateOfChange: +500 in well under a second is over 50/s; then a slow change clears it.
      plc.set("P1.Flow", 510);
      await until("Surge active", () => alarm(v(), "Surge")?.active);
      await new Promise((r) => setTimeout(r, 1200));
      plc.set("P1.Flow", 511);
      await until("Surge normal", () => alarm(v(), "Surge")?.active === false);

      // interval
      const ticks = attr(v(), "Ticks")!.value as number;
      await until("interval ran", () => (attr(v(), "Ticks")!.value as number) >= ticks + 3);

      // A write to a readWrite data attribute reaches the server; the table follows the device.
      plc.set("P1.Request", 21);
      await until("write reached the server", () => plc.get("P1.Setpoint") === 42);
      await until("the table shows the device's value", () => attr(v(), "Setpoint")?.value === 42);

      // Transitions are in the event log with their timestamps.
      live.events.flush();
      const alarms = site.store.events({ instance: "P1", limit: 100 }).filter((e) => e.kind === "alarm");
      expect(alarms.map((e) => e.message.split(":")[0])).toEqual([
        "OverSpeed active",
        "OverSpeed normal",
        "LevelBand active",
        "LevelBand normal",
        "Stopped active",
        "Stopped normal",
        "Surge active",
        "Surge normal",
      ]);
      expect(alarms.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);

      // The status branch carries health: connection, tag and quality counts, alarms and script counters.
      plc.set("P1.Speed", 1600);
      await until("OverSpeed active again", () => alarm(v(), "OverSpeed")?.active);
      await site.once();
      const status = show<SiteStatus>(fleet.bare, STATUS, "status.json");
      expect(status.health.connections).toEqual([
        expect.objectContaining({ name: "plc", state: "connected", error: null }),
      ]);
      expect(status.health.tags).toEqual({ resolved: 6, unresolved: 0, bad: 0 });
      expect(status.health.quality).toEqual({ good: 6, uncertain: 0, bad: 0 });
      expect(status.health.alarms).toEqual({ active: 1 });
      expect(status.health.scripts).toEqual({ errors: 0, timeouts: 0, notLoaded: 0 });
      expect(status.instances.P1?.activeAlarms).toEqual([
        expect.objectContaining({ path: "OverSpeed", priority: 700 }),
      ]);
      plc.set("P1.Speed", 1000);
    } finally {
      await site.stop();
    }
  });

  it("a script-written static value survives a restart and is reset by a new revision", async () => {
    const files = pumpRepo(plc.endpoint, ["P2"]);
    const { site, live, fleet } = await liveSite(server, files);
    const stateDir = site.config.stateDir;
    let running = site;
    try {
      await site.once();
      plc.set("P2.Speed", 1500);
      await until("onTrigger wrote Trips", () => attr(live.instance("P2"), "Trips")?.value === 1);
      plc.set("P2.Speed", 1000);
      await site.stop();
      // Restart on the same state directory: the written value is back before any trigger.
      const again = await liveReconciler(fleet.url, { stateDir });
      running = again.site;
      await again.site.once();
      expect(attr(again.live().instance("P2"), "Trips")?.value).toBe(1);
      // A new revision of the instance resets it to the package's value.
      await fleet.change({ "instances/p2.yaml": instanceYaml("P2", "overrides:\n  HighSeen: 5\n") });
      const r = await again.site.once();
      expect(r.applied).toEqual(["P2"]);
      expect(attr(again.live().instance("P2"), "Trips")?.value).toBe(0);
      expect(attr(again.live().instance("P2"), "HighSeen")?.value).toBe(5);
    } finally {
      await running.stop();
    }
  });

  it("execution records take their result from what happened, with live evidence on the status branch", async () => {
    const files = {
      ...pumpRepo(plc.endpoint, ["P3", "P4"]),
      "scadalink.yaml": "kind: Repository\nrollout: batch\n",
      "batches/wave1.yaml": y`
        kind: Batch
        name: wave1
        select:
          instances: [plant-north/P3, plant-north/P4]
        phase: execute
        evidence: [values-snapshot, alarm-states, connection-health, event-log]
      `,
    };
    // P3's tags exist; P4's do not (yet): pass and data-mismatch.
    for (const v of pumpVariables("P3")) plc.add(v);
    const { site, live, fleet } = await liveSite(server, files);
    try {
      await site.once();
      const record = (n: string) => show<ExecutionRecord>(fleet.bare, STATUS, `batches/wave1/${n}.json`);
      expect(record("P3")).toMatchObject({ result: "pass", message: null });
      expect(record("P4")).toMatchObject({
        result: "data-mismatch",
        message: expect.stringMatching(/6 tag\(s\) not found/),
      });
      const evidence = (n: string, item: string) =>
        show<Record<string, unknown>>(fleet.bare, STATUS, record(n).evidence.find((e) => e.item === item)!.path);
      const values = evidence("P3", "values-snapshot") as {
        attributes: { path: string; value: unknown; quality: string }[];
      };
      expect(values.attributes.find((a) => a.path === "Speed")).toMatchObject({ value: 1000, quality: "good" });
      expect((evidence("P3", "alarm-states") as { alarms: unknown[] }).alarms).toHaveLength(4);
      expect(evidence("P4", "connection-health")).toMatchObject({
        result: "data-mismatch",
        connections: [expect.objectContaining({ name: "plc", state: "connected" })],
        tags: { resolved: 0, unresolved: 6, bad: 0 },
      });
      const eventLog = git(
        fleet.bare,
        "show",
        `${STATUS}:${record("P4").evidence.find((e) => e.item === "event-log")!.path}`,
      );
      expect(eventLog).toMatch(/"kind":"deploy"/);
      // The tags appear: the next loop records P4 again, now pass.
      for (const v of pumpVariables("P4")) plc.add(v);
      await until("P4 resolved", () => attr(live.instance("P4"), "Speed")?.quality === "good", 5000);
      await site.once();
      expect(record("P4")).toMatchObject({ result: "pass" });
    } finally {
      await site.stop();
    }
  });

  it("a composed module's script reads and writes its own module's members (scope of 4.2)", async () => {
    const valve = y`
      kind: Template
      name: Valve
      attributes:
        - { name: Position, dataType: Double, source: data, tag: "ns=2;s={{instance}}.{{module}}.Pos" }
        - { name: Seen, dataType: Double, value: 0 }
      scripts:
        - name: Track
          trigger: { type: onChange, attribute: Position }
          code: attributes.set("Seen", attributes.get("Position"));
    `;
    const files = {
      ...pumpRepo(plc.endpoint, ["P6"]),
      "templates/valve.yaml": valve,
      "templates/pump.yaml": `${PUMP}compose:\n  - { name: Inlet, template: Valve }\n`,
    };
    for (const v of pumpVariables("P6")) plc.add(v);
    plc.add({ id: "P6.Inlet.Pos", dataType: "Double", value: 12 });
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      const v = () => live.instance("P6");
      expect(v()?.result).toBe("pass");
      await until("the module's script ran", () => attr(v(), "Inlet.Seen")?.value === 12);
      plc.set("P6.Inlet.Pos", 33);
      await until("again", () => attr(v(), "Inlet.Seen")?.value === 33);
    } finally {
      await site.stop();
    }
  });
});
