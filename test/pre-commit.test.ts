import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../controller/package-root.js";
import { scadalink, tempDir } from "./helpers/cli.js";
import { localPrebuild, sh } from "./helpers/npm.js";

const hasPreCommit = spawnSync("pre-commit", ["--version"]).status === 0;
// CI installs the Debian package (see .ci/run); a developer machine without it skips this test, CI never does.
const run = hasPreCommit || process.env.CI ? it : it.skip;

/**
 * This project as pre-commit gets a hook repo: a git repo at a commit. A clone of HEAD, with the tracked files
 * as they are in the working tree (as `pre-commit try-repo` does), so the hook under test is the one being edited.
 */
function hookRepo(): { repo: string; rev: string } {
  const root = packageRoot();
  const repo = join(tempDir("precommit-hooks"), "scadalink");
  expect(sh("git", ["clone", "-q", root, repo], root).code).toBe(0);
  const changed = sh("git", ["diff", "--name-only", "-z", "HEAD"], root).out.split("\0").filter(Boolean);
  for (const f of changed) {
    if (existsSync(join(root, f))) cpSync(join(root, f), join(repo, f));
    else rmSync(join(repo, f), { force: true });
  }
  const git = (...args: string[]) =>
    sh("git", ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", ...args], repo);
  git("add", "-A");
  git("commit", "-qm", "working tree");
  return { repo, rev: git("rev-parse", "HEAD").out.trim() };
}

describe(".pre-commit-hooks.yaml", () => {
  run(
    "the real pre-commit runs `scadalink validate` on every commit, deletions included, and blocks invalid ones",
    () => {
      expect(hasPreCommit, "pre-commit is not installed (apt-get install pre-commit)").toBe(true);
      const repo = join(tempDir("precommit"), "config");
      expect(scadalink(["init", repo]).code).toBe(0);
      // A private pre-commit home: the hook environment is really installed from this project.
      const env = {
        PRE_COMMIT_HOME: tempDir("precommit-home"),
        PRE_COMMIT_COLOR: "never",
        npm_config_better_sqlite3_local_prebuilds: localPrebuild(),
      };
      const git = (...args: string[]) =>
        sh("git", ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", ...args], repo, env);
      const hooks = hookRepo();
      writeFileSync(
        join(repo, ".pre-commit-config.yaml"),
        `repos:\n  - repo: ${JSON.stringify(hooks.repo)}\n    rev: ${hooks.rev}\n    hooks:\n      - id: scadalink-validate\n`,
      );
      expect(git("init", "-q").code).toBe(0);
      const install = sh("pre-commit", ["install"], repo, env);
      expect(install.code, install.out).toBe(0);
      const head = () => git("rev-parse", "HEAD").out.trim();

      // The first commit installs the hook's environment (npm install of this project) and passes.
      expect(git("add", "-A").code).toBe(0);
      const first = git("commit", "-qm", "config");
      expect(first.out).toMatch(/scadalink validate\.+Passed/);
      expect(first.code, first.out).toBe(0);
      const good = head();

      // An edit that breaks a reference is blocked, with the error in compiler style.
      const file = join(repo, "instances/ps-hilltop/station.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("template: FlowMeter", "template: FlowMetr"));
      git("add", "-A");
      const typo = git("commit", "-qm", "typo");
      expect(typo.code).not.toBe(0);
      expect(typo.out).toMatch(/scadalink validate\.+Failed/);
      expect(typo.out).toMatch(
        /instances\/ps-hilltop\/station\.yaml:\d+:\d+ {2}error {2}no template "FlowMetr" \(did you mean "FlowMeter"\?\) {2}unknown-template/,
      );
      expect(head()).toBe(good);
      expect(git("reset", "-q", "--hard").code).toBe(0);

      // Deleting a template that instances use stages no file at all: the hook runs all the same and blocks it.
      expect(git("rm", "-q", "templates/valve.yaml").code).toBe(0);
      const deletion = git("commit", "-qm", "remove the valve template");
      expect(deletion.out).not.toMatch(/no files to check/);
      expect(deletion.out).toMatch(/scadalink validate\.+Failed/);
      expect(deletion.out).toMatch(
        /instances\/ps-hilltop\/station\.yaml:\d+:\d+ {2}error {2}no template "Valve"[^\n]* {2}unknown-template/,
      );
      expect(deletion.out).toMatch(/✖ \d+ errors/);
      expect(deletion.code).not.toBe(0);
      expect(head()).toBe(good);
      expect(git("reset", "-q", "--hard").code).toBe(0);

      // A deletion that breaks nothing is checked too, and lands.
      expect(git("rm", "-q", "README.md").code).toBe(0);
      const harmless = git("commit", "-qm", "drop the readme");
      expect(harmless.out).toMatch(/scadalink validate\.+Passed/);
      expect(harmless.code, harmless.out).toBe(0);
      expect(head()).not.toBe(good);
    },
    600_000,
  );
});
