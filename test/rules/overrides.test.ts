import { describe, expect, it } from "vitest";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, errorsOf, y } from "../helpers/repo.js";

/** The base repo with Pump's overrides replaced. */
const pumpOverrides = (overrides: string) =>
  compile(
    variant({
      "templates/pump.yaml":
        y`
        kind: Template
        name: Pump
        extends: Motor
        attributes:
          - { name: Flow, dataType: Double, source: data, tag: "{{instance}}.Flow" }
        overrides:
      ` + overrides,
    }),
  );

/** The base repo with the instance's overrides and bindings replaced. */
const instance = (rest: string) =>
  compile(
    variant({
      "instances/north.yaml":
        y`
        kind: Instance
        name: Pump07
        site: plant-north
        area: Line1/Cell1
        template: Pump
        connection: plc-a
      ` + rest,
    }),
  );

const rules = (c: ReturnType<typeof compile>) => errorsOf(c).map((d) => `${d.rule}:${d.line}`);

describe("template overrides: what a derived template may change", () => {
  it("accepts value, units, description and locked on an attribute, tag on a data attribute", () => {
    const c = pumpOverrides(
      '  Rated: { value: 1450, units: rpm, description: rated speed, locked: true }\n  Speed: { tag: "x.{{instance}}" }\n',
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("accepts trigger thresholds, priority and onTrigger on an alarm; code, timeoutMs on a script", () => {
    const c = pumpOverrides(
      '  OverSpeed: { trigger: { value: 1400, op: ">=" }, priority: 800, onTrigger: LogOver }\n  LogOver: { code: "log.info(1);", timeoutMs: 200 }\n  Inlet.Stuck: { trigger: { perSecond: 2 } }\n',
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("rejects dataType, source, access, parameters and returns (override-field, at the field)", () => {
    const c = pumpOverrides(
      "  Rated:\n    dataType: Int32\n    source: data\n  Speed:\n    access: readWrite\n  Limit:\n    parameters: []\n    returns: String\n",
    );
    expect(rules(c)).toEqual([
      "override-field:8",
      "override-field:9",
      "override-field:11",
      "override-field:13",
      "override-field:14",
    ]);
  });

  it("rejects a trigger's type or attribute, and operands of another trigger type", () => {
    const c = pumpOverrides("  OverSpeed:\n    trigger:\n      type: range\n      attribute: Flow\n      low: 3\n");
    expect(rules(c)).toEqual(["override-field:9", "override-field:10", "override-field:11"]);
    expect(byRule(c, "override-field")[2]!.message).toMatch(/a threshold trigger may change op, value/);
  });

  it("rejects a value on a data attribute and a tag on a static one", () => {
    const c = pumpOverrides('  Speed: { value: 3 }\n  Rated: { tag: "x" }\n');
    expect(rules(c)).toEqual(["override-field:7", "override-field:8"]);
  });

  it("checks the overriding value's type and the alarm operand's type", () => {
    const c = pumpOverrides('  Rated: { value: "fast" }\n  OverSpeed: { trigger: { value: true } }\n');
    expect(rules(c)).toEqual(["value-type-mismatch:7", "value-type-mismatch:8"]);
  });

  it("checks overriding code against the member's scope, and an overriding onTrigger", () => {
    const c = pumpOverrides(
      '  Inlet.LimitCommand: { code: "attributes.get(\\"Speed\\");" }\n  OverSpeed: { onTrigger: Nope }\n',
    );
    expect(rules(c)).toEqual(["script-unknown-attribute:7", "unknown-script:8"]);
  });
});

describe("locks", () => {
  it("a lock set where a member is defined stops derived templates (override-locked, naming the lock)", () => {
    const c = pumpOverrides("  MaxSpeed: { value: 1600 }\n");
    expect(rules(c)).toEqual(["override-locked:7"]);
    expect(byRule(c, "override-locked")[0]!.message).toMatch(/locked by Template Motor, templates\/motor\.yaml:7/);
  });

  it("nobody can lift a lock, and a member cannot be locked twice", () => {
    const c = pumpOverrides("  MaxSpeed: { locked: false }\n  Inlet.Travel: { locked: true }\n");
    expect(rules(c)).toEqual(["override-locked:7"]);
    const d = compile(
      variant({
        "templates/z.yaml": "kind: Template\nname: Z\nextends: Pump\noverrides:\n  Inlet.Travel: { locked: true }\n",
      }),
    );
    expect(rules(d)).toEqual(["override-locked:5"]);
  });

  it("locked: false on an unlocked member is override-field (locks only go one way)", () => {
    expect(rules(pumpOverrides("  Rated: { locked: false }\n"))).toEqual(["override-field:7"]);
  });

  it("a lock set by a composing template on a module member stops instances and derived templates", () => {
    expect(rules(instance("overrides:\n  Inlet.Travel: 50\n"))).toEqual(["override-locked:8"]);
    const d = compile(
      variant({
        "templates/z.yaml": "kind: Template\nname: Z\nextends: Pump\noverrides:\n  Inlet.Travel: { units: mm }\n",
      }),
    );
    expect(rules(d)).toEqual(["override-locked:5"]);
  });

  it("a lock set by a derived template stops what is below it but not its parent's other users", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
          "Rated: { value: 1450 }",
          "Rated: { value: 1450, locked: true }",
        ),
        "instances/motor.yaml":
          "kind: Instance\nname: M1\nsite: plant-north\ntemplate: Motor\nconnection: plc-a\noverrides:\n  Rated: 1200\n",
        "instances/north.yaml": `${BASE["instances/north.yaml"]}  Rated: 1200\n`,
      }),
    );
    expect(errorsOf(c).map((d) => `${d.rule} ${d.file}`)).toEqual(["override-locked instances/north.yaml"]);
  });
});

describe("instance overrides", () => {
  it("take values of static attributes (shorthand and long form), alarm priority and thresholds", () => {
    const c = instance(
      'overrides:\n  Mode: manual\n  Rated: { value: 1300 }\n  OverSpeed: { priority: 100, trigger: { value: 1000, op: ">=" } }\n',
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("reject a data attribute's value, a tag, units, onTrigger and locked (override-field)", () => {
    const c = instance(
      'overrides:\n  Speed: 5\n  Flow: { tag: "x" }\n  Rated: { units: rpm, locked: true }\n  OverSpeed: { onTrigger: LogOver }\n',
    );
    expect(rules(c)).toEqual([
      "override-field:8",
      "override-field:9",
      "override-field:10",
      "override-field:10",
      "override-field:11",
    ]);
    expect(byRule(c, "override-field")[1]!.message).toMatch(/bind data attributes under bindings/);
  });

  it("never reach scripts (override-scope), whatever the field", () => {
    const c = instance("overrides:\n  LogOver: { timeoutMs: 10 }\n  Inlet.LimitCommand: { code: 'x' }\n");
    expect(rules(c)).toEqual(["override-scope:8", "override-scope:9"]);
  });

  it("report a path that is not a member, or that is a module", () => {
    const c = instance("overrides:\n  Sped: 1\n  Inlet: 1\n");
    expect(rules(c)).toEqual(["override-unknown-member:8", "override-unknown-member:9"]);
    expect(byRule(c, "override-unknown-member")[0]!.message).toMatch(/did you mean "Speed"/);
    expect(byRule(c, "override-unknown-member")[1]!.message).toMatch(/Inlet is a module \(Valve\)/);
  });
});

describe("bindings", () => {
  it("bind tag and connection of data attributes, including module members", () => {
    const c = instance(
      'bindings:\n  Speed: { tag: "ns=2;s=A" }\n  Inlet.Position: { connection: plc-b, tag: "ns=2;s=B" }\n',
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("reject static attributes, alarms, locked data attributes and unknown paths", () => {
    const c = compile(
      variant({
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
          "Rated: { value: 1450 }",
          "Rated: { value: 1450 }\n  Flow: { locked: true }",
        ),
        "instances/north.yaml": y`
          kind: Instance
          name: Pump07
          site: plant-north
          template: Pump
          connection: plc-a
          bindings:
            Rated: { tag: "a" }
            OverSpeed: { tag: "b" }
            Flow: { tag: "c" }
            Flwo: { tag: "d" }
        `,
      }),
    );
    expect(rules(c)).toEqual([
      "override-field:7",
      "override-field:8",
      "override-locked:9",
      "override-unknown-member:10",
    ]);
  });
});
