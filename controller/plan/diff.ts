import type { DeploymentPackage } from "../../schemas/types.js";

/** One difference between two packages of an instance: a member or field added, removed or changed. */
export interface Change {
  /** What changed: `Speed.tag`, `alarm OverSpeed`, `state`, `LogOver.code`. */
  what: string;
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
  /** For code: lines added and removed. */
  lines?: { added: number; removed: number };
}

type Member = Record<string, unknown> & { path: string };

/** A member's fields as dotted names (trigger.value), without its path. */
function fields(m: Member): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(m)) {
    if (k === "path") continue;
    if (v && typeof v === "object" && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v)) out.set(`${k}.${k2}`, v2);
    else out.set(k, v);
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Lines added and removed between two texts (as multisets of lines: enough for a summary). */
function lineDelta(before: string, after: string): { added: number; removed: number } {
  const count = new Map<string, number>();
  for (const l of before.split("\n")) count.set(l, (count.get(l) ?? 0) + 1);
  let added = 0;
  for (const l of after.split("\n")) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added++;
  }
  let removed = 0;
  for (const n of count.values()) removed += n;
  return { added, removed };
}

/**
 * The member-level difference of two packages of one instance (before undefined: added; after undefined:
 * removed), in a stable order: instance fields, then members by kind and path.
 */
export function diffPackages(before: DeploymentPackage | undefined, after: DeploymentPackage | undefined): Change[] {
  if (!before || !after) return [];
  const out: Change[] = [];
  const header = (p: DeploymentPackage) =>
    new Map<string, unknown>([
      ["area", p.instance.area],
      ["template", p.instance.template],
      ["state", p.instance.state],
      ["templateChain", p.templateChain],
      ["sharedScripts", p.sharedScripts],
      ...Object.entries(p.instance.labels).map(([k, v]) => [`labels.${k}`, v] as [string, unknown]),
    ]);
  compareFields(header(before), header(after), "", out);
  for (const kind of ["attributes", "alarms", "scripts"] as const) {
    const label = kind.slice(0, -1);
    const a = new Map((before[kind] as unknown as Member[]).map((m) => [m.path, m]));
    const b = new Map((after[kind] as unknown as Member[]).map((m) => [m.path, m]));
    for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const x = a.get(path);
      const y = b.get(path);
      if (!x) out.push({ what: `${label} ${path}`, kind: "added" });
      else if (!y) out.push({ what: `${label} ${path}`, kind: "removed" });
      else compareFields(fields(x), fields(y), `${path}.`, out);
    }
  }
  return out;
}

function compareFields(a: Map<string, unknown>, b: Map<string, unknown>, prefix: string, out: Change[]): void {
  for (const key of [...new Set([...a.keys(), ...b.keys()])]) {
    const x = a.get(key);
    const y = b.get(key);
    if (same(x, y)) continue;
    const what = `${prefix}${key}`;
    if (key === "code" && typeof x === "string" && typeof y === "string")
      out.push({ what, kind: "changed", lines: lineDelta(x, y) });
    else if (x === undefined) out.push({ what, kind: "added", after: y });
    else if (y === undefined) out.push({ what, kind: "removed", before: x });
    else out.push({ what, kind: "changed", before: x, after: y });
  }
}

const MAX_VALUE = 80;
function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

/** `Speed.tag: "ns=2;s=A" → "ns=2;s=B"`, `+ alarm HighTemp`, `LogOver.code: changed (+2 −1 lines)`. */
export function formatChange(c: Change): string {
  if (c.lines) return `${c.what}: changed (+${c.lines.added} −${c.lines.removed} lines)`;
  if (c.kind === "added") return c.after === undefined ? `+ ${c.what}` : `${c.what}: + ${show(c.after)}`;
  if (c.kind === "removed") return c.before === undefined ? `- ${c.what}` : `${c.what}: - ${show(c.before)}`;
  return `${c.what}: ${show(c.before)} → ${show(c.after)}`;
}
