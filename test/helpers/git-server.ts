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
 * Its code is plain JS in its own file, so the benchmarks (bench/git-server.mjs) can start it too.
 */
const WORKER = new URL("./git-http-worker.mjs", import.meta.url);

export async function startGitServer(opts: { root?: string; port?: number } = {}): Promise<GitServer> {
  const root = opts.root ?? tempDir("git-root");
  const log = new MessageChannel();
  const worker = new Worker(WORKER, {
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
