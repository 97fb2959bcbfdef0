import { DEFAULT_DEPLOY_BRANCH, DEFAULT_MAIN_BRANCH, DEFAULT_STATUS_PREFIX } from "../controller/contract/branches.js";
import { StatusReader } from "../controller/deploy/records.js";
import { readDeployState } from "../controller/deploy/state.js";
import type { Repo } from "../controller/git/repo.js";
import { GitSource } from "../controller/sources/git-tree.js";
import type { ExecutionRecord, SiteStatus } from "../schemas/types.js";
import type { FleetInputs } from "./model.js";

/** A branch's head as the clone knows it: origin's copy when there is one, else the local branch; null: none. */
export async function branchHead(repo: Repo, branch: string): Promise<string | null> {
  return (await repo.resolve(`refs/remotes/origin/${branch}`)) ?? (await repo.resolve(`refs/heads/${branch}`)) ?? null;
}

/** The branch heads a view was read from: when none moved, the view's inputs are the same. */
export interface Heads {
  main: string | null;
  deploy: string | null;
  statuses: string;
}

/**
 * Reads what the dashboard shows from a clone: the deploy branch (manifests, batch statuses) and every status branch,
 * with the branch names main's scadalink.yaml gives. Fetches first; returns the inputs and the heads they came from.
 */
export async function readFleet(
  repo: Repo,
  o: { heartbeatMs: number; now?: number; fetch?: boolean },
): Promise<{ inputs: FleetInputs; heads: Heads }> {
  if (o.fetch !== false) await repo.fetch();
  const head = (branch: string) => branchHead(repo, branch);
  const main = await head(DEFAULT_MAIN_BRANCH);
  // Only scadalink.yaml is read from main: the branch names; the fleet itself is on the deploy and status branches.
  let deployBranch = DEFAULT_DEPLOY_BRANCH;
  let prefix = DEFAULT_STATUS_PREFIX;
  if (main) {
    const settings = await new GitSource(repo).settings(main);
    deployBranch = settings.deployBranch;
    prefix = settings.statusBranchPrefix;
  }
  const deploy = await head(deployBranch);
  const state = await readDeployState(repo, deploy ?? undefined);
  const reports = await new StatusReader(repo).read(prefix);
  const statuses = new Map<string, SiteStatus | undefined>();
  const records = new Map<string, Map<string, Map<string, ExecutionRecord>>>();
  for (const [site, r] of reports) {
    statuses.set(site, r.status);
    records.set(site, r.records);
  }
  return {
    inputs: {
      deployCommit: state.head ?? null,
      sourceCommit: state.trailers.sourceCommit ?? null,
      manifests: state.manifests,
      statuses,
      batches: state.statuses,
      records,
      now: o.now ?? Date.now(),
      heartbeatMs: o.heartbeatMs,
    },
    heads: {
      main,
      deploy,
      statuses: [...reports.values()]
        .map((r) => `${r.site}@${r.head}`)
        .sort()
        .join(","),
    },
  };
}
