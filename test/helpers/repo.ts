import { expect } from "vitest";
import { type Compilation, compileFiles, type SourceFile } from "../../controller/compiler/compile.js";
import type { Diagnostic } from "../../controller/compiler/diagnostics.js";
import type { RuleId } from "../../controller/compiler/rules/registry.js";

/** Files of a repo by path. A `#!` comment marks the line a diagnostic is expected on. */
export type Files = Record<string, string | undefined>;

/** Removes the common indentation of a template literal, so fixtures can be indented in code. */
export function y(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ""), "");
  const lines = raw.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines
    .map((l) => l.slice(indent))
    .join("\n")
    .replace(/\s+$/, "\n");
}

export function toSources(files: Files): SourceFile[] {
  return Object.entries(files)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([path, text]) => ({ path, text }));
}

export function compile(files: Files): Compilation {
  return compileFiles(toSources(files));
}

/** 1-based line of the first line containing `marker` (default "#!"). */
export function lineOf(text: string, marker = "#!"): number {
  const i = text.split("\n").findIndex((l) => l.includes(marker));
  if (i === -1) throw new Error(`marker ${marker} not found`);
  return i + 1;
}

export function errorsOf(c: Compilation): Diagnostic[] {
  return c.diagnostics.filter((d) => d.severity === "error");
}

export function byRule(c: Compilation, rule: RuleId): Diagnostic[] {
  return c.diagnostics.filter((d) => d.rule === rule);
}

/** Expects exactly the given problems (rule, file, line), in any order, and nothing else of severity error. */
export function expectOnly(c: Compilation, expected: { rule: RuleId; file: string; line: number }[]): void {
  const got = c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.rule} ${d.file}:${d.line}`);
  expect(got.sort()).toEqual(expected.map((e) => `${e.rule} ${e.file}:${e.line}`).sort());
}

export function describeDiagnostics(c: Compilation): string {
  return c.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.severity} ${d.rule} ${d.message}`).join("\n");
}
