import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { FIXTURE_NAMESPACE, type FixtureServer, startFixtureServer } from "../helpers/opcua-fixture-server.js";
import { attr, liveSite, PUMP, pumpRepo, pumpVariables, until } from "./runtime-helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

describe("nsu= node ids", () => {
  it("resolve through the server's NamespaceArray, again at every connect when a restart reorders the namespaces", async () => {
    // The fixture's namespace is at index 4 first, then at 2 after a restart that registers it first.
    let plc: FixtureServer = await startFixtureServer({
      variables: pumpVariables("P1"),
      namespacesBefore: ["urn:vendor:diagnostics", "urn:vendor:io"],
    });
    expect(plc.namespaceIndex).toBe(4);
    const files = pumpRepo(plc.endpoint);
    files["templates/pump.yaml"] = PUMP.replaceAll('tag: "ns=2;s=', `tag: "nsu=${FIXTURE_NAMESPACE};s=`);
    expect(files["templates/pump.yaml"]).not.toContain("ns=2;");
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      const v = () => live.instance("P1");
      expect(v()).toMatchObject({ result: "pass" });
      plc.set("P1.Speed", 1200);
      await until("a value through nsu=", () => attr(v(), "Speed")?.value === 1200);
      plc.set("P1.Request", 5);
      await until("a write through nsu=", () => plc.get("P1.Setpoint") === 10);

      plc = await plc.restart({ namespacesBefore: [] });
      expect(plc.namespaceIndex).toBe(2);
      plc.set("P1.Speed", 1300);
      await until("values resume with the new index", () => attr(v(), "Speed")?.value === 1300, 15_000);
      plc.set("P1.Request", 7);
      await until("writes go to the new index", () => plc.get("P1.Setpoint") === 14, 5000);
      await site.once();
      expect(v()).toMatchObject({ result: "pass" });
    } finally {
      await site.stop();
      await plc.stop();
    }
  }, 40_000);

  it("a namespace URI the server does not have is reported per tag as not found", async () => {
    const plc = await startFixtureServer({ variables: pumpVariables("P1") });
    const files = pumpRepo(plc.endpoint);
    files["templates/pump.yaml"] = PUMP.replace(
      'tag: "ns=2;s={{instance}}.Flow"',
      'tag: "nsu=urn:nobody;s={{instance}}.Flow"',
    );
    const { site, live } = await liveSite(server, files);
    try {
      await site.once();
      expect(live.instance("P1")).toMatchObject({
        result: "data-mismatch",
        message: expect.stringMatching(/Flow .*namespace urn:nobody/),
      });
      expect(attr(live.instance("P1"), "Speed")).toMatchObject({ quality: "good" });
    } finally {
      await site.stop();
      await plc.stop();
    }
  });
});
