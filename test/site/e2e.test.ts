import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validatorFor } from "../../controller/contract/schemas.js";
import type { BatchStatus, ExecutionRecord, SiteStatus } from "../../schemas/types.js";
import { spawnScadalink } from "../helpers/cli.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { y } from "../helpers/repo.js";
import { AUTO, DEPLOY, fleet, git, reconciler, show, tempDir } from "./helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

/** Two sites in rollout batch; one batch releases an instance at each, with every kind of evidence. */
const TWO_SITES = {
  ...AUTO,
  "scadalink.yaml": "kind: Repository\nrollout: batch\n",
  "sites/south.yaml": AUTO["sites/north.yaml"]!.replace("name: plant-north", "name: plant-south"),
  "instances/south.yaml": y`
    kind: Instance
    name: Pump21
    site: plant-south
    area: Line2
    template: Pump
    connection: plc-b
  `,
  "batches/wave1.yaml": y`
    kind: Batch
    name: wave1
    select:
      instances: [plant-north/Pump08, plant-south/Pump21]
    phase: execute
    failurePolicy: { maxFailed: 0 }
    evidence: [values-snapshot, alarm-states, connection-health, event-log]
  `,
};

describe("controller + two site reconcilers + git server", () => {
  it("the sites' execution records bring the batch to complete", async () => {
    const f = await fleet(server, TWO_SITES);
    const secret = "pw-for-e2e";
    const north = await reconciler(f.url, { site: "plant-north", env: { SCADALINK_SECRET_PLC_B_PASSWORD: secret } });
    const south = await reconciler(f.url, { site: "plant-south", env: { SCADALINK_SECRET_PLC_B_PASSWORD: secret } });
    const status = () => show<BatchStatus>(f.bare, DEPLOY, "batches/wave1/status.json");
    expect(status().state).not.toBe("complete");

    expect((await north.once()).applied).toEqual(["Pump08"]);
    expect((await south.once()).applied).toEqual(["Pump21"]);
    for (const [site, name] of [
      ["plant-north", "Pump08"],
      ["plant-south", "Pump21"],
    ] as const) {
      const branch = `scadalink/status/${site}`;
      const record = show<ExecutionRecord>(f.bare, branch, `batches/wave1/${name}.json`);
      expect(validatorFor("execution-record.schema.json")(record)).toBe(true);
      expect(record).toMatchObject({ batch: "wave1", site, instance: name, result: "pass" });
      expect(record.evidence.map((e) => e.item)).toEqual([
        "values-snapshot",
        "alarm-states",
        "connection-health",
        "event-log",
      ]);
      // Every referenced evidence file is on the status branch.
      for (const e of record.evidence) expect(git(f.bare, "cat-file", "-t", `${branch}:${e.path}`)).toBe("blob");
      expect(validatorFor("site-status.schema.json")(show<SiteStatus>(f.bare, branch, "status.json"))).toBe(true);
    }

    await f.deploy();
    expect(status()).toMatchObject({ state: "complete" });

    // Heartbeats replace each other (a forced push of the status branch); the controller keeps reading it.
    await north.stop();
    const beating = await reconciler(f.url, {
      site: "plant-north",
      heartbeatMs: 1,
      stateDir: north.config.stateDir,
      env: { SCADALINK_SECRET_PLC_B_PASSWORD: secret },
    });
    const branch = "refs/heads/scadalink/status/plant-north";
    // The deploy commit that recorded "complete" is new to the site: a real change first.
    expect((await beating.once()).status).toBe("change");
    const changes = git(f.bare, "rev-list", "--count", branch);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 5));
      expect((await beating.once()).status).toBe("heartbeat");
    }
    expect(Number(git(f.bare, "rev-list", "--count", branch))).toBe(Number(changes) + 1);
    await f.deploy();
    const reports = await f.controller.reconcile();
    expect(reports.head).toBeTruthy();
    expect(status()).toMatchObject({ state: "complete" });
    await beating.stop();
    await south.stop();
  });

  it("a site that cannot log in records login-blocked, and maxFailed 0 halts the batch", async () => {
    const f = await fleet(server, TWO_SITES);
    const north = await reconciler(f.url, { site: "plant-north", env: { SCADALINK_SECRET_PLC_B_PASSWORD: "x" } });
    const south = await reconciler(f.url, { site: "plant-south", env: {} });
    await north.once();
    await south.once();
    const record = show<ExecutionRecord>(f.bare, "scadalink/status/plant-south", "batches/wave1/Pump21.json");
    expect(record).toMatchObject({ result: "login-blocked" });
    expect(record.message).toContain("PLC_B_PASSWORD");
    await f.deploy();
    expect(show<BatchStatus>(f.bare, DEPLOY, "batches/wave1/status.json").state).toBe("halted");
    await north.stop();
    await south.stop();
  });
});

/** Runs the CLI; resolves with its exit code and output. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawnScadalink(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("secrets on the site", () => {
  it("a canary secret never appears in logs, status, records, evidence, the store or inspect output", async () => {
    const f = await fleet(server, TWO_SITES);
    const canary = "CANARY-7f3a9c-secret-value";
    const state = tempDir("site");
    const secrets = tempDir("secrets");
    const outputs: string[] = [];
    const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await cli(args, env);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    // The lifecycle runtime: these connections' PLCs do not exist (runtime-faults.test.ts sends a canary password
    // to a real OPC UA server).
    const site = [
      "site",
      "--site",
      "plant-north",
      "--repo",
      f.url,
      "--state-dir",
      state,
      "--once",
      "--runtime",
      "none",
    ];

    // Missing: the instance using the connection is login-blocked, and the message names the secret only.
    const missing = await run([...site, "--log-level", "debug"], { SCADALINK_SECRET_PLC_B_PASSWORD: "" });
    expect(missing.code).toBe(0);
    const blocked = show<SiteStatus>(f.bare, "scadalink/status/plant-north", "status.json");
    expect(blocked.instances.Pump08).toMatchObject({ result: "login-blocked" });
    expect(blocked.instances.Pump08!.message).toContain("PLC_B_PASSWORD");

    // From the environment, then from the secrets directory.
    await f.change({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1111\n` });
    const fromEnv = await run([...site, "--log-level", "debug"], { SCADALINK_SECRET_PLC_B_PASSWORD: canary });
    expect(fromEnv.code).toBe(0);
    expect(show<SiteStatus>(f.bare, "scadalink/status/plant-north", "status.json").instances.Pump08!.result).toBe(
      "pass",
    );
    writeFileSync(join(secrets, "PLC_B_PASSWORD"), `${canary}\n`);
    const fromDir = await run([...site, "--log-level", "trace", "--secrets-dir", secrets], {
      SCADALINK_SECRET_PLC_B_PASSWORD: "",
    });
    expect(fromDir.code).toBe(0);
    const record = show<ExecutionRecord>(f.bare, "scadalink/status/plant-north", "batches/wave1/Pump08.json");
    expect(record.result).toBe("pass");
    await run(["site", "inspect", "--state-dir", state]);
    await run(["site", "inspect", "--state-dir", state, "--format", "json"]);

    // Everything the site ever wrote: its output, every object of the repository, and its state directory.
    const everything = [
      ...outputs,
      git(f.bare, "cat-file", "--batch-all-objects", "--batch"),
      git(f.bare, "log", "-p", "--all"),
      ...readdirSync(state, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => readFileSync(join(d.parentPath, d.name)).toString("latin1")),
    ];
    expect(everything.join("\n").length).toBeGreaterThan(10_000);
    for (const text of everything) expect(text).not.toContain(canary);
  });
});
