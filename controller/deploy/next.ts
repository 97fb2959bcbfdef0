import type { BatchRelease, BatchStatus, DeploymentPackage, SiteManifest } from "../../schemas/types.js";
import type { Compilation } from "../compiler/compile.js";
import { buildSiteArtifacts } from "../compiler/package/build.js";
import { API_VERSION } from "../contract/api.js";
import { DEFAULT_BRANCHES } from "../contract/branches.js";
import {
  batchDir,
  batchStatusPath,
  manifestPath,
  packagePath,
  pendingPackagePath,
  releasePath,
  siteArtifactsPath,
  splitId,
  toJson,
} from "../contract/layout.js";
import { batchesOf, batchStatus, newRelease, type Records, selectedIds, waitReason } from "./batches.js";
import { prepare } from "./prepare.js";
import { type DeployState, deployedIds } from "./state.js";

/** A file of the desired deploy tree: new content, or the blob it already has. */
export type DesiredFile = { content: string } | { oid: string };

import type { DesiredTree } from "../git/write-tree.js";

export type { DesiredTree };

export interface NextDeployInput {
  /** The source commit (on main) the tree is built for. */
  commit: string;
  /** Its compilation, which has no error. */
  compilation: Compilation;
  previous: DeployState;
  /** Execution records from the sites' status branches. */
  records: Records;
  now: Date;
}

export interface NextDeploy {
  files: DesiredTree;
  /** Batches released by this tree (the Batch: trailers). */
  released: string[];
  statuses: Map<string, BatchStatus>;
  releases: Map<string, BatchRelease>;
}

const PREPARATION_FILES = ["handoff.json", "evidence-checklist.json", "execution-record-template.json", "report.md"];

/**
 * The deploy tree for a source commit (section 4.4): a pure function of the compiled desired state, the batch
 * releases and the sites' records. rollout auto deploys every compiled instance; rollout batch deploys what
 * execute batches released, each as compiled at the commit where it first became execute.
 */
export function nextDeploy(input: NextDeployInput): NextDeploy {
  const { commit, compilation: c, previous, records, now } = input;
  const mode = c.index.repository?.data.rollout ?? "auto";
  // The names this release is written with travel in every site.json: a site checks it read the right branch.
  const branches = {
    deployBranch: c.index.repository?.data.deployBranch ?? DEFAULT_BRANCHES.deployBranch,
    statusBranchPrefix: c.index.repository?.data.statusBranchPrefix ?? DEFAULT_BRANCHES.statusBranchPrefix,
  };
  const batches = batchesOf(c);
  const deployed = deployedIds(previous);
  const files: DesiredTree = new Map();
  const keep = (path: string) => {
    const f = previous.files.get(path);
    if (f) files.set(path, { oid: f.oid });
    return !!f;
  };

  // Releases: drop pending ones whose batch is gone or no longer execute; create those that became execute now.
  const releases = new Map<string, BatchRelease>();
  for (const [name, r] of previous.releases)
    if (r.released || batches.get(name)?.phase === "execute") releases.set(name, r);
  const created = new Map<string, DeploymentPackage[]>();
  for (const [name, b] of batches) {
    if (b.phase !== "execute" || releases.has(name)) continue;
    const { release, packages } = newRelease(b, commit, c, deployed);
    releases.set(name, release);
    created.set(name, packages);
  }

  // Statuses of released batches first: pending releases wait for their after to be complete.
  const statuses = new Map<string, BatchStatus>();
  for (const [name, r] of releases)
    if (r.released) statuses.set(name, batchStatus(name, batches.get(name), r, records, now, null));
  const released: string[] = [];
  for (const [name, r] of [...releases].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (r.released) continue;
    const reason = waitReason(batches.get(name)!, statuses);
    if (reason) {
      statuses.set(name, batchStatus(name, batches.get(name), r, records, now, reason));
      continue;
    }
    const done: BatchRelease = { ...r, released: true, releasedAt: now.toISOString() };
    releases.set(name, done);
    released.push(name);
    statuses.set(name, batchStatus(name, batches.get(name), done, records, now, null));
  }
  for (const [name, b] of batches)
    if (!statuses.has(name)) statuses.set(name, batchStatus(name, b, undefined, records, now, null));

  // Where the package of a released instance comes from: compiled now, or the pending blob fixed earlier.
  const createdPackages = new Map<string, Map<string, DeploymentPackage>>(
    [...created].map(([batch, list]) => [
      batch,
      new Map(list.map((p) => [`${p.instance.site}/${p.instance.name}`, p])),
    ]),
  );
  const pendingFile = (batch: string, id: string): DesiredFile | undefined => {
    const p = createdPackages.get(batch)?.get(id);
    if (p) return { content: toJson(p) };
    const f = previous.files.get(pendingPackagePath(batch, ...splitId(id)));
    return f ? { oid: f.oid } : undefined;
  };

  // The deployed instances: id → revision hash and package file.
  const instances = new Map<string, { hash: string; file: DesiredFile }>();
  const previousFile = (id: string, hash: string): DesiredFile | undefined => {
    const [site, name] = splitId(id);
    const f = previous.files.get(packagePath(site, name));
    return f && previous.manifests.get(site)?.instances[name] === hash ? { oid: f.oid } : undefined;
  };
  if (mode === "auto") {
    for (const p of c.packages()) {
      const id = `${p.instance.site}/${p.instance.name}`;
      instances.set(id, { hash: p.revisionHash, file: previousFile(id, p.revisionHash) ?? { content: toJson(p) } });
    }
  } else {
    for (const id of deployed) {
      const [site, name] = splitId(id);
      const hash = previous.manifests.get(site)!.instances[name]!;
      instances.set(id, { hash, file: previousFile(id, hash)! });
    }
    for (const name of released) {
      for (const [id, hash] of Object.entries(releases.get(name)!.instances)) {
        if (hash === null || hash === undefined) instances.delete(id);
        else instances.set(id, { hash, file: previousFile(id, hash) ?? pendingFile(name, id)! });
      }
    }
  }

  // Sites: site.json and manifest; a site gone from main stays while instances of it are still deployed.
  const bySite = new Map<string, Map<string, { hash: string; file: DesiredFile }>>();
  for (const [id, v] of instances) {
    const [site, name] = splitId(id);
    let m = bySite.get(site);
    if (!m) bySite.set(site, (m = new Map()));
    m.set(name, v);
  }
  const siteNames = new Set([...c.index.sites.keys(), ...(mode === "batch" ? bySite.keys() : [])]);
  for (const site of [...siteNames].sort()) {
    const info = c.index.sites.get(site);
    let siteHash: string;
    if (info) {
      const artifacts = buildSiteArtifacts(info, c.shared.registry, branches);
      siteHash = artifacts.revisionHash;
      if (!(previous.manifests.get(site)?.siteRevisionHash === siteHash && keep(siteArtifactsPath(site)))) {
        files.set(siteArtifactsPath(site), { content: toJson(artifacts) });
      }
    } else {
      siteHash = previous.manifests.get(site)!.siteRevisionHash;
      keep(siteArtifactsPath(site));
    }
    const own = bySite.get(site) ?? new Map();
    const manifest: SiteManifest = {
      apiVersion: API_VERSION,
      kind: "SiteManifest",
      site,
      siteRevisionHash: siteHash,
      instances: Object.fromEntries([...own].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => [n, v.hash])),
    };
    if (info?.doc.data.allowEmpty === true) manifest.allowEmpty = true;
    files.set(manifestPath(site), { content: toJson(manifest) });
    for (const [name, v] of own) files.set(packagePath(site, name), v.file);
  }

  // Batches: release record, status, pending packages and preparation artifacts.
  for (const name of new Set([...batches.keys(), ...releases.keys()])) {
    const b = batches.get(name);
    const r = releases.get(name);
    if (r) files.set(releasePath(name), { content: toJson(r) });
    files.set(batchStatusPath(name), { content: toJson(statuses.get(name)) });
    if (r && !r.released) {
      for (const [id, hash] of Object.entries(r.instances)) {
        if (!hash) continue;
        const f = pendingFile(name, id);
        if (f) files.set(pendingPackagePath(name, ...splitId(id)), f);
      }
    }
    if (b && b.phase !== "execute") {
      // Prepared from the current commit, every time.
      const selection = Object.fromEntries(
        selectedIds(b, c).map((id) => [
          id,
          c.index.instances.has(id) ? (c.packages([id])[0]?.revisionHash ?? null) : null,
        ]),
      );
      // No commit id in them: a commit that changes nothing must change no artifact (and make no deploy commit).
      writePreparation(files, name, prepare(b, null, c, selection));
    } else if (b && created.has(name)) {
      writePreparation(files, name, prepare(b, commit, c, r!.instances as Record<string, string | null>));
    } else {
      for (const f of PREPARATION_FILES) keep(`${batchDir(name)}/${f}`);
    }
  }
  return { files, released, statuses, releases };
}

function writePreparation(files: DesiredTree, batch: string, p: ReturnType<typeof prepare>): void {
  files.set(`${batchDir(batch)}/handoff.json`, { content: toJson(p.handoff) });
  files.set(`${batchDir(batch)}/evidence-checklist.json`, { content: toJson(p.checklist) });
  files.set(`${batchDir(batch)}/execution-record-template.json`, { content: toJson(p.template) });
  files.set(`${batchDir(batch)}/report.md`, { content: p.report });
}
