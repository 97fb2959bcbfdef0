import { createHash } from "node:crypto";
import { API_VERSION } from "../../controller/contract/api.js";
import type {
  ConnectionHealth,
  PairNodeStatus,
  ParkedReport,
  SiteStatus,
  SyncState,
  TagCounts,
  TargetBacklog,
} from "../../schemas/types.js";
import type { InstanceOutcome, RuntimeReport } from "../runtime/runtime.js";
import type { AppliedRevision, Refusal } from "../store/store.js";

export interface StatusInput {
  site: string;
  deployCommit: string | null;
  siteRevisionHash: string | null;
  applied: ReadonlyMap<string, AppliedRevision>;
  outcomes: ReadonlyMap<string, InstanceOutcome>;
  refusals: ReadonlyMap<string, Refusal>;
  connections: ConnectionHealth[];
  tags: TagCounts;
  sync: SyncState;
  runtime?: Pick<RuntimeReport, "quality" | "alarms" | "scripts">;
  /** health.storeAndForward, per target kind/name. */
  storeAndForward?: Record<string, TargetBacklog>;
  parked?: ParkedReport;
  /** A site pair: both nodes (SPEC 9). */
  nodes?: PairNodeStatus[];
}

/**
 * status.json's content (section 6.5) without the fields that change on every report (sequence, reportedAt,
 * health.lastPoll): two reports with the same body say the same thing, and only a heartbeat separates them.
 */
export function statusBody(i: StatusInput): Omit<SiteStatus, "sequence" | "reportedAt"> {
  const instances: SiteStatus["instances"] = {};
  for (const [name, a] of i.applied) {
    const refused = i.refusals.get(name);
    const outcome = i.outcomes.get(name) ?? { result: "pass", message: null };
    instances[name] = {
      revisionHash: a.revisionHash,
      state: a.state,
      result: refused ? (refused.result as InstanceOutcome["result"]) : outcome.result,
      message: refused
        ? `${refused.revisionHash} refused, ${a.revisionHash} kept: ${refused.message}`
        : outcome.message,
      appliedAt: a.appliedAt,
      ...(outcome.activeAlarms?.length ? { activeAlarms: outcome.activeAlarms } : {}),
    };
  }
  // A new instance whose first revision was refused: nothing of it is applied or running.
  for (const [name, r] of i.refusals)
    if (!i.applied.has(name))
      instances[name] = {
        revisionHash: null,
        state: "disabled",
        result: r.result as InstanceOutcome["result"],
        message: `${r.revisionHash} refused: ${r.message}`,
      };
  return {
    apiVersion: API_VERSION,
    kind: "SiteStatus",
    site: i.site,
    deployCommit: i.deployCommit,
    siteRevisionHash: i.siteRevisionHash,
    instances: Object.fromEntries(Object.entries(instances).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    health: {
      lastPoll: null,
      connections: i.connections,
      tags: i.tags,
      sync: i.sync,
      ...(i.runtime?.quality ? { quality: i.runtime.quality } : {}),
      ...(i.runtime?.alarms ? { alarms: i.runtime.alarms } : {}),
      ...(i.runtime?.scripts ? { scripts: i.runtime.scripts } : {}),
      ...(i.storeAndForward ? { storeAndForward: i.storeAndForward } : {}),
    },
    ...(i.nodes ? { nodes: i.nodes } : {}),
    ...(i.parked ? { parked: i.parked } : {}),
  };
}

/** A queue whose oldest message is younger than this is flowing, not a backlog. */
export const BACKLOG_AGE_MS = 60_000;

/**
 * What of the store-and-forward state is worth a status commit: parked counts, held targets, and per target a
 * backlog level (0 while messages flow, else the number of digits of the queued count). Queued counts of a target
 * that delivers change at every report; they are reported exactly, but only with a commit made for another reason
 * or a heartbeat, so a steady flow of messages does not write a commit per loop.
 */
export function backlogDigest(
  sf: Readonly<Record<string, TargetBacklog | undefined>> | undefined,
  now: number,
): string {
  if (!sf) return "";
  const parts: string[] = [];
  for (const [key, t] of Object.entries(sf)) {
    if (!t) continue;
    const age = t.oldestQueuedAt ? now - Date.parse(t.oldestQueuedAt) : 0;
    const level = t.queued === 0 || age < BACKLOG_AGE_MS ? 0 : String(t.queued).length;
    parts.push(`${key}\u0000${t.parked}\u0000${t.configured}\u0000${level}`);
  }
  return parts.join("\n");
}

/**
 * A digest of what a status tree says, volatile fields excluded (health.storeAndForward counts only as
 * backlogDigest says): a new one means a real change.
 */
export function fingerprint(
  body: ReturnType<typeof statusBody>,
  files: ReadonlyMap<string, string>,
  now: number = Date.now(),
): string {
  const { storeAndForward, ...health } = body.health;
  // Without store-and-forward the digest is what it was before it existed: an upgrade alone writes no commit.
  const stable: Record<string, unknown> = storeAndForward
    ? { ...body, health: { ...health, storeAndForward: backlogDigest(storeAndForward, now) } }
    : { ...body };
  // A pair's heartbeat times and lag change at every report: the roles and epochs are what is worth a commit.
  if (body.nodes) stable.nodes = body.nodes.map((n) => `${n.node}\u0000${n.role}\u0000${n.epoch}`);
  const h = createHash("sha256").update(JSON.stringify(stable));
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`\0${path}\0${content}`);
  return h.digest("hex");
}
