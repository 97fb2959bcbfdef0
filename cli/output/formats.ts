import type { Diagnostic } from "../../controller/compiler/diagnostics.js";
import { RULES } from "../../controller/compiler/rules/registry.js";
import type { ValidateResult } from "../../schemas/types.js";
import type { Palette } from "./color.js";

export type Format = "text" | "json" | "github" | "sarif";
export const FORMATS: readonly Format[] = ["text", "json", "github", "sarif"];

export interface Outcome {
  diagnostics: Diagnostic[];
  stats: { documents: number; templates: number; instances: number; sites: number };
  durationMs: number;
}

function counts(o: Outcome) {
  const errors = o.diagnostics.filter((d) => d.severity === "error").length;
  return { errors, warnings: o.diagnostics.length - errors };
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;

/** The closing line: problem counts, what was checked, how long it took. */
export function summaryLine(o: Outcome, p: Palette): string {
  const { errors, warnings } = counts(o);
  const s = o.stats;
  const what = `${plural(s.instances, "instance")}, ${plural(s.templates, "template")}, ${plural(s.sites, "site")} in ${plural(s.documents, "document")}`;
  const ms = `${Math.round(o.durationMs)} ms`;
  if (errors === 0 && warnings === 0) return `${p.green("✔")} no problems · ${what} · ${ms}`;
  const parts = [
    errors ? p.red(plural(errors, "error")) : "",
    warnings ? p.yellow(plural(warnings, "warning")) : "",
  ].filter(Boolean);
  return `${errors ? p.red("✖") : p.yellow("⚠")} ${parts.join(", ")} · ${what} · ${ms}`;
}

/** Compiler-style lines: `file:line:col  error  message  rule`, then the summary line. */
export function formatText(o: Outcome, p: Palette): string {
  const lines = o.diagnostics.map((d) => {
    const sev = d.severity === "error" ? p.red("error") : p.yellow("warning");
    return `${d.file}:${d.line}:${d.column}  ${sev}  ${d.message}  ${p.dim(d.rule)}`;
  });
  lines.push(summaryLine(o, p));
  return `${lines.join("\n")}\n`;
}

/** Exactly one JSON object (schemas/validate-result.schema.json). */
export function toValidateResult(o: Outcome): ValidateResult {
  const { errors, warnings } = counts(o);
  return {
    ok: errors === 0,
    errorCount: errors,
    warningCount: warnings,
    diagnostics: o.diagnostics.map(({ rule, severity, message, file, line, column, endLine, endColumn }) =>
      endLine !== undefined && endColumn !== undefined
        ? { rule, severity, message, file, line, column, endLine, endColumn }
        : { rule, severity, message, file, line, column },
    ),
    stats: { ...o.stats, durationMs: Math.round(o.durationMs * 1000) / 1000 },
  };
}

export function formatJson(o: Outcome): string {
  return `${JSON.stringify(toValidateResult(o))}\n`;
}

// GitHub Actions workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
const escData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escProp = (s: string) => escData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/**
 * Where an annotation goes. GitHub takes columns only for a range on one line (col and endColumn "cannot be sent
 * when startLine and endLine are different values"), so a range over several lines gives its lines alone.
 */
function githubPosition(d: Diagnostic): string {
  if (d.endLine === undefined || d.endColumn === undefined) return `line=${d.line},col=${d.column}`;
  if (d.endLine === d.line) return `line=${d.line},col=${d.column},endLine=${d.endLine},endColumn=${d.endColumn}`;
  return `line=${d.line},endLine=${d.endLine}`;
}

export function formatGithub(o: Outcome, p: Palette): string {
  const lines = o.diagnostics.map(
    (d) =>
      `::${d.severity} file=${escProp(d.file)},${githubPosition(d)},title=${escProp(d.rule)}::${escData(d.message)}`,
  );
  lines.push(summaryLine(o, p));
  return `${lines.join("\n")}\n`;
}

/**
 * A repo-relative path as a SARIF artifact URI: a relative reference (RFC 3986) with each segment percent-encoded
 * as UTF-8 and the '/' separators kept, so spaces, non-ASCII letters, '#', '?' and '%' in file names survive.
 */
export function sarifUri(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** A SARIF region: the end where the diagnostic has one; without it, SARIF's default (the rest of the line). */
function sarifRegion(d: Diagnostic) {
  const start = { startLine: d.line, startColumn: d.column };
  return d.endLine !== undefined && d.endColumn !== undefined
    ? { ...start, endLine: d.endLine, endColumn: d.endColumn }
    : start;
}

export function toSarif(o: Outcome, version: string): object {
  const ids = Object.keys(RULES) as (keyof typeof RULES)[];
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "scadalink",
            version,
            rules: ids.map((id) => ({
              id,
              shortDescription: { text: RULES[id].summary },
              defaultConfiguration: { level: RULES[id].severity === "error" ? "error" : "warning" },
            })),
          },
        },
        // Columns count UTF-16 code units, as the diagnostics do (SARIF's default, said explicitly).
        columnKind: "utf16CodeUnits",
        results: o.diagnostics.map((d) => ({
          ruleId: d.rule,
          ruleIndex: ids.indexOf(d.rule),
          level: d.severity,
          message: { text: d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: sarifUri(d.file), uriBaseId: "%SRCROOT%" },
                region: sarifRegion(d),
              },
            },
          ],
        })),
      },
    ],
  };
}

export function formatOutcome(format: Format, o: Outcome, p: Palette, version: string): string {
  switch (format) {
    case "json":
      return formatJson(o);
    case "github":
      return formatGithub(o, p);
    case "sarif":
      return `${JSON.stringify(toSarif(o, version), null, 2)}\n`;
    default:
      return formatText(o, p);
  }
}
