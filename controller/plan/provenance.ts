import type { DeploymentPackage } from "../../schemas/types.js";
import type { ResolvedInstance } from "../compiler/flatten/instance.js";
import type { Member, OriginRef } from "../compiler/flatten/members.js";
import { atValue } from "../compiler/load/positions.js";
import { ownerOf } from "../compiler/model.js";

/** One field of a package with where its value was written: file:line:column and the layer (template, instance). */
export interface ProvenanceRow {
  field: string;
  value: unknown;
  where: string;
  layer: string;
}

export interface ProvenanceSection {
  /** "instance", "attribute Speed", "alarm OverSpeed", "script Limit". */
  title: string;
  rows: ProvenanceRow[];
}

function place(o: OriginRef | undefined): { where: string; layer: string } {
  if (!o) return { where: "", layer: "" };
  const l = atValue(o.obj, o.key);
  return { where: `${l.file}:${l.line}:${l.column}`, layer: o.layer };
}

function rowsOf(m: Member, pkgMember: Record<string, unknown>): ProvenanceRow[] {
  const rows: ProvenanceRow[] = [];
  const add = (field: string, value: unknown, origin: OriginRef | undefined) =>
    rows.push({ field, value, ...place(origin) });
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

/** Every field of an instance's package with the file, line and layer its value came from (`flatten --explain`). */
export function provenance(r: ResolvedInstance, pkg: DeploymentPackage): ProvenanceSection[] {
  const { decl } = r;
  const instRows: ProvenanceRow[] = [];
  for (const f of ["site", "area", "template", "state", "connection"] as const) {
    const owner = ownerOf(decl, f);
    if (!Object.hasOwn(owner, f)) continue;
    const l = atValue(owner, f);
    instRows.push({
      field: f,
      value: owner[f],
      where: `${l.file}:${l.line}:${l.column}`,
      layer: `Instance ${decl.id}`,
    });
  }
  const out: ProvenanceSection[] = [{ title: "instance", rows: instRows }];
  const byPath = new Map(r.members.map((m) => [m.path, m]));
  const sections: [string, { path: string }[]][] = [
    ["attribute", pkg.attributes],
    ["alarm", pkg.alarms],
    ["script", pkg.scripts],
  ];
  for (const [kind, list] of sections)
    for (const entry of list) {
      const m = byPath.get(entry.path);
      if (m) out.push({ title: `${kind} ${entry.path}`, rows: rowsOf(m, entry as Record<string, unknown>) });
    }
  return out;
}
