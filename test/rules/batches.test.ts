import { describe, expect, it } from "vitest";
import { matchesRule } from "../../controller/compiler/batch-select.js";
import { compileFiles } from "../../controller/compiler/compile.js";
import { variant } from "../helpers/base-repo.js";
import { byRule, compile, toSources, y } from "../helpers/repo.js";

describe("batch selection", () => {
  const c = compile(
    variant({
      "instances/more.yaml": y`
        kind: InstanceSet
        site: plant-north
        template: Pump
        connection: plc-a
        labels: { criticality: low }
        instances:
          - { name: P1, area: Line1 }
          - { name: P2, area: Line1/Cell1, labels: { criticality: high } }
          - { name: P3, area: Line2 }
      `,
    }),
  );
  const decl = (id: string) => c.index.instances.get(id)!;

  it("matches a template anywhere in the instance's extends chain", () => {
    expect(matchesRule(decl("plant-north/P1"), { template: "Motor" }, ["Pump", "Motor"])).toBe(true);
    expect(matchesRule(decl("plant-north/P1"), { template: "Valve" }, ["Pump", "Motor"])).toBe(false);
  });

  it("matches an area and every area below it", () => {
    expect(matchesRule(decl("plant-north/P2"), { area: "Line1" }, [])).toBe(true);
    expect(matchesRule(decl("plant-north/P1"), { area: "Line1/Cell1" }, [])).toBe(false);
    expect(matchesRule(decl("plant-north/P3"), { area: "Line" }, [])).toBe(false);
  });

  it("matches labels (set labels, entry labels winning)", () => {
    expect(matchesRule(decl("plant-north/P1"), { labels: { criticality: "low" } }, [])).toBe(true);
    expect(matchesRule(decl("plant-north/P2"), { labels: { criticality: "low" } }, [])).toBe(false);
  });
});

describe("batch rules", () => {
  it("batch-cycle through three batches is reported at each after entry on the cycle", () => {
    const c = compile(
      variant({
        "batches/pilot.yaml": y`
          kind: Batch
          name: a
          select: { instances: [plant-north/Pump07] }
          after: [b]
          ---
          kind: Batch
          name: b
          select: { instances: [plant-north/Pump07] }
          after: [c]
          ---
          kind: Batch
          name: c
          select: { instances: [plant-north/Pump07] }
          after: [a]
          ---
          kind: Batch
          name: d
          select: { instances: [plant-north/Pump07] }
          after: [a]
        `,
      }),
    );
    const hits = byRule(c, "batch-cycle");
    expect(hits.map((d) => d.line)).toEqual([4, 9, 14]);
    expect(hits[0]!.message).toBe("after b makes a cycle: a → b → c → a");
  });

  it("selecting a deleted instance that is on the deploy branch is a warning: it releases the deletion", () => {
    const files = toSources(
      variant({ "batches/pilot.yaml": "kind: Batch\nname: pilot\nselect:\n  instances: [plant-north/Old1]\n" }),
    );
    const deployed = compileFiles(files, { deployed: new Set(["plant-north/Old1"]) });
    expect(byRule(deployed, "batch-unknown-instance")).toMatchObject([{ severity: "warning", line: 4 }]);
    expect(deployed.errorCount).toBe(0);
    expect(byRule(compileFiles(files), "batch-unknown-instance")).toMatchObject([{ severity: "error" }]);
  });
});
