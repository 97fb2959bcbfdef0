import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
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
 * Environment for every git process: no prompts, the user's global/system config is ignored (so
 * commit.gpgsign or url.*.insteadOf cannot leak in), and inherited GIT_* variables are dropped (a
 * pre-commit hook running the tests sets GIT_DIR and GIT_INDEX_FILE).
 */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_"))),
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
const running = new Set<GitServer>();
afterAll(async () => {
  await Promise.all([...running].map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const httpBackend = join(
  spawnSync("git", ["--exec-path"], { encoding: "utf8", env: GIT_ENV }).stdout.trim(),
  "git-http-backend",
);

/**
 * The server runs in a worker thread: the clone helpers use spawnSync (as tests want synchronous
 * commit/push), which blocks this thread's event loop and would deadlock a server living on it.
 * Plain JS in a string, since a worker cannot load the TypeScript sources.
 */
const WORKER = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const http = require("node:http");
const { root, port, backend, env: gitEnv, log } = workerData;
const sockets = new Set();
const children = new Set();

const server = http.createServer((req, res) => {
  const writeHead = res.writeHead;
  res.writeHead = function (status, ...rest) {
    // Logged before any byte reaches the client, so the entry is there once the client is done.
    log.postMessage({ method: req.method, path: req.url, status });
    return writeHead.call(this, status, ...rest);
  };
  runCgi(req, res);
});
server.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
server.on("error", (e) => parentPort.postMessage({ type: "error", message: String(e.message) }));
server.listen(port, "127.0.0.1", () => parentPort.postMessage({ type: "listening", port: server.address().port }));
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  server.close(() => process.exit(0));
  for (const c of children) c.kill("SIGKILL");
  for (const s of sockets) s.destroy();
});

function runCgi(req, res) {
  const u = new URL(req.url || "/", "http://127.0.0.1");
  const h = req.headers;
  const env = {
    ...gitEnv,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/" + req.httpVersion,
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    REMOTE_ADDR: "127.0.0.1",
    // receive-pack derives the reflog identity from REMOTE_USER
    REMOTE_USER: basicAuthUser(h.authorization) || "scadalink-test",
  };
  if (h["content-type"]) env.CONTENT_TYPE = h["content-type"];
  if (h["content-length"]) env.CONTENT_LENGTH = h["content-length"];
  // clients gzip upload-pack requests; http-backend inflates them when told
  if (h["content-encoding"]) env.HTTP_CONTENT_ENCODING = h["content-encoding"];
  if (h["git-protocol"]) env.HTTP_GIT_PROTOCOL = h["git-protocol"];

  const child = spawn(backend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // the CGI may exit without reading the whole body (errors): ignore EPIPE
  child.stdin.on("error", () => {});
  req.pipe(child.stdin);
  res.on("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  const fail = (why) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(500, { "content-type": "text/plain" });
    res.end("git http-backend failed: " + why + "\n" + stderr);
  };

  let head = Buffer.alloc(0);
  let inBody = false;
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString("latin1"));
    if (!m) return;
    inBody = true;
    child.stdout.off("data", onData);
    let status = 200;
    const headers = {};
    for (const line of head.subarray(0, m.index).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = parseInt(value, 10) || 500;
      else headers[name] = name in headers ? [].concat(headers[name], value) : value;
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
    if (!inBody) fail("exit " + (code ?? signal) + " before headers");
    else if (code !== 0 && !res.writableEnded) res.destroy();
  });
}

function basicAuthUser(auth) {
  const m = /^Basic\s+(\S+)/i.exec(auth || "");
  return m ? Buffer.from(m[1], "base64").toString().split(":")[0] || undefined : undefined;
}
`;

export async function startGitServer(opts: { root?: string; port?: number } = {}): Promise<GitServer> {
  const root = opts.root ?? tempDir("git-root");
  const log = new MessageChannel();
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { root, port: opts.port ?? 0, backend: httpBackend, env: GIT_ENV, log: log.port2 },
    transferList: [log.port2],
  });
  let exited = false;
  const exit = once(worker, "exit").then(() => {
    exited = true;
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.on("message", (m: { type: string; port?: number; message?: string }) => {
      if (m.type === "listening") resolve(m.port!);
      else reject(new Error(`git server: ${m.message}`));
    });
    worker.once("error", reject);
    void exit.then(() => reject(new Error("git server worker exited")));
  });
  const url = `http://127.0.0.1:${port}`;

  // Drained synchronously, so entries are visible right after a spawnSync'd git command.
  const requests: GitServer["requests"] = [];
  const drain = () => {
    for (let m = receiveMessageOnPort(log.port1); m; m = receiveMessageOnPort(log.port1)) requests.push(m.message);
    return requests;
  };

  const server: GitServer = {
    url,
    root,
    port,
    get requests() {
      return drain();
    },
    repoUrl: (name) => `${url}/${name}.git`,
    async createBareRepo(name) {
      const path = join(root, `${name}.git`);
      mkdirSync(dirname(path), { recursive: true });
      await execFileAsync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path], { env: GIT_ENV });
      await execFileAsync("git", ["-C", path, "config", "http.receivepack", "true"], { env: GIT_ENV });
      return path;
    },
    async stop() {
      running.delete(server);
      if (!exited) worker.postMessage("stop");
      await exit;
      drain();
      log.port1.close();
    },
  };
  running.add(server);
  return server;
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
