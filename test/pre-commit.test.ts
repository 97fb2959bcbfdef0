import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../controller/package-root.js";
import { scadalink, tempDir } from "./helpers/cli.js";
import { localPrebuild, sh } from "./helpers/npm.js";

const hasPreCommit = spawnSync("pre-commit", ["--version"]).status === 0;
// CI installs the Debian package (see .ci/run); a developer machine without it skips this test, CI never does.
const run = hasPreCommit || process.env.CI ? it : it.skip;

describe(".pre-commit-hooks.yaml", () => {
  run(
    "lets the real pre-commit tool run `scadalink validate` on a config repo",
    () => {
      expect(hasPreCommit, "pre-commit is not installed (apt-get install pre-commit)").toBe(true);
      const repo = join(tempDir("precommit"), "config");
      expect(scadalink(["init", repo]).code).toBe(0);
      const git = (...args: string[]) =>
        sh("git", ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", ...args], repo);
      expect(git("init", "-q").code).toBe(0);
      expect(git("add", "-A").code).toBe(0);
      expect(git("commit", "-qm", "config").code).toBe(0);
      // A private pre-commit home: the hook environment is really installed from this project.
      const env = {
        PRE_COMMIT_HOME: tempDir("precommit-home"),
        PRE_COMMIT_COLOR: "never",
        npm_config_better_sqlite3_local_prebuilds: localPrebuild(),
      };
      const tryRepo = () =>
        sh("pre-commit", ["try-repo", packageRoot(), "scadalink-validate", "--all-files"], repo, env);

      const clean = tryRepo();
      expect(clean.out).toMatch(/scadalink validate\.+Passed/);
      expect(clean.code).toBe(0);

      const file = join(repo, "instances/ps-hilltop/station.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("template: FlowMeter", "template: FlowMetr"));
      git("add", "-A");
      const failing = tryRepo();
      expect(failing.code).toBe(1);
      expect(failing.out).toMatch(/scadalink validate\.+Failed/);
      expect(failing.out).toMatch(
        /instances\/ps-hilltop\/station\.yaml:\d+:\d+ {2}error {2}no template "FlowMetr" \(did you mean "FlowMeter"\?\) {2}unknown-template/,
      );
    },
    600_000,
  );
});
