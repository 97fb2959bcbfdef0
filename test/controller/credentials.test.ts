import { readdirSync, readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repo, splitCredentials } from "../../controller/git/repo.js";
import { type GitServer, seedRepo, startGitServer } from "../helpers/git-server.js";
import { AUTO, controllerFor, DEPLOY, git, tempDir } from "./helpers.js";

const PASSWORD = "tok-3e9b-canary";
let server: GitServer;
let proxy: Server;
let port = 0;
let denied = 0;

beforeAll(async () => {
  server = await startGitServer();
  // A git host that wants HTTP Basic credentials: anything without them gets 401, the rest goes to the git server.
  const expected = `Basic ${Buffer.from(`deploy-bot:${PASSWORD}`).toString("base64")}`;
  const target = new URL(server.repoUrl("x"));
  proxy = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      denied++;
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' });
      res.end();
      return;
    }
    const forward = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  port = (proxy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await server.stop();
});

describe("git credentials in the repository URL", () => {
  it("split into a Basic header; the URL keeps no user info", () => {
    expect(splitCredentials("https://bot:p%40ss@git.example/plant.git")).toEqual({
      url: "https://git.example/plant.git",
      headers: { Authorization: `Basic ${Buffer.from("bot:p@ss").toString("base64")}` },
    });
    expect(splitCredentials("https://git.example/plant.git")).toEqual({
      url: "https://git.example/plant.git",
      headers: {},
    });
  });

  it("reach a server that requires them, for fetch and push, and are written nowhere in the state directory", async () => {
    await seedRepo(server, "creds", AUTO as Record<string, string>);
    const stateDir = tempDir("ctrl-creds");
    const c = await controllerFor(`http://deploy-bot:${PASSWORD}@127.0.0.1:${port}/creds`, { stateDir });
    const before = denied;
    await c.reconcile();
    await c.stop();
    // The deploy commit reached the server through the authenticating proxy.
    expect(git(join(server.root, "creds.git"), "rev-parse", `refs/heads/${DEPLOY}`)).toMatch(/^[0-9a-f]{40}$/);
    expect(denied).toBe(before);
    // A site's fetch (a ref listing, then the pack), twice: the header object is reused across calls.
    const siteDir = tempDir("site-creds");
    const mirror = await Repo.open(`http://deploy-bot:${PASSWORD}@127.0.0.1:${port}/creds`, siteDir);
    const head = await mirror.fetchBranch(DEPLOY, { depth: 1 });
    expect(head).toBe(git(join(server.root, "creds.git"), "rev-parse", `refs/heads/${DEPLOY}`));
    expect(await mirror.fetchBranch(DEPLOY, { depth: 1 })).toBe(head);
    expect(denied).toBe(before);
    const files = [stateDir, siteDir]
      .flatMap((d) => readdirSync(d, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => readFileSync(join(d.parentPath, d.name)).toString("latin1"));
    expect(files.some((f) => f.includes(`127.0.0.1:${port}/creds`))).toBe(true);
    for (const f of files) expect(f).not.toContain(PASSWORD);
  });
});
