import { spawnSync } from "node:child_process";
import fs, { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { afterAll, describe, expect, it } from "vitest";
import { GIT_ENV, seedRepo, startGitServer, workClone } from "../helpers/git-server.js";

const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "scadalink-isogit-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const author = { name: "iso", email: "iso@scadalink.invalid" };

describe("git smart-HTTP test server", () => {
  it("native git: clone, commit, push; a second clone sees the commit", async () => {
    const server = await startGitServer();
    const { clone, sha } = await seedRepo(server, "site", { "sites/a.yaml": "name: a\n" });
    expect(clone.git("ls-remote", "origin", "refs/heads/main")).toBe(`${sha}\trefs/heads/main`);

    clone.write({ "sites/b.yaml": "name: b\n", "sites/a.yaml": undefined });
    const second = clone.commit("add b, drop a");
    clone.push();

    const other = await workClone(server, "site");
    expect(other.head()).toBe(second);
    expect(readFileSync(join(other.dir, "sites/b.yaml"), "utf8")).toBe("name: b\n");
    expect(fs.existsSync(join(other.dir, "sites/a.yaml"))).toBe(false);

    const reverted = other.revert(second);
    other.push();
    expect(clone.git("ls-remote", "origin", "main").split("\t")[0]).toBe(reverted);

    // Native git speaks protocol v2, so the Git-Protocol header must reach upload-pack.
    const trace = runGitTrace(other.dir, ["fetch", "origin"]);
    expect(trace).toMatch(/git< version 2/);

    const paths = server.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, "")} ${r.status}`);
    expect(paths).toContain("POST /site.git/git-receive-pack 200");
    expect(paths).toContain("POST /site.git/git-upload-pack 200");
    await server.stop();
  });

  it("isomorphic-git: clone, fetch, push", async () => {
    const server = await startGitServer();
    const { clone, sha } = await seedRepo(server, "iso", { "a.txt": "one\n" });
    const url = server.repoUrl("iso");

    const dir = temp();
    await git.clone({ fs, http, dir, url, singleBranch: true, ref: "main" });
    expect(await git.resolveRef({ fs, dir, ref: "HEAD" })).toBe(sha);

    const next = clone.commit("native side");
    clone.push();
    const fetched = await git.fetch({ fs, http, dir, url, ref: "main", singleBranch: true });
    expect(fetched.fetchHead).toBe(next);
    await git.merge({ fs, dir, ours: "main", theirs: "origin/main", fastForwardOnly: true, author });
    await git.checkout({ fs, dir, ref: "main", force: true });

    fs.writeFileSync(join(dir, "b.txt"), "two\n");
    await git.add({ fs, dir, filepath: "b.txt" });
    const isoSha = await git.commit({ fs, dir, message: "from isomorphic-git", author });
    const pushed = await git.push({ fs, http, dir, url, ref: "main" });
    expect(pushed.ok).toBe(true);

    clone.git("pull", "--ff-only", "--quiet", "origin", "main");
    expect(clone.head()).toBe(isoSha);
    expect(readFileSync(join(clone.dir, "b.txt"), "utf8")).toBe("two\n");
    await server.stop();
  });

  it("passes receive-pack's rejection of a non-fast-forward push through", async () => {
    const server = await startGitServer();
    const { clone } = await seedRepo(server, "nff", { "a.txt": "a\n" });
    const other = await workClone(server, "nff");
    other.write({ "b.txt": "b\n" });
    other.commit("other");
    other.push();

    clone.write({ "c.txt": "c\n" });
    clone.commit("stale");
    expect(() => clone.push()).toThrow(/rejected|fetch first|non-fast-forward/);
    clone.push("main", { force: true });
    expect(other.git("ls-remote", "origin", "main").split("\t")[0]).toBe(clone.head());

    // Unknown repositories get http-backend's own 404.
    const res = await fetch(`${server.repoUrl("missing")}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(404);
    await server.stop();
  });

  it("stop() refuses connections; a restart on the same port serves the same repos", async () => {
    const server = await startGitServer();
    const { clone, sha } = await seedRepo(server, "restart", { "a.txt": "a\n" });
    await server.stop();

    expect(() => clone.git("fetch", "origin")).toThrow(/Failed to connect|Connection refused|Could not connect/i);
    const dir = temp();
    await expect(git.clone({ fs, http, dir, url: server.repoUrl("restart") })).rejects.toThrow(/ECONNREFUSED/);

    const again = await startGitServer({ root: server.root, port: server.port });
    expect(again.url).toBe(server.url);
    clone.git("fetch", "origin");
    expect(clone.git("rev-parse", "origin/main")).toBe(sha);
    await again.stop();
  });

  it("serves concurrent fetches", async () => {
    const server = await startGitServer();
    const { sha } = await seedRepo(server, "busy", { "a.txt": "a\n".repeat(10_000) });
    const url = server.repoUrl("busy");
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const dir = temp();
        await git.clone({ fs, http, dir, url, singleBranch: true, ref: "main" });
        return git.resolveRef({ fs, dir, ref: "HEAD" });
      }),
    );
    expect(results).toEqual(Array(5).fill(sha));
    const uploads = server.requests.filter((r) => r.method === "POST" && r.path.endsWith("git-upload-pack"));
    expect(uploads.length).toBeGreaterThanOrEqual(5);
    await server.stop();
  });
});

/** Packet trace (stderr) of a native git command, to see which protocol version was spoken. */
function runGitTrace(cwd: string, args: string[]): string {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...GIT_ENV, GIT_TRACE_PACKET: "1" } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stderr;
}
