import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepo, scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { pumpRepo, pumpVariables, until } from "../site/runtime-helpers.js";

let plc: Plc;
beforeAll(async () => {
  plc = await startPlc({ variables: pumpVariables("P1") });
});
afterAll(async () => {
  await plc.stop();
});

describe("scadalink site with the OPC UA runtime and its local read API", () => {
  it("serves live values and alarms on loopback; site inspect reads them live, and persisted once it stops", async () => {
    const r = localRepo(pumpRepo(plc.endpoint));
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const state = tempDir("state");
    const child = spawnScadalink(
      ["site", "--site", "plant-north", "--repo", r.dir, "--state-dir", state, "--log-level", "warn"],
      { SCADALINK_API_PORT: "0", SCADALINK_POLL_INTERVAL: "1" },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      const apiFile = join(state, "api.json");
      await until("api.json", () => existsSync(apiFile), 20_000);
      const { port, pid } = JSON.parse(readFileSync(apiFile, "utf8")) as { port: number; pid: number };
      expect(pid).toBe(child.pid);
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, text: await res.text() };
      };
      plc.set("P1.Speed", 1500);
      const live = await until(
        "the alarm live",
        async () => {
          const doc = JSON.parse((await get("/instances")).text);
          const p1 = doc.instances[0];
          return p1?.alarms.find((a: { path: string; active: boolean }) => a.path === "OverSpeed")?.active
            ? doc
            : false;
        },
        20_000,
      );
      expect(Object.keys(live)).toEqual(["site", "deployCommit", "instances"]);
      // inspect finds the running reconciler through api.json and prints its live values, in the contract's shape.
      const inspect = scadalink(["site", "inspect", "--state-dir", state, "--format", "json"]);
      expect(inspect.code, inspect.stderr).toBe(0);
      const doc = JSON.parse(inspect.stdout);
      const p1 = doc.instances[0];
      expect(Object.keys(p1)).toEqual(["name", "revisionHash", "state", "attributes", "alarms"]);
      expect(p1.attributes.find((a: { path: string }) => a.path === "Speed")).toMatchObject({
        value: 1500,
        quality: "good",
      });
      expect(p1.alarms.find((a: { path: string }) => a.path === "OverSpeed")).toMatchObject({ active: true });
      const metrics = await get("/metrics");
      expect(metrics.text).toMatch(/scadalink_site_value_changes_total \d+/);
      expect(metrics.text).toMatch(/scadalink_site_alarms_active 1/);
      expect(metrics.text).toMatch(/scadalink_site_connection_up\{connection="plc"\} 1/);
      await until("healthz", async () => (await get("/healthz")).status === 200, 10_000);
      // The event log holds the transition, queried by instance and keyword.
      const events = scadalink([
        "site",
        "inspect",
        "--state-dir",
        state,
        "--events",
        "--instance",
        "P1",
        "--grep",
        "overspeed",
        "--format",
        "json",
      ]);
      expect(events.code, events.stderr).toBe(0);
      expect(JSON.parse(events.stdout).events.map((e: { message: string }) => e.message)).toEqual([
        expect.stringMatching(/^OverSpeed active: Speed=1500 > 1450/),
      ]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
    expect(existsSync(join(state, "api.json"))).toBe(false);
    // Stopped: inspect shows what was persisted, the alarm state included.
    const offline = JSON.parse(scadalink(["site", "inspect", "--state-dir", state, "--format", "json"]).stdout);
    expect(offline.instances[0].alarms.find((a: { path: string }) => a.path === "OverSpeed")).toMatchObject({
      active: true,
    });
  }, 60_000);
});
