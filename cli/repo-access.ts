import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import type { CompileOptions } from "../controller/compiler/compile.js";
import { type DeployState, deployedIds, readDeployState } from "../controller/deploy/state.js";
import { Repo } from "../controller/git/repo.js";

/** Where a remote config repo is mirrored by default: $XDG_STATE_HOME/scadalink/<hash of the URL>. */
export function defaultStateDir(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "scadalink", createHash("sha256").update(spec).digest("hex").slice(0, 16));
}

/** Opens a config repo (local path, or URL mirrored and fetched) for the read-only commands. */
export async function openRepo(spec: string, stateDir?: string): Promise<Repo> {
  const repo = await Repo.open(spec, stateDir ?? defaultStateDir(spec));
  await repo.fetch();
  return repo;
}

/** The deploy branch as this clone knows it: origin's copy when there is one, else the local branch. */
export async function deployState(repo: Repo, branch: string, ref?: string): Promise<DeployState> {
  const head = ref
    ? await repo.resolve(ref)
    : ((await repo.resolve(`refs/remotes/origin/${branch}`)) ?? (await repo.resolve(`refs/heads/${branch}`)));
  if (ref && !head) throw new Error(`no ref ${ref}`);
  return readDeployState(repo, head);
}

/** What validation needs from the deploy branch: deployed ids and released selections (batch-immutable). */
export function deployOptions(state: DeployState): CompileOptions {
  const released = new Map([...state.releases].filter(([, r]) => r.released).map(([name, r]) => [name, r.select]));
  return { deployed: deployedIds(state), released };
}
