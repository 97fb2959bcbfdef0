import { describe, expect, it } from "vitest";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, errorsOf, lineOf, y } from "../helpers/repo.js";

const templates = (text: string) => compile(variant({ "templates/extra.yaml": text }));

describe("unknown-template", () => {
  it("in extends and compose, with a suggestion", () => {
    const c = templates(y`
      kind: Template
      name: A
      extends: Moter
      compose:
        - { name: M, template: Valves }
    `);
    const hits = byRule(c, "unknown-template");
    expect(hits.map((d) => [d.line, d.column])).toEqual([
      [3, 10],
      [5, 26],
    ]);
    expect(hits[0]!.message).toContain('(did you mean "Motor"?)');
  });

  it("catches deleting a template that is still used", () => {
    const c = compile(variant({ "templates/valve.yaml": undefined }));
    const line = lineOf(BASE["templates/motor.yaml"]!, "template: Valve");
    expect(byRule(c, "unknown-template")).toMatchObject([{ file: "templates/motor.yaml", line }]);
  });
});

describe("inheritance-cycle and composition-cycle", () => {
  it("reports a template extending itself", () => {
    const c = templates("kind: Template\nname: A\nextends: A\n");
    expect(byRule(c, "inheritance-cycle")).toMatchObject([
      { line: 3, message: "extends A, which leads back to A: A → A" },
    ]);
  });

  it("reports a three-template extends cycle at each edge, with the path", () => {
    const c = templates(
      "kind: Template\nname: A\nextends: B\n---\nkind: Template\nname: B\nextends: C\n---\nkind: Template\nname: C\nextends: A\n",
    );
    const hits = byRule(c, "inheritance-cycle");
    expect(hits.map((d) => d.line)).toEqual([3, 7, 11]);
    expect(hits[0]!.message).toBe("extends B, which leads back to A: A → B → C → A");
    expect(byRule(c, "composition-cycle")).toEqual([]);
  });

  it("calls a cycle mixing extends and compose a composition-cycle", () => {
    // A composes B; B extends C; C composes A.
    const c = templates(y`
      kind: Template
      name: A
      compose: [{ name: Mb, template: B }]
      ---
      kind: Template
      name: B
      extends: C
      ---
      kind: Template
      name: C
      compose: [{ name: Ma, template: A }]
    `);
    expect(byRule(c, "composition-cycle")).toHaveLength(3);
    expect(byRule(c, "inheritance-cycle")).toEqual([]);
  });

  it("does not report a diamond (two modules of one template, a chain of extends)", () => {
    const c = templates(y`
      kind: Template
      name: A
      compose: [{ name: V1, template: Valve }, { name: V2, template: Valve }]
      ---
      kind: Template
      name: B
      extends: A
      compose: [{ name: V3, template: Valve }]
      ---
      kind: Instance
      name: B1
      site: plant-north
      template: B
      connection: plc-a
    `);
    expect(errorsOf(c)).toEqual([]);
  });
});
