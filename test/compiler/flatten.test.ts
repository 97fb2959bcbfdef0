import { describe, expect, it } from "vitest";
import type { DeploymentPackage } from "../../schemas/types.js";
import { compile, describeDiagnostics, type Files, y } from "../helpers/repo.js";

/** Equipment → Motor → Pump (3 levels of extends); Pump composes Inlet: Valve, Valve composes Actuator (2 levels). */
const PLANT: Files = {
  "scadalink.yaml": "kind: Repository\n",
  "site.yaml": y`
    kind: Site
    name: plant-north
    areas: [{ name: Line1, areas: [{ name: Cell1 }] }]
    dataConnections:
      - { name: plc-a, endpoint: "opc.tcp://127.0.0.1:4840" }
      - { name: plc-b, endpoint: "opc.tcp://127.0.0.1:4841" }
  `,
  "templates.yaml": y`
    kind: Template
    name: Actuator
    attributes:
      - { name: Torque, dataType: Double, source: data, tag: "{{site}}/{{area}}/{{instance}}.{{module}}.{{attribute}}" }
      - { name: TorqueLimit, dataType: Double, value: 80 }
      - { name: Model, dataType: String, value: generic, locked: true }
    alarms:
      - { name: HighTorque, trigger: { type: threshold, attribute: Torque, op: ">", value: 90 }, priority: 400, onTrigger: Note }
    scripts:
      - name: Note
        trigger: { type: call }
        code: log.warn("torque " + attributes.get("Torque") + " over " + attributes.get("TorqueLimit"));
    ---
    kind: Template
    name: Valve
    attributes:
      - { name: Position, dataType: Double, source: data, tag: "{{param.prefix}}.{{instance}}.{{module}}.Pos" }
      - { name: Travel, dataType: Double, value: 100 }
    scripts:
      - name: Watch
        trigger: { type: onChange, attribute: Actuator.Torque }
        code: attributes.set("Travel", attributes.get("Actuator.TorqueLimit"));
    compose:
      - { name: Actuator, template: Actuator }
    overrides:
      Actuator.TorqueLimit: { value: 85 }
      Actuator.HighTorque: { priority: 500 }
    ---
    kind: Template
    name: Equipment
    attributes:
      - { name: Running, dataType: Boolean, source: data, tag: "{{instance}}.Run" }
      - { name: AssetId, dataType: String, value: none }
      - { name: ServiceHours, dataType: Double, value: 8000 }
    ---
    kind: Template
    name: Motor
    extends: Equipment
    attributes:
      - { name: Speed, dataType: Double, source: data, tag: "{{instance}}.Speed" }
      - { name: MaxSpeed, dataType: Double, value: 1500, locked: true }
    overrides:
      ServiceHours: { value: 12000 }
    ---
    kind: Template
    name: Pump
    extends: Motor
    attributes:
      - { name: Flow, dataType: Double, source: data, tag: "{{instance}}.Flow", units: m3/h }
    compose:
      - { name: Inlet, template: Valve }
    overrides:
      ServiceHours: { value: 10000, locked: true }
      Inlet.Travel: { value: 90 }
      Inlet.Actuator.TorqueLimit: { value: 70, locked: true }
      Inlet.Actuator.HighTorque: { trigger: { value: 75 } }
  `,
  "instances.yaml": y`
    kind: Instance
    name: P7
    site: plant-north
    area: Line1/Cell1
    template: Pump
    connection: plc-a
    parameters: { prefix: L1 }
    labels: { criticality: high }
    bindings:
      Speed: { tag: "ns=2;s=P7.SPD" }
      Inlet.Position: { connection: plc-b }
    overrides:
      AssetId: PMP-7
      Inlet.Actuator.HighTorque: { priority: 900 }
  `,
};

function pkg(files: Files, id = "plant-north/P7"): DeploymentPackage {
  const c = compile(files);
  expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  const [p] = c.packages([id]);
  return p!;
}
const attr = (p: DeploymentPackage, path: string) => p.attributes.find((a) => a.path === path)!;
const alarm = (p: DeploymentPackage, path: string) => p.alarms.find((a) => a.path === path)!;
const script = (p: DeploymentPackage, path: string) => p.scripts.find((a) => a.path === path)!;

describe("flattening", () => {
  const p = pkg(PLANT);

  it("collects members across three levels of inheritance, nearest override winning", () => {
    expect(p.templateChain).toEqual(["Pump", "Motor", "Equipment"]);
    expect(p.attributes.map((a) => a.path)).toEqual([
      "AssetId",
      "Flow",
      "Inlet.Actuator.Model",
      "Inlet.Actuator.Torque",
      "Inlet.Actuator.TorqueLimit",
      "Inlet.Position",
      "Inlet.Travel",
      "MaxSpeed",
      "Running",
      "ServiceHours",
      "Speed",
    ]);
    expect(attr(p, "ServiceHours").value).toBe(10000); // Equipment 8000 < Motor 12000 < Pump 10000
    expect(attr(p, "MaxSpeed").value).toBe(1500);
  });

  it("applies overrides at each level of composition: instance > Pump > Valve > Actuator", () => {
    expect(attr(p, "Inlet.Actuator.TorqueLimit").value).toBe(70); // Actuator 80, Valve 85, Pump 70
    expect(attr(p, "Inlet.Travel").value).toBe(90);
    const high = alarm(p, "Inlet.Actuator.HighTorque");
    expect(high.priority).toBe(900); // Actuator 400, Valve 500, instance 900
    expect(high.trigger).toEqual({ type: "threshold", attribute: "Inlet.Actuator.Torque", op: ">", value: 75 });
  });

  it("applies instance overrides and bindings; the instance connection is the default", () => {
    expect(attr(p, "AssetId").value).toBe("PMP-7");
    expect(attr(p, "Speed")).toMatchObject({ tag: "ns=2;s=P7.SPD", connection: "plc-a" });
    expect(attr(p, "Inlet.Position")).toMatchObject({ tag: "L1.P7.Inlet.Pos", connection: "plc-b" });
    expect(attr(p, "Flow")).toEqual({
      path: "Flow",
      dataType: "Double",
      source: "data",
      access: "read",
      connection: "plc-a",
      tag: "P7.Flow",
      units: "m3/h",
      value: null,
    });
    expect(attr(p, "AssetId")).toMatchObject({ connection: null, tag: null, units: null });
  });

  it("expands every tag placeholder, with the module path", () => {
    expect(attr(p, "Inlet.Actuator.Torque").tag).toBe("plant-north/Line1/Cell1/P7.Inlet.Actuator.Torque");
  });

  it("scopes scripts to their module and rewrites references to canonical paths", () => {
    expect(script(p, "Inlet.Watch")).toMatchObject({
      scope: "Inlet",
      trigger: { type: "onChange", attribute: "Inlet.Actuator.Torque" },
      code: 'attributes.set("Travel", attributes.get("Actuator.TorqueLimit"));',
    });
    expect(script(p, "Inlet.Actuator.Note").scope).toBe("Inlet.Actuator");
    expect(alarm(p, "Inlet.Actuator.HighTorque").onTrigger).toBe("Inlet.Actuator.Note");
  });

  it("fills the instance header and defaults, absent fields as null", () => {
    expect(p.instance).toEqual({
      site: "plant-north",
      name: "P7",
      area: "Line1/Cell1",
      template: "Pump",
      state: "enabled",
      labels: { criticality: "high" },
    });
    expect(script(p, "Inlet.Watch")).toMatchObject({ parameters: [], returns: null, timeoutMs: 5000 });
    expect(p.sharedScripts).toEqual([]);
  });

  it("locks hold at the level that set them: template, derived template and composing template", () => {
    const tries: [string, string][] = [
      ["Inlet.Actuator.Model: plc", "template lock (Actuator)"],
      ["MaxSpeed: 1", "template lock (Motor), two levels up"],
      ["ServiceHours: 1", "derived-template lock (Pump)"],
      ["Inlet.Actuator.TorqueLimit: 1", "composing-template lock (Pump on a module member)"],
    ];
    for (const [line, why] of tries) {
      const c = compile({ ...PLANT, "instances.yaml": `${PLANT["instances.yaml"]}  ${line}\n` });
      expect(
        c.diagnostics.map((d) => d.rule),
        why,
      ).toEqual(["override-locked"]);
    }
  });

  it("an InstanceSet entry is exactly the Instance with the shared fields filled in", () => {
    const asSet = y`
      kind: InstanceSet
      site: plant-north
      area: Line1/Cell1
      template: Pump
      connection: plc-a
      parameters: { prefix: L1 }
      labels: { criticality: high }
      instances:
        - name: P7
          bindings:
            Speed: { tag: "ns=2;s=P7.SPD" }
            Inlet.Position: { connection: plc-b }
          overrides:
            AssetId: PMP-7
            Inlet.Actuator.HighTorque: { priority: 900 }
        - name: P8
          area: Line1
          connection: plc-b
          parameters: { prefix: L2 }
    `;
    const fromSet = pkg({ ...PLANT, "instances.yaml": asSet });
    expect(fromSet).toEqual(p);
    const p8 = pkg({ ...PLANT, "instances.yaml": asSet }, "plant-north/P8");
    expect(p8.instance.area).toBe("Line1");
    expect(attr(p8, "Inlet.Position")).toMatchObject({ tag: "L2.P8.Inlet.Pos", connection: "plc-b" });
  });
});
