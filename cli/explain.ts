import type { ResolvedInstance } from "../controller/compiler/flatten/instance.js";
import type { Member, OriginRef } from "../controller/compiler/flatten/members.js";
import { atValue } from "../controller/compiler/load/positions.js";
import { ownerOf } from "../controller/compiler/model.js";
import type { DeploymentPackage } from "../schemas/types.js";
import type { Palette } from "./output/color.js";

interface Row {
  field: string;
  value: string;
  where: string;
  layer: string;
}

const MAX_VALUE = 48;

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v.includes("\n") ? `${v.split("\n")[0]} …` : v) : JSON.stringify(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

function place(o: OriginRef | undefined): { where: string; layer: string } {
  if (!o) return { where: "", layer: "" };
  const l = atValue(o.obj, o.key);
  return { where: `${l.file}:${l.line}:${l.column}`, layer: o.layer };
}

function rowsOf(m: Member, pkgMember: Record<string, unknown>): Row[] {
  const rows: Row[] = [];
  const add = (field: string, value: unknown, origin: OriginRef | undefined) =>
    rows.push({ field, value: show(value), ...place(origin) });
  for (const [field, value] of Object.entries(pkgMember)) {
    if (field === "path") continue;
    if (field === "trigger" && value && typeof value === "object") {
      for (const [k, v] of Object.entries(value))
        add(`trigger.${k}`, v, m.origins[`trigger.${k}`] ?? m.origins.trigger);
    } else add(field, value, m.origins[field] ?? (field === "scope" ? undefined : m.origins.name));
  }
  if (m.locked) add("locked", true, m.lockedBy);
  return rows;
}

/** `flatten --explain`: every field of the package with the file, line and layer its value came from. */
export function explain(r: ResolvedInstance, pkg: DeploymentPackage, p: Palette): string {
  const { decl } = r;
  const lines: string[] = [];
  lines.push(`${p.bold(decl.id)}  template ${r.flat.chain.join(" ← ")}  ${p.dim(pkg.revisionHash)}`);
  const instRows: Row[] = [];
  for (const f of ["site", "area", "template", "state", "connection"] as const) {
    const owner = ownerOf(decl, f);
    if (!Object.hasOwn(owner, f)) continue;
    const l = atValue(owner, f);
    instRows.push({
      field: f,
      value: show(owner[f]),
      where: `${l.file}:${l.line}:${l.column}`,
      layer: `Instance ${decl.id}`,
    });
  }
  lines.push(...table("instance", instRows, p));
  const byPath = new Map(r.members.map((m) => [m.path, m]));
  const sections: [string, { path: string }[]][] = [
    ["attribute", pkg.attributes],
    ["alarm", pkg.alarms],
    ["script", pkg.scripts],
  ];
  for (const [kind, list] of sections) {
    for (const entry of list) {
      const m = byPath.get(entry.path);
      if (m) lines.push(...table(`${kind} ${entry.path}`, rowsOf(m, entry as Record<string, unknown>), p));
    }
  }
  return `${lines.join("\n")}\n`;
}

function table(title: string, rows: Row[], p: Palette): string[] {
  const w = (k: keyof Row) => Math.max(0, ...rows.map((r) => r[k].length));
  const [wf, wv, ww] = [w("field"), w("value"), w("where")];
  return [
    `  ${title}`,
    ...rows.map((r) =>
      `    ${r.field.padEnd(wf)}  ${r.value.padEnd(wv)}  ${r.where.padEnd(ww)}  ${p.dim(r.layer)}`.trimEnd(),
    ),
  ];
}
