import type { RuleId } from "../../controller/compiler/rules/registry.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { type Files, y } from "../helpers/repo.js";
import { INTEGRATIONS, integrationsWith } from "./integration-docs.js";

/** A rule's trigger (the diagnostic must point at file and the `#!` line) and its near miss (must not fire). */
export interface RuleCase {
  rule: RuleId;
  title: string;
  trigger: Files;
  file: string;
  /** Expected line when the file has no marker. */
  line?: number;
  nearMiss: Files;
  /** Other rules that legitimately fire alongside the trigger. */
  alongside?: RuleId[];
}

/** The base Motor with one more script, `Check`, whose code is on the marked line. */
const motorScripts = (code: string) =>
  BASE["templates/motor.yaml"]!.replace(
    "compose:",
    `  - name: Check\n    trigger: { type: call }\n    code: ${code} #!\ncompose:`,
  );

const instance = (extra: string, head = "") =>
  y`
  kind: Instance
  name: Pump07
  site: plant-north
  area: Line1/Cell1
  template: Pump
  connection: plc-a
  ${head}
` + extra;

const batches = (text: string): Files => variant({ "batches/pilot.yaml": text });

export const CASES: RuleCase[] = [
  {
    rule: "yaml-syntax",
    title: "a duplicate key",
    trigger: variant({ "instances/north.yaml": instance("area: Line2 #!\n") }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": instance("description: Line2\n") }),
  },
  {
    rule: "schema",
    title: "a wrong type",
    trigger: variant({ "instances/north.yaml": instance("overrides:\n  OverSpeed: { priority: high } #!\n") }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": instance("overrides:\n  OverSpeed: { priority: 900 }\n") }),
  },
  {
    rule: "unknown-kind",
    title: "a misspelt kind",
    trigger: variant({
      "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace(
        "kind: SharedScript",
        "kind: SharedScrpt #!",
      ),
    }),
    file: "shared-scripts/clamp.yaml",
    nearMiss: BASE,
  },
  {
    rule: "unsupported-version",
    title: "apiVersion v2",
    trigger: variant({ "instances/north.yaml": `apiVersion: scadalink/v2 #!\n${BASE["instances/north.yaml"]}` }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": `apiVersion: scadalink/v1\n${BASE["instances/north.yaml"]}` }),
  },
  {
    rule: "invalid-name",
    title: "a site name with capitals and an underscore",
    trigger: variant({
      "sites/north.yaml": BASE["sites/north.yaml"]!.replace("name: plant-north", "name: Plant_North #!"),
    }),
    file: "sites/north.yaml",
    nearMiss: variant({
      "sites/north.yaml": BASE["sites/north.yaml"]!.replace("name: plant-north", "name: plant-north"),
    }),
    alongside: ["unknown-site"],
  },
  {
    rule: "duplicate-name",
    title: "two templates named Valve",
    trigger: variant({ "templates/valve2.yaml": "kind: Template\nname: Valve #!\n" }),
    file: "templates/valve2.yaml",
    nearMiss: variant({ "templates/valve2.yaml": "kind: Template\nname: Valve2\n" }),
  },
  {
    rule: "missing-repository",
    title: "no scadalink.yaml",
    trigger: variant({ "scadalink.yaml": undefined }),
    file: "scadalink.yaml",
    line: 1,
    nearMiss: BASE,
  },
  {
    rule: "unknown-template",
    title: "an instance of a misspelt template",
    trigger: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace("template: Pump", "template: Pmp #!"),
    }),
    file: "instances/north.yaml",
    nearMiss: BASE,
  },
  {
    rule: "inheritance-cycle",
    title: "Motor extends Pump extends Motor",
    trigger: variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("name: Motor\n", "name: Motor\nextends: Pump #!\n"),
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/spare.yaml": "kind: Template\nname: Spare\nextends: Pump\n" }),
  },
  {
    rule: "composition-cycle",
    title: "Valve composes Motor, which composes Valve",
    trigger: variant({
      "templates/valve.yaml": `${BASE["templates/valve.yaml"]}compose:\n  - { name: Drive, template: Motor } #!\n`,
    }),
    file: "templates/valve.yaml",
    nearMiss: variant({
      "templates/valve.yaml": `${BASE["templates/valve.yaml"]}compose:\n  - { name: Drive, template: Actuator }\n`,
      "templates/actuator.yaml": "kind: Template\nname: Actuator\nattributes: [{ name: Torque, dataType: Double }]\n",
    }),
  },
  {
    rule: "member-collision",
    title: "a derived template redefining an inherited attribute",
    trigger: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "  - { name: Flow",
        "  - { name: Speed, dataType: Double } #!\n  - { name: Flow",
      ),
    }),
    file: "templates/pump.yaml",
    nearMiss: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "  - { name: Flow",
        "  - { name: SpeedRef, dataType: Double }\n  - { name: Flow",
      ),
    }),
  },
  {
    rule: "override-unknown-member",
    title: "a misspelt module member",
    trigger: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "  Rated: { value: 1450 }",
        "  Inlet.Travle: { value: 80 } #!",
      ),
    }),
    file: "templates/pump.yaml",
    nearMiss: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "  Rated: { value: 1450 }",
        "  Inlet.Stuck: { priority: 800 }",
      ),
    }),
  },
  {
    rule: "override-field",
    title: "a derived template changing a dataType",
    trigger: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "Rated: { value: 1450 }",
        "Rated:\n    dataType: Int32 #!",
      ),
    }),
    file: "templates/pump.yaml",
    nearMiss: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace("Rated: { value: 1450 }", "Rated:\n    units: rpm"),
    }),
  },
  {
    rule: "override-scope",
    title: "an instance overriding a script",
    trigger: variant({
      "instances/north.yaml": `${BASE["instances/north.yaml"]}  LogOver: { code: "return 1;" } #!\n`,
    }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": `${BASE["instances/north.yaml"]}  Inlet.Stuck: { priority: 100 }\n` }),
  },
  {
    rule: "override-locked",
    title: "an instance changing a value locked by the template",
    trigger: variant({ "instances/north.yaml": `${BASE["instances/north.yaml"]}  MaxSpeed: 1600 #!\n` }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": `${BASE["instances/north.yaml"]}  Rated: 1600\n` }),
  },
  {
    rule: "value-type-mismatch",
    title: "a number for a String attribute",
    trigger: variant({ "instances/north.yaml": BASE["instances/north.yaml"]!.replace("Mode: manual", "Mode: 5 #!") }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": BASE["instances/north.yaml"]!.replace("Mode: manual", 'Mode: "5"') }),
  },
  {
    rule: "unknown-site",
    title: "a misspelt site",
    trigger: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace("site: plant-north", "site: plant-nort #!"),
    }),
    file: "instances/north.yaml",
    nearMiss: BASE,
    alongside: ["batch-unknown-instance"],
  },
  {
    rule: "unknown-area",
    title: "an area the site does not have",
    trigger: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace("area: Line1/Cell1", "area: Line1/Cell2 #!"),
    }),
    file: "instances/north.yaml",
    nearMiss: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace("area: Line1/Cell1", "area: Line2"),
    }),
  },
  {
    rule: "unknown-connection",
    title: "a binding to a connection the site does not have",
    trigger: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace(
        "Speed: { tag:",
        "Speed: { connection: plc-c, tag: #!\n      ",
      ),
    }),
    file: "instances/north.yaml",
    nearMiss: variant({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace(
        "Speed: { tag:",
        "Speed: { connection: plc-b, tag:",
      ),
    }),
  },
  {
    rule: "unbound-data-attribute",
    title: "a data attribute with no tag pattern and no binding",
    trigger: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(', tag: "{{instance}}.Flow"', ""),
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace("name: Pump07", "name: Pump07 #!"),
    }),
    file: "instances/north.yaml",
    nearMiss: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(', tag: "{{instance}}.Flow"', ""),
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace(
        "bindings:",
        'bindings:\n  Flow: { tag: "ns=2;s=L1.Pump07.Flow" }',
      ),
    }),
  },
  {
    rule: "tag-pattern",
    title: "an unknown placeholder",
    trigger: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace('{{instance}}.Flow" }', '{{instanse}}.Flow" } #!'),
    }),
    file: "templates/pump.yaml",
    nearMiss: variant({
      "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace(
        "{{instance}}.Flow",
        "{{site}}.{{instance}}.{{attribute}}",
      ),
    }),
  },
  {
    rule: "trigger-unknown-attribute",
    title: "an alarm on a misspelt attribute",
    trigger: variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
        'attribute: Speed, op: ">", value: 1450 }',
        'attribute: Sped, op: ">", value: 1450 } #!',
      ),
    }),
    file: "templates/motor.yaml",
    nearMiss: BASE,
  },
  {
    rule: "trigger-type-mismatch",
    title: "an ordering comparison on a String",
    trigger: variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
        'attribute: Speed, op: ">", value: 1450 }',
        'attribute: Mode, op: ">", value: "auto" } #!',
      ),
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
        'attribute: Speed, op: ">", value: 1450 }',
        'attribute: Mode, op: "==", value: "auto" }',
      ),
    }),
  },
  {
    rule: "unknown-script",
    title: "onTrigger naming a script that takes parameters",
    trigger: variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("onTrigger: LogOver", "onTrigger: Limit #!"),
    }),
    file: "templates/motor.yaml",
    nearMiss: BASE,
  },
  {
    rule: "script-syntax",
    title: "code that does not parse",
    trigger: variant({ "templates/motor.yaml": motorScripts("return (1 +;") }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/motor.yaml": motorScripts("return (1 + 2);") }),
  },
  {
    rule: "shared-script-syntax",
    title: "shared code that does not parse",
    trigger: variant({
      "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace(
        "code: return Math.min(hi, Math.max(lo, x));",
        "code: return Math.min(hi, Math.max(lo, x); #!",
      ),
    }),
    file: "shared-scripts/clamp.yaml",
    nearMiss: BASE,
  },
  {
    rule: "script-forbidden-api",
    title: "process.exit",
    trigger: variant({ "templates/motor.yaml": motorScripts("process.exit(1);") }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/motor.yaml": motorScripts("Math.abs(now() - 1);") }),
  },
  {
    rule: "script-unknown-call-target",
    title: "callScript of a misspelt script",
    trigger: variant({ "templates/motor.yaml": motorScripts('callScript("Limt", "x");') }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/motor.yaml": motorScripts('callScript("Limit", "x");') }),
  },
  {
    rule: "script-arg-mismatch",
    title: "callScript with a number where a String is expected",
    trigger: variant({ "templates/motor.yaml": motorScripts('callScript("Limit", 5);') }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/motor.yaml": motorScripts('callScript("Limit", `x`);') }),
  },
  {
    rule: "script-unknown-attribute",
    title: "attributes.set of a read-only data attribute",
    trigger: variant({ "templates/motor.yaml": motorScripts('attributes.set("Speed", 1);') }),
    file: "templates/motor.yaml",
    nearMiss: variant({ "templates/motor.yaml": motorScripts('attributes.set("Rated", 1);') }),
  },
  {
    rule: "secret-literal",
    title: "a password among an instance's parameters",
    trigger: variant({ "instances/north.yaml": instance("parameters:\n  password: hunter2 #!\n") }),
    file: "instances/north.yaml",
    nearMiss: variant({ "instances/north.yaml": instance("parameters:\n  line: L1\n") }),
  },
  {
    rule: "unsupported-protocol",
    title: "a Modbus connection",
    trigger: variant({
      "sites/north.yaml": BASE["sites/north.yaml"]!.replace("protocol: opcua", "protocol: modbus #!"),
    }),
    file: "sites/north.yaml",
    nearMiss: BASE,
  },
  {
    rule: "batch-unknown-instance",
    title: "a batch selecting an instance that does not exist",
    trigger: batches("kind: Batch\nname: pilot\nselect:\n  instances: [plant-north/Pump08] #!\n"),
    file: "batches/pilot.yaml",
    nearMiss: batches("kind: Batch\nname: pilot\nselect:\n  instances: [plant-north/Pump07]\n"),
  },
  {
    rule: "batch-unknown-dependency",
    title: "after naming no batch",
    trigger: batches("kind: Batch\nname: pilot\nselect: { instances: [plant-north/Pump07] }\nafter: [canary] #!\n"),
    file: "batches/pilot.yaml",
    nearMiss: variant({
      "batches/pilot.yaml": "kind: Batch\nname: pilot\nselect: { instances: [plant-north/Pump07] }\nafter: [canary]\n",
      "batches/canary.yaml": "kind: Batch\nname: canary\nselect: { instances: [plant-north/Pump07] }\n",
    }),
  },
  {
    rule: "batch-cycle",
    title: "two batches waiting for each other",
    trigger: variant({
      "batches/pilot.yaml":
        "kind: Batch\nname: pilot\nselect: { instances: [plant-north/Pump07] }\nafter: [canary] #!\n",
      "batches/canary.yaml": "kind: Batch\nname: canary\nselect: { instances: [plant-north/Pump07] }\nafter: [pilot]\n",
    }),
    file: "batches/pilot.yaml",
    nearMiss: variant({
      "batches/pilot.yaml": "kind: Batch\nname: pilot\nselect: { instances: [plant-north/Pump07] }\nafter: [canary]\n",
      "batches/canary.yaml": "kind: Batch\nname: canary\nselect: { instances: [plant-north/Pump07] }\n",
    }),
  },
  {
    rule: "unknown-integration",
    title: "a Site listing a misspelt external system",
    trigger: variant({
      "sites/north.yaml": `${BASE["sites/north.yaml"]}integrations: [Mes, Operators, Historain] #!\n`,
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "sites/north.yaml",
    nearMiss: variant({
      "sites/north.yaml": `${BASE["sites/north.yaml"]}integrations: [Mes, Operators, Historian]\n`,
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "unknown-path-parameter",
    title: "a method path placeholder that names no parameter",
    trigger: variant({
      "integrations/all.yaml": integrationsWith("path: /lines/{line}/counts", "path: /lines/{lines}/counts #!"),
    }),
    file: "integrations/all.yaml",
    nearMiss: variant({
      "integrations/all.yaml": integrationsWith("path: /lines/{line}/counts", "path: /lines/{line}/counts/{count}"),
    }),
  },
  {
    rule: "unknown-api-method-target",
    title: "an ApiMethod answered by a script that is not call-triggered",
    trigger: variant({
      "integrations/all.yaml": integrationsWith("script: Limit", "script: Inlet.LimitCommand #!"),
    }),
    file: "integrations/all.yaml",
    nearMiss: variant({ "integrations/all.yaml": integrationsWith("script: Limit", "script: LogOver") }),
  },
  {
    rule: "unknown-external-system",
    title: "externalSystem.cachedCall naming a system no document defines",
    trigger: variant({
      "templates/motor.yaml": motorScripts('externalSystem.cachedCall("Erp", "ReportCount", "L1", 3);'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": motorScripts('externalSystem.cachedCall("Mes", "ReportCount", "L1", 3);'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "unknown-external-method",
    title: "externalSystem.call naming a method the system does not have",
    trigger: variant({
      "templates/motor.yaml": motorScripts('externalSystem.call("Mes", "ReportTotal", "L1", 3);'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": motorScripts('externalSystem.call("Mes", "ReportCount", "L1", 3);'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "unknown-notification-list",
    title: "notify naming a list no document defines",
    trigger: variant({
      "templates/motor.yaml": motorScripts('notify("Nightshift", "over speed", "check P7");'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": motorScripts('notify("Operators", "over speed", "check P7");'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "unknown-database-connection",
    title: "database.query naming a connection no document defines",
    trigger: variant({
      "templates/motor.yaml": motorScripts('return database.query("Lab", "select 1");'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": motorScripts('return database.query("Historian", "select 1");'),
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "script-sql-literal",
    title: "SQL put together by concatenation (warning)",
    trigger: variant({
      "templates/motor.yaml": motorScripts(
        'database.cachedWrite("Historian", "insert into runs values (" + attributes.get("Speed") + ")");',
      ),
      "integrations/all.yaml": INTEGRATIONS,
    }),
    file: "templates/motor.yaml",
    nearMiss: variant({
      "templates/motor.yaml": motorScripts(
        'database.cachedWrite("Historian", "insert into runs values ($1)", attributes.get("Speed"));',
      ),
      "integrations/all.yaml": INTEGRATIONS,
    }),
  },
  {
    rule: "unused-template",
    title: "a template nothing uses (warning)",
    trigger: variant({
      "templates/spare.yaml": "kind: Template\nname: Spare #!\nattributes: [{ name: X, dataType: Double }]\n",
    }),
    file: "templates/spare.yaml",
    nearMiss: variant({
      "templates/spare.yaml": "kind: Template\nname: Spare\nattributes: [{ name: X, dataType: Double }]\n",
      "instances/spare.yaml": "kind: Instance\nname: S1\nsite: plant-north\ntemplate: Spare\n",
    }),
  },
  {
    rule: "batch-empty-match",
    title: "a match rule that selects nothing (warning)",
    trigger: batches("kind: Batch\nname: pilot\nselect:\n  match:\n    - { site: plant-north, template: Valve } #!\n"),
    file: "batches/pilot.yaml",
    nearMiss: batches("kind: Batch\nname: pilot\nselect:\n  match:\n    - { site: plant-north, template: Motor }\n"),
  },
];

/** Rules that need the deploy branch: tested with the controller (test/controller/batches.test.ts). */
export const NOT_COVERED_HERE: RuleId[] = ["batch-immutable", "stale-instance"];
