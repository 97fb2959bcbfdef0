import type { Report } from "../diagnostics.js";
import { atValue } from "../load/positions.js";
import type { RepoIndex } from "../repo-index.js";

/** unused-template (warning): a template no instance uses and no template extends or composes. */
export function checkUnusedTemplates(index: RepoIndex, report: Report): void {
  const used = new Set<string>();
  for (const decl of index.instances.values()) used.add(decl.template);
  for (const doc of index.templates.values()) {
    if (typeof doc.data.extends === "string") used.add(doc.data.extends);
    for (const c of Array.isArray(doc.data.compose) ? doc.data.compose : [])
      if (c && typeof c.template === "string") used.add(c.template);
  }
  for (const [name, doc] of index.templates) {
    if (!used.has(name))
      report.add(
        "unused-template",
        atValue(doc.data, "name"),
        `template ${name} is not used by any instance, extends or compose`,
      );
  }
}
