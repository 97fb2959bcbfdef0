import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SiteStatus } from "../../schemas/types.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { startPlc } from "../helpers/plc.js";
import { git, STATUS, show } from "./helpers.js";
import { attr, instanceYaml, liveSite, PUMP, pumpRepo, pumpVariables, until } from "./runtime-helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("the site runtime when devices misbehave", () => {
  it("server stopped: every attribute of the connection is bad within 2 s; server back: values resume, nothing restarted", async () => {
    let plc = await startPlc({ variables: pumpVariables("P1") });
    const { site, live } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      const v = () => live.instance("P1");
      await until("first values", () => attr(v(), "Speed")?.quality === "good");
      const stopped = Date.now();
      await plc.stop();
      await until(
        "every data attribute bad",
        () =>
          v()!
            .attributes.filter((a) => a.path !== "Trips" && !/Last|Ticks|High/.test(a.path))
            .every((a) => a.quality === "bad"),
        2000,
      );
      expect(Date.now() - stopped).toBeLessThan(2000);
      // Static attributes are not the device's: they stay good.
      expect(attr(v(), "Trips")?.quality).toBe("good");
      const down = await site.once();
      expect(down.sync.state).toBe("ok");
      expect(v()!.result).toBe("network-blocked");

      plc = await plc.restart();
      const back = Date.now();
      plc.set("P1.Speed", 1234);
      await until(
        "values resume",
        () => attr(v(), "Speed")?.value === 1234 && attr(v(), "Speed")?.quality === "good",
        10_000,
      );
      expect(Date.now() - back).toBeLessThan(10_000);
      await site.once();
      expect(v()!.result).toBe("pass");
      expect(live.health().connections[0]).toMatchObject({ name: "plc", state: "connected" });
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a wrong password is login-blocked, a missing secret too, and neither says the password", async () => {
    const plc = await startPlc({ variables: pumpVariables("P1"), users: { op1: "right-horse-battery" } });
    const auth = "{ type: username, username: op1, passwordSecret: PLC_PASSWORD }";
    try {
      const wrong = await liveSite(server, pumpRepo(plc.endpoint, ["P1"], auth), {
        env: { SCADALINK_SECRET_PLC_PASSWORD: "wrong-staple-9431" },
      });
      await wrong.site.once();
      const v = wrong.live.instance("P1")!;
      expect(v.result).toBe("login-blocked");
      expect(v.message).toMatch(/rejected the identity/);
      const status = show<SiteStatus>(wrong.fleet.bare, STATUS, "status.json");
      expect(status.instances.P1).toMatchObject({ result: "login-blocked" });
      expect(JSON.stringify(status)).not.toContain("wrong-staple-9431");
      await wrong.site.stop();

      const missing = await liveSite(server, pumpRepo(plc.endpoint, ["P1"], auth), { env: {} });
      await missing.site.once();
      expect(missing.live.instance("P1")).toMatchObject({
        result: "login-blocked",
        message: expect.stringMatching(/secret PLC_PASSWORD .* not provided/),
      });
      await missing.site.stop();

      // The right password: a real session. It appears nowhere the site writes (logs at trace, status, store).
      const logs: string[] = [];
      const log = pino({ level: "trace" }, { write: (line: string) => logs.push(line) });
      const right = await liveSite(
        server,
        pumpRepo(plc.endpoint, ["P1"], auth),
        { env: { SCADALINK_SECRET_PLC_PASSWORD: "right-horse-battery" } },
        log,
      );
      await right.site.once();
      expect(right.live.instance("P1")).toMatchObject({ result: "pass" });
      expect(attr(right.live.instance("P1"), "Speed")).toMatchObject({ value: 1000, quality: "good" });
      expect(logs.length).toBeGreaterThan(3);
      const written = [
        ...logs,
        git(right.fleet.bare, "log", "-p", "--all"),
        ...readdirSync(right.site.config.stateDir, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => readFileSync(join(d.parentPath, d.name)).toString("latin1")),
      ];
      for (const text of written) expect(text).not.toContain("right-horse-battery");
      await right.site.stop();
    } finally {
      await plc.stop();
    }
  });

  it("an unknown tag is data-mismatch and counted; once the server adds the node it resolves without a restart", async () => {
    const vars = pumpVariables("P1").filter((x) => x.id !== "P1.Flow");
    const plc = await startPlc({ variables: vars });
    const { site, live, fleet } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      const v = live.instance("P1")!;
      expect(v.result).toBe("data-mismatch");
      expect(v.message).toMatch(/Flow .*BadNodeIdUnknown/);
      expect(live.health().tags).toEqual({ resolved: 5, unresolved: 1, bad: 0 });
      expect(show<SiteStatus>(fleet.bare, STATUS, "status.json").health.tags).toEqual({
        resolved: 5,
        unresolved: 1,
        bad: 0,
      });
      plc.add({ id: "P1.Flow", dataType: "Double", value: 77 });
      await until("the new node resolved", () => attr(live.instance("P1"), "Flow")?.value === 77, 5000);
      await site.once();
      expect(live.instance("P1")!.result).toBe("pass");
      expect(live.health().tags).toEqual({ resolved: 6, unresolved: 0, bad: 0 });
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a server variable of another type than declared is reported as data-mismatch, never coerced", async () => {
    const vars = pumpVariables("P1").map((x) =>
      x.id === "P1.Level" ? { ...x, dataType: "String" as const, value: "5" } : x,
    );
    const plc = await startPlc({ variables: vars });
    const { site, live } = await liveSite(server, pumpRepo(plc.endpoint));
    try {
      await site.once();
      const v = live.instance("P1")!;
      expect(v.result).toBe("data-mismatch");
      expect(v.message).toMatch(/Level .*server variable is String, the attribute is declared Double/);
      expect(attr(v, "Level")).toMatchObject({ value: null, quality: "bad" });
      expect(live.health().tags.bad).toBe(1);
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("an unreachable endpoint is network-blocked and retried", async () => {
    const port = await closedPort();
    const { site, live } = await liveSite(server, pumpRepo(`opc.tcp://127.0.0.1:${port}`));
    try {
      await site.once();
      const v = live.instance("P1")!;
      expect(v.result).toBe("network-blocked");
      expect(v.message).toMatch(/ECONNREFUSED|connect/i);
      expect(v.attributes.filter((a) => a.path === "Speed")[0]).toMatchObject({ quality: "bad", value: null });
      expect(live.health().connections[0]).toMatchObject({ state: "disconnected" });
      // The PLC comes up on that port later: the runtime connects by itself.
      const plc = await startPlc({ variables: pumpVariables("P1"), port });
      try {
        await until("connected later", () => attr(live.instance("P1"), "Speed")?.quality === "good", 10_000);
      } finally {
        await plc.stop();
      }
    } finally {
      await site.stop();
    }
  });

  it("disable stops an instance's monitored items and timers, enable starts them; a new revision leaves other instances alone", async () => {
    const plc = await startPlc({ variables: [...pumpVariables("P1"), ...pumpVariables("P2")] });
    const { site, live, fleet } = await liveSite(server, pumpRepo(plc.endpoint, ["P1", "P2"]));
    try {
      await site.once();
      await until("both monitored", () => plc.monitoredItems() === 12);
      await fleet.change({ "instances/p1.yaml": instanceYaml("P1", "state: disabled\n") });
      await site.once();
      expect(live.instance("P1")).toMatchObject({ running: false, state: "disabled", attributes: [] });
      await until("P1's items deleted on the server", () => plc.monitoredItems() === 6);
      const ticks = attr(live.instance("P2"), "Ticks")!.value as number;
      await new Promise((r) => setTimeout(r, 300));
      expect(attr(live.instance("P2"), "Ticks")!.value as number).toBeGreaterThan(ticks);

      await fleet.change({ "instances/p1.yaml": instanceYaml("P1") });
      await site.once();
      await until("P1 monitored again", () => plc.monitoredItems() === 12);
      expect(live.instance("P1")).toMatchObject({ running: true });

      // A new revision of P2 swaps P2's items; P1's stay monitored on the server throughout the swap.
      await fleet.change({ "instances/p2.yaml": instanceYaml("P2", "overrides:\n  HighSeen: 3\n") });
      let swapping = true;
      const p1Counts = new Set<number>();
      const sampler = (async () => {
        while (swapping) {
          p1Counts.add(plc.monitoredIds().filter((id) => id.startsWith("P1.")).length);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      await site.once();
      swapping = false;
      await sampler;
      expect([...p1Counts]).toEqual([6]);
      expect(attr(live.instance("P2"), "HighSeen")?.value).toBe(3);
      await until("P2 monitored after its swap", () => plc.monitoredItems() === 12);
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a runaway or throwing script is logged and stops neither its instance nor the others", async () => {
    const plc = await startPlc({ variables: [...pumpVariables("P1")] });
    const bad = PUMP.replace(
      'code: attributes.set("LastSpeed", attributes.get("Speed"));',
      [
        "timeoutMs: 50",
        "    code: |",
        '      if (attributes.get("Speed") > 1200) { while (true) {} }',
        '      if (attributes.get("Speed") > 1100) throw new Error("too fast for me");',
        '      attributes.set("LastSpeed", attributes.get("Speed"));',
      ].join("\n"),
    );
    const files = { ...pumpRepo(plc.endpoint), "templates/pump.yaml": bad };
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      plc.set("P1.Speed", 1300);
      await until("the timeout was counted", () => live.health().stats.scriptTimeouts === 1);
      plc.set("P1.Speed", 1150);
      await until("the throw was counted", () => live.health().stats.scriptErrors === 2);
      plc.set("P1.Speed", 900);
      await until("the script runs again", () => attr(live.instance("P1"), "LastSpeed")?.value === 900);
      // The instance keeps running: values, alarms and the other scripts go on.
      plc.set("P1.Level", 9.5);
      await until(
        "alarm still evaluated",
        () => live.instance("P1")!.alarms.find((a) => a.path === "LevelBand")?.active,
      );
      live.events.flush();
      const errors = site.store.events({ instance: "P1", limit: 50 }).filter((e) => e.kind === "script-error");
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/TrackSpeed: .*timed out/i),
        expect.stringMatching(/TrackSpeed: .*too fast for me/),
      ]);
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a secure channel the client cannot trust is host-bridge-blocked; once trusted, Sign works", async () => {
    const plc = await startPlc({ variables: pumpVariables("P1") });
    const secure = (files: Record<string, string | undefined>) => ({
      ...files,
      "sites/north.yaml": files["sites/north.yaml"]!.replace(
        "auth: { type: anonymous }",
        "auth: { type: anonymous }\n    securityMode: Sign\n    securityPolicy: Basic256Sha256",
      ),
    });
    try {
      const untrusted = await liveSite(server, secure(pumpRepo(plc.endpoint)));
      await untrusted.site.once();
      expect(untrusted.live.instance("P1")).toMatchObject({ result: "host-bridge-blocked" });
      expect(untrusted.live.health().connections[0]).toMatchObject({ state: "blocked" });
      await untrusted.site.stop();

      const trusted = await liveSite(server, secure(pumpRepo(plc.endpoint)), { acceptUnknownCertificates: true });
      await trusted.site.once();
      expect(trusted.live.instance("P1")?.message ?? null).toBeNull();
      expect(trusted.live.instance("P1")).toMatchObject({ result: "pass" });
      expect(attr(trusted.live.instance("P1"), "Speed")).toMatchObject({ value: 1000, quality: "good" });
      await trusted.site.stop();
    } finally {
      await plc.stop();
    }
  });

  it("a connection lost turns only its own attributes bad; the instance's other connection keeps delivering", async () => {
    const a = await startPlc({ variables: pumpVariables("P1").filter((v) => v.id !== "P1.Flow") });
    const b = await startPlc({ variables: [{ id: "P1.Flow", dataType: "Double", value: 10 }] });
    const files = pumpRepo(a.endpoint);
    files["sites/north.yaml"] =
      `${files["sites/north.yaml"]}  - { name: plc2, endpoint: "${b.endpoint}", reconnectIntervalMs: 500 }\n`;
    files["instances/p1.yaml"] = instanceYaml("P1", "bindings:\n  Flow: { connection: plc2 }\n");
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      await until("both connected", () => attr(live.instance("P1"), "Flow")?.quality === "good");
      await b.stop();
      await until("Flow bad", () => attr(live.instance("P1"), "Flow")?.quality === "bad", 2000);
      expect(attr(live.instance("P1"), "Speed")?.quality).toBe("good");
      a.set("P1.Speed", 1111);
      await until("plc still delivers", () => attr(live.instance("P1"), "Speed")?.value === 1111);
      await site.once();
      expect(live.instance("P1")).toMatchObject({ result: "network-blocked", message: expect.stringMatching(/^plc2/) });
    } finally {
      await site.stop();
      await a.stop();
      await b.stop();
    }
  });

  it("an instance disabled while its server is down has no monitored items once the server is back", async () => {
    let plc = await startPlc({ variables: [...pumpVariables("P1"), ...pumpVariables("P2")] });
    const { site, live, fleet } = await liveSite(server, pumpRepo(plc.endpoint, ["P1", "P2"]));
    try {
      await site.once();
      await until("both monitored", () => plc.monitoredItems() === 12);
      await plc.stop();
      await until("connection lost", () => live.health().connections[0]?.state === "disconnected", 2000);
      await fleet.change({ "instances/p1.yaml": instanceYaml("P1", "state: disabled\n") });
      await site.once();
      expect(live.instance("P1")).toMatchObject({ running: false });
      plc = await plc.restart();
      await until("P2 back", () => plc.monitoredIds().filter((id) => id.startsWith("P2.")).length === 6, 10_000);
      await until("P1's items gone", () => plc.monitoredIds().every((id) => id.startsWith("P2.")), 5000);
      plc.set("P2.Speed", 1212);
      await until("P2 delivers", () => attr(live.instance("P2"), "Speed")?.value === 1212);
    } finally {
      await site.stop();
      await plc.stop();
    }
  });

  it("a change the runtime sees is reported on the status branch without waiting for the next poll", async () => {
    const plc = await startPlc({ variables: pumpVariables("P1") });
    // The poll interval is an hour: only the runtime's report can bring the loop forward.
    const { site, fleet } = await liveSite(server, pumpRepo(plc.endpoint));
    const result = () => {
      try {
        return show<SiteStatus>(fleet.bare, STATUS, "status.json").instances.P1?.result;
      } catch {
        return undefined;
      }
    };
    try {
      site.start();
      await until("first report", () => result() === "pass", 10_000);
      await plc.stop();
      await until("the loss reported", () => result() === "network-blocked", 10_000);
      const status = show<SiteStatus>(fleet.bare, STATUS, "status.json");
      expect(status.health.connections[0]).toMatchObject({ name: "plc", state: "disconnected" });
      expect(status.health.quality).toEqual({ good: 0, uncertain: 0, bad: 6 });
      // Reconnect attempts every 500 ms while the PLC stays down are not changes: no further status commits.
      const commits = git(fleet.bare, "rev-list", "--count", STATUS);
      await new Promise((r) => setTimeout(r, 2500));
      expect(git(fleet.bare, "rev-list", "--count", STATUS)).toBe(commits);
    } finally {
      await site.stop();
      await plc.stop();
    }
  });
});
