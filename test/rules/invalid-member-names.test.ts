import { describe, expect, it } from "vitest";
import { BASE, variant } from "../helpers/base-repo.js";
import { compile } from "../helpers/repo.js";

describe("a member or module name breaking the naming rule", () => {
  it.each(['""', '"Inlet.Extra"', '"a b"', "9lives"])("%s is reported once and kept out of flattening", (name) => {
    const c = compile(
      variant({
        "templates/valve.yaml": BASE["templates/valve.yaml"]!.replace(
          "  - { name: Travel",
          `  - { name: ${name}, dataType: Double, source: data, tag: "x" }\n  - { name: Travel`,
        ),
        "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
          "{ name: Inlet, template: Valve }",
          `{ name: Inlet, template: Valve }\n  - { name: ${name}, template: Valve }`,
        ),
      }),
    );
    expect(c.diagnostics.map((d) => d.rule)).toEqual(["invalid-name", "invalid-name"]);
    expect(() => c.packages()).not.toThrow();
  });

  it("a script parameter name that is no identifier is invalid-name only", () => {
    const c = compile(
      variant({
        "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace(
          "{ name: x, type: Double }",
          '{ name: "x y", type: Double }',
        ),
      }),
    );
    expect(c.diagnostics.map((d) => d.rule).sort()).toEqual(["invalid-name", "script-forbidden-api"]);
  });
});
