import { describe, expect, it } from "vitest";
import { FIXTURE_NAMESPACE, startFixtureServer } from "../helpers/opcua-fixture-server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { directConnection, pumpVariables, until } from "./runtime-helpers.js";

describe("one OPC UA connection's attempts", () => {
  it("a link that takes connections but carries nothing: each attempt gives up at its deadline, attempts stay one per interval, and it connects once traffic flows", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const proxy = await startTcpProxy(plc.port);
    proxy.stall();
    const d = await directConnection(`opc.tcp://127.0.0.1:${proxy.port}`, {
      attemptTimeoutMs: 1000,
      config: { reconnectIntervalMs: 500 },
    });
    try {
      d.conn.start();
      d.conn.watch("P1", [{ path: "Speed", tag: `nsu=${FIXTURE_NAMESPACE};s=P1.Speed`, declared: "Double" }], d.sink);
      const started = Date.now();
      await until("the first attempt given up", () => d.conn.failure === "network", 5000);
      expect(d.conn.health()).toMatchObject({
        state: "disconnected",
        error: expect.stringMatching(/no answer within 1 s/),
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      await new Promise((r) => setTimeout(r, 3000));
      // An attempt lasts its 1 s deadline and the next starts right after (the interval is shorter): one per second.
      const elapsed = (Date.now() - started) / 1000;
      expect(proxy.accepted).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
      expect(proxy.accepted).toBeGreaterThanOrEqual(2);
      expect(plc.requests.count("CreateSessionRequest")).toBe(0);

      proxy.restore();
      plc.set("P1.Speed", 1234);
      await until("connected once traffic flows", () => d.seen.get("Speed")?.value === 1234, 10_000);
      expect(d.conn.health()).toMatchObject({ state: "connected", error: null });
      expect(plc.requests.count("CreateSessionRequest")).toBeLessThanOrEqual(2);
    } finally {
      await d.close();
      await proxy.close();
      await plc.stop();
    }
  }, 30_000);

  it("a write while the link is down is refused with words; after the rebuild it reaches the device", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const proxy = await startTcpProxy(plc.port);
    const d = await directConnection(`opc.tcp://127.0.0.1:${proxy.port}`);
    try {
      d.conn.start();
      d.conn.watch("P1", [{ path: "Setpoint", tag: "ns=2;s=P1.Setpoint", declared: "Double" }], d.sink);
      await until("monitored", () => d.statuses.get("Setpoint")?.status === "monitored", 10_000);
      proxy.cut();
      await until("disconnected", () => d.conn.state === "disconnected", 3000);
      expect(await d.conn.write("P1", "Setpoint", 5)).toBe("plc is not connected");
      proxy.restore();
      await until("connected again", () => d.conn.state === "connected" && d.conn.settled(), 10_000);
      expect(await d.conn.write("P1", "Setpoint", 6)).toBeUndefined();
      expect(plc.get("P1.Setpoint")).toBe(6);
    } finally {
      await d.close();
      await proxy.close();
      await plc.stop();
    }
  }, 30_000);
});
