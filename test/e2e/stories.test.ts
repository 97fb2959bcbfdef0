import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Controller } from "../../controller/controller.js";
import type { BatchStatus, SiteManifest, SiteStatus } from "../../schemas/types.js";
import type { Reconciler } from "../../site-reconciler/reconciler.js";
import { LiveRuntime } from "../../site-reconciler/runtime/live-runtime.js";
import { scadalink } from "../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";
import { type GitServer, seedRepo, startGitServer, type WorkClone } from "../helpers/git-server.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { TEST_RELEASE } from "../helpers/release-key.js";
import { y } from "../helpers/repo.js";
import { DEPLOY, git, reconciler, show, tempDir } from "../site/helpers.js";
import { attr, PUMP, pumpVariables, siteYaml, until } from "../site/runtime-helpers.js";

const SECRET = "e2e-webhook-secret";
/** The south PLC's password: it must appear nowhere the system writes. */
const CANARY = "CANARY-e2e-plc-9a7c31";
/** Every log line of every component, at debug level. */
const logs: string[] = [];
const log = pino({ level: "debug" }, { write: (line: string) => logs.push(line) });
const TOKEN = "e2e-token";

let server: GitServer;
let gh: FakeGitHub;
let north: Plc;
let south: Plc;
beforeAll(async () => {
  server = await startGitServer();
  gh = await startFakeGitHub({ token: TOKEN });
  north = await startPlc({ variables: pumpVariables("N1") });
  south = await startPlc({ variables: pumpVariables("S1"), users: { operator: CANARY } });
});
afterAll(async () => {
  await north.stop();
  await south.stop();
  await gh.stop();
  await server.stop();
});

const site = (name: string, endpoint: string, auth?: string) => siteYaml(endpoint, auth, name);
const instance = (name: string, s: string) =>
  `kind: Instance\nname: ${name}\nsite: ${s}\narea: Line1\ntemplate: Pump\nconnection: plc\n`;
const batch = (name: string, after?: string) =>
  y`
  kind: Batch
  name: ${name}
  select:
    instances: [plant-north/N1, plant-south/S1]
  phase: execute
  failurePolicy: { maxFailed: 0 }
  evidence: [values-snapshot, alarm-states, connection-health]
` + (after ? `after: [${after}]\n` : "");

const sign = (body: string) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;

/** Reads a JSON file of a branch, or undefined while it is not there. */
function maybe<T>(bare: string, ref: string, path: string): T | undefined {
  try {
    return show<T>(bare, ref, path);
  } catch {
    return undefined;
  }
}

describe("the stories users live, on real git, OPC UA and SQLite servers", () => {
  let clone: WorkClone;
  let bare: string;
  let controller: Controller;
  const sites = new Map<string, { r: Reconciler; live: () => LiveRuntime; stateDir: string }>();
  const stateDirs: string[] = [];
  const url = () => server.repoUrl("plant");

  async function startSite(name: string, stateDir = tempDir(name)) {
    let live: LiveRuntime | undefined;
    const r = await reconciler(
      url(),
      {
        site: name,
        stateDir,
        pollIntervalMs: 300,
        env: { SCADALINK_SECRET_SOUTH_PLC_PASSWORD: CANARY },
        runtime: async (ctx) => (live = await LiveRuntime.create({ ...ctx, settleMs: 3000, retryUnresolvedMs: 500 })),
      },
      log.child({ site: name }),
    );
    r.start();
    sites.set(name, { r, live: () => live!, stateDir });
    stateDirs.push(stateDir);
  }

  const manifest = (s: string) => maybe<SiteManifest>(bare, DEPLOY, `sites/${s}/manifest.json`);
  const status = (s: string) => maybe<SiteStatus>(bare, `scadalink/status/${s}`, "status.json");
  const batchState = (b: string) => maybe<BatchStatus>(bare, DEPLOY, `batches/${b}/status.json`)?.state;
  /** Both sites report the manifest's revision of their instance, running with result pass. */
  const converged = () =>
    [
      ["plant-north", "N1"],
      ["plant-south", "S1"],
    ].every(([s, i]) => {
      const want = manifest(s!)?.instances[i!];
      const st = status(s!)?.instances[i!];
      return !!want && st?.revisionHash === want && st.result === "pass";
    });

  afterAll(async () => {
    for (const s of sites.values()) await s.r.stop();
    await controller?.stop();
  });

  it("the first release converges at both sites, which report, and its batch completes; a pull request is planned", async () => {
    ({ clone } = await seedRepo(server, "plant", {
      "scadalink.yaml": "kind: Repository\nrollout: batch\n",
      "sites/north.yaml": site("plant-north", north.endpoint),
      "sites/south.yaml": site(
        "plant-south",
        south.endpoint,
        "{ type: username, username: operator, passwordSecret: SOUTH_PLC_PASSWORD }",
      ),
      "templates/pump.yaml": PUMP,
      "instances/n1.yaml": instance("N1", "plant-north"),
      "instances/s1.yaml": instance("S1", "plant-south"),
      "batches/wave1.yaml": batch("wave1"),
    }));
    bare = join(server.root, "plant.git");
    controller = await Controller.create(
      {
        repo: url(),
        stateDir: tempDir("ctrl"),
        mainBranch: "main",
        pollIntervalMs: 300,
        http: { host: "127.0.0.1", port: 0, secret: SECRET },
        github: { owner: "water", repo: "plant", token: TOKEN, apiUrl: gh.url, throttle: false },
        // Signed releases: every site of the stories trusts only this key (test/site/helpers.ts reconciler()).
        signingKey: TEST_RELEASE.key,
      },
      log.child({ component: "controller" }),
    );
    await controller.start();
    await startSite("plant-north");
    await startSite("plant-south");
    await until("the first release converged", converged, 30_000);
    await until("wave1 complete", () => batchState("wave1") === "complete", 20_000);
    expect(attr(sites.get("plant-north")!.live().instance("N1"), "Speed")).toMatchObject({ value: 1000 });

    // A pull request changes the pump's over-speed limit: the plan comment and the check say what would change.
    clone.git("checkout", "-q", "-b", "faster");
    clone.write({ "templates/pump.yaml": PUMP.replace('op: ">", value: 1450', 'op: ">", value: 1500') });
    const head = clone.commit("OverSpeed at 1500");
    clone.push("faster");
    git(bare, "update-ref", "refs/pull/1/head", head);
    const body = JSON.stringify({
      action: "opened",
      number: 1,
      pull_request: { head: { sha: head, ref: "faster" }, base: { ref: "main" } },
    });
    const res = await fetch(`http://127.0.0.1:${controller.address!.port}/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": "e2e-1",
        "x-hub-signature-256": sign(body),
      },
      body,
    });
    expect(res.status).toBe(202);
    // Rollout batch: the plan says both pumps would be stale until a batch releases them.
    const comment = await until("the plan comment", () => gh.comments(1)[0]);
    expect(comment.body).toMatch(/2 stale/);
    for (const i of ["N1", "S1"])
      expect(comment.body).toContain(`Stale after this deploy (deployed at an older revision): \`${i}\``);
    const check = await until("the check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === head));
    expect(check).toMatchObject({ status: "completed", conclusion: "success" });
  }, 120_000);

  let original: string;
  it("merged, the change makes the instances stale; a new batch releases them", async () => {
    original = manifest("plant-north")!.instances.N1!;
    clone.git("checkout", "-q", "main");
    clone.git("merge", "-q", "--ff-only", "faster");
    clone.push("main");
    // Rollout batch: the change waits for a batch to release it; the deploy branch and the sites stay as they are.
    await new Promise((r) => setTimeout(r, 2500));
    expect(manifest("plant-north")!.instances.N1).toBe(original);
    expect(status("plant-north")!.instances.N1!.revisionHash).toBe(original);
    // `scadalink status` shows both instances stale: main compiles them to a revision the deploy branch lacks.
    const fleet = scadalink(["status", "--repo", url(), "--state-dir", tempDir("status"), "--format", "json"]);
    expect(fleet.code, fleet.stderr).toBe(0);
    const rows = (JSON.parse(fleet.stdout) as { sites: { instances: { name: string; stale: boolean }[] }[] }).sites
      .flatMap((x) => x.instances)
      .map((i) => `${i.name} ${i.stale}`);
    expect(rows.sort()).toEqual(["N1 true", "S1 true"]);

    clone.write({ "batches/wave2.yaml": batch("wave2", "wave1") });
    clone.commit("release the new limit");
    clone.push("main");
    await until("wave2 released", () => manifest("plant-north")?.instances.N1 !== original, 20_000);
    await until("converged on the new limit", converged, 30_000);
    await until("wave2 complete", () => batchState("wave2") === "complete", 20_000);
    // The runtime runs the new revision: 1480 is now below the limit.
    north.set("N1.Speed", 1480);
    await until("N1 reads 1480", () => attr(sites.get("plant-north")!.live().instance("N1"), "Speed")?.value === 1480);
    expect(
      sites
        .get("plant-north")!
        .live()
        .instance("N1")!
        .alarms.find((a) => a.path === "OverSpeed")?.active,
    ).toBe(false);
    north.set("N1.Speed", 1000);
  }, 120_000);

  it("git revert rolls back to the earlier revisions, byte for byte", async () => {
    const change = clone.git("log", "--format=%H", "--grep", "OverSpeed at 1500", "-n", "1");
    clone.revert(change);
    clone.write({ "batches/wave3.yaml": batch("wave3", "wave2") });
    clone.commit("roll back the limit");
    clone.push("main");
    await until("rolled back", () => manifest("plant-north")?.instances.N1 === original, 20_000);
    await until("converged on the old revision", converged, 30_000);
    expect(status("plant-north")!.instances.N1!.revisionHash).toBe(original);
  }, 120_000);

  it("an invalid commit is blocked: nothing released, the sites keep running", async () => {
    const before = manifest("plant-north");
    clone.write({ "instances/n1.yaml": instance("N1", "plant-north").replace("template: Pump", "template: Pmup") });
    const bad = clone.commit("typo in the template name");
    clone.push("main");
    await until("the failing commit status", () => gh.statuses(bad).find((s) => s.state === "failure"), 20_000);
    // No deploy commit comes from it (batch status updates may still move the branch), the manifests stay.
    expect(git(bare, "log", "--format=%B", DEPLOY)).not.toContain(`Source-Commit: ${bad}`);
    expect(manifest("plant-north")).toEqual(before);
    north.set("N1.Speed", 1111);
    await until("N1 still live", () => attr(sites.get("plant-north")!.live().instance("N1"), "Speed")?.value === 1111);
    expect(status("plant-north")!.instances.N1!.result).toBe("pass");
    clone.revert(bad);
    clone.push("main");
  }, 120_000);

  it("a site offline during a release catches up when it returns", async () => {
    const southSite = sites.get("plant-south")!;
    await southSite.r.stop();
    sites.delete("plant-south");
    clone.write({
      "instances/s1.yaml": `${instance("S1", "plant-south")}overrides:\n  HighSeen: 7\n`,
      "batches/wave4.yaml": batch("wave4", "wave3"),
    });
    clone.commit("S1 override, released while the south site is down");
    clone.push("main");
    const want = await until("wave4 released", () => {
      const m = manifest("plant-south")?.instances.S1;
      return m && m !== status("plant-south")?.instances.S1?.revisionHash ? m : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(batchState("wave4")).not.toBe("complete");
    await startSite("plant-south", southSite.stateDir);
    await until("south caught up", () => status("plant-south")?.instances.S1?.revisionHash === want, 30_000);
    await until("wave4 complete", () => batchState("wave4") === "complete", 20_000);
    expect(attr(sites.get("plant-south")!.live().instance("S1"), "HighSeen")?.value).toBe(7);
  }, 120_000);

  it("the south PLC's password appears nowhere: logs, every git object of every branch, the state directories", () => {
    expect(status("plant-south")!.instances.S1!.result).toBe("pass");
    const everything = [
      ...logs,
      git(bare, "cat-file", "--batch-all-objects", "--batch"),
      git(bare, "log", "-p", "--all"),
      ...stateDirs.flatMap((d) =>
        readdirSync(d, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => readFileSync(join(e.parentPath, e.name)).toString("latin1")),
      ),
    ];
    expect(logs.length).toBeGreaterThan(50);
    expect(logs.join("\n")).toMatch(/"component":"controller"/);
    for (const text of everything) expect(text).not.toContain(CANARY);
  });
});
