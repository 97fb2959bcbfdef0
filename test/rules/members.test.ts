import { describe, expect, it } from "vitest";
import { variant } from "../helpers/base-repo.js";
import { byRule, compile, y } from "../helpers/repo.js";

const templates = (text: string) => compile(variant({ "templates/extra.yaml": text }));

describe("member-collision", () => {
  it("two members of one template (attribute and alarm share the namespace)", () => {
    const c = templates(y`
      kind: Template
      name: T
      attributes: [{ name: X, dataType: Double }]
      alarms:
        - { name: X, trigger: { type: range, attribute: X, low: 0, high: 1 } }
    `);
    expect(byRule(c, "member-collision")).toMatchObject([{ line: 5, column: 13 }]);
  });

  it("a module named like a member, and two modules of one name", () => {
    const c = templates(y`
      kind: Template
      name: T
      attributes: [{ name: Inlet, dataType: Double }]
      compose:
        - { name: Inlet, template: Valve }
        - { name: Outlet, template: Valve }
        - { name: Outlet, template: Valve }
    `);
    expect(byRule(c, "member-collision").map((d) => d.line)).toEqual([5, 7]);
  });

  it("a derived template adding a module named like an inherited member or module", () => {
    const c = templates(y`
      kind: Template
      name: T
      extends: Motor
      compose:
        - { name: Speed, template: Valve }
        - { name: Inlet, template: Valve }
    `);
    const hits = byRule(c, "member-collision");
    expect(hits.map((d) => d.line)).toEqual([5, 6]);
    expect(hits[0]!.message).toMatch(/inherited from Motor/);
  });

  it("does not fire for the same member name inside different modules", () => {
    const c = templates(y`
      kind: Template
      name: T
      attributes: [{ name: Position, dataType: Double }]
      compose:
        - { name: A, template: Valve }
        - { name: B, template: Valve }
    `);
    expect(byRule(c, "member-collision")).toEqual([]);
  });
});
