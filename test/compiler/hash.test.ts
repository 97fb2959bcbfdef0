import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import canonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { compileFiles } from "../../controller/compiler/compile.js";
import { buildSiteArtifacts } from "../../controller/compiler/package/build.js";
import { revisionHash } from "../../controller/contract/hash.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { compile, describeDiagnostics, type Files, toSources, y } from "../helpers/repo.js";

/** Hash of every instance, by id. */
function hashes(files: Files): Record<string, string> {
  const c = compile(files);
  expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  return Object.fromEntries(c.packages().map((p) => [`${p.instance.site}/${p.instance.name}`, p.revisionHash]));
}

const FLEET: Files = variant({
  "instances/north.yaml": y`
    kind: InstanceSet
    site: plant-north
    template: Pump
    connection: plc-a
    instances:
      - { name: Pump07, area: Line1/Cell1, overrides: { Mode: manual } }
      - { name: Pump08, overrides: { Rated: 1500 } }
    ---
    kind: Instance
    name: Motor01
    site: plant-north
    template: Motor
    connection: plc-b
    ---
    kind: Instance
    name: Valve01
    site: plant-north
    template: Valve
    connection: plc-a
  `,
});

describe("identical meaning gives identical hashes", () => {
  const reference = hashes(FLEET);

  it("whatever the key order, comments, flow or block style, quoting and line endings", () => {
    const rewritten = variant({
      ...FLEET,
      "templates/motor.yaml": y`
        # Motors: the same template, written another way.
        name: "Motor"   # quoted
        kind: Template
        compose: [{ template: Valve, name: Inlet }]
        scripts:
          - code: "return callShared(\\"Clamp\\", attributes.get(\\"MaxSpeed\\"), 0, 3000);"
            returns: Double
            parameters:
              - type: String
                name: reason
            trigger:
              type: call
            name: Limit
          - { name: LogOver, trigger: { type: call }, code: 'log.warn("over speed " + callScript("Limit", "over"));' }
        alarms:
          - onTrigger: LogOver
            priority: 700
            trigger: { value: 1450.0, op: ">", attribute: Speed, type: threshold }
            name: OverSpeed
        attributes:
          - name: Speed
            tag: '{{instance}}.Speed'
            source: data
            dataType: Double
          - { name: Running, dataType: Boolean, source: data, tag: "{{instance}}.Run" }
          - { name: Mode, dataType: String, value: "auto" }
          - { name: MaxSpeed, dataType: Double, value: 1.5e3, locked: true }
          - { name: Rated, dataType: Double, value: 1400.00 }
      `.replace(/\n/g, "\r\n"),
    });
    expect(hashes(rewritten)).toEqual(reference);
  });

  it("with anchors and merge keys", () => {
    const anchored = variant({
      ...FLEET,
      "templates/valve.yaml": y`
        kind: Template
        name: Valve
        attributes:
          - &data { name: Position, dataType: Double, source: data, tag: "{{instance}}.{{module}}.Pos" }
          - { <<: *data, name: Command, access: readWrite, tag: "{{instance}}.{{module}}.Cmd" }
          - { name: Travel, dataType: Double, value: 100 }
        alarms:
          - { name: Stuck, trigger: { type: rateOfChange, attribute: Position, perSecond: 5 } }
        scripts:
          - name: LimitCommand
            trigger: { type: onChange, attribute: Command }
            code: |-
              if (attributes.get("Command") > attributes.get("Travel")) attributes.set("Command", attributes.get("Travel"));
      `,
    });
    expect(hashes(anchored)).toEqual(reference);
  });

  it("with documents split across other files, and defaults written out", () => {
    const { "templates/motor.yaml": motor, "templates/pump.yaml": pump, "instances/north.yaml": inst, ...rest } = FLEET;
    const split: Files = {
      ...rest,
      "all-templates.yaml": `${motor}---\n${pump}`,
      "a/b/c/pumps.yaml": inst!.split("---\n")[0]!.replace("template: Pump", "template: Pump\nstate: enabled"),
      "motor-one.yml": inst!.split("---\n")[1]!,
      "valve-one.yaml": inst!
        .split("---\n")[2]!
        .replace("connection: plc-a", "connection: plc-a\napiVersion: scadalink/v1"),
    };
    expect(hashes(split)).toEqual(reference);
  });

  it("with an Instance document instead of an InstanceSet entry", () => {
    const inst = FLEET["instances/north.yaml"]!.split("---\n");
    const singles = variant({
      ...FLEET,
      "instances/north.yaml": [
        "kind: Instance\nname: Pump07\nsite: plant-north\ntemplate: Pump\nconnection: plc-a\narea: Line1/Cell1\noverrides: { Mode: manual }\n",
        "kind: Instance\nname: Pump08\nsite: plant-north\ntemplate: Pump\nconnection: plc-a\noverrides: { Rated: { value: 1500 } }\n",
        inst[1],
        inst[2],
      ].join("---\n"),
    });
    expect(hashes(singles)).toEqual(reference);
  });

  it("with descriptions changed (documentation, not configuration)", () => {
    const described = variant({
      ...FLEET,
      "templates/pump.yaml": `description: Centrifugal pumps.\n${FLEET["templates/pump.yaml"]}`,
    });
    expect(hashes(described)).toEqual(reference);
  });
});

describe("a change of meaning changes the hash of exactly the affected instances", () => {
  const reference = hashes(FLEET);
  const changed = (files: Files) => {
    const next = hashes(files);
    return Object.keys(reference)
      .filter((id) => reference[id] !== next[id])
      .sort();
  };
  const all = ["plant-north/Motor01", "plant-north/Pump07", "plant-north/Pump08", "plant-north/Valve01"];

  it.each<[string, Files, string[]]>([
    // Pump overrides Inlet.Travel, so a Valve default no longer reaches pumps.
    [
      "a Valve default",
      variant({ ...FLEET, "templates/valve.yaml": BASE["templates/valve.yaml"]!.replace("value: 100", "value: 99") }),
      ["plant-north/Motor01", "plant-north/Valve01"],
    ],
    [
      "a Motor alarm threshold (Motor and Pump)",
      variant({
        ...FLEET,
        "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1450", "value: 1460"),
      }),
      all.slice(0, 3),
    ],
    // Pump08 overrides Rated itself: only Pump07 takes Pump's value.
    [
      "a Pump override",
      variant({ ...FLEET, "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace("value: 1450", "value: 1460") }),
      ["plant-north/Pump07"],
    ],
    [
      "one instance's override",
      variant({
        ...FLEET,
        "instances/north.yaml": FLEET["instances/north.yaml"]!.replace("Rated: 1500", "Rated: 1501"),
      }),
      ["plant-north/Pump08"],
    ],
    [
      "one instance's state",
      variant({
        ...FLEET,
        "instances/north.yaml": FLEET["instances/north.yaml"]!.replace(
          "name: Valve01",
          "name: Valve01\nstate: disabled",
        ),
      }),
      ["plant-north/Valve01"],
    ],
    [
      "a script's code by one character",
      variant({
        ...FLEET,
        "templates/valve.yaml": BASE["templates/valve.yaml"]!.replace(
          '> attributes.get("Travel")',
          '>= attributes.get("Travel")',
        ),
      }),
      all,
    ],
    [
      "a label",
      variant({
        ...FLEET,
        "instances/north.yaml": FLEET["instances/north.yaml"]!.replace(
          "name: Motor01",
          "name: Motor01\nlabels: { line: a }",
        ),
      }),
      ["plant-north/Motor01"],
    ],
    [
      "a tag pattern",
      variant({
        ...FLEET,
        "templates/pump.yaml": BASE["templates/pump.yaml"]!.replace("{{instance}}.Flow", "{{instance}}.FLOW"),
      }),
      all.slice(1, 3),
    ],
    [
      "an area",
      variant({
        ...FLEET,
        "instances/north.yaml": FLEET["instances/north.yaml"]!.replace("area: Line1/Cell1", "area: Line1"),
      }),
      ["plant-north/Pump07"],
    ],
  ])("%s", (_, files, expected) => {
    expect(changed(files)).toEqual(expected);
  });

  it("a shared script's code changes the site's hash, not the instances'", () => {
    const before = compileFiles(toSources(FLEET));
    const after = compileFiles(
      toSources(
        variant({
          ...FLEET,
          "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace("Math.min", "Math.min "),
        }),
      ),
    );
    expect(
      changed(
        variant({
          ...FLEET,
          "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace("Math.min", "Math.min "),
        }),
      ),
    ).toEqual([]);
    const site = (c: typeof before) =>
      buildSiteArtifacts(c.index.sites.get("plant-north")!, c.shared.registry).revisionHash;
    expect(site(before)).not.toBe(site(after));
  });
});

describe("the hash can be recomputed from the package alone", () => {
  it("by an independent implementation (Python, standard library only)", () => {
    const c = compile(FLEET);
    const docs: object[] = [...c.packages(), buildSiteArtifacts(c.index.sites.get("plant-north")!, c.shared.registry)];
    // Unicode, escapes and awkward numbers, to exercise the canonical form.
    docs.push({
      kind: "probe",
      s: '€ \u000f\n"\\/ 𝄞 é',
      n: [0.1, 1e21, 1e-7, -0, 123456789.123, 5e-324, 1.5e300],
      k: { é: 1, e: 2, "😀": 3, ﬀ: 4 },
    });
    (docs[docs.length - 1] as { revisionHash?: string }).revisionHash = revisionHash(docs[docs.length - 1]!);
    const script = fileURLToPath(new URL("../helpers/jcs_sha256.py", import.meta.url));
    const run = spawnSync("python3", [script], { input: JSON.stringify(docs), encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(docs.length);
    for (const line of lines) {
      const [stored, recomputed] = line.split(" ");
      expect(recomputed).toBe(stored);
    }
  });

  it("uses RFC 8785 canonical JSON (its published example)", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });
});
