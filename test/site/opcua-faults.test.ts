import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { type FixtureServer, type RequestLog, startFixtureServer } from "../helpers/opcua-fixture-server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { attr, liveSite, pumpRepo, pumpVariables, until } from "./runtime-helpers.js";

// The test site reconnects every 500 ms (runtime-helpers.ts): docs/runtime.md's bounds for that interval.
const RECONNECT_MS = 500;
/** Connection attempts: at most one per reconnectIntervalMs, so per second at most this (one of slack for timing). */
const ATTEMPTS_PER_S = 1000 / RECONNECT_MS + 1;
/** Any one service, Publish included, at the tests' 100 ms publishing interval (docs/runtime.md). */
const ANY_SERVICE_PER_S = 25;
const SESSION_SERVICES = ["CreateSessionRequest", "ActivateSessionRequest", "CreateSubscriptionRequest"];

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

/** The most requests of each session-level service in any second since `since`, against docs/runtime.md's bounds. */
function expectBoundedRates(requests: RequestLog, since: number): void {
  const rates = Object.fromEntries(
    [...SESSION_SERVICES, "RepublishRequest", "TransferSubscriptionsRequest"].map((n) => [
      n,
      requests.maxPerWindow(n, since),
    ]),
  );
  for (const n of SESSION_SERVICES) expect(rates[n], `${n} per second`).toBeLessThanOrEqual(ATTEMPTS_PER_S);
  // The runtime never republishes or transfers: a lost session is rebuilt (docs/runtime.md).
  expect(rates.RepublishRequest, "RepublishRequest per second").toBe(0);
  expect(rates.TransferSubscriptionsRequest, "TransferSubscriptionsRequest per second").toBe(0);
  // Nothing else loops either: Publish, the busiest, is answered once per 100 ms publishing interval at most.
  for (const n of requests.names())
    expect(requests.maxPerWindow(n, since), `${n} per second`).toBeLessThanOrEqual(ANY_SERVICE_PER_S);
}

describe("OPC UA against servers that misbehave", () => {
  it("a restart that loses every subscription, with Republish answering Good and nothing: values resume within 15 s at a bounded request rate", async () => {
    let plc: FixtureServer = await startFixtureServer({ variables: pumpVariables("P1"), oddRepublish: true });
    const { site, live } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      const v = () => live.instance("P1");
      await until("first values", () => attr(v(), "Speed")?.quality === "good");
      const since = Date.now();
      plc = await plc.restart();
      plc.set("P1.Speed", 1234);
      await until(
        "values resume",
        () => attr(v(), "Speed")?.value === 1234 && attr(v(), "Speed")?.quality === "good",
        15_000,
      );
      expect(Date.now() - since).toBeLessThan(15_000);
      expect(live.health().connections[0]).toMatchObject({ state: "connected", error: null });
      // A while longer: nothing keeps retrying once recovered.
      await new Promise((r) => setTimeout(r, 2000));
      expectBoundedRates(plc.requests, since);
      expect(plc.requests.count("CreateSessionRequest", since)).toBeLessThanOrEqual(3);
      plc.set("P1.Request", 21);
      await until("a write reaches the device", () => plc.get("P1.Setpoint") === 42, 5000);
      await site.once();
      expect(v()!.result).toBe("pass");
    } finally {
      await site.stop();
      await plc.stop();
    }
  }, 40_000);

  it("every subscription deleted while the session stays up: the connection notices and rebuilds within 15 s", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1"), oddRepublish: true });
    const { site, live } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      const v = () => live.instance("P1");
      await until("first values", () => attr(v(), "Speed")?.quality === "good");
      const since = Date.now();
      plc.dropSubscriptions();
      expect(plc.subscriptions()).toBe(0);
      await until("the subscription rebuilt", () => plc.subscriptions() === 1, 15_000);
      plc.set("P1.Speed", 777);
      await until("values resume", () => attr(v(), "Speed")?.value === 777, 15_000 - (Date.now() - since));
      expect(live.health().connections[0]).toMatchObject({ state: "connected" });
      expectBoundedRates(plc.requests, since);
    } finally {
      await site.stop();
      await plc.stop();
    }
  }, 40_000);

  it("a network cut with the server up, then restored: state, writes and status recover within 15 s; attempts stay bounded while cut", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const proxy = await startTcpProxy(plc.port);
    const { site, live } = await liveSite(server, pumpRepo(`opc.tcp://127.0.0.1:${proxy.port}`));
    try {
      await site.once();
      const v = () => live.instance("P1");
      await until("first values", () => attr(v(), "Speed")?.quality === "good");
      proxy.cut();
      await until("connection lost", () => live.health().connections[0]?.state === "disconnected", 3000);
      await until("attributes bad", () => attr(v(), "Speed")?.quality === "bad", 2000);
      const cutAccepted = proxy.accepted;
      await new Promise((r) => setTimeout(r, 3000));
      // At most one connection attempt per reconnectIntervalMs (an attempt may open a second socket for endpoints).
      expect(proxy.accepted - cutAccepted).toBeLessThanOrEqual(2 * Math.ceil(3000 / RECONNECT_MS) + 2);
      await site.once();
      expect(v()!.result).toBe("network-blocked");

      // It flaps: back for a moment, then gone with the port refusing, then back for good.
      proxy.restore();
      await new Promise((r) => setTimeout(r, 300));
      proxy.cut({ refuse: true });
      await new Promise((r) => setTimeout(r, 1500));
      const since = Date.now();
      proxy.restore();
      plc.set("P1.Speed", 1111);
      await until("values resume", () => attr(v(), "Speed")?.value === 1111, 15_000);
      await until(
        "connected",
        () => live.health().connections[0]?.state === "connected",
        15_000 - (Date.now() - since),
      );
      expect(live.health().connections[0]?.error).toBeNull();
      plc.set("P1.Request", 8);
      await until("a write reaches the device", () => plc.get("P1.Setpoint") === 16, 15_000 - (Date.now() - since));
      await site.once();
      expect(v()!).toMatchObject({ result: "pass", message: null });
      expect(Date.now() - since).toBeLessThan(15_000);
      expectBoundedRates(plc.requests, since);
    } finally {
      await site.stop();
      await proxy.close();
      await plc.stop();
    }
  }, 40_000);

  it("a link that stalls without closing: the attributes go bad within a few keep-alive periods; traffic back, values resume", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const proxy = await startTcpProxy(plc.port);
    const { site, live } = await liveSite(server, pumpRepo(`opc.tcp://127.0.0.1:${proxy.port}`));
    try {
      await site.once();
      const v = () => live.instance("P1");
      await until("first values", () => attr(v(), "Speed")?.quality === "good");
      const stalled = Date.now();
      proxy.stall();
      await until("attributes bad", () => attr(v(), "Speed")?.quality === "bad", 10_000);
      expect(Date.now() - stalled).toBeLessThan(10_000);
      expect(live.health().connections[0]?.state).toBe("disconnected");
      const since = Date.now();
      proxy.restore();
      plc.set("P1.Speed", 999);
      await until("values resume", () => attr(v(), "Speed")?.value === 999, 15_000);
      await until(
        "connected",
        () => live.health().connections[0]?.state === "connected",
        15_000 - (Date.now() - since),
      );
      expectBoundedRates(plc.requests, since);
    } finally {
      await site.stop();
      await proxy.close();
      await plc.stop();
    }
  }, 40_000);

  it("anonymous auth against a server that only takes usernames is login-blocked", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1"), users: { op1: "pw-for-op1" } });
    const { site, live } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      expect(live.instance("P1")).toMatchObject({
        result: "login-blocked",
        message: expect.stringMatching(/ANONYMOUS user token policy/),
      });
      expect(live.health().connections[0]).toMatchObject({ state: "blocked" });
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a server certificate moved from pki/rejected to pki/trusted/certs is picked up by the running site", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const files = pumpRepo(plc.endpoint);
    files["sites/north.yaml"] = files["sites/north.yaml"]!.replace(
      "auth: { type: anonymous }",
      "auth: { type: anonymous }\n    securityMode: Sign\n    securityPolicy: Basic256Sha256",
    );
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      expect(live.instance("P1")).toMatchObject({ result: "host-bridge-blocked" });
      const pki = join(site.config.stateDir, "pki");
      const rejected = await until("the server certificate in pki/rejected", () => {
        const list = readdirSync(join(pki, "rejected")).filter((f) => f.endsWith(".pem") || f.endsWith(".der"));
        return list.length ? list : undefined;
      });
      mkdirSync(join(pki, "trusted", "certs"), { recursive: true });
      const moved = Date.now();
      for (const f of rejected) renameSync(join(pki, "rejected", f), join(pki, "trusted", "certs", f));
      await until("connected with Sign", () => attr(live.instance("P1"), "Speed")?.quality === "good", 10_000);
      expect(Date.now() - moved).toBeLessThan(10_000);
      await site.once();
      expect(live.instance("P1")).toMatchObject({ result: "pass" });
    } finally {
      await site.stop();
      await plc.stop();
    }
  }, 30_000);
});
