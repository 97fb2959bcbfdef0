import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revisionHash } from "../../controller/contract/hash.js";
import { validatorFor } from "../../controller/contract/schemas.js";
import { BASE } from "../helpers/base-repo.js";
import { BIN } from "../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";
import { type GitServer, seedRepo, startGitServer } from "../helpers/git-server.js";
import { AUTO, controllerFor, DEPLOY, deployFiles, deployHead, git, readJson, tempDir, trailers } from "./helpers.js";

let server: GitServer;
let counter = 0;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

/** A new repo on the server seeded with files, and its bare directory. */
async function seeded(files = AUTO) {
  const name = `plant${++counter}`;
  const { clone, sha } = await seedRepo(server, name, files as Record<string, string>);
  return { name, url: server.repoUrl(name), bare: join(server.root, `${name}.git`), clone, sha };
}

describe("the controller against a smart-HTTP git server", () => {
  it("first deploy: every package, the manifest and site.json, with trailers; plain git reads it (fsck clean)", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    const pass = await c.reconcile();
    expect(pass.deployCommits).toHaveLength(1);
    expect(deployFiles(r.bare)).toEqual([
      "sites/plant-north/instances/Pump07.json",
      "sites/plant-north/instances/Pump08.json",
      "sites/plant-north/manifest.json",
      "sites/plant-north/site.json",
    ]);
    const manifest = readJson<{ instances: Record<string, string>; siteRevisionHash: string }>(
      r.bare,
      "sites/plant-north/manifest.json",
    );
    const pkg = readJson(r.bare, "sites/plant-north/instances/Pump07.json");
    expect(validatorFor("deployment-package.schema.json")(pkg)).toBe(true);
    expect(revisionHash(pkg)).toBe(pkg.revisionHash);
    expect(manifest.instances.Pump07).toBe(pkg.revisionHash);
    expect(manifest.siteRevisionHash).toBe(readJson(r.bare, "sites/plant-north/site.json").revisionHash);
    expect(trailers(r.bare)).toEqual([{ sourceCommit: r.sha, batches: [] }]);
    // A commit the loser of a race pushed before its ref update was refused stays behind, dangling: not damage.
    expect(git(r.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");
    expect(git(r.bare, "log", "-1", "--format=%B", DEPLOY)).toMatch(/\n\nSource-Commit: [0-9a-f]{40}\n?$/);
  });

  it("incremental change: only the changed package and the manifest become new blobs; a no-op commit makes no deploy commit", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    await c.reconcile();
    const first = deployHead(r.bare);

    r.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1300\n` });
    const change = r.clone.commit("Pump08 rated 1300");
    r.clone.push();
    await c.reconcile();
    const second = deployHead(r.bare);
    expect(second).not.toBe(first);
    expect(git(r.bare, "diff", "--name-only", first, second).split("\n")).toEqual([
      "sites/plant-north/instances/Pump08.json",
      "sites/plant-north/manifest.json",
    ]);
    expect(trailers(r.bare)[0]!.sourceCommit).toBe(change);

    // Comments and descriptions change no package.
    r.clone.write({
      "templates/pump.yaml": `# pumps of line 1\n${BASE["templates/pump.yaml"]}`,
      "instances/more.yaml": `${AUTO["instances/more.yaml"]}description: spare\noverrides:\n  Rated: 1300\n`,
    });
    r.clone.commit("comments only");
    r.clone.push();
    const pass = await c.reconcile();
    expect(pass.processed).toHaveLength(1);
    expect(pass.deployCommits).toEqual([]);
    expect(deployHead(r.bare)).toBe(second);
    // Running again on the same source commit is a no-op too.
    expect((await c.reconcile()).deployCommits).toEqual([]);
  });

  it("an invalid commit releases nothing, the per-site commit status says why, and the site keeps its last good deploy", async () => {
    const gh: FakeGitHub = await startFakeGitHub({ token: "t0ken" });
    try {
      const r = await seeded();
      const c = await controllerFor(r.url, {
        github: { owner: "acme", repo: "plant", token: "t0ken", apiUrl: gh.url, throttle: false },
      });
      await c.reconcile();
      const good = deployHead(r.bare);
      r.clone.write({ "instances/more.yaml": AUTO["instances/more.yaml"]!.replace("template: Pump", "template: Pmp") });
      const bad = r.clone.commit("typo");
      r.clone.push();
      const pass = await c.reconcile();
      expect(pass.processed).toEqual([{ commit: bad, errors: 1 }]);
      expect(deployHead(r.bare)).toBe(good);
      const statuses = gh.statuses(bad);
      expect(statuses).toHaveLength(1);
      expect(statuses[0]).toMatchObject({ context: "scadalink/plant-north", state: "failure" });
      expect(statuses[0].description).toMatch(/^not deployed: 1 error; instances\/more\.yaml:\d+ unknown-template$/);
      // The good commit is deployed; its status stays pending until the site reports it applied.
      expect(gh.statuses(r.sha)[0]).toMatchObject({ context: "scadalink/plant-north", state: "pending" });

      // The fix restores exactly the deployed packages: no deploy commit is due, and the fix is reported good.
      r.clone.write({ "instances/more.yaml": AUTO["instances/more.yaml"] });
      const fixed = r.clone.commit("fix");
      r.clone.push();
      expect((await c.reconcile()).processed).toEqual([{ commit: fixed, errors: 0 }]);
      expect(deployHead(r.bare)).toBe(good);
      expect(gh.statuses(fixed)[0]).toMatchObject({ context: "scadalink/plant-north", state: "pending" });
      // Processed commits are not compiled again on the next pass.
      expect((await c.reconcile()).processed).toEqual([]);
    } finally {
      await gh.stop();
    }
  });

  it("a deleted instance leaves the site's manifest and its package is removed", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    await c.reconcile();
    r.clone.write({ "instances/more.yaml": undefined });
    r.clone.commit("Pump08 decommissioned");
    r.clone.push();
    await c.reconcile();
    expect(deployFiles(r.bare)).not.toContain("sites/plant-north/instances/Pump08.json");
    expect(Object.keys(readJson<{ instances: object }>(r.bare, "sites/plant-north/manifest.json").instances)).toEqual([
      "Pump07",
    ]);
  });

  it("git revert rolls the deploy back to the earlier packages (the same blobs)", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    await c.reconcile();
    const before = git(r.bare, "rev-parse", `${DEPLOY}:sites/plant-north/instances/Pump07.json`);
    r.clone.write({ "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1450 }", "value: 1500 }") });
    const change = r.clone.commit("raise over-speed");
    r.clone.push();
    await c.reconcile();
    expect(git(r.bare, "rev-parse", `${DEPLOY}:sites/plant-north/instances/Pump07.json`)).not.toBe(before);
    r.clone.revert(change);
    r.clone.push();
    await c.reconcile();
    expect(git(r.bare, "rev-parse", `${DEPLOY}:sites/plant-north/instances/Pump07.json`)).toBe(before);
    expect(trailers(r.bare)).toHaveLength(3);
  });

  it("a force-push of main deploys the new head (the old source commit is no ancestor any more)", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    r.clone.write({ "instances/more.yaml": undefined });
    r.clone.commit("remove Pump08");
    r.clone.push();
    await c.reconcile();
    expect(deployFiles(r.bare)).not.toContain("sites/plant-north/instances/Pump08.json");
    r.clone.git("reset", "--hard", r.sha);
    r.clone.push("main", { force: true });
    const pass = await c.reconcile();
    expect(pass.processed.map((p) => p.commit)).toEqual([r.sha]);
    expect(deployFiles(r.bare)).toContain("sites/plant-north/instances/Pump08.json");
    expect(trailers(r.bare)[0]!.sourceCommit).toBe(r.sha);
  });

  it("processes every new commit in order: one deploy commit per source commit that changes the tree", async () => {
    const r = await seeded();
    const c = await controllerFor(r.url);
    await c.reconcile();
    const shas: string[] = [];
    for (const rated of [1301, 1302, 1303]) {
      r.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: ${rated}\n` });
      shas.push(r.clone.commit(`rated ${rated}`));
    }
    r.clone.push();
    const pass = await c.reconcile();
    expect(pass.deployCommits).toHaveLength(3);
    expect(
      trailers(r.bare)
        .slice(0, 3)
        .map((t) => t.sourceCommit),
    ).toEqual([...shas].reverse());
  });

  it("two controllers racing write one deploy commit per source commit and lose no update", async () => {
    const r = await seeded();
    const a = await controllerFor(r.url);
    const b = await controllerFor(r.url);
    for (let round = 0; round < 6; round++) {
      r.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: ${1400 + round}\n` });
      r.clone.commit(`round ${round}`);
      r.clone.push();
      const [x, y] = await Promise.all([a.reconcile(), b.reconcile()]);
      expect(x.deployCommits.length + y.deployCommits.length).toBe(1);
    }
    const sources = trailers(r.bare).map((t) => t.sourceCommit);
    expect(new Set(sources).size).toBe(sources.length);
    expect(sources).toHaveLength(6);
    expect(
      readJson<Record<string, Record<string, unknown>>>(r.bare, "sites/plant-north/instances/Pump08.json").attributes,
    ).toBeDefined();
    expect(JSON.stringify(readJson(r.bare, "sites/plant-north/instances/Pump08.json"))).toContain('"value":1405');
    // A commit the loser of a race pushed before its ref update was refused stays behind, dangling: not damage.
    expect(git(r.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");
  });

  it("the controller that loses the compare-and-swap retries from the winner's deploy and writes nothing twice", async () => {
    const r = await seeded();
    const a = await controllerFor(r.url);
    const b = await controllerFor(r.url);
    await a.reconcile();
    r.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1234\n` });
    const change = r.clone.commit("rated 1234");
    r.clone.push();
    // B has built its deploy commit; just before B moves the branch, A deploys the same source commit.
    const swap = b.repo.updateBranch.bind(b.repo);
    let interposed = false;
    b.repo.updateBranch = async (...args) => {
      if (!interposed) {
        interposed = true;
        expect((await a.reconcile()).deployCommits).toHaveLength(1);
      }
      return swap(...args);
    };
    const lost = await b.reconcile();
    expect(lost.conflicts).toBe(1);
    expect(lost.deployCommits).toEqual([]);
    expect(trailers(r.bare).map((t) => t.sourceCommit)).toEqual([change, r.sha]);
  });
});

/** Runs `scadalink controller --once` as a process; resolves with its exit code and signal. */
function runOnce(url: string, stateDir: string, env: NodeJS.ProcessEnv = {}, killAfterMs?: number) {
  return new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    const child = spawn(
      process.execPath,
      [BIN, "controller", "--repo", url, "--once", "--state-dir", stateDir, "--log-level", "error"],
      {
        env: { ...process.env, ...env },
        stdio: "ignore",
      },
    );
    if (killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
}

describe("a controller killed while writing", () => {
  it("leaves the deploy branch intact, and the next run finishes the work", async () => {
    const r = await seeded();
    const state = tempDir("crash");
    expect((await runOnce(r.url, state)).code).toBe(0);
    const before = deployHead(r.bare);
    r.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1111\n` });
    const change = r.clone.commit("rated 1111");
    r.clone.push();

    // Killed with every object written and the branch not yet moved.
    const crashed = await runOnce(r.url, state, { SCADALINK_FAILPOINT: "before-branch-update" });
    expect(crashed.signal).toBe("SIGKILL");
    expect(deployHead(r.bare)).toBe(before);
    // A commit the loser of a race pushed before its ref update was refused stays behind, dangling: not damage.
    expect(git(r.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");

    // Killed at random moments of a pass.
    for (const ms of [60, 150, 300, 450]) {
      await runOnce(r.url, state, {}, ms);
      const head = deployHead(r.bare);
      expect([before, ""].includes(head) || trailers(r.bare)[0]!.sourceCommit === change).toBe(true);
      // A commit the loser of a race pushed before its ref update was refused stays behind, dangling: not damage.
      expect(git(r.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");
    }

    expect((await runOnce(r.url, state)).code).toBe(0);
    expect(trailers(r.bare)[0]!.sourceCommit).toBe(change);
    expect(JSON.stringify(readJson(r.bare, "sites/plant-north/instances/Pump08.json"))).toContain('"value":1111');
    // A commit the loser of a race pushed before its ref update was refused stays behind, dangling: not damage.
    expect(git(r.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");
  }, 120_000);
});
