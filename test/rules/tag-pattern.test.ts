import { describe, expect, it } from "vitest";
import { expandTagPattern, parseTagPattern } from "../../controller/compiler/rules/tag-pattern.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, errorsOf, y } from "../helpers/repo.js";

describe("parseTagPattern / expandTagPattern", () => {
  it("expands every placeholder", () => {
    const p = parseTagPattern("ns=2;s={{site}}/{{area}}/{{ instance }}.{{module}}.{{attribute}}:{{param.line}}");
    expect(p.problems).toEqual([]);
    expect(p.params).toEqual(["line"]);
    expect(
      expandTagPattern(p, {
        instance: "P7",
        site: "north",
        area: "L1/C1",
        module: "Inlet.Actuator",
        attribute: "Torque",
        parameters: { line: 2 },
      }),
    ).toBe("ns=2;s=north/L1/C1/P7.Inlet.Actuator.Torque:2");
  });

  it("reports unknown and unclosed placeholders", () => {
    expect(parseTagPattern("{{instanse}}.X").problems[0]).toMatch(/unknown placeholder \{\{instanse\}\}/);
    expect(parseTagPattern("{{param.}}").problems).toHaveLength(1);
    expect(parseTagPattern("{{instance").problems[0]).toMatch(/unclosed/);
    expect(parseTagPattern("a}}b{c").problems).toEqual([]);
  });
});

describe("tag-pattern in the repo", () => {
  it("reports an unknown placeholder in a template, an override and a binding, at the tag", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace("{{instance}}.Flow", "{{flow}}").replace(
          "Rated: { value: 1450 }",
          'Speed: { tag: "{{x}}" }',
        ),
        "instances/north.yaml": BASE["instances/north.yaml"]!.replace('tag: "ns=2;s=L1.Pump07.Speed"', 'tag: "{{y}}"'),
      }),
    );
    expect(byRule(c, "tag-pattern").map((d) => `${d.file}:${d.line}`)).toEqual([
      "instances/north.yaml:8",
      "templates/pump.yaml:5",
      "templates/pump.yaml:7",
    ]);
  });

  it("reports a {{param.X}} the instance cannot fill, unless a binding replaces that tag", () => {
    const tpl = BASE["templates/pump.yaml"]!.replace("{{instance}}.Flow", "{{param.line}}.{{instance}}.Flow");
    const missing = compile(variant({ "templates/pump.yaml": tpl }));
    expect(byRule(missing, "tag-pattern")).toMatchObject([{ file: "instances/north.yaml", line: 2 }]);
    expect(byRule(missing, "tag-pattern")[0]!.message).toMatch(
      /Flow uses \{\{param\.line\}\}, but Pump07 has no parameter "line"/,
    );
    const bound = compile(
      variant({
        "templates/pump.yaml": tpl,
        "instances/north.yaml": BASE["instances/north.yaml"]!.replace("bindings:", 'bindings:\n  Flow: { tag: "F" }'),
      }),
    );
    expect(errorsOf(bound), describeDiagnostics(bound)).toEqual([]);
    const given = compile(
      variant({
        "templates/pump.yaml": tpl,
        "instances/north.yaml": `${BASE["instances/north.yaml"]}parameters: { line: L1 }\n`,
      }),
    );
    expect(errorsOf(given), describeDiagnostics(given)).toEqual([]);
  });

  it("reports {{area}} on an instance without an area", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace("{{instance}}.Flow", "{{area}}.{{instance}}.Flow"),
        "instances/north.yaml": BASE["instances/north.yaml"]!.replace("area: Line1/Cell1\n", ""),
      }),
    );
    expect(byRule(c, "tag-pattern")[0]!.message).toMatch(/uses \{\{area\}\}, but Pump07 has no area/);
  });

  it("InstanceSet parameters are shared and an entry's own parameters win", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
          "{{instance}}.Flow",
          "{{param.line}}.{{param.cell}}.Flow",
        ),
        "instances/north.yaml": y`
          kind: InstanceSet
          site: plant-north
          template: Pump
          connection: plc-a
          parameters: { line: L1, cell: C1 }
          instances:
            - name: Pump07
            - name: Pump08
              parameters: { cell: C2 }
        `,
      }),
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
    expect(c.packages().map((p) => p.attributes.find((a) => a.path === "Flow")!.tag)).toEqual([
      "L1.C1.Flow",
      "L1.C2.Flow",
    ]);
  });
});

describe("unbound-data-attribute", () => {
  it("reports data attributes with no connection, in one diagnostic at the instance name", () => {
    const c = compile(
      variant({ "instances/north.yaml": BASE["instances/north.yaml"]!.replace("connection: plc-a\n", "") }),
    );
    const hits = byRule(c, "unbound-data-attribute");
    expect(hits).toMatchObject([{ file: "instances/north.yaml", line: 2 }]);
    expect(hits[0]!.message).toMatch(
      /no data connection for Flow, Inlet.Command, Inlet.Position, Running, Speed of Pump07/,
    );
  });

  it("is satisfied by per-binding connections", () => {
    const c = compile(
      variant({
        "instances/north.yaml": y`
          kind: Instance
          name: Pump07
          site: plant-north
          template: Pump
          bindings:
            Speed: { connection: plc-a }
            Running: { connection: plc-a }
            Flow: { connection: plc-b }
            Inlet.Position: { connection: plc-b }
            Inlet.Command: { connection: plc-b }
        `,
      }),
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });
});
