import canonicalize from "canonicalize";
import type { Batch } from "../../../schemas/types.js";
import { matchRule } from "../batch-select.js";
import type { Report } from "../diagnostics.js";
import { atKey, atValue } from "../load/positions.js";
import type { RepoIndex } from "../repo-index.js";
import { didYouMean } from "../text.js";

/**
 * batch-unknown-instance (a warning when the id was deployed before: selecting it releases its deletion),
 * batch-unknown-dependency, batch-cycle, batch-immutable (given the released selections), and the
 * batch-empty-match warning.
 */
export function checkBatches(
  index: RepoIndex,
  chainOf: (template: string) => readonly string[],
  report: Report,
  deployed: ReadonlySet<string> | undefined,
  released: ReadonlyMap<string, unknown> | undefined,
): void {
  for (const [name, doc] of index.batches) {
    if (!doc.usable) continue;
    const b: Batch = doc.data;
    if (released?.has(name) && canonicalize(b.select) !== canonicalize(released.get(name))) {
      report.add(
        "batch-immutable",
        atKey(b as object, "select"),
        `batch ${name} was released: its selection cannot change; release further changes with a new batch`,
      );
    }
    (b.select.instances ?? []).forEach((id, i) => {
      if (index.instances.has(id) || index.ghosts.has("Instance", id)) return;
      const loc = atValue(b.select.instances!, i);
      if (deployed?.has(id)) {
        report.add(
          "batch-unknown-instance",
          loc,
          `${id} no longer exists: this batch releases its deletion`,
          "warning",
        );
      } else {
        report.add(
          "batch-unknown-instance",
          loc,
          `batch ${name} selects "${id}", which is not an instance${didYouMean(id, index.instances.keys())}`,
        );
      }
    });
    (b.select.match ?? []).forEach((rule, i) => {
      if (matchRule(rule, index, chainOf).length === 0) {
        report.add(
          "batch-empty-match",
          atValue(b.select.match!, i),
          `this match rule of batch ${name} selects no instance`,
        );
      }
    });
    (b.after ?? []).forEach((dep, i) => {
      if (!index.batches.has(dep) && !index.ghosts.has("Batch", dep)) {
        report.add(
          "batch-unknown-dependency",
          atValue(b.after!, i),
          `after: no batch "${dep}"${didYouMean(dep, index.batches.keys())}`,
        );
      }
    });
  }
  reportCycles(index, report);
}

/** batch-cycle: follow `after` from each batch; a batch that reaches itself is on a cycle. */
function reportCycles(index: RepoIndex, report: Report): void {
  const after = (n: string): string[] => {
    const doc = index.batches.get(n);
    return doc?.usable ? (doc.data.after ?? []).filter((d) => index.batches.has(d)) : [];
  };
  for (const [name, doc] of index.batches) {
    if (!doc.usable) continue;
    (doc.data.after ?? []).forEach((dep, i) => {
      const path = pathBetween(dep, name, after);
      if (path)
        report.add(
          "batch-cycle",
          atValue(doc.data.after!, i),
          `after ${dep} makes a cycle: ${[name, ...path].join(" → ")}`,
        );
    });
  }
}

function pathBetween(from: string, to: string, next: (n: string) => string[]): string[] | undefined {
  const prev = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const n = queue.shift()!;
    if (n === to) {
      const path: string[] = [];
      for (let c: string | null | undefined = n; c != null; c = prev.get(c)) path.push(c);
      return path.reverse();
    }
    for (const m of next(n)) {
      if (!prev.has(m)) {
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return undefined;
}
