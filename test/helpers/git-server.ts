import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll } from "vitest";

/** A git smart-HTTP server on loopback, backed by the native `git http-backend` CGI. */
export interface GitServer {
  /** http://127.0.0.1:PORT */
  url: string;
  root: string;
  port: number;
  /** `${url}/${name}.git` */
  repoUrl(name: string): string;
  /** Creates <root>/<name>.git (bare, default branch main, pushes allowed) and returns its path. */
  createBareRepo(name: string): Promise<string>;
  /** Closes the server and its open connections, so clients see connection refused. */
  stop(): Promise<void>;
  requests: { method: string; path: string; status: number }[];
}

export interface WorkClone {
  dir: string;
  /** Writes files relative to dir; undefined deletes the file. */
  write(files: Record<string, string | undefined>): void;
  /** `git add -A` and commit (empty commits allowed); returns the new sha. */
  commit(message: string): string;
  /** Pushes HEAD to refs/heads/<branch> on origin. */
  push(branch?: string, opts?: { force?: boolean }): void;
  /** `git revert --no-edit`; returns the new sha. */
  revert(sha: string): string;
  /** Runs git in dir; returns trimmed stdout, throws with stderr on failure. */
  git(...args: string[]): string;
  head(): string;
}

/**
 * Environment for every git process: no prompts, and the user's global/system config is ignored
 * so settings like commit.gpgsign or url.*.insteadOf cannot leak into tests.
 */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};
const IDENTITY = [
  "-c",
  "user.name=scadalink-test",
  "-c",
  "user.email=test@scadalink.invalid",
  "-c",
  "commit.gpgsign=false",
];

const execFileAsync = promisify(execFile);

const dirs: string[] = [];
function tempDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `scadalink-${name}-`));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const httpBackend = join(
  spawnSync("git", ["--exec-path"], { encoding: "utf8", env: GIT_ENV }).stdout.trim(),
  "git-http-backend",
);

export async function startGitServer(opts: { root?: string; port?: number } = {}): Promise<GitServer> {
  const root = opts.root ?? tempDir("git-root");
  const requests: GitServer["requests"] = [];
  const sockets = new Set<Socket>();
  const children = new Set<ChildProcess>();

  const server = createServer((req, res) => {
    res.on("finish", () => requests.push({ method: req.method ?? "", path: req.url ?? "", status: res.statusCode }));
    runCgi(root, req, res, children);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    root,
    port,
    requests,
    repoUrl: (name) => `${url}/${name}.git`,
    async createBareRepo(name) {
      const path = join(root, `${name}.git`);
      mkdirSync(dirname(path), { recursive: true });
      await execFileAsync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path], { env: GIT_ENV });
      await execFileAsync("git", ["-C", path, "config", "http.receivepack", "true"], { env: GIT_ENV });
      return path;
    },
    stop() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        for (const s of sockets) s.destroy();
        for (const c of children) c.kill("SIGKILL");
      });
    },
  };
}

function runCgi(root: string, req: IncomingMessage, res: ServerResponse, children: Set<ChildProcess>): void {
  const u = new URL(req.url ?? "/", "http://127.0.0.1");
  const h = req.headers;
  const env: NodeJS.ProcessEnv = {
    ...GIT_ENV,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    REMOTE_ADDR: "127.0.0.1",
    // Receive-pack also derives the reflog identity from REMOTE_USER.
    REMOTE_USER: basicAuthUser(h.authorization) ?? "scadalink-test",
  };
  if (h["content-type"]) env.CONTENT_TYPE = h["content-type"];
  if (h["content-length"]) env.CONTENT_LENGTH = h["content-length"];
  if (h["content-encoding"]) env.HTTP_CONTENT_ENCODING = h["content-encoding"];
  const proto = h["git-protocol"];
  if (typeof proto === "string") {
    env.HTTP_GIT_PROTOCOL = proto;
    env.GIT_PROTOCOL = proto; // what upload-pack itself reads; older http-backends do not copy it over
  }

  const child = spawn(httpBackend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // The CGI may exit before reading the whole body (e.g. on errors); ignore EPIPE.
  child.stdin.on("error", () => {});
  req.pipe(child.stdin);
  res.on("close", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });

  const fail = (why: string) => {
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`git http-backend failed: ${why}\n${stderr}`);
    } else res.destroy();
  };

  let head = Buffer.alloc(0);
  let inBody = false;
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString("latin1"));
    if (!m) return;
    inBody = true;
    child.stdout.off("data", onData);
    let status = 200;
    const headers: Record<string, string | string[]> = {};
    for (const line of head.subarray(0, m.index).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else {
        const prev = headers[name];
        headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
      }
    }
    res.writeHead(status, headers);
    res.write(head.subarray(m.index + m[0].length));
    child.stdout.pipe(res);
  };
  child.stdout.on("data", onData);

  child.on("error", (e) => {
    children.delete(child);
    fail(e.message);
  });
  child.on("close", (code, signal) => {
    children.delete(child);
    if (!inBody) fail(`exit ${code ?? signal} before headers`);
    else if (code !== 0 && !res.writableEnded) res.destroy();
  });
}

function basicAuthUser(auth: string | undefined): string | undefined {
  const m = /^Basic\s+(\S+)/i.exec(auth ?? "");
  if (!m) return undefined;
  const user = Buffer.from(m[1]!, "base64").toString().split(":")[0];
  return user || undefined;
}

/** Runs native git without the user's config; throws with stderr on failure. */
export function runGit(cwd: string | undefined, args: string[]): string {
  const r = spawnSync("git", [...IDENTITY, ...args], { cwd, encoding: "utf8", env: GIT_ENV, timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout.trim();
}

/** Clones <repo> from the server into dir (default: a new temp dir) with native git. */
export async function workClone(server: GitServer, repo: string, dir?: string): Promise<WorkClone> {
  const target = dir ?? join(tempDir("work"), repo);
  // init.defaultBranch keeps HEAD on main even when the remote is still empty.
  runGit(undefined, ["-c", "init.defaultBranch=main", "clone", "--quiet", server.repoUrl(repo), target]);
  const git = (...args: string[]) => runGit(target, args);
  return {
    dir: target,
    git,
    write(files) {
      for (const [path, text] of Object.entries(files)) {
        const full = join(target, path);
        if (text === undefined) rmSync(full, { force: true });
        else {
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, text);
        }
      }
    },
    commit(message) {
      git("add", "-A");
      git("commit", "--quiet", "--allow-empty", "-m", message);
      return git("rev-parse", "HEAD");
    },
    push(branch = "main", opts = {}) {
      git("push", "--quiet", ...(opts.force ? ["--force"] : []), "origin", `HEAD:refs/heads/${branch}`);
    },
    revert(sha) {
      git("revert", "--no-edit", sha);
      return git("rev-parse", "HEAD");
    },
    head: () => git("rev-parse", "HEAD"),
  };
}

/** Creates bare repo <name>, commits `files` as "seed" and pushes main. */
export async function seedRepo(
  server: GitServer,
  name: string,
  files: Record<string, string>,
): Promise<{ clone: WorkClone; sha: string }> {
  await server.createBareRepo(name);
  const clone = await workClone(server, name);
  clone.write(files);
  const sha = clone.commit("seed");
  clone.push("main");
  return { clone, sha };
}
