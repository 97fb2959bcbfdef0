import { describe, expect, it } from "vitest";
import { fitValue } from "../../controller/compiler/rules/values.js";
import { variant } from "../helpers/base-repo.js";
import { byRule, compile, y } from "../helpers/repo.js";

describe("fitValue", () => {
  it.each([
    ["Boolean", true, true],
    ["Boolean", "true", false],
    ["Int32", 2147483647, true],
    ["Int32", 2147483648, false],
    ["Int32", 1.5, false],
    ["Int32", 1500.0, true],
    ["Int64", 9007199254740991, true],
    ["Int64", 9007199254740992, false],
    ["Float", 3.4e38, true],
    ["Float", 3.5e38, false],
    ["Double", 1.7e308, true],
    ["Double", "1.5", false],
    ["String", "1.5", true],
    ["String", 15, false],
    ["DateTime", "2026-04-20T08:00:00Z", true],
    ["DateTime", "2026-04-20T08:00:00+02:00", true],
    ["DateTime", "2026-04-20", false],
    ["DateTime", "2026-13-45T99:00:00Z", false],
  ] as const)("%s accepts %j: %s", (dt, v, ok) => {
    expect(fitValue(v, dt).ok).toBe(ok);
  });

  it("normalises one instant written two ways to the same value", () => {
    expect(fitValue("2026-04-20T10:00:00+02:00", "DateTime")).toEqual({ ok: true, value: "2026-04-20T08:00:00.000Z" });
    expect(fitValue("2026-04-20T08:00:00Z", "DateTime")).toEqual({ ok: true, value: "2026-04-20T08:00:00.000Z" });
  });

  it("never echoes a string value in its reason (it could be a credential)", () => {
    const r = fitValue("s3cr3t-value", "Int32");
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain("s3cr3t");
  });
});

describe("value-type-mismatch in the repo", () => {
  it("checks template defaults, instance overrides and alarm operands, at the value", () => {
    const gauge = y`
          kind: Template
          name: Gauge
          attributes:
            - { name: Count, dataType: Int32, value: 2.5 }
            - { name: On, dataType: Boolean, source: data, tag: "{{instance}}.On" }
          alarms:
            - { name: A, trigger: { type: match, attribute: On, value: "yes" } }
          ---
          kind: Instance
          name: G1
          site: plant-north
          template: Gauge
          connection: plc-a
          overrides:
            Count: "3"
        `;
    const c = compile(variant({ "templates/extra.yaml": gauge }));
    const col = (line: number, needle: string) => gauge.split("\n")[line - 1]!.indexOf(needle) + 1;
    expect(byRule(c, "value-type-mismatch").map((d) => [d.line, d.column])).toEqual([
      [4, col(4, "2.5")],
      [7, col(7, '"yes"')],
      [15, col(15, '"3"')],
    ]);
  });
});
