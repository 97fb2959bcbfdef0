import type { SiteManifest } from "../../schemas/types.js";
import type { AppliedRevision } from "../store/store.js";

export interface ApplyPlan {
  /** Instances whose manifest revision differs from the applied one, sorted. */
  changed: string[];
  /** Applied instances the manifest no longer lists, sorted. */
  removed: string[];
  unchanged: number;
}

/**
 * What a manifest asks of the site, by revision hash only: unchanged instances cost one map lookup. Returns a
 * refusal instead when applying it would remove every instance and the manifest does not say allowEmpty.
 */
export function planApply(
  manifest: SiteManifest,
  applied: ReadonlyMap<string, AppliedRevision>,
): ApplyPlan | { refused: string } {
  const wanted = manifest.instances;
  const plan: ApplyPlan = { changed: [], removed: [], unchanged: 0 };
  for (const name of Object.keys(wanted).sort())
    if (applied.get(name)?.revisionHash === wanted[name]) plan.unchanged++;
    else plan.changed.push(name);
  for (const name of applied.keys()) if (!Object.hasOwn(wanted, name)) plan.removed.push(name);
  plan.removed.sort();
  if (applied.size > 0 && plan.removed.length === applied.size && manifest.allowEmpty !== true)
    return {
      refused: `the manifest would remove every instance of ${manifest.site} (${applied.size}); it is applied only with allowEmpty: true`,
    };
  return plan;
}
