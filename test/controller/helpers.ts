import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Controller, type ControllerConfig } from "../../controller/controller.js";
import { BASE } from "../helpers/base-repo.js";
import { runGit } from "../helpers/git-server.js";
import { type Files, y } from "../helpers/repo.js";

/** The base fixture with rollout auto and a second instance. */
export const AUTO: Files = {
  ...BASE,
  "scadalink.yaml": "kind: Repository\nrollout: auto\n",
  "instances/more.yaml": y`
    kind: Instance
    name: Pump08
    site: plant-north
    area: Line2
    template: Pump
    connection: plc-b
  `,
  "batches/pilot.yaml": undefined,
};

export const quiet = pino({ level: "silent" });

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `scadalink-${name}-`));
}

export async function controllerFor(repo: string, extra: Partial<ControllerConfig> = {}): Promise<Controller> {
  return Controller.create(
    { repo, stateDir: tempDir("ctrl"), mainBranch: "main", pollIntervalMs: 3_600_000, ...extra },
    quiet,
  );
}

/** Native git on a bare (or normal) repository. */
export const git = (gitdir: string, ...args: string[]) => runGit(undefined, ["--git-dir", gitdir, ...args]);

export const DEPLOY = "scadalink/deploy";

/** The deploy branch's head, or "" when it does not exist. */
export function deployHead(gitdir: string): string {
  try {
    return git(gitdir, "rev-parse", "--verify", "--quiet", `refs/heads/${DEPLOY}`);
  } catch {
    return "";
  }
}

export function readJson<T = Record<string, unknown>>(gitdir: string, path: string, ref = DEPLOY): T {
  return JSON.parse(git(gitdir, "show", `${ref}:${path}`)) as T;
}

export function deployFiles(gitdir: string, ref = DEPLOY): string[] {
  return git(gitdir, "ls-tree", "-r", "--name-only", ref).split("\n").filter(Boolean);
}

/** Trailers of every deploy commit, newest first. */
export function trailers(gitdir: string): { sourceCommit: string; batches: string[] }[] {
  const out = git(
    gitdir,
    "log",
    "--format=%(trailers:key=Source-Commit,valueonly,separator=%x2C)|%(trailers:key=Batch,valueonly,separator=%x2C)",
    DEPLOY,
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [s, b] = l.split("|");
      return { sourceCommit: s!.trim(), batches: b ? b.split(",").filter(Boolean) : [] };
    });
}
