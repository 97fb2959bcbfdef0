import { RULES, type RuleId, type Severity } from "./rules/registry.js";

/** A problem found in the config repo. file is relative to the repo root; line and column are 1-based. */
export interface Diagnostic {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
}

export interface Loc {
  file: string;
  line: number;
  column: number;
}

export function diagnostic(
  rule: RuleId,
  loc: Loc,
  message: string,
  severity: Severity = RULES[rule].severity,
): Diagnostic {
  return { rule, severity, message, file: loc.file, line: loc.line, column: loc.column };
}

/** Collects diagnostics; handed to every check so all problems are reported in one run. */
export class Report {
  readonly items: Diagnostic[] = [];
  add(rule: RuleId, loc: Loc, message: string, severity?: Severity): void {
    this.items.push(diagnostic(rule, loc, message, severity));
  }
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return (
    a.line - b.line ||
    a.column - b.column ||
    (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) ||
    cmp(a.message, b.message)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function countBySeverity(diags: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const d of diags) if (d.severity === "error") errors++;
  return { errors, warnings: diags.length - errors };
}
