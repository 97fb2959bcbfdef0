import { describe, expect, it } from "vitest";
import { variant } from "../helpers/base-repo.js";
import { compile, errorsOf, y } from "../helpers/repo.js";

const gauge = (alarmsAndScripts: string) =>
  compile(
    variant({
      "templates/gauge.yaml":
        y`
          kind: Template
          name: Gauge
          attributes:
            - { name: Level, dataType: Double }
            - { name: Label, dataType: String, value: a }
            - { name: On, dataType: Boolean, value: false }
            - { name: Stamp, dataType: DateTime, value: "2026-01-01T00:00:00Z" }
          compose:
            - { name: Inlet, template: Valve }
        ` + alarmsAndScripts,
      "instances/gauge.yaml": "kind: Instance\nname: G1\nsite: plant-north\ntemplate: Gauge\nconnection: plc-a\n",
    }),
  );
const found = (c: ReturnType<typeof compile>) => errorsOf(c).map((d) => `${d.rule}:${d.line}`);

describe("trigger-type-mismatch", () => {
  it("rejects range and rateOfChange on non-numbers, ordering on Boolean, and low above high", () => {
    const c = gauge(y`
      alarms:
        - { name: A, trigger: { type: range, attribute: Label, low: 0, high: 1 } }
        - { name: B, trigger: { type: rateOfChange, attribute: On, perSecond: 1 } }
        - { name: C, trigger: { type: threshold, attribute: On, op: "<", value: true } }
        - { name: D, trigger: { type: range, attribute: Level, low: 5, high: 1 } }
        - { name: E, trigger: { type: rateOfChange, attribute: Level, perSecond: 0 } }
    `);
    expect(found(c)).toEqual([
      "trigger-type-mismatch:11",
      "trigger-type-mismatch:12",
      "trigger-type-mismatch:13",
      "trigger-type-mismatch:14",
      "trigger-type-mismatch:15",
    ]);
  });

  it("accepts equality on Boolean and String, ordering on numbers and DateTime", () => {
    const c = gauge(y`
      alarms:
        - { name: A, trigger: { type: threshold, attribute: On, op: "==", value: true } }
        - { name: B, trigger: { type: threshold, attribute: Label, op: "!=", value: "x" } }
        - { name: C, trigger: { type: threshold, attribute: Stamp, op: ">", value: "2026-06-01T00:00:00Z" } }
        - { name: D, trigger: { type: range, attribute: Level, low: 1, high: 1 } }
    `);
    expect(found(c)).toEqual([]);
  });
});

describe("trigger-unknown-attribute and unknown-script", () => {
  it("resolve relative to the module: a template reaches into its modules, never out of them", () => {
    const c = gauge(y`
      alarms:
        - { name: A, trigger: { type: threshold, attribute: Inlet.Position, op: ">", value: 1 } }
        - { name: B, trigger: { type: match, attribute: Position, value: 1 } }
        - { name: C, trigger: { type: match, attribute: Inlet.Stuck, value: 1 } }
      scripts:
        - { name: S, trigger: { type: onChange, attribute: Levle }, code: "" }
    `);
    expect(found(c)).toEqual([
      "trigger-unknown-attribute:12",
      "trigger-unknown-attribute:13",
      "trigger-unknown-attribute:15",
    ]);
    expect(errorsOf(c)[1]!.message).toMatch(/"Inlet.Stuck" is an alarm, not an attribute/);
  });

  it("onTrigger must name a script of the alarm's module taking no parameters", () => {
    const c = gauge(y`
      alarms:
        - { name: A, trigger: { type: match, attribute: On, value: true }, onTrigger: Nope }
        - { name: B, trigger: { type: match, attribute: On, value: true }, onTrigger: Inlet.LimitCommand }
        - { name: C, trigger: { type: match, attribute: On, value: true }, onTrigger: Take }
      scripts:
        - { name: Take, trigger: { type: call }, parameters: [{ name: x, type: Double }], code: "" }
    `);
    expect(found(c)).toEqual(["unknown-script:11", "unknown-script:13"]);
  });
});
