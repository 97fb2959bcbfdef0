import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fleetTable } from "../../demo/fleet-table.js";
import { firingTag, type SimTag, simulatedTags, valueAt } from "../../demo/simulate.js";
import { triggerHolds } from "../../site-reconciler/runtime/instance/alarms.js";
import { compile } from "../helpers/repo.js";

/** The template's packages, compiled from config-repo-template/. */
function templatePackages() {
  const root = "config-repo-template";
  const files: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (e.isFile() && e.name.endsWith(".yaml")) {
      const full = join(e.parentPath, e.name);
      files[full.slice(root.length + 1)] = readFileSync(full, "utf8");
    }
  return compile(files).packages();
}

describe("the demo's simulated values", () => {
  const packages = templatePackages();

  it("keep every alarm on a simulated data attribute normal over a whole period, except through scripts", () => {
    const tags = new Map<string, SimTag[]>();
    for (const site of new Set(packages.map((p) => p.instance.site)))
      for (const [c, t] of simulatedTags(packages.filter((p) => p.instance.site === site))) tags.set(`${site}/${c}`, t);
    const byId = new Map([...tags.values()].flat().map((t) => [t.id, t]));
    let checked = 0;
    for (const p of packages)
      for (const al of p.alarms) {
        const attr = p.attributes.find((a) => a.path === al.trigger.attribute);
        const id = attr?.tag?.replace(/^ns=2;s=/, "");
        const t = id ? byId.get(id) : undefined;
        if (!t) continue; // a static attribute (set by scripts)
        let previous: { value: unknown; at: number } | undefined;
        for (let s = 0; s <= 120; s += 0.5) {
          const sample = { value: valueAt(t, s), at: s * 1000 };
          expect(
            triggerHolds(al.trigger, sample, previous),
            `${p.instance.site}/${p.instance.name} ${al.path} at ${s}s`,
          ).not.toBe(true);
          previous = sample;
        }
        checked++;
      }
    expect(checked).toBeGreaterThan(100);
  });

  it("pick a threshold alarm to fire, with a value above its limit and one below", () => {
    const hilltop = packages.filter((p) => p.instance.site === "ps-hilltop");
    const f = firingTag(hilltop, simulatedTags(hilltop))!;
    const alarm = hilltop.find((p) => p.instance.name === f.instance)!.alarms.find((a) => a.path === f.alarm)!;
    expect(triggerHolds(alarm.trigger, { value: f.high, at: 0 }, undefined)).toBe(true);
    expect(triggerHolds(alarm.trigger, { value: f.normal, at: 0 }, undefined)).toBe(false);
  });
});

describe("the fleet table", () => {
  it("shows desired → running revisions, pending instances, quality and active alarms", () => {
    const lines = fleetTable([
      {
        site: "s1",
        desired: new Map([
          ["A", "sha256:aaaaaaaa11"],
          ["B", "sha256:bbbbbbbb22"],
        ]),
        running: [
          {
            name: "A",
            revisionHash: "sha256:0000000011",
            state: "enabled",
            running: true,
            result: "pass",
            message: null,
            attributes: [
              { path: "X", value: 1, quality: "good", timestamp: null },
              { path: "Y", value: null, quality: "bad", timestamp: null },
            ],
            alarms: [{ path: "High", active: true, since: null, priority: 1 }],
          },
        ],
      },
    ]);
    expect(lines[0]).toBe("s1  0/2 at the desired revision  1 alarm(s) active");
    expect(lines[1]).toMatch(/^ {2}A +00000000→aaaaaaaa +enabled +pass +1\/2 good +High$/);
    expect(lines[2]).toMatch(/^ {2}B +bbbbbbbb +pending +- +0\/0 good/);
  });
});
