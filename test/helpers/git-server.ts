import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";
import { GIT_ENV, type GitHttpServer, type RequestLogEntry, startGitHttpServer } from "./git-http-server.mjs";

/** A git smart-HTTP server on loopback, backed by the native `git http-backend` CGI. */
export interface GitServer extends Omit<GitHttpServer, "drainLog"> {
  /** Every request answered so far. */
  requests: RequestLogEntry[];
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

export { GIT_ENV };

const IDENTITY = [
  "-c",
  "user.name=scadalink-test",
  "-c",
  "user.email=test@scadalink.invalid",
  "-c",
  "commit.gpgsign=false",
];

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

export async function startGitServer(opts: { root?: string; port?: number } = {}): Promise<GitServer> {
  const { drainLog, stop, ...core } = await startGitHttpServer({
    root: opts.root ?? tempDir("git-root"),
    port: opts.port ?? 0,
  });
  const requests: RequestLogEntry[] = [];
  const server: GitServer = {
    ...core,
    get requests() {
      requests.push(...drainLog());
      return requests;
    },
    async stop() {
      running.delete(server);
      await stop();
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
