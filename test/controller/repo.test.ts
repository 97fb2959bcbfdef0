import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repo } from "../../controller/git/repo.js";
import { type GitServer, runGit, seedRepo, startGitServer } from "../helpers/git-server.js";
import { git } from "./helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

async function commitOn(repo: Repo, parent: string, message: string): Promise<string> {
  const tree = await repo.writeTree([
    { name: "f.txt", mode: "100644", oid: (await repo.writeObject("blob", Buffer.from(message))).oid },
  ]);
  return repo.writeCommit({
    tree,
    parents: [parent],
    author: { name: "t", email: "t@t", timestamp: 1_700_000_000 },
    message: `${message}\n`,
  });
}

describe("compare-and-swap on a branch", () => {
  it("remote: moves only from the expected value, never over a concurrent update", async () => {
    const { sha } = await seedRepo(server, "cas", { "a.txt": "a\n" });
    const bare = join(server.root, "cas.git");
    const repo = await Repo.open(server.repoUrl("cas"), mkdtempSync(join(tmpdir(), "scadalink-cas-")));
    await repo.fetch();
    const one = await commitOn(repo, sha, "one");
    expect(await repo.updateBranch("deploy", one, undefined)).toBe(true);
    expect(git(bare, "rev-parse", "refs/heads/deploy")).toBe(one);
    const two = await commitOn(repo, one, "two");
    expect(await repo.updateBranch("deploy", two, sha)).toBe(false); // expected a value the branch no longer has
    expect(await repo.updateBranch("deploy", two, undefined)).toBe(false); // expected no branch
    expect(git(bare, "rev-parse", "refs/heads/deploy")).toBe(one);
    expect(await repo.updateBranch("deploy", two, one)).toBe(true);
    expect(git(bare, "rev-parse", "refs/heads/deploy")).toBe(two);
  });

  it("local: the same, with git's lock file; a held lock makes it fail, a stale one is taken over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scadalink-cas-local-"));
    runGit(dir, ["init", "-q", "-b", "main"]);
    runGit(dir, ["commit", "-q", "--allow-empty", "-m", "root"]);
    const root = runGit(dir, ["rev-parse", "HEAD"]);
    const repo = await Repo.open(dir, dir);
    const one = await commitOn(repo, root, "one");
    expect(await repo.updateBranch("deploy", one, undefined)).toBe(true);
    expect(await repo.updateBranch("deploy", one, undefined)).toBe(false);
    expect(runGit(dir, ["rev-parse", "deploy"])).toBe(one);
    const { writeFileSync, utimesSync } = await import("node:fs");
    const lock = join(dir, ".git", "refs", "heads", "deploy.lock");
    writeFileSync(lock, "");
    const two = await commitOn(repo, one, "two");
    expect(await repo.updateBranch("deploy", two, one)).toBe(false);
    utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await repo.updateBranch("deploy", two, one)).toBe(true);
    expect(runGit(dir, ["rev-parse", "deploy"])).toBe(two);
    expect(runGit(dir, ["fsck", "--full", "--strict"])).toBe("");
  });
});

describe("revisions", () => {
  it("resolves branches, abbreviated ids, ~N and ^N like git", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scadalink-rev-"));
    runGit(dir, ["init", "-q", "-b", "main"]);
    for (const m of ["a", "b", "c"]) runGit(dir, ["commit", "-q", "--allow-empty", "-m", m]);
    const repo = await Repo.open(dir, dir);
    for (const spec of ["main", "HEAD~1", "main~2", "HEAD^", "HEAD^1~1"]) {
      expect(await repo.revision(spec), spec).toBe(runGit(dir, ["rev-parse", spec]));
    }
    expect(await repo.revision(runGit(dir, ["rev-parse", "--short", "HEAD~1"]))).toBe(
      runGit(dir, ["rev-parse", "HEAD~1"]),
    );
    expect(await repo.revision("nope")).toBeUndefined();
  });
});
