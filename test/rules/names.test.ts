import { describe, expect, it } from "vitest";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, y } from "../helpers/repo.js";

describe("invalid-name: case-only clashes (names become file names)", () => {
  it("in templates, sites, batches and shared scripts", () => {
    const c = compile(
      variant({
        "z/more.yaml": y`
          kind: Template
          name: valve
          ---
          kind: SharedScript
          name: clamp
          code: return 1;
          ---
          kind: Batch
          name: PILOT
          select: { instances: [plant-north/Pump07] }
        `,
      }),
    );
    // "PILOT" breaks the batch pattern (lowercase) rather than clashing.
    // Files are read in path order: the later definition (z/more.yaml) is the one reported.
    expect(byRule(c, "invalid-name").map((d) => `${d.file}:${d.line}`)).toEqual([
      "z/more.yaml:2",
      "z/more.yaml:5",
      "z/more.yaml:9",
      "z/more.yaml:9",
    ]);
    expect(byRule(c, "invalid-name")[0]!.message).toMatch(/differs only by case from "Valve"/);
  });

  it("among instances of one site, but not across sites", () => {
    const c = compile(
      variant({
        "instances/south.yaml": y`
          kind: Instance
          name: pump07
          site: plant-north
          template: Pump
          connection: plc-a
          ---
          kind: Site
          name: plant-south
          ---
          kind: Instance
          name: Pump07
          site: plant-south
          template: Valve
        `,
      }),
    );
    expect(byRule(c, "invalid-name").map((d) => `${d.file}:${d.line}`)).toEqual(["instances/south.yaml:2"]);
  });

  it("among a template's members, and among areas and connections of a site", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
          "  - { name: Flow",
          "  - { name: flow, dataType: Double }\n  - { name: Flow",
        ),
        "sites/north.yaml": BASE["sites/north.yaml"]!.replace("  - name: Line2", "  - name: Line2\n  - name: line2"),
      }),
    );
    const hits = byRule(c, "invalid-name").map((d) => `${d.file}:${d.line}`);
    expect(hits).toEqual(["sites/north.yaml:7", "templates/pump.yaml:6"]);
  });
});

describe("duplicate-name", () => {
  it("reports the second definition and says where the first is", () => {
    const c = compile(
      variant({
        "instances/zz-again.yaml":
          "kind: Instance\nname: Pump07\nsite: plant-north\ntemplate: Pump\nconnection: plc-a\n",
      }),
    );
    expect(byRule(c, "duplicate-name")).toMatchObject([{ file: "instances/zz-again.yaml", line: 2 }]);
    expect(byRule(c, "duplicate-name")[0]!.message).toContain("instances/north.yaml:2");
  });

  it("counts InstanceSet entries against Instance documents of the same site", () => {
    const c = compile(
      variant({
        "instances/set.yaml": y`
          kind: InstanceSet
          site: plant-north
          template: Pump
          connection: plc-a
          instances:
            - name: Pump08
            - name: Pump07
        `,
      }),
    );
    expect(byRule(c, "duplicate-name")).toMatchObject([{ file: "instances/set.yaml", line: 7 }]);
  });

  it("covers data connections, sibling areas and script parameters", () => {
    const c = compile(
      variant({
        "sites/north.yaml": BASE["sites/north.yaml"]!.replace(
          "  - name: plc-b",
          '  - { name: plc-a, endpoint: "opc.tcp://h:1" }\n  - name: plc-b',
        ),
        "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace(
          "{ name: hi, type: Double }",
          "{ name: lo, type: Double }",
        ),
      }),
    );
    expect(byRule(c, "duplicate-name").map((d) => `${d.file}:${d.line}`)).toEqual([
      "shared-scripts/clamp.yaml:3",
      "sites/north.yaml:9",
    ]);
    // The code still uses hi, which is no longer a parameter: that is reported too, and nothing else.
    expect(c.diagnostics.map((d) => d.rule).sort(), describeDiagnostics(c)).toEqual([
      "duplicate-name",
      "duplicate-name",
      "script-forbidden-api",
    ]);
  });
});

describe("missing-repository", () => {
  it("reports a scadalink.yaml without a Repository document", () => {
    const c = compile(variant({ "scadalink.yaml": "# nothing yet\n" }));
    expect(byRule(c, "missing-repository")).toMatchObject([{ file: "scadalink.yaml", line: 1, column: 1 }]);
  });

  it("reports a Repository document outside scadalink.yaml", () => {
    const c = compile(variant({ "other.yaml": "kind: Repository\n" }));
    expect(byRule(c, "missing-repository")).toMatchObject([{ file: "other.yaml", line: 1 }]);
  });

  it("stays quiet when scadalink.yaml exists but does not parse (yaml-syntax says why)", () => {
    const c = compile(variant({ "scadalink.yaml": "kind: Repository\nrollout: [\n" }));
    expect(byRule(c, "missing-repository")).toEqual([]);
    expect(byRule(c, "yaml-syntax")).toHaveLength(1);
  });
});
