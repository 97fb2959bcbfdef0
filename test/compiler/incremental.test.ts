import { describe, expect, it } from "vitest";
import { type Compilation, Compiler, compileFiles, type SourceFile } from "../../controller/compiler/compile.js";
import { rng, templateFiles } from "../helpers/template-repo.js";

/** Everything a compile produces that users see: diagnostics, stats and (when valid) every package. */
function observable(c: Compilation) {
  return { diagnostics: c.diagnostics, stats: c.stats, packages: c.errorCount === 0 ? c.packages() : [] };
}

type Edit = (files: Map<string, string>, pick: () => number) => void;

const replaceIn =
  (path: string, from: string | RegExp, to: string): Edit =>
  (files) => {
    const text = files.get(path);
    if (text !== undefined) files.set(path, text.replace(from, to));
  };

const EDITS: Edit[] = [
  replaceIn("templates/valve.yaml", "value: 100", "value: 97"),
  replaceIn("templates/valve.yaml", "value: 97", "value: 100"),
  replaceIn("templates/equipment.yaml", "priority: 800", "priority: 810"),
  replaceIn("templates/equipment.yaml", "extends: Equipment", "extends: Equipmnt"),
  replaceIn("templates/equipment.yaml", "extends: Equipmnt", "extends: Equipment"),
  replaceIn("templates/process.yaml", "perSecond: 0.01", "perSecond: 0.02"),
  replaceIn(
    "shared-scripts/math.yaml",
    "return Math.min(hi, Math.max(lo, x));",
    "return Math.min(hi, Math.max(lo, x)) + 0;",
  ),
  replaceIn("shared-scripts/math.yaml", "name: Clamp", "name: Clamp2"),
  replaceIn("shared-scripts/math.yaml", "name: Clamp2", "name: Clamp"),
  replaceIn("instances/ps-hilltop/station.yaml", "Diameter: 22", "Diameter: 23"),
  replaceIn("instances/ps-hilltop/station.yaml", "template: Tank", "template: Tank\nstate: disabled"),
  replaceIn("instances/ps-hilltop/station.yaml", "template: Tank\nstate: disabled", "template: Tank"),
  replaceIn("instances/wtp-riverside/intake.yaml", "kind: InstanceSet", "kind: InstanceSet\n  broken: ["),
  replaceIn("instances/wtp-riverside/intake.yaml", "kind: InstanceSet\n  broken: [", "kind: InstanceSet"),
  replaceIn("sites/ps-hilltop.yaml", "- name: Reservoir", "- name: Reservoirs"),
  replaceIn("sites/ps-hilltop.yaml", "- name: Reservoirs", "- name: Reservoir"),
  replaceIn(
    "batches/2026-04-13-hilltop-canary.yaml",
    "phase: execute",
    "phase: execute\nafter: [2026-04-20-riverside-filters]",
  ),
  replaceIn(
    "batches/2026-04-13-hilltop-canary.yaml",
    "phase: execute\nafter: [2026-04-20-riverside-filters]",
    "phase: execute",
  ),
  (files) => files.delete("templates/analyzers.yaml"),
  // A site that does not parse (its name still known), then gone: references must turn into unknown-site.
  replaceIn("sites/res-northfield.yaml", "kind: Site", "kind: Site\nbroken: ["),
  (files) => files.delete("sites/res-northfield.yaml"),
  replaceIn("templates/valve.yaml", "kind: Template\nname: Actuator", "kind: Template\nname: Actuator\nbroken: ["),
  (files, pick) => {
    const extra = `kind: Instance\nname: X${Math.floor(pick() * 5)}\nsite: res-northfield\ntemplate: FlowMeter\nconnection: rtu-northfield\nparameters: { tagPrefix: NF }\n`;
    files.set(`instances/extra-${Math.floor(pick() * 3)}.yaml`, extra);
  },
  (files) => {
    for (const k of [...files.keys()]) if (k.startsWith("instances/extra-")) files.delete(k);
  },
];

describe("the incremental compiler", () => {
  it("equals a cold compile after every step of a random walk of edits", async () => {
    const original = new Map((await templateFiles()).map((f) => [f.path, f.text]));
    const pick = rng(20260420);
    const files = new Map(original);
    const compiler = new Compiler();
    const sources = (): SourceFile[] => [...files].map(([path, text]) => ({ path, text }));
    compiler.setFiles(sources());
    expect(observable(compiler.compile())).toEqual(observable(compileFiles(sources())));
    for (let step = 0; step < 120; step++) {
      EDITS[Math.floor(pick() * EDITS.length)]!(files, pick);
      if (step % 20 === 19) for (const [k, v] of original) files.set(k, v); // restore now and then
      compiler.setFiles(sources());
      expect(observable(compiler.compile()), `step ${step}`).toEqual(observable(compileFiles(sources())));
    }
  });

  it("re-parses only changed files and re-flattens only affected templates", async () => {
    const files = await templateFiles();
    const compiler = new Compiler();
    compiler.setFiles(files);
    const first = compiler.compile();
    const pump = first.template("Pump");
    const tank = first.template("Tank");
    expect(
      compiler.setFile(
        "instances/ps-hilltop/station.yaml",
        files.find((f) => f.path === "instances/ps-hilltop/station.yaml")!.text,
      ),
    ).toBe(false);
    compiler.setFile(
      "templates/process.yaml",
      files.find((f) => f.path === "templates/process.yaml")!.text.replace("perSecond: 0.01", "perSecond: 0.03"),
    );
    const second = compiler.compile();
    expect(second.template("Pump")).toBe(pump); // untouched: the same object, not recomputed
    expect(second.template("Tank")).not.toBe(tank);
  });
});
