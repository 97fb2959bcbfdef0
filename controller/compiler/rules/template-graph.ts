import type { Loc, Report } from "../diagnostics.js";
import { atValue } from "../load/positions.js";
import type { RepoIndex } from "../repo-index.js";
import { didYouMean } from "../text.js";

interface Edge {
  to: string;
  kind: "extends" | "compose";
  loc: Loc;
}

/**
 * unknown-template for extends and compose, inheritance-cycle and composition-cycle (a cycle with at least
 * one compose edge, possibly mixed with extends). Returns the templates on a cycle: they are not flattened.
 */
export function checkTemplateGraph(index: RepoIndex, report: Report): Set<string> {
  const edges = new Map<string, Edge[]>();
  for (const [name, doc] of index.templates) {
    const out: Edge[] = [];
    const data = doc.data;
    if (typeof data.extends === "string") {
      const loc = atValue(data, "extends");
      if (index.templates.has(data.extends)) out.push({ to: data.extends, kind: "extends", loc });
      else if (!index.ghosts.has("Template", data.extends))
        report.add(
          "unknown-template",
          loc,
          `extends: no template "${data.extends}"${didYouMean(data.extends, index.templates.keys())}`,
        );
    }
    for (const c of Array.isArray(data.compose) ? data.compose : []) {
      if (!c || typeof c.template !== "string") continue;
      const loc = atValue(c, "template");
      if (index.templates.has(c.template)) out.push({ to: c.template, kind: "compose", loc });
      else if (!index.ghosts.has("Template", c.template))
        report.add(
          "unknown-template",
          loc,
          `compose ${c.name}: no template "${c.template}"${didYouMean(c.template, index.templates.keys())}`,
        );
    }
    edges.set(name, out);
  }

  const cyclic = new Set<string>();
  for (const scc of stronglyConnected(edges)) {
    const members = new Set(scc);
    const single = scc.length === 1 && !(edges.get(scc[0]!) ?? []).some((e) => e.to === scc[0]);
    if (single) continue;
    const inner = scc.flatMap((n) =>
      (edges.get(n) ?? []).filter((e) => members.has(e.to)).map((e) => ({ from: n, ...e })),
    );
    const rule = inner.some((e) => e.kind === "compose") ? "composition-cycle" : "inheritance-cycle";
    for (const e of inner) {
      cyclic.add(e.from);
      const path = cyclePath(e.from, e.to, edges, members);
      report.add(
        rule,
        e.loc,
        `${e.kind === "extends" ? "extends" : "composes"} ${e.to}, which leads back to ${e.from}: ${path.join(" → ")}`,
      );
    }
  }
  return cyclic;
}

/** The cycle through the edge from → to, as the shortest walk from → to → … → from inside the component. */
function cyclePath(from: string, to: string, edges: Map<string, Edge[]>, members: Set<string>): string[] {
  const prev = new Map<string, string | null>([[to, null]]);
  const queue = [to];
  while (queue.length && !prev.has(from)) {
    const n = queue.shift()!;
    for (const e of edges.get(n) ?? []) {
      if (members.has(e.to) && !prev.has(e.to)) {
        prev.set(e.to, n);
        queue.push(e.to);
      }
    }
  }
  const back: string[] = []; // from, …, to
  for (let n: string | null | undefined = from; n != null; n = prev.get(n)) back.push(n);
  return [from, ...back.reverse()];
}

/** Tarjan's algorithm, iterative (no recursion on deep chains). */
function stronglyConnected(edges: Map<string, Edge[]>): string[][] {
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of edges.keys()) {
    if (indexOf.has(root)) continue;
    const work: { node: string; i: number }[] = [{ node: root, i: 0 }];
    indexOf.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const out_ = edges.get(top.node) ?? [];
      if (top.i < out_.length) {
        const next = out_[top.i++]!.to;
        if (!indexOf.has(next)) {
          indexOf.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push({ node: next, i: 0 });
        } else if (onStack.has(next)) low.set(top.node, Math.min(low.get(top.node)!, indexOf.get(next)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === indexOf.get(top.node)) {
        const comp: string[] = [];
        for (;;) {
          const n = stack.pop()!;
          onStack.delete(n);
          comp.push(n);
          if (n === top.node) break;
        }
        out.push(comp);
      }
    }
  }
  return out;
}
