import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTO } from "../controller/helpers.js";
import { localRepo, scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";
import { runGit } from "../helpers/git-server.js";

/** A local config repo deployed by the controller. */
function deployed() {
  const r = localRepo(AUTO);
  const c = scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]);
  expect(c.code, c.stderr).toBe(0);
  return r;
}

const siteArgs = (repo: string, state: string) => [
  "site",
  "--site",
  "plant-north",
  "--repo",
  repo,
  "--state-dir",
  state,
];

describe("scadalink site", () => {
  it("--once applies the deploy branch of a local repository, reports on its status branch and exits 0", () => {
    const r = deployed();
    const state = tempDir("state");
    const run = scadalink([...siteArgs(r.dir, state), "--once"]);
    expect(run.code, run.stderr).toBe(0);
    const done = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "loop done");
    expect(done).toMatchObject({ component: "site", site: "plant-north", sync: "ok", applied: 2, status: "change" });
    expect(JSON.parse(runGit(r.dir, ["show", "scadalink/status/plant-north:status.json"])).deployCommit).toBe(
      runGit(r.dir, ["rev-parse", "scadalink/deploy"]),
    );
    // The lock is released on exit.
    expect(existsSync(join(state, "reconciler.lock"))).toBe(false);
  });

  it("takes every option from the environment; --help documents them; a missing option is a usage error", () => {
    const r = deployed();
    const env = {
      SCADALINK_SITE: "plant-north",
      SCADALINK_REPO: r.dir,
      SCADALINK_STATE_DIR: tempDir("state"),
      SCADALINK_ONCE: "1",
      SCADALINK_LOG_LEVEL: "error",
    };
    expect(scadalink(["site"], { env }).code).toBe(0);
    const help = scadalink(["site", "--help"]).stdout.replace(/\s+/g, " ");
    for (const v of [
      "SCADALINK_SITE",
      "SCADALINK_REPO",
      "SCADALINK_STATE_DIR",
      "SCADALINK_SECRETS_DIR",
      "SCADALINK_DEPLOY_BRANCH",
      "SCADALINK_STATUS_BRANCH_PREFIX",
      "SCADALINK_POLL_INTERVAL",
      "SCADALINK_SECRET_NAME",
    ])
      expect(help).toContain(v);
    const missing = scadalink(["site", "--repo", r.dir, "--once"], { env: { SCADALINK_SITE: "" } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--site (or SCADALINK_SITE) is required");
  });

  it("a second reconciler on a state directory in use exits 2 and names the owner; SIGTERM stops the first cleanly", async () => {
    const r = deployed();
    const state = tempDir("state");
    const first = spawnScadalink([...siteArgs(r.dir, state), "--poll-interval", "0.2"]);
    let out = "";
    first.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => first.on("exit", (code) => resolve(code)));
    const started = Date.now();
    while (!out.includes("site reconciler started") && Date.now() - started < 20_000)
      await new Promise((r) => setTimeout(r, 50));
    const second = scadalink([...siteArgs(r.dir, state), "--once"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another site reconciler (pid ${first.pid}) is using the state directory`);
    first.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(existsSync(join(state, "reconciler.lock"))).toBe(false);
  });

  it("--deploy-branch and --status-branch-prefix: read and report where the repo's scadalink.yaml says; bad names are usage errors", () => {
    const r = deployed();
    // The repo's deploy branch under another name, as scadalink.yaml's deployBranch would have it.
    runGit(r.dir, ["branch", "-m", "scadalink/deploy", "plant/releases"]);
    const state = tempDir("state");
    const wrong = scadalink([...siteArgs(r.dir, state), "--once", "--deploy-branch", "plant/releases"]);
    // The release still names scadalink/deploy (it was written for it): refused (exit 1), and the message says so.
    expect(wrong.code, wrong.stderr).toBe(1);
    expect(wrong.stdout).toContain("branch-mismatch: this release names deploy branch scadalink/deploy");
    for (const bad of [
      ["--deploy-branch", "a..b"],
      ["--status-branch-prefix", "x y/"],
    ]) {
      const run = scadalink([...siteArgs(r.dir, tempDir("state")), "--once", ...bad]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^scadalink: --(deploy-branch|status-branch-prefix) ".*" (is not a branch name|does not make branch names) git accepts\n$/,
      );
    }
  });
});

describe("scadalink site inspect", () => {
  it("--format json prints the applied instances in the documented shape", () => {
    const r = deployed();
    const state = tempDir("state");
    expect(scadalink([...siteArgs(r.dir, state), "--once"]).code).toBe(0);
    const run = scadalink(["site", "inspect", "--state-dir", state, "--format", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(Object.keys(out)).toEqual(["site", "deployCommit", "instances"]);
    expect(out.site).toBe("plant-north");
    expect(out.deployCommit).toBe(runGit(r.dir, ["rev-parse", "scadalink/deploy"]));
    expect(out.instances.map((i: { name: string }) => i.name)).toEqual(["Pump07", "Pump08"]);
    const pump = out.instances[0];
    expect(Object.keys(pump)).toEqual(["name", "revisionHash", "state", "attributes", "alarms"]);
    expect(pump.revisionHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const mode = pump.attributes.find((a: { path: string }) => a.path === "Mode");
    expect(mode).toMatchObject({ value: "manual", quality: "good" });
    expect(Object.keys(mode)).toEqual(["path", "value", "quality", "timestamp"]);
    expect(pump.alarms[0]).toEqual({ path: "Inlet.Stuck", active: false, since: null });
  });

  it("text shows revisions, states and the audit tail; --instance narrows it; no state is a usage error", () => {
    const r = deployed();
    const state = tempDir("state");
    scadalink([...siteArgs(r.dir, state), "--once"]);
    const all = scadalink(["site", "inspect", "--state-dir", state]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/Pump07\s+sha256:[0-9a-f]{12}\s+enabled/);
    expect(all.stdout).toMatch(/apply\s+Pump08\s+- → sha256:/);
    expect(all.stdout).toContain("2 instances applied");
    const one = scadalink(["site", "inspect", "--state-dir", state, "--instance", "Pump08"]);
    expect(one.stdout).not.toContain("Pump07");
    expect(scadalink(["site", "inspect", "--state-dir", state, "--instance", "Nope"]).code).toBe(2);
    const none = scadalink(["site", "inspect", "--state-dir", tempDir("empty")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("holds no site state");
  });
});
