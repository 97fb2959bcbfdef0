import { type Files, y } from "./repo.js";

/**
 * A small valid repo the rule tests vary: one site, Valve composed into Motor, Pump extends Motor,
 * a shared script, an instance, a batch. Every variant starts from here.
 */
export const BASE: Files = {
  "scadalink.yaml": y`
    kind: Repository
    rollout: batch
  `,
  "sites/north.yaml": y`
    kind: Site
    name: plant-north
    areas:
      - name: Line1
        areas: [{ name: Cell1 }]
      - name: Line2
    dataConnections:
      - { name: plc-a, endpoint: "opc.tcp://127.0.0.1:4840" }
      - name: plc-b
        protocol: opcua
        endpoint: "opc.tcp://127.0.0.1:4841"
        securityMode: Sign
        securityPolicy: Basic256Sha256
        auth: { type: username, username: op1, passwordSecret: PLC_B_PASSWORD }
  `,
  "templates/valve.yaml": y`
    kind: Template
    name: Valve
    attributes:
      - { name: Position, dataType: Double, source: data, tag: "{{instance}}.{{module}}.Pos" }
      - { name: Command, dataType: Double, source: data, access: readWrite, tag: "{{instance}}.{{module}}.Cmd" }
      - { name: Travel, dataType: Double, value: 100 }
    alarms:
      - { name: Stuck, trigger: { type: rateOfChange, attribute: Position, perSecond: 5 } }
    scripts:
      - name: LimitCommand
        trigger: { type: onChange, attribute: Command }
        code: |
          if (attributes.get("Command") > attributes.get("Travel")) attributes.set("Command", attributes.get("Travel"));
  `,
  "templates/motor.yaml": y`
    kind: Template
    name: Motor
    attributes:
      - { name: Speed, dataType: Double, source: data, tag: "{{instance}}.Speed" }
      - { name: Running, dataType: Boolean, source: data, tag: "{{instance}}.Run" }
      - { name: Mode, dataType: String, value: auto }
      - { name: MaxSpeed, dataType: Double, value: 1500, locked: true }
      - { name: Rated, dataType: Double, value: 1400 }
    alarms:
      - name: OverSpeed
        trigger: { type: threshold, attribute: Speed, op: ">", value: 1450 }
        priority: 700
        onTrigger: LogOver
    scripts:
      - name: LogOver
        trigger: { type: call }
        code: log.warn("over speed " + callScript("Limit", "over"));
      - name: Limit
        trigger: { type: call }
        parameters: [{ name: reason, type: String }]
        returns: Double
        code: return callShared("Clamp", attributes.get("MaxSpeed"), 0, 3000);
    compose:
      - { name: Inlet, template: Valve }
  `,
  "templates/pump.yaml": y`
    kind: Template
    name: Pump
    extends: Motor
    attributes:
      - { name: Flow, dataType: Double, source: data, tag: "{{instance}}.Flow" }
    overrides:
      Rated: { value: 1450 }
      Inlet.Travel: { value: 90, locked: true }
  `,
  "shared-scripts/clamp.yaml": y`
    kind: SharedScript
    name: Clamp
    parameters: [{ name: x, type: Double }, { name: lo, type: Double }, { name: hi, type: Double }]
    returns: Double
    code: return Math.min(hi, Math.max(lo, x));
  `,
  "instances/north.yaml": y`
    kind: Instance
    name: Pump07
    site: plant-north
    area: Line1/Cell1
    template: Pump
    connection: plc-a
    bindings:
      Speed: { tag: "ns=2;s=L1.Pump07.Speed" }
    overrides:
      Mode: manual
      OverSpeed: { priority: 900 }
  `,
  "batches/pilot.yaml": y`
    kind: Batch
    name: pilot
    select:
      instances: [plant-north/Pump07]
    phase: execute
  `,
};

/** BASE with some files replaced (undefined deletes a file). */
export function variant(changes: Files): Files {
  return { ...BASE, ...changes };
}
