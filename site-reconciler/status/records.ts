import { evidencePath } from "../../controller/contract/layout.js";
import type { BatchRelease, EvidenceChecklist, ExecutionRecord } from "../../schemas/types.js";
import type { InstanceOutcome } from "../runtime/runtime.js";
import type { AppliedRevision, Refusal } from "../store/store.js";
import type { EvidenceItem, ResultState } from "../types.js";

export interface ReleaseView {
  batch: string;
  release: BatchRelease;
  checklist: EvidenceChecklist | undefined;
}

/** An execution record the site owes (new, or its result changed). */
export interface DueRecord {
  batch: string;
  instance: string;
  revisionHash: string | null;
  result: ResultState;
  message: string | null;
  deployCommit: string;
  evidence: { item: EvidenceItem; path: string }[];
}

/**
 * The execution records (section 2.9) a site owes for the batches released to it: one per released instance once
 * the site has applied (or refused) exactly the released revision, or removed an instance whose deletion was
 * released. A record is due again only when what it says changes.
 */
export function dueRecords(input: {
  site: string;
  head: string;
  releases: readonly ReleaseView[];
  applied: ReadonlyMap<string, AppliedRevision>;
  outcomes: ReadonlyMap<string, InstanceOutcome>;
  refusals: ReadonlyMap<string, Refusal>;
  existing: ReadonlyMap<string, ExecutionRecord>;
}): DueRecord[] {
  const due: DueRecord[] = [];
  const prefix = `${input.site}/`;
  for (const { batch, release, checklist } of input.releases) {
    if (!release.released) continue;
    for (const [id, value] of Object.entries(release.instances)) {
      const revision = value ?? null;
      if (!id.startsWith(prefix)) continue;
      const name = id.slice(prefix.length);
      const applied = input.applied.get(name);
      const refused = input.refusals.get(name);
      let r: Pick<DueRecord, "result" | "message" | "deployCommit"> | undefined;
      if (revision === null) {
        if (!applied) r = { result: "pass", message: null, deployCommit: input.head };
      } else if (refused && refused.revisionHash === revision) {
        r = { result: refused.result as ResultState, message: refused.message, deployCommit: refused.deployCommit };
      } else if (applied && applied.revisionHash === revision) {
        const o = input.outcomes.get(name) ?? { result: "pass" as const, message: null };
        r = { ...o, deployCommit: applied.deployCommit };
      }
      if (!r) continue;
      const old = input.existing.get(`${batch}/${name}`);
      if (old && old.revisionHash === revision && old.result === r.result && old.message === r.message) continue;
      const items = checklist?.instances.find((i) => i.id === id)?.evidence ?? [];
      due.push({
        batch,
        instance: name,
        revisionHash: revision,
        ...r,
        evidence: items.map((e) => ({ item: e.item, path: e.path || evidencePath(batch, name, e.item) })),
      });
    }
  }
  return due;
}
