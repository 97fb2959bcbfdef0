import type { DeploymentPackage } from "../../schemas/types.js";
import type { Compilation } from "../compiler/compile.js";
import { compareDiagnostics, type Diagnostic, diagnostic } from "../compiler/diagnostics.js";
import { atValue } from "../compiler/load/positions.js";
import { manifestPath, packagePath, splitId } from "../contract/layout.js";
import type { Records } from "../deploy/batches.js";
import { type DesiredFile, nextDeploy } from "../deploy/next.js";
import type { DeployState } from "../deploy/state.js";
import { diffPackages, formatChange } from "./diff.js";

export interface InstancePlan {
  id: string;
  name: string;
  /** Member-level changes, formatted (`Speed.tag: "A" → "B"`). */
  changes: string[];
  /** The batch that releases it, in rollout batch. */
  batch: string | null;
}

export interface SitePlan {
  site: string;
  added: InstancePlan[];
  changed: InstancePlan[];
  removed: InstancePlan[];
  unchanged: number;
  /** rollout batch: deployed instances whose compiled revision is not the deployed one after this deploy. */
  stale: string[];
  /** rollout batch: compiled instances no batch has released yet. */
  unreleased: string[];
  /** The site's site.json changes: data connections, shared scripts, integrations or branch names. */
  siteArtifactsChanged: boolean;
}

export interface BatchPlan {
  name: string;
  phase: string;
  state: string;
  effect: string;
}

/** What deploying a commit would change on the deploy branch (section 5's plan). */
export interface Plan {
  commit: string;
  /** The deploy commit compared against (null: the deploy branch does not exist yet). */
  against: string | null;
  ok: boolean;
  mode: "auto" | "batch";
  errorCount: number;
  warningCount: number;
  diagnostics: Diagnostic[];
  sites: SitePlan[];
  batches: BatchPlan[];
  totals: { added: number; changed: number; removed: number; unchanged: number; stale: number; unreleased: number };
}

export interface PlanInput {
  commit: string;
  compilation: Compilation;
  previous: DeployState;
  records: Records;
  now: Date;
  /** Reads a blob of the deploy branch. */
  blob: (oid: string) => Promise<string>;
}

/** The plan of a commit: exactly the deploy the controller would write, compared with the deploy branch. */
export async function buildPlan(input: PlanInput): Promise<Plan> {
  const { compilation: c, previous } = input;
  const base = {
    commit: input.commit,
    against: previous.head ?? null,
    mode: (c.index.repository?.data.rollout ?? "auto") as "auto" | "batch",
    errorCount: c.errorCount,
    warningCount: c.warningCount,
    diagnostics: c.diagnostics,
  };
  const totals = { added: 0, changed: 0, removed: 0, unchanged: 0, stale: 0, unreleased: 0 };
  if (c.errorCount > 0) return { ...base, ok: false, sites: [], batches: [], totals };

  const next = nextDeploy(input);
  const read = async (f: DesiredFile | undefined): Promise<string | undefined> =>
    !f ? undefined : "content" in f ? f.content : input.blob(f.oid);
  const json = async <T>(f: DesiredFile | undefined): Promise<T | undefined> => {
    const text = await read(f);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  const releasedBy = new Map<string, string>();
  for (const name of next.released)
    for (const id of Object.keys(next.releases.get(name)!.instances)) releasedBy.set(id, name);
  const compiled = new Map(c.packages().map((p) => [`${p.instance.site}/${p.instance.name}`, p.revisionHash]));

  const sites: SitePlan[] = [];
  const siteNames = new Set<string>([...previous.manifests.keys()]);
  for (const path of next.files.keys()) {
    const m = /^sites\/([^/]+)\/manifest\.json$/.exec(path);
    if (m) siteNames.add(m[1]!);
  }
  for (const site of [...siteNames].sort()) {
    const before = previous.manifests.get(site);
    const after = await json<{ siteRevisionHash: string; instances: Record<string, string> }>(
      next.files.get(manifestPath(site)),
    );
    const names = [
      ...new Set([...Object.keys(before?.instances ?? {}), ...Object.keys(after?.instances ?? {})]),
    ].sort();
    const plan: SitePlan = {
      site,
      added: [],
      changed: [],
      removed: [],
      unchanged: 0,
      stale: [],
      unreleased: [],
      siteArtifactsChanged: before?.siteRevisionHash !== after?.siteRevisionHash,
    };
    for (const name of names) {
      const id = `${site}/${name}`;
      const was = before?.instances[name];
      const will = after?.instances[name];
      const entry = (changes: string[]): InstancePlan => ({ id, name, changes, batch: releasedBy.get(id) ?? null });
      if (was === will) plan.unchanged++;
      else if (!was) plan.added.push(entry([]));
      else if (!will) plan.removed.push(entry([]));
      else {
        const oldFile = previous.files.get(packagePath(site, name));
        const old = await json<DeploymentPackage>(oldFile && { oid: oldFile.oid });
        const fresh = await json<DeploymentPackage>(next.files.get(packagePath(site, name)));
        plan.changed.push(entry(diffPackages(old, fresh).map(formatChange)));
      }
    }
    if (base.mode === "batch") {
      for (const [id, hash] of compiled) {
        const [s, name] = splitId(id);
        if (s !== site || after?.instances[name] === hash) continue;
        if (after?.instances[name] === undefined) plan.unreleased.push(name);
        else plan.stale.push(name);
      }
    }
    totals.added += plan.added.length;
    totals.changed += plan.changed.length;
    totals.removed += plan.removed.length;
    totals.unchanged += plan.unchanged;
    totals.stale += plan.stale.length;
    totals.unreleased += plan.unreleased.length;
    sites.push(plan);
  }

  const batches: BatchPlan[] = [...next.statuses.values()]
    .sort((a, b) => (a.batch < b.batch ? -1 : 1))
    .map((s) => {
      const was = previous.statuses.get(s.batch);
      const releasedNow = next.released.includes(s.batch);
      const effect = releasedNow
        ? `releases ${s.counts.selected} instance${s.counts.selected === 1 ? "" : "s"}`
        : s.phase === "prepare"
          ? "preparation only: handoff, evidence checklist and record template; nothing released"
          : s.state === "waiting"
            ? (s.reason ?? "waiting")
            : was && was.state !== s.state
              ? `${was.state} → ${s.state}`
              : "no change";
      return { name: s.batch, phase: s.phase, state: s.state, effect };
    });
  // stale-instance (warning): a deployed instance whose compiled revision is not the released one.
  const stale: Diagnostic[] = [];
  for (const s of sites) {
    for (const name of s.stale) {
      const decl = c.index.instances.get(`${s.site}/${name}`);
      if (!decl) continue;
      stale.push(
        diagnostic(
          "stale-instance",
          atValue(decl.entry, "name"),
          `${s.site}/${name} is deployed at an older revision than it compiles to: release it with a batch`,
        ),
      );
    }
  }
  const diagnostics = [...c.diagnostics, ...stale].sort(compareDiagnostics);
  return { ...base, diagnostics, warningCount: c.warningCount + stale.length, ok: true, sites, batches, totals };
}
