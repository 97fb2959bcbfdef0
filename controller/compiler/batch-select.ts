import type { MatchRule } from "../../schemas/types.js";
import type { InstanceDecl } from "./model.js";
import type { RepoIndex } from "./repo-index.js";

/** Does an instance match every field of a batch match rule? `chain` is its template and ancestors. */
export function matchesRule(decl: InstanceDecl, rule: MatchRule, chain: readonly string[]): boolean {
  if (rule.site !== undefined && decl.site !== rule.site) return false;
  if (rule.template !== undefined && !chain.includes(rule.template)) return false;
  if (rule.area !== undefined && decl.area !== rule.area && !decl.area?.startsWith(`${rule.area}/`)) return false;
  for (const [k, v] of Object.entries(rule.labels ?? {})) if (decl.labels[k] !== v) return false;
  return true;
}

/** The instance ids a match rule selects, sorted. */
export function matchRule(
  rule: MatchRule,
  index: RepoIndex,
  chainOf: (template: string) => readonly string[],
): string[] {
  const out: string[] = [];
  for (const [id, decl] of index.instances) if (matchesRule(decl, rule, chainOf(decl.template))) out.push(id);
  return out.sort();
}
