import { RULES, type RuleId, type Severity } from "./rules/registry.js";

/**
 * A problem found in the config repo. file is relative to the repo root; line and column are 1-based (columns in
 * UTF-16 code units). endLine and endColumn, where the YAML node has an extent, end the range: endColumn is the
 * column just after its last character (as in SARIF and LSP).
 */
export interface Diagnostic {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
}

/**
 * Where something is. Positions of YAML nodes also carry where the node ends: those two fields are not enumerable,
 * so a Loc still compares, spreads and serializes as { file, line, column } wherever it was used as one; only
 * diagnostic() reads them.
 */
export interface Loc {
  file: string;
  line: number;
  column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
}

/** A Loc ending at (endLine, endColumn), endColumn exclusive. */
export function withEnd(loc: Loc, endLine: number, endColumn: number): Loc {
  return Object.defineProperties(loc, { endLine: { value: endLine }, endColumn: { value: endColumn } });
}

export function diagnostic(
  rule: RuleId,
  loc: Loc,
  message: string,
  severity: Severity = RULES[rule].severity,
): Diagnostic {
  const d: Diagnostic = { rule, severity, message, file: loc.file, line: loc.line, column: loc.column };
  if (loc.endLine !== undefined && loc.endColumn !== undefined) {
    d.endLine = loc.endLine;
    d.endColumn = loc.endColumn;
  }
  return d;
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
