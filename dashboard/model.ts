import type {
  BatchStatus,
  ExecutionRecord,
  PairNodeStatus,
  ParkedReport,
  SiteManifest,
  SiteStatus,
} from "../schemas/types.js";

// The fleet as the dashboard shows it (SPEC 11), computed from what the deploy and status branches hold. Pure: the
// branches are read elsewhere (source.ts); the same inputs always give the same view.

export interface FleetInputs {
  deployCommit: string | null;
  sourceCommit: string | null;
  manifests: ReadonlyMap<string, SiteManifest>;
  statuses: ReadonlyMap<string, SiteStatus | undefined>;
  batches: ReadonlyMap<string, BatchStatus>;
  /** Execution records the sites wrote on their status branches: site → batch → instance → record. */
  records?: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, ExecutionRecord>>>;
  /** Now, ms since 1970. */
  now: number;
  /** The sites' heartbeat interval: a site that has not reported for 3 of them is offline. */
  heartbeatMs: number;
}

export interface InstanceView {
  name: string;
  desired: string | null;
  applied: string | null;
  state: string | null;
  result: string | null;
  message: string | null;
  activeAlarms: number;
  /** desired !== applied: the site has not (yet) applied what the deploy branch holds. */
  pending: boolean;
}

export interface BacklogView {
  queued: number;
  parked: number;
  oldestQueuedAt: string | null;
  /** Targets whose messages are held (not defined in site.json, or no delivery for their kind). */
  held: number;
}

export interface SiteView {
  site: string;
  /** When the site last reported (status.json reportedAt), null: never. */
  lastSeen: string | null;
  /** No report for 3 heartbeat intervals, or none ever. */
  offline: boolean;
  appliedDeployCommit: string | null;
  converged: boolean;
  sync: string | null;
  connections: { name: string; state: string }[];
  quality: { good: number; uncertain: number; bad: number } | null;
  activeAlarms: number;
  storeAndForward: BacklogView | null;
  nodes: PairNodeStatus[] | null;
  /** Parked store-and-forward messages as the site reported them (the newest 100), null: none reported. */
  parked: ParkedReport | null;
  instances: InstanceView[];
}

export interface BatchInstanceView {
  /** site/instance */
  id: string;
  revisionHash: string | null;
  result: string | null;
  message: string | null;
  /** The site's execution record, when it wrote one. */
  recordedAt: string | null;
  evidence: string[];
}

export interface BatchView {
  batch: string;
  phase: string;
  state: string;
  reason: string | null;
  releasedAt: string | null;
  deadline: string | null;
  maxFailed: number;
  counts: BatchStatus["counts"];
  instances: BatchInstanceView[];
}

export interface FleetView {
  deployCommit: string | null;
  sourceCommit: string | null;
  heartbeatMs: number;
  sites: SiteView[];
  batches: BatchView[];
}

/** Reports older than this many heartbeat intervals mark a site offline. */
export const OFFLINE_AFTER_HEARTBEATS = 3;

export function fleetView(i: FleetInputs): FleetView {
  const names = [...new Set([...i.manifests.keys(), ...i.statuses.keys()])].sort();
  const sites = names.map((site) => siteView(site, i.manifests.get(site), i.statuses.get(site), i));
  const batches = [...i.batches.values()]
    .map((b) => batchView(b, i))
    .sort((a, b) => (a.batch < b.batch ? -1 : a.batch > b.batch ? 1 : 0));
  return { deployCommit: i.deployCommit, sourceCommit: i.sourceCommit, heartbeatMs: i.heartbeatMs, sites, batches };
}

function batchView(b: BatchStatus, i: FleetInputs): BatchView {
  const instances = Object.entries(b.instances)
    .map(([id, x]): BatchInstanceView => {
      const [site = "", name = ""] = [id.slice(0, id.indexOf("/")), id.slice(id.indexOf("/") + 1)];
      const record = i.records?.get(site)?.get(b.batch)?.get(name);
      return {
        id,
        revisionHash: x?.revisionHash ?? null,
        result: x?.result ?? null,
        message: x?.message ?? null,
        recordedAt: record?.recordedAt ?? null,
        evidence: record?.evidence.map((e) => e.item) ?? [],
      };
    })
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return {
    batch: b.batch,
    phase: b.phase,
    state: b.state,
    reason: b.reason ?? null,
    releasedAt: b.releasedAt ?? null,
    deadline: b.deadline ?? null,
    maxFailed: b.maxFailed,
    counts: b.counts,
    instances,
  };
}

function siteView(
  site: string,
  manifest: SiteManifest | undefined,
  status: SiteStatus | undefined,
  i: FleetInputs,
): SiteView {
  const names = [...new Set([...Object.keys(manifest?.instances ?? {}), ...Object.keys(status?.instances ?? {})])];
  const instances = names.sort().map((name): InstanceView => {
    const desired = manifest?.instances[name] ?? null;
    const s = status?.instances[name];
    const applied = s?.revisionHash ?? null;
    return {
      name,
      desired,
      applied,
      state: s?.state ?? null,
      result: s?.result ?? null,
      message: s?.message ?? null,
      activeAlarms: s?.activeAlarms?.length ?? 0,
      pending: desired !== applied,
    };
  });
  const lastSeen = status?.reportedAt ?? null;
  const age = lastSeen ? i.now - Date.parse(lastSeen) : Number.POSITIVE_INFINITY;
  const q = status?.health.quality;
  return {
    site,
    lastSeen,
    offline: !(age <= OFFLINE_AFTER_HEARTBEATS * i.heartbeatMs),
    appliedDeployCommit: status?.deployCommit ?? null,
    converged: instances.every((x) => !x.pending),
    sync: status?.health.sync?.state ?? null,
    connections: (status?.health.connections ?? []).map((c) => ({ name: c.name, state: c.state })),
    quality: q ? { good: q.good ?? 0, uncertain: q.uncertain ?? 0, bad: q.bad ?? 0 } : null,
    activeAlarms: instances.reduce((n, x) => n + x.activeAlarms, 0),
    storeAndForward: siteBacklog(status),
    nodes: status?.nodes ?? null,
    parked: status?.parked ?? null,
    instances,
  };
}

/** A site's store-and-forward backlog from its status.json; null when the site reports none. */
export function siteBacklog(status: SiteStatus | undefined): BacklogView | null {
  const targets = status?.health.storeAndForward;
  if (!targets) return null;
  const out: BacklogView = { queued: 0, parked: 0, oldestQueuedAt: null, held: 0 };
  for (const t of Object.values(targets)) {
    if (!t) continue;
    out.queued += t.queued;
    out.parked += t.parked;
    if (!t.configured) out.held++;
    if (t.oldestQueuedAt && (out.oldestQueuedAt === null || t.oldestQueuedAt < out.oldestQueuedAt))
      out.oldestQueuedAt = t.oldestQueuedAt;
  }
  return out;
}
