import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE } from "../helpers/base-repo.js";
import { scadalink, tempDir } from "../helpers/cli.js";
import { type GitServer, runGit, startGitServer, workClone } from "../helpers/git-server.js";

// A repository made the way a git host or an administrator makes one: `git init --bare`, whose HEAD names
// `master`, with the config pushed as `main`. Native git clones it fine; so must every command here.
let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
  const bare = join(server.root, "plant.git");
  runGit(undefined, ["-c", "init.defaultBranch=master", "init", "--quiet", "--bare", bare]);
  runGit(bare, ["config", "http.receivepack", "true"]);
  const work = await workClone(server, "plant");
  work.write(BASE);
  work.commit("seed");
  work.push("main");
});
afterAll(() => server.stop());

describe("a config repo on a plain git server (remote HEAD unborn)", () => {
  it("the server's HEAD really is unborn, and native git clones the repo", () => {
    expect(runGit(join(server.root, "plant.git"), ["symbolic-ref", "HEAD"])).toBe("refs/heads/master");
    const clone = join(tempDir("native"), "c");
    runGit(undefined, ["clone", "--quiet", "--branch", "main", server.repoUrl("plant"), clone]);
    expect(runGit(clone, ["rev-parse", "--abbrev-ref", "HEAD"])).toBe("main");
  });

  it("controller --once deploys from main, and a site applies what it wrote", () => {
    const state = tempDir("ctl");
    const run = scadalink(["controller", "--repo", server.repoUrl("plant"), "--once", "--state-dir", state]);
    expect(run.stderr).not.toMatch(/Could not find HEAD|internal error/);
    expect(run.code, run.stderr).toBe(0);
    const deploy = runGit(join(server.root, "plant.git"), ["rev-parse", "refs/heads/scadalink/deploy"]);
    expect(deploy).toMatch(/^[0-9a-f]{40}$/);
    const site = scadalink([
      "site",
      "--site",
      "plant-north",
      "--repo",
      server.repoUrl("plant"),
      "--state-dir",
      tempDir("site"),
      "--once",
    ]);
    expect(site.code, site.stderr).toBe(0);
    const done = site.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "loop done");
    expect(done).toMatchObject({ sync: "ok" });
    expect(done.applied).toBeGreaterThan(0);
    const reported = runGit(join(server.root, "plant.git"), ["show", "scadalink/status/plant-north:status.json"]);
    expect(JSON.parse(reported).deployCommit).toBe(deploy);
    const status = scadalink(["status", "--repo", server.repoUrl("plant"), "--state-dir", tempDir("st")]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("plant-north");
  });
});

describe("errors that end a command", () => {
  let closedPort: number;
  beforeAll(async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    closedPort = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
  });

  const lines = (s: string) => s.trimEnd().split("\n");

  it("an unreachable git server is one line that says what to do, with no stack trace", () => {
    const url = `http://user:s3cret-token@127.0.0.1:${closedPort}/plant.git`;
    const run = scadalink(["controller", "--repo", url, "--once", "--state-dir", tempDir("ctl")]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^scadalink: cannot reach the git server \(connection refused\).*Check the repository URL/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain("s3cret-token");
  });

  it("a repository the server does not have is one line naming the URL to check", () => {
    const run = scadalink(["controller", "--repo", server.repoUrl("nope"), "--once", "--state-dir", tempDir("ctl")]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^scadalink: the git server has no repository at that URL \(HTTP 404\)\. Check --repo/);
  });

  it("--log-level debug adds the stack trace, still without credentials", () => {
    const url = `http://user:s3cret-token@127.0.0.1:${closedPort}/plant.git`;
    const run = scadalink(["controller", "--repo", url, "--once", "--log-level", "debug", "--state-dir", tempDir("c")]);
    expect(run.code).toBe(2);
    expect(lines(run.stderr).length).toBeGreaterThan(1);
    expect(run.stderr).toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain("s3cret-token");
  });
});
