import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFiles } from "../../controller/compiler/compile.js";
import { validatorFor } from "../../controller/contract/schemas.js";
import type { BatchRelease, BatchStatus, ExecutionRecord } from "../../schemas/types.js";
import { BASE } from "../helpers/base-repo.js";
import { runGit } from "../helpers/git-server.js";
import { type Files, toSources } from "../helpers/repo.js";
import { AUTO, controllerFor, DEPLOY, deployFiles, deployHead, readJson, tempDir, trailers } from "./helpers.js";

/** The base fixture in rollout batch, with two pumps and no batch yet. */
const FLEET: Files = { ...AUTO, "scadalink.yaml": "kind: Repository\nrollout: batch\n" };

const batch = (name: string, body: string) => `kind: Batch\nname: ${name}\n${body}`;

/** A local git repository the tests commit to; the controller works on it in place. */
function localRepo(files: Files) {
  const dir = tempDir("batches");
  runGit(dir, ["init", "-q", "-b", "main"]);
  const current: Files = {};
  const write = (changes: Files) => {
    for (const [path, text] of Object.entries(changes)) {
      const full = join(dir, path);
      if (text === undefined) {
        rmSync(full, { force: true });
        delete current[path];
      } else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, text);
        current[path] = text;
      }
    }
  };
  const commit = (message: string, changes: Files = {}) => {
    write(changes);
    runGit(dir, ["add", "-A"]);
    runGit(dir, ["commit", "-q", "--allow-empty", "-m", message]);
    return runGit(dir, ["rev-parse", "HEAD"]);
  };
  const seed = commit("seed", files);
  const gitdir = join(dir, ".git");
  /** Commits execution records to the site's status branch, as a site reconciler does. */
  const report = (site: string, records: Partial<ExecutionRecord>[]) => {
    const work = tempDir("status");
    runGit(work, ["init", "-q", "-b", `scadalink/status/${site}`]);
    try {
      runGit(work, ["fetch", "-q", dir, `scadalink/status/${site}`]);
      runGit(work, ["reset", "-q", "--hard", "FETCH_HEAD"]);
    } catch {
      // the branch's first report
    }
    for (const r of records) {
      const record: ExecutionRecord = {
        apiVersion: "scadalink/v1",
        kind: "ExecutionRecord",
        site,
        deployCommit: deployHead(gitdir),
        result: "pass",
        message: null,
        evidence: [],
        recordedAt: "2026-04-20T10:00:00.000Z",
        ...r,
      } as ExecutionRecord;
      const file = join(work, "batches", record.batch, `${record.instance}.json`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    }
    runGit(work, ["add", "-A"]);
    runGit(work, ["commit", "-q", "-m", "records"]);
    runGit(work, ["push", "-q", "--force", dir, `HEAD:refs/heads/scadalink/status/${site}`]);
  };
  return { dir, gitdir, seed, commit, report, files: () => ({ ...current }) };
}

const hashAt = (files: Files, id: string) => compileFiles(toSources(files)).packages([id])[0]!.revisionHash;

describe("batches on the deploy branch", () => {
  it("prepare writes the handoff, checklist, record template and report, releases nothing and holds no credential value", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump08] }\nphase: prepare\n"),
    });
    process.env.SCADALINK_SECRET_PLC_B_PASSWORD = "Canary-5e3f-b6";
    try {
      const c = await controllerFor(r.dir);
      await c.reconcile();
    } finally {
      delete process.env.SCADALINK_SECRET_PLC_B_PASSWORD;
    }
    const files = deployFiles(r.gitdir);
    expect(files.filter((f) => f.includes("/instances/"))).toEqual([]);
    expect(readJson<{ instances: object }>(r.gitdir, "sites/plant-north/manifest.json").instances).toEqual({});
    expect(files.filter((f) => f.startsWith("batches/"))).toEqual([
      "batches/pilot/evidence-checklist.json",
      "batches/pilot/execution-record-template.json",
      "batches/pilot/handoff.json",
      "batches/pilot/report.md",
      "batches/pilot/status.json",
    ]);
    const handoff = readJson<{
      instances: {
        id: string;
        secrets: string[];
        connections: { name: string; endpoint: string }[];
        tagCount: number;
      }[];
    }>(r.gitdir, "batches/pilot/handoff.json");
    expect(validatorFor("batch-handoff.schema.json")(handoff)).toBe(true);
    expect(handoff.instances).toMatchObject([{ id: "plant-north/Pump08", secrets: ["PLC_B_PASSWORD"], tagCount: 5 }]);
    expect(handoff.instances[0]!.connections.map((x) => x.name)).toEqual(["plc-b"]);
    expect(
      validatorFor("evidence-checklist.schema.json")(readJson(r.gitdir, "batches/pilot/evidence-checklist.json")),
    ).toBe(true);
    expect(
      validatorFor("execution-record-template.schema.json")(
        readJson(r.gitdir, "batches/pilot/execution-record-template.json"),
      ),
    ).toBe(true);
    const report = runGit(undefined, ["--git-dir", r.gitdir, "show", `${DEPLOY}:batches/pilot/report.md`]);
    expect(report).toContain("**Preparation only.**");
    expect(report).toContain("claims no execution");
    expect(readJson<BatchStatus>(r.gitdir, "batches/pilot/status.json")).toMatchObject({
      state: "waiting",
      phase: "prepare",
    });
    // git grep exits 1 when nothing matches: the secret value is in no file of the deploy branch.
    expect(() => runGit(undefined, ["--git-dir", r.gitdir, "grep", "-I", "-c", "Canary-5e3f", DEPLOY])).toThrow(
      /failed \(1\)/,
    );
  });

  it("a commit that changes nothing makes no deploy commit, prepared batches included", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump08] }\nphase: prepare\n"),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    const head = deployHead(r.gitdir);
    expect(head).not.toBe("");
    r.commit("a comment", { "templates/pump.yaml": `# pumps\n${BASE["templates/pump.yaml"]}` });
    expect((await c.reconcile()).deployCommits).toEqual([]);
    expect(deployHead(r.gitdir)).toBe(head);
    expect(readJson<{ sourceCommit: unknown }>(r.gitdir, "batches/pilot/handoff.json").sourceCommit).toBeNull();
  });

  it("execute releases exactly its selection, with release.json and a Batch trailer", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump07] }\nphase: execute\n"),
    });
    await (await controllerFor(r.dir)).reconcile();
    expect(deployFiles(r.gitdir).filter((f) => f.includes("/instances/"))).toEqual([
      "sites/plant-north/instances/Pump07.json",
    ]);
    const release = readJson<BatchRelease>(r.gitdir, "batches/pilot/release.json");
    expect(validatorFor("batch-release.schema.json")(release)).toBe(true);
    expect(release).toMatchObject({
      batch: "pilot",
      sourceCommit: r.seed,
      released: true,
      instances: { "plant-north/Pump07": hashAt(r.files(), "plant-north/Pump07") },
    });
    expect(trailers(r.gitdir)).toEqual([{ sourceCommit: r.seed, batches: ["pilot"] }]);
    expect(readJson<BatchStatus>(r.gitdir, "batches/pilot/status.json")).toMatchObject({
      state: "releasing",
      counts: { selected: 1, pending: 1 },
    });
  });

  it("releases the packages as compiled at the commit where the batch first became execute; later changes are stale", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump07] }\nphase: prepare\n"),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    const became = r.commit("execute pilot", {
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump07] }\nphase: execute\n"),
    });
    const atExecute = r.files();
    r.commit("raise the over-speed threshold", {
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1450 }", "value: 1500 }"),
    });
    const pass = await c.reconcile();
    expect(pass.processed).toHaveLength(2);
    const manifest = readJson<{ instances: Record<string, string> }>(r.gitdir, "sites/plant-north/manifest.json");
    expect(manifest.instances.Pump07).toBe(hashAt(atExecute, "plant-north/Pump07"));
    expect(manifest.instances.Pump07).not.toBe(hashAt(r.files(), "plant-north/Pump07"));
    expect(readJson<BatchRelease>(r.gitdir, "batches/pilot/release.json").sourceCommit).toBe(became);
    // The plan of the head shows it stale, and Pump08 never released.
    const { buildPlan } = await import("../../controller/plan/plan.js");
    const { readDeployState } = await import("../../controller/deploy/state.js");
    const { Repo } = await import("../../controller/git/repo.js");
    const repo = await Repo.open(r.dir, r.dir);
    const previous = await readDeployState(repo, await repo.resolve(`refs/heads/${DEPLOY}`));
    const plan = await buildPlan({
      commit: "head",
      compilation: compileFiles(toSources(r.files())),
      previous,
      records: new Map(),
      now: new Date(),
      blob: (oid) => repo.readText(oid),
    });
    expect(plan.sites[0]).toMatchObject({ stale: ["Pump07"], unreleased: ["Pump08"], changed: [] });
    expect(plan.diagnostics.filter((d) => d.rule === "stale-instance")).toMatchObject([
      {
        severity: "warning",
        file: "instances/north.yaml",
        line: 2,
        message: expect.stringContaining("plant-north/Pump07"),
      },
    ]);
  });

  it("after waits for the listed batch to complete, then releases (as fixed when it became execute)", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/canary.yaml": batch("canary", "select: { instances: [plant-north/Pump07] }\nphase: execute\n"),
      "batches/wave.yaml": batch(
        "wave",
        "select: { instances: [plant-north/Pump08] }\nphase: execute\nafter: [canary]\n",
      ),
    });
    const fixed = hashAt(r.files(), "plant-north/Pump08");
    const c = await controllerFor(r.dir);
    await c.reconcile();
    expect(deployFiles(r.gitdir)).toContain("batches/wave/pending/plant-north/Pump08.json");
    expect(deployFiles(r.gitdir)).not.toContain("sites/plant-north/instances/Pump08.json");
    expect(readJson<BatchRelease>(r.gitdir, "batches/wave/release.json")).toMatchObject({
      released: false,
      sourceCommit: r.seed,
    });
    expect(readJson<BatchStatus>(r.gitdir, "batches/wave/status.json")).toMatchObject({
      state: "waiting",
      reason: "waiting for canary to complete",
    });

    // Main moves on meanwhile: the wave still releases what it fixed.
    r.commit("raise the over-speed threshold", {
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1450 }", "value: 1500 }"),
    });
    await c.reconcile();
    expect(deployFiles(r.gitdir)).not.toContain("sites/plant-north/instances/Pump08.json");

    const canary = readJson<BatchRelease>(r.gitdir, "batches/canary/release.json");
    r.report("plant-north", [
      { batch: "canary", instance: "Pump07", revisionHash: canary.instances["plant-north/Pump07"]! },
    ]);
    await c.reconcile();
    expect(readJson<BatchStatus>(r.gitdir, "batches/canary/status.json")).toMatchObject({
      state: "complete",
      counts: { passed: 1 },
    });
    expect(
      readJson<{ instances: Record<string, string> }>(r.gitdir, "sites/plant-north/manifest.json").instances.Pump08,
    ).toBe(fixed);
    expect(deployFiles(r.gitdir).filter((f) => f.includes("/pending/"))).toEqual([]);
    expect(trailers(r.gitdir)[0]!.batches).toEqual(["wave"]);
  });

  it("status moves releasing → in-progress → complete as records arrive; a record of another revision does not count", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch(
        "both",
        "select: { instances: [plant-north/Pump07, plant-north/Pump08] }\nphase: execute\n",
      ),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    const release = readJson<BatchRelease>(r.gitdir, "batches/both/release.json");
    const status = () => readJson<BatchStatus>(r.gitdir, "batches/both/status.json");
    expect(status().state).toBe("releasing");
    r.report("plant-north", [{ batch: "both", instance: "Pump07", revisionHash: `sha256:${"0".repeat(64)}` }]);
    await c.reconcile();
    expect(status().state).toBe("releasing");
    r.report("plant-north", [
      { batch: "both", instance: "Pump07", revisionHash: release.instances["plant-north/Pump07"]! },
    ]);
    await c.reconcile();
    expect(status()).toMatchObject({ state: "in-progress", counts: { passed: 1, pending: 1 } });
    r.report("plant-north", [
      { batch: "both", instance: "Pump08", revisionHash: release.instances["plant-north/Pump08"]! },
    ]);
    await c.reconcile();
    expect(status()).toMatchObject({ state: "complete", counts: { selected: 2, passed: 2, failed: 0, pending: 0 } });
  });

  it("more failed records than maxFailed halt the batch, and what waits for it stays unreleased", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/canary.yaml": batch(
        "canary",
        "select: { instances: [plant-north/Pump07] }\nphase: execute\nfailurePolicy: { maxFailed: 0 }\n",
      ),
      "batches/wave.yaml": batch(
        "wave",
        "select: { instances: [plant-north/Pump08] }\nphase: execute\nafter: [canary]\n",
      ),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    const canary = readJson<BatchRelease>(r.gitdir, "batches/canary/release.json");
    r.report("plant-north", [
      {
        batch: "canary",
        instance: "Pump07",
        revisionHash: canary.instances["plant-north/Pump07"]!,
        result: "network-blocked",
        message: "plc-a unreachable",
      },
    ]);
    await c.reconcile();
    expect(readJson<BatchStatus>(r.gitdir, "batches/canary/status.json")).toMatchObject({
      state: "halted",
      reason: "1 failed, more than maxFailed 0",
      instances: { "plant-north/Pump07": { result: "network-blocked", message: "plc-a unreachable" } },
    });
    expect(readJson<BatchStatus>(r.gitdir, "batches/wave/status.json")).toMatchObject({
      state: "waiting",
      reason: "after canary, which halted",
    });
    expect(deployFiles(r.gitdir)).not.toContain("sites/plant-north/instances/Pump08.json");
  });

  it("a record missing past the deadline counts as environment-unavailable", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch(
        "pilot",
        "select: { instances: [plant-north/Pump07] }\nphase: execute\ndeadlineMinutes: 10\n",
      ),
    });
    let now = new Date("2026-04-20T08:00:00Z");
    const c = await controllerFor(r.dir, { now: () => now });
    await c.reconcile();
    now = new Date("2026-04-20T08:11:00Z");
    await c.reconcile();
    expect(readJson<BatchStatus>(r.gitdir, "batches/pilot/status.json")).toMatchObject({
      state: "halted",
      deadline: "2026-04-20T08:10:00.000Z",
      instances: { "plant-north/Pump07": { result: "environment-unavailable" } },
    });
  });

  it("a released batch is immutable: changing its selection is batch-immutable and releases nothing", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("pilot", "select: { instances: [plant-north/Pump07] }\nphase: execute\n"),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    const head = deployHead(r.gitdir);
    expect(head).not.toBe("");
    const changed = r.commit("widen pilot", {
      "batches/b.yaml": batch(
        "pilot",
        "select: { instances: [plant-north/Pump07, plant-north/Pump08] }\nphase: execute\n",
      ),
    });
    const pass = await c.reconcile();
    expect(pass.processed).toEqual([{ commit: changed, errors: 1 }]);
    expect(deployHead(r.gitdir)).toBe(head);
    // The same rule in `scadalink validate` and `plan` when the deploy branch is at hand.
    const { Repo } = await import("../../controller/git/repo.js");
    const { readDeployState } = await import("../../controller/deploy/state.js");
    const { deployOptions } = await import("../../cli/repo-access.js");
    const repo = await Repo.open(r.dir, r.dir);
    const state = await readDeployState(repo, head);
    const compiled = compileFiles(toSources(r.files()), deployOptions(state));
    expect(compiled.diagnostics.map((d) => `${d.rule} ${d.file}:${d.line}`)).toEqual([
      "batch-immutable batches/b.yaml:3",
    ]);
  });

  it("a batch selecting a deleted instance by id releases its deletion; without one the instance stays deployed", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/b.yaml": batch("all", "select: { match: [{ site: plant-north }] }\nphase: execute\n"),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    r.commit("decommission Pump08", { "instances/more.yaml": undefined });
    await c.reconcile();
    expect(deployFiles(r.gitdir)).toContain("sites/plant-north/instances/Pump08.json");
    r.commit("release the deletion", {
      "batches/retire.yaml": batch("retire", "select: { instances: [plant-north/Pump08] }\nphase: execute\n"),
    });
    const pass = await c.reconcile();
    expect(pass.processed[0]!.errors).toBe(0);
    expect(deployFiles(r.gitdir)).not.toContain("sites/plant-north/instances/Pump08.json");
    expect(readJson<BatchRelease>(r.gitdir, "batches/retire/release.json").instances).toEqual({
      "plant-north/Pump08": null,
    });
    expect(Object.keys(readJson<{ instances: object }>(r.gitdir, "sites/plant-north/manifest.json").instances)).toEqual(
      ["Pump07"],
    );
  });

  it("a waiting release is cancelled when its batch goes back to prepare", async () => {
    const r = localRepo({
      ...FLEET,
      "batches/canary.yaml": batch("canary", "select: { instances: [plant-north/Pump07] }\nphase: execute\n"),
      "batches/wave.yaml": batch(
        "wave",
        "select: { instances: [plant-north/Pump08] }\nphase: execute\nafter: [canary]\n",
      ),
    });
    const c = await controllerFor(r.dir);
    await c.reconcile();
    r.commit("hold the wave", {
      "batches/wave.yaml": batch(
        "wave",
        "select: { instances: [plant-north/Pump08] }\nphase: prepare\nafter: [canary]\n",
      ),
    });
    await c.reconcile();
    expect(deployFiles(r.gitdir).filter((f) => f.startsWith("batches/wave/"))).toEqual([
      "batches/wave/evidence-checklist.json",
      "batches/wave/execution-record-template.json",
      "batches/wave/handoff.json",
      "batches/wave/report.md",
      "batches/wave/status.json",
    ]);
  });
});
