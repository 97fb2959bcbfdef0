import { describe, expect, it } from "vitest";
import { RULES, type RuleId } from "../../controller/compiler/rules/registry.js";
import { compile, describeDiagnostics, lineOf } from "../helpers/repo.js";
import { CASES, NOT_COVERED_HERE } from "./cases.js";

describe("every rule id", () => {
  it("has a trigger and a near miss (except rules that need the deploy branch)", () => {
    const covered = new Set(CASES.map((c) => c.rule));
    const missing = (Object.keys(RULES) as RuleId[]).filter((r) => !covered.has(r) && !NOT_COVERED_HERE.includes(r));
    expect(missing).toEqual([]);
  });
});

describe.each(CASES)("$rule", (c) => {
  it(`fires on ${c.title}, at the offending line`, () => {
    const result = compile(c.trigger);
    const text = c.trigger[c.file];
    const line = c.line ?? lineOf(text!);
    const hits = result.diagnostics.filter((d) => d.rule === c.rule);
    expect(
      hits.map((d) => `${d.file}:${d.line}`),
      describeDiagnostics(result),
    ).toContain(`${c.file}:${line}`);
    expect(hits.every((d) => d.severity === RULES[c.rule].severity || d.rule === "batch-unknown-instance")).toBe(true);
    // Nothing unrelated fires: the variant changes one thing.
    const others = result.diagnostics.filter(
      (d) => d.severity === "error" && d.rule !== c.rule && !(c.alongside ?? []).includes(d.rule),
    );
    expect(others, describeDiagnostics(result)).toEqual([]);
  });

  it("does not fire on the near miss", () => {
    const result = compile(c.nearMiss);
    expect(result.diagnostics.filter((d) => d.rule === c.rule)).toEqual([]);
    expect(result.errorCount, describeDiagnostics(result)).toBe(0);
  });
});
