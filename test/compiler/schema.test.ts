import { describe, expect, it } from "vitest";
import { analyzeFile } from "../../controller/compiler/load/analyze-file.js";
import { y } from "../helpers/repo.js";

const diags = (text: string) => analyzeFile("t.yaml", text).report.items;
/** 1-based column of the first occurrence of `needle` on 1-based line `line` of text. */
const col = (text: string, line: number, needle: string) => text.split("\n")[line - 1]!.indexOf(needle) + 1;

describe("schema diagnostics", () => {
  it("points an unknown field at its key and suggests the closest known one", () => {
    const d = diags(y`
      kind: Template
      name: Pump
      attributes:
        - name: Speed
          dataType: Double
          lockd: true
    `);
    expect(d).toMatchObject([{ rule: "schema", line: 6, column: 5 }]);
    expect(d[0]!.message).toBe('unknown field "lockd" in attributes[0] (did you mean "locked"?)');
  });

  it("points a missing field at the map that lacks it", () => {
    const d = diags("kind: Template\nname: Pump\nattributes:\n  - name: Speed\n    units: rpm\n");
    expect(d).toMatchObject([
      { rule: "schema", line: 4, column: 5, message: 'missing required field "dataType" in attributes[0]' },
    ]);
  });

  it("points a wrong type and a bad enum at the value, with a suggestion", () => {
    const text =
      "kind: Template\nname: Pump\nattributes:\n  - { name: Speed, dataType: double }\nalarms: []\nscripts: 3\n";
    const d = diags(text);
    expect(d.map((x) => [x.line, x.column, x.message])).toEqual([
      [
        4,
        col(text, 4, "double"),
        'attributes[0].dataType must be one of Boolean, Int32, Int64, Float, Double, String, DateTime (did you mean "Double"?)',
      ],
      [6, 10, "scripts must be an array, not an integer"],
    ]);
  });

  it("says a key with no value is empty", () => {
    expect(diags("kind: Site\nname: a\ndescription:\n")[0]).toMatchObject({
      line: 3,
      column: 13,
      message: "description is empty: give it a value or remove the key",
    });
  });

  it("uses the hand-written explanation for a value on a data attribute", () => {
    const text = "kind: Template\nname: T\nattributes:\n  - { name: S, dataType: Double, source: data, value: 3 }\n";
    const d = diags(text);
    expect(d).toMatchObject([{ rule: "schema", line: 4, column: col(text, 4, "value") }]);
    expect(d[0]!.message).toMatch(/data attribute takes its value from the device/);
  });

  it("rejects a tag on a static attribute", () => {
    const d = diags('kind: Template\nname: T\nattributes:\n  - { name: S, dataType: Double, tag: "x" }\n');
    expect(d[0]!.message).toMatch(/tag applies to data attributes only/);
  });

  it("names the trigger types for a wrong trigger type", () => {
    const text =
      "kind: Template\nname: T\nattributes: [{ name: S, dataType: Double }]\nalarms:\n  - name: A\n    trigger: { type: thresold, attribute: S }\n";
    const d = diags(text);
    expect(d).toMatchObject([{ rule: "schema", line: 6, column: col(text, 6, "thresold") }]);
    expect(d[0]!.message).toBe(
      'alarms[0].trigger.type must be one of threshold, range, match, rateOfChange (did you mean "threshold"?)',
    );
  });

  it("checks only the fields of the chosen trigger type", () => {
    const d = diags(
      "kind: Template\nname: T\nattributes: [{ name: S, dataType: Double }]\nalarms:\n  - name: A\n    trigger: { type: range, attribute: S, low: 1, high: 2, op: '>' }\n",
    );
    expect(d.map((x) => x.message)).toEqual(['unknown field "op" in alarms[0].trigger']);
  });

  it("requires a security policy with Sign and rejects one without", () => {
    const site = (sec: string) =>
      `kind: Site\nname: s\ndataConnections:\n  - { name: c, endpoint: "opc.tcp://h:1", ${sec} }\n`;
    expect(diags(site("securityMode: Sign, securityPolicy: None")).map((x) => x.message)).toEqual([
      "securityMode Sign or SignAndEncrypt needs a securityPolicy other than None",
    ]);
    expect(diags(site("securityMode: None, securityPolicy: Basic256Sha256")).map((x) => x.message)).toEqual([
      "a securityPolicy other than None needs securityMode Sign or SignAndEncrypt",
    ]);
    expect(diags(site("securityMode: SignAndEncrypt, securityPolicy: Aes256_Sha256_RsaPss"))).toEqual([]);
  });

  it("rejects a parameter key that cannot be a {{param.NAME}} placeholder", () => {
    const d = diags("kind: Instance\nname: I\nsite: s\ntemplate: T\nparameters:\n  line-1: a\n");
    expect(d).toMatchObject([{ line: 6, column: 3 }]);
    expect(d[0]!.message).toMatch(/^invalid key "line-1" in parameters/);
  });

  it("maps name patterns to invalid-name and interval ≤ 0 to trigger-type-mismatch", () => {
    expect(diags("kind: Batch\nname: Pilot Run\nselect: { instances: [a/b] }\n")).toMatchObject([
      { rule: "invalid-name", line: 2 },
    ]);
    const d = diags(
      "kind: Template\nname: T\nscripts:\n  - { name: S, trigger: { type: interval, everyMs: 0 }, code: '' }\n",
    );
    expect(d).toMatchObject([{ rule: "trigger-type-mismatch", line: 4 }]);
  });

  it("rejects instance names that could escape the deploy branch's directories", () => {
    for (const bad of ["../etc", "a..b", ".hidden", "a/b", "-x"]) {
      expect(
        diags(`kind: Instance\nname: "${bad}"\nsite: s\ntemplate: T\n`).map((x) => x.rule),
        bad,
      ).toEqual(["invalid-name"]);
    }
    expect(diags("kind: Instance\nname: P-101.a_b\nsite: s\ntemplate: T\n")).toEqual([]);
  });

  it("rejects Windows device names (any case, alone or before a dot) and a trailing dot for instances, sites and batches", () => {
    const instance = (n: string) => diags(`kind: Instance\nname: "${n}"\nsite: s\ntemplate: T\n`);
    for (const bad of ["CON", "aux", "COM1", "nul", "Pump.", "nul.txt", "Con.yaml", "LPT9", "prn.a.b", "com0"]) {
      const d = instance(bad);
      expect(
        d.map((x) => x.rule),
        bad,
      ).toEqual(["invalid-name"]);
      expect(d[0]).toMatchObject({ file: "t.yaml", line: 2 });
      expect(d[0]!.message, bad).toMatch(/Windows device name/);
    }
    // Names that only start like a device name are fine.
    for (const good of ["console", "Auxiliary", "COM10", "nullable", "LPT", "Pump.1", "CONveyor.2"])
      expect(instance(good), good).toEqual([]);
    const site = (n: string) => diags(`kind: Site\nname: ${n}\n`).map((x) => x.rule);
    for (const bad of ["con", "aux", "com1", "lpt3"]) expect(site(bad), bad).toEqual(["invalid-name"]);
    expect(site("console-1")).toEqual([]);
    const batch = (n: string) => diags(`kind: Batch\nname: "${n}"\nselect: { instances: [a/b] }\n`).map((x) => x.rule);
    for (const bad of ["nul", "aux.2026", "pilot."]) expect(batch(bad), bad).toEqual(["invalid-name"]);
    expect(batch("2026-04-20.pilot")).toEqual([]);
  });
});

describe("documents that are not documents", () => {
  it("rejects a missing kind, an unknown kind and a non-map document", () => {
    expect(diags("name: x\n")).toMatchObject([{ rule: "unknown-kind", line: 1 }]);
    expect(diags("kind: Templates\nname: x\n")[0]!.message).toMatch(/did you mean "Template"/);
    expect(diags("- a\n- b\n")).toMatchObject([{ rule: "schema", line: 1 }]);
  });
});
