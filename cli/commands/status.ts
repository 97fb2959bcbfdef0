import {
  DEFAULT_DEPLOY_BRANCH,
  DEFAULT_MAIN_BRANCH,
  DEFAULT_STATUS_PREFIX,
} from "../../controller/contract/branches.js";
import { StatusReader } from "../../controller/deploy/records.js";
import { GitSource } from "../../controller/sources/git-tree.js";
import { siteBacklog } from "../../dashboard/model.js";
import type { SiteStatus } from "../../schemas/types.js";
import { palette } from "../output/color.js";
import { printable } from "../output/printable.js";
import { deployState, openRepo } from "../repo-access.js";

export interface StatusOptions {
  repo: string;
  format: "text" | "json";
  stateDir?: string;
}

interface InstanceRow {
  name: string;
  desired: string | null;
  applied: string | null;
  state: string | null;
  result: string | null;
  stale: boolean;
}

/** `scadalink status`: sites × instances, desired vs applied revision, stale instances, batches, last seen. */
export async function statusCommand(o: StatusOptions): Promise<number> {
  const repo = await openRepo(o.repo, o.stateDir);
  const mainHead = (await repo.resolve(repo.branchRef(DEFAULT_MAIN_BRANCH))) ?? undefined;
  const compiled = new Map<string, string>();
  let deployBranch = DEFAULT_DEPLOY_BRANCH;
  let prefix = DEFAULT_STATUS_PREFIX;
  if (mainHead) {
    const c = await new GitSource(repo).compile(mainHead);
    const r = c.index.repository?.usable ? c.index.repository.data : undefined;
    deployBranch = r?.deployBranch ?? deployBranch;
    prefix = r?.statusBranchPrefix ?? prefix;
    if (c.errorCount === 0)
      for (const p of c.packages()) compiled.set(`${p.instance.site}/${p.instance.name}`, p.revisionHash);
  }
  const deploy = await deployState(repo, deployBranch);
  const reports = await new StatusReader(repo).read(prefix);
  const sites = [...new Set([...deploy.manifests.keys(), ...reports.keys()])].sort().map((site) => {
    const manifest = deploy.manifests.get(site);
    const status = reports.get(site)?.status;
    const names = [
      ...new Set([...Object.keys(manifest?.instances ?? {}), ...Object.keys(status?.instances ?? {})]),
    ].sort();
    const instances: InstanceRow[] = names.map((name) => {
      const desired = manifest?.instances[name] ?? null;
      const s = status?.instances[name];
      const c = compiled.get(`${site}/${name}`);
      return {
        name,
        desired,
        applied: s?.revisionHash ?? null,
        state: s?.state ?? null,
        result: s?.result ?? null,
        stale: compiled.size > 0 && c !== undefined && c !== desired,
      };
    });
    return {
      site,
      lastSeen: status?.reportedAt ?? null,
      appliedDeployCommit: status?.deployCommit ?? null,
      converged: instances.every((i) => i.desired === i.applied),
      instances,
      storeAndForward: backlog(status),
      // A site run as a pair: both nodes as its active reported them (SPEC 9); null for a single node.
      nodes: status?.nodes ?? null,
    };
  });
  const batches = [...deploy.statuses.values()].map((b) => ({
    batch: b.batch,
    phase: b.phase,
    state: b.state,
    reason: b.reason,
    counts: b.counts,
  }));
  const view = {
    deployCommit: deploy.head ?? null,
    sourceCommit: deploy.trailers.sourceCommit ?? null,
    sites,
    batches,
  };
  if (o.format === "json") {
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  const p = palette(process.stdout);
  // Hashes, names and states partly come from status branches the sites write: printable, like their messages.
  const short = (h: string | null) => (h ? printable(h.replace("sha256:", "").slice(0, 10)) : "-");
  const out = [`deploy ${short(view.deployCommit)} from main ${short(view.sourceCommit)}`];
  for (const s of sites) {
    out.push(
      "",
      `${p.bold(printable(s.site))}  last seen ${printable(s.lastSeen ?? "never")}  applied deploy ${short(s.appliedDeployCommit)}  ${s.converged ? p.green("converged") : p.yellow("converging")}`,
    );
    if (s.nodes) {
      const node = (n: NonNullable<typeof s.nodes>[number]) => {
        const role = n.role === "active" ? p.green("active") : n.role === "standby" ? "standby" : p.yellow(n.role);
        const lag = n.replicationLagMs === null ? "" : `, lag ${n.replicationLagMs} ms`;
        return `${printable(n.node)} ${role} (epoch ${n.epoch}${lag})`;
      };
      out.push(`  pair  ${s.nodes.map(node).join(", ")}`);
    }
    const sf = s.storeAndForward;
    if (sf) {
      const parked = sf.parked ? p.red(`${sf.parked} parked`) : "0 parked";
      const held = sf.held ? p.yellow(`, ${sf.held} target${sf.held === 1 ? "" : "s"} held`) : "";
      out.push(
        `  store-and-forward  ${sf.queued} queued${sf.oldestQueuedAt ? ` (oldest ${printable(sf.oldestQueuedAt)})` : ""}, ${parked}${held}`,
      );
      for (const [key, t] of Object.entries(sf.targets))
        if (t && (t.queued || t.parked || !t.configured))
          out.push(
            `    ${printable(key).padEnd(40)} ${t.queued} queued, ${t.parked} parked${t.configured ? "" : p.yellow("  held (not defined in site.json, or no delivery for its kind)")}`,
          );
    }
    out.push(`  ${"instance".padEnd(24)} ${"desired".padEnd(10)} ${"applied".padEnd(10)} ${"state".padEnd(9)} result`);
    for (const i of s.instances) {
      const mark = i.desired === i.applied ? " " : p.yellow("*");
      out.push(
        `${mark} ${printable(i.name).padEnd(24)} ${short(i.desired).padEnd(10)} ${short(i.applied).padEnd(10)} ${printable(i.state ?? "-").padEnd(9)} ${printable(i.result ?? "-")}${i.stale ? p.dim("  stale") : ""}`,
      );
    }
  }
  if (batches.length) {
    out.push("", p.bold("batches"));
    for (const b of batches)
      out.push(
        `  ${printable(b.batch)}  ${printable(b.phase)}  ${printable(b.state)}  ${b.counts.passed}/${b.counts.selected} passed, ${b.counts.failed} failed${b.reason ? p.dim(`  ${printable(b.reason)}`) : ""}`,
      );
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

/** A site's store-and-forward backlog (totals, oldest queued, targets held) and its targets as reported. */
function backlog(status: SiteStatus | undefined) {
  const totals = siteBacklog(status);
  return totals ? { ...totals, targets: status!.health.storeAndForward! } : null;
}
