import type { Batch, BatchRelease, BatchStatus, DeploymentPackage, ExecutionRecord } from "../../schemas/types.js";
import { matchRule } from "../compiler/batch-select.js";
import type { Compilation } from "../compiler/compile.js";
import { API_VERSION } from "../contract/api.js";

export const DEFAULT_MAX_FAILED = 0;
export const DEFAULT_DEADLINE_MINUTES = 60;

/** The batches of a valid compilation, by name. */
export function batchesOf(c: Compilation): Map<string, Batch> {
  const out = new Map<string, Batch>();
  for (const [name, doc] of c.index.batches) if (doc.usable) out.set(name, doc.data);
  return out;
}

/** The instance ids a batch selects: its explicit ids and every instance its match rules select, sorted. */
export function selectedIds(batch: Batch, c: Compilation): string[] {
  const chainOf = (t: string) => c.template(t)?.chain ?? [t];
  const ids = new Set(batch.select.instances ?? []);
  for (const rule of batch.select.match ?? []) for (const id of matchRule(rule, c.index, chainOf)) ids.add(id);
  return [...ids].sort();
}

/**
 * The release a batch makes, fixed at the commit where it became execute: each selected instance's package as
 * compiled there, or null for a selected id that no longer exists but is deployed (a released deletion).
 */
export function newRelease(
  batch: Batch,
  commit: string,
  c: Compilation,
  deployed: ReadonlySet<string>,
): { release: BatchRelease; packages: DeploymentPackage[] } {
  const ids = selectedIds(batch, c);
  const packages = c.packages(ids.filter((id) => c.index.instances.has(id)));
  const byId = new Map(packages.map((p) => [`${p.instance.site}/${p.instance.name}`, p]));
  const instances: Record<string, string | null> = {};
  for (const id of ids) {
    const p = byId.get(id);
    if (p) instances[id] = p.revisionHash;
    else if (deployed.has(id)) instances[id] = null;
  }
  return {
    release: {
      apiVersion: API_VERSION,
      kind: "BatchRelease",
      batch: batch.name,
      sourceCommit: commit,
      released: false,
      releasedAt: null,
      select: JSON.parse(JSON.stringify(batch.select)),
      instances,
    },
    packages,
  };
}

const FAILED = new Set([
  "login-blocked",
  "network-blocked",
  "host-bridge-blocked",
  "local-runtime-blocked",
  "data-mismatch",
  "artifact-mismatch",
  "environment-unavailable",
  "runtime-error",
]);

/** Execution records by site, then batch, then instance name (read from the status branches). */
export type Records = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, ExecutionRecord>>>;

/**
 * A batch's status: waiting (phase prepare, or waiting for after), releasing (released, no record yet),
 * in-progress, complete (every instance recorded, at most maxFailed failed) or halted (more failed).
 * A record counts only for the revision that was released; past the deadline a missing one is environment-unavailable.
 */
export function batchStatus(
  name: string,
  batch: Batch | undefined,
  release: BatchRelease | undefined,
  records: Records,
  now: Date,
  waitingReason: string | null,
): BatchStatus {
  const maxFailed = batch?.failurePolicy?.maxFailed ?? DEFAULT_MAX_FAILED;
  const phase = batch?.phase ?? (release ? "execute" : "prepare");
  const base = { apiVersion: API_VERSION, kind: "BatchStatus" as const, batch: name, phase, maxFailed };
  if (!release?.released || !release.releasedAt) {
    const selected = release ? Object.keys(release.instances).length : 0;
    return {
      ...base,
      state: "waiting",
      reason: waitingReason ?? (phase === "prepare" ? "phase prepare: preparation only, nothing is released" : null),
      releasedAt: null,
      deadline: null,
      counts: { selected, passed: 0, failed: 0, pending: selected },
      instances: {},
    };
  }
  const deadline = new Date(
    Date.parse(release.releasedAt) + (batch?.deadlineMinutes ?? DEFAULT_DEADLINE_MINUTES) * 60_000,
  );
  const instances: BatchStatus["instances"] = {};
  let passed = 0;
  let failed = 0;
  let pending = 0;
  let recorded = 0;
  for (const [id, released] of Object.entries(release.instances).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const revisionHash = released ?? null;
    const [site, instance] = [id.slice(0, id.indexOf("/")), id.slice(id.indexOf("/") + 1)];
    const record = records.get(site)?.get(name)?.get(instance);
    const valid = record && record.revisionHash === revisionHash;
    if (valid) {
      recorded++;
      if (FAILED.has(record.result)) failed++;
      else passed++;
      instances[id] = { revisionHash, result: record.result, message: record.message };
    } else if (now >= deadline) {
      failed++;
      instances[id] = {
        revisionHash,
        result: "environment-unavailable",
        message: `no execution record from ${site} before the deadline`,
      };
    } else {
      pending++;
      instances[id] = { revisionHash, result: null, message: null };
    }
  }
  const selected = Object.keys(release.instances).length;
  let state: BatchStatus["state"];
  let reason: string | null = null;
  if (failed > maxFailed) {
    state = "halted";
    reason = `${failed} failed, more than maxFailed ${maxFailed}`;
  } else if (pending === 0) state = "complete";
  else state = recorded === 0 && failed === 0 ? "releasing" : "in-progress";
  return {
    ...base,
    state,
    reason,
    releasedAt: release.releasedAt,
    deadline: deadline.toISOString(),
    counts: { selected, passed, failed, pending },
    instances,
  };
}

/** Why a batch's release must wait for its after, or null when every batch listed there is complete. */
export function waitReason(batch: Batch, statuses: ReadonlyMap<string, BatchStatus>): string | null {
  const open = (batch.after ?? []).filter((dep) => statuses.get(dep)?.state !== "complete");
  if (!open.length) return null;
  const halted = open.filter((dep) => statuses.get(dep)?.state === "halted");
  if (halted.length) return `after ${halted.join(", ")}, which halted`;
  return `waiting for ${open.join(", ")} to complete`;
}
