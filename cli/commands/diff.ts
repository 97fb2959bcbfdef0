import { diffPackages, formatChange } from "../../controller/plan/diff.js";
import { GitSource } from "../../controller/sources/git-tree.js";
import type { DeploymentPackage } from "../../schemas/types.js";
import { palette } from "../output/color.js";
import { formatText } from "../output/formats.js";
import { openRepo } from "../repo-access.js";
import { repoRoot, UsageError } from "./validate.js";

export interface DiffOptions {
  repo: string;
  format: "text" | "json";
}

/** `scadalink diff A B`: the member-level difference of the compiled state of two commits; exit 1 when they differ. */
export async function diffCommand(refA: string, refB: string, o: DiffOptions): Promise<number> {
  const repo = await openRepo(await repoRoot(o.repo));
  const source = new GitSource(repo);
  const packages = async (ref: string): Promise<Map<string, DeploymentPackage> | undefined> => {
    const oid = await repo.revision(ref);
    if (!oid) throw new UsageError(`no commit ${ref}`);
    const c = await source.compile(oid);
    if (c.errorCount > 0) {
      process.stderr.write(`${ref} does not compile:\n`);
      process.stderr.write(
        formatText({ diagnostics: c.diagnostics, stats: c.stats, durationMs: 0 }, palette(process.stderr)),
      );
      return undefined;
    }
    return new Map(c.packages().map((p) => [`${p.instance.site}/${p.instance.name}`, p]));
  };
  const a = await packages(refA);
  const b = await packages(refB);
  if (!a || !b) return 1;
  const out: { id: string; status: "added" | "removed" | "changed"; changes: string[] }[] = [];
  for (const id of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(id);
    const y = b.get(id);
    if (!x) out.push({ id, status: "added", changes: [] });
    else if (!y) out.push({ id, status: "removed", changes: [] });
    else if (x.revisionHash !== y.revisionHash)
      out.push({ id, status: "changed", changes: diffPackages(x, y).map(formatChange) });
  }
  if (o.format === "json")
    process.stdout.write(`${JSON.stringify({ from: refA, to: refB, instances: out }, null, 2)}\n`);
  else {
    const p = palette(process.stdout);
    for (const d of out) {
      if (d.status === "added") process.stdout.write(p.green(`+ ${d.id}\n`));
      else if (d.status === "removed") process.stdout.write(p.red(`- ${d.id}\n`));
      else for (const ch of d.changes) process.stdout.write(`${d.id.split("/")[1]} ${ch}  ${p.dim(d.id)}\n`);
    }
    process.stdout.write(
      `${out.length ? `${out.length} instance${out.length === 1 ? "" : "s"} differ` : "no difference"} between ${refA} and ${refB}\n`,
    );
  }
  return out.length ? 1 : 0;
}
