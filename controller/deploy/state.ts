import type { BatchRelease, BatchStatus, SiteManifest } from "../../schemas/types.js";
import { batchStatusPath, releasePath } from "../contract/layout.js";
import type { CommitInfo, FileEntry, Repo } from "../git/repo.js";
import { type DeployTrailers, parseTrailers } from "../git/trailers.js";

/** What the deploy branch holds now. */
export interface DeployState {
  head: string | undefined;
  commit: CommitInfo | undefined;
  trailers: DeployTrailers;
  files: Map<string, FileEntry>;
  dirs: Map<string, string>;
  manifests: Map<string, SiteManifest>;
  releases: Map<string, BatchRelease>;
  statuses: Map<string, BatchStatus>;
}

export const EMPTY_DEPLOY: DeployState = {
  head: undefined,
  commit: undefined,
  trailers: { sourceCommit: undefined, batches: [] },
  files: new Map(),
  dirs: new Map(),
  manifests: new Map(),
  releases: new Map(),
  statuses: new Map(),
};

/** Reads the deploy branch at a commit: its files, and the manifests, releases and batch statuses parsed. */
export async function readDeployState(repo: Repo, head: string | undefined): Promise<DeployState> {
  if (!head) return EMPTY_DEPLOY;
  const commit = await repo.readCommit(head);
  const { files, dirs } = await repo.listFiles(commit.tree);
  const state: DeployState = {
    head,
    commit,
    trailers: parseTrailers(commit.message),
    files,
    dirs,
    manifests: new Map(),
    releases: new Map(),
    statuses: new Map(),
  };
  for (const f of files.values()) {
    let m: RegExpExecArray | null;
    if ((m = /^sites\/([^/]+)\/manifest\.json$/.exec(f.path))) {
      state.manifests.set(m[1]!, JSON.parse(await repo.readText(f.oid)));
    } else if ((m = /^batches\/([^/]+)\/release\.json$/.exec(f.path))) {
      const batch = m[1]!;
      state.releases.set(batch, JSON.parse(await repo.readText(f.oid)));
      const status = files.get(batchStatusPath(batch));
      if (status) state.statuses.set(batch, JSON.parse(await repo.readText(status.oid)));
    } else if ((m = /^batches\/([^/]+)\/status\.json$/.exec(f.path)) && !files.has(releasePath(m[1]!))) {
      state.statuses.set(m[1]!, JSON.parse(await repo.readText(f.oid)));
    }
  }
  return state;
}

/** Instance ids deployed now (every site's manifest). */
export function deployedIds(state: DeployState): Set<string> {
  const ids = new Set<string>();
  for (const [site, m] of state.manifests) for (const name of Object.keys(m.instances)) ids.add(`${site}/${name}`);
  return ids;
}
