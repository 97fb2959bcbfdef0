import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";
import { packageRoot } from "../../controller/package-root.js";
import { runGit } from "./git-server.js";
import { RELEASE_ENV } from "./release-key.js";
import type { Files } from "./repo.js";

export const BIN = join(packageRoot(), "dist", "bundle", "scadalink.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (npm test builds it first). The cache goes to a private directory. Releases are signed and
 * verified with the test file's release key (RELEASE_ENV) unless env overrides SCADALINK_SIGNING_KEY or
 * SCADALINK_TRUSTED_KEYS.
 */
export function scadalink(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      ...RELEASE_ENV,
      NO_COLOR: "1",
      FORCE_COLOR: undefined,
      SCADALINK_CACHE_DIR: cacheDir(),
      ...opts.env,
    },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function spawnScadalink(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...RELEASE_ENV, NO_COLOR: "1", SCADALINK_CACHE_DIR: cacheDir(), ...env },
  });
}

/** A long-running scadalink process with its stdout and stderr collected together, and its exit code. */
export function runningScadalink(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawnScadalink(args, env);
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return { child, exited, output: () => out };
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", () => res()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

const dirs: string[] = [];
let cache: string | undefined;
function cacheDir(): string {
  return (cache ??= tempDir("cache"));
}

/** A temporary directory removed after the test file. */
export function tempDir(name = "repo"): string {
  const d = mkdtempSync(join(tmpdir(), `scadalink-${name}-`));
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes files into a new temporary directory and returns it. */
export function writeRepo(files: Files, base?: string): string {
  const dir = tempDir();
  if (base) cpSync(base, dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    const full = join(dir, path);
    if (text === undefined) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    }
  }
  return dir;
}

/** A local git repository with the files committed on main; commit() adds more. */
export function localRepo(files: Files) {
  const dir = tempDir("cli-repo");
  runGit(dir, ["init", "-q", "-b", "main"]);
  const commit = (changes: Files, message = "change") => {
    for (const [p, t] of Object.entries(changes)) {
      if (t === undefined) continue;
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), t);
    }
    runGit(dir, ["add", "-A"]);
    runGit(dir, ["commit", "-q", "-m", message]);
    return runGit(dir, ["rev-parse", "HEAD"]);
  };
  return { dir, commit, first: commit(files, "seed") };
}
