import type { ResolvedInstance } from "../controller/compiler/flatten/instance.js";
import { type ProvenanceRow, provenance } from "../controller/plan/provenance.js";
import type { DeploymentPackage } from "../schemas/types.js";
import type { Palette } from "./output/color.js";

const MAX_VALUE = 48;

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v.includes("\n") ? `${v.split("\n")[0]} …` : v) : JSON.stringify(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

/** `flatten --explain`: every field of the package with the file, line and layer its value came from. */
export function explain(r: ResolvedInstance, pkg: DeploymentPackage, p: Palette): string {
  const lines: string[] = [];
  lines.push(`${p.bold(r.decl.id)}  template ${r.flat.chain.join(" ← ")}  ${p.dim(pkg.revisionHash)}`);
  for (const s of provenance(r, pkg)) lines.push(...table(s.title, s.rows, p));
  return `${lines.join("\n")}\n`;
}

function table(title: string, rows: ProvenanceRow[], p: Palette): string[] {
  const shown = rows.map((r) => ({ ...r, value: show(r.value) }));
  const w = (k: "field" | "value" | "where") => Math.max(0, ...shown.map((r) => r[k].length));
  const [wf, wv, ww] = [w("field"), w("value"), w("where")];
  return [
    `  ${title}`,
    ...shown.map((r) =>
      `    ${r.field.padEnd(wf)}  ${r.value.padEnd(wv)}  ${r.where.padEnd(ww)}  ${p.dim(r.layer)}`.trimEnd(),
    ),
  ];
}
