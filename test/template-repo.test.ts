import { describe, expect, it } from "vitest";
import { compileFiles } from "../controller/compiler/compile.js";
import { templateFiles } from "./helpers/template-repo.js";

/** config-repo-template/ is what `scadalink init` gives users: it must be valid and show every feature. */
describe("config-repo-template", async () => {
  const files = await templateFiles();
  const c = compileFiles(files);
  const docs = [...c.index.templates.values()];

  it("validates with no error and no warning", () => {
    expect(c.diagnostics).toEqual([]);
  });

  it("has 2-3 sites with areas and OPC UA connections using secret names", () => {
    expect(c.stats.sites).toBeGreaterThanOrEqual(2);
    expect(c.stats.sites).toBeLessThanOrEqual(3);
    for (const site of c.index.sites.values()) {
      expect(site.areas.size).toBeGreaterThan(0);
      expect(site.connections.size).toBeGreaterThan(0);
    }
    const secrets = [...c.index.sites.values()]
      .flatMap((s) => [...s.connections.values()])
      .filter((d) => d.auth?.type === "username");
    expect(secrets.length).toBeGreaterThan(0);
  });

  it("has at least 8 templates, three levels of inheritance and two levels of composition", () => {
    expect(c.stats.templates).toBeGreaterThanOrEqual(8);
    const depth = Math.max(...docs.map((d) => c.template(d.data.name)!.chain.length));
    expect(depth).toBeGreaterThanOrEqual(3);
    const moduleDepth = Math.max(
      ...docs.flatMap((d) => [...c.template(d.data.name)!.modules.keys()].map((p) => p.split(".").length)),
    );
    expect(moduleDepth).toBeGreaterThanOrEqual(2);
  });

  it("has locks, at least 40 instances (some in InstanceSets), shared scripts and cross-script calls", () => {
    expect(docs.some((d) => (d.data.attributes ?? []).some((a) => a.locked))).toBe(true);
    expect(docs.some((d) => Object.values(d.data.overrides ?? {}).some((o) => o?.locked))).toBe(true);
    expect(c.stats.instances).toBeGreaterThanOrEqual(40);
    expect([...c.index.instances.values()].some((i) => i.set !== undefined)).toBe(true);
    expect(c.index.sharedScripts.size).toBeGreaterThan(0);
    const code = docs.flatMap((d) => (d.data.scripts ?? []).map((s) => s.code)).join("\n");
    expect(code).toContain("callScript(");
    expect(code).toContain("callShared(");
  });

  it("uses all four alarm triggers and all four script triggers", () => {
    const alarmTypes = new Set(docs.flatMap((d) => (d.data.alarms ?? []).map((a) => a.trigger.type)));
    expect([...alarmTypes].sort()).toEqual(["match", "range", "rateOfChange", "threshold"]);
    const scriptTypes = new Set(docs.flatMap((d) => (d.data.scripts ?? []).map((s) => s.trigger.type)));
    expect([...scriptTypes].sort()).toEqual(["call", "expression", "interval", "onChange"]);
  });

  it("has one prepare batch and one execute batch", () => {
    const phases = [...c.index.batches.values()].map((b) => b.data.phase ?? "prepare").sort();
    expect(phases).toEqual(["execute", "prepare"]);
  });

  it("maps the schemas for editors and holds no secret value", () => {
    const paths = files.map((f) => f.path);
    expect(paths).not.toContain(".github/workflows/validate.yml"); // excluded from the config documents
    expect(files.map((f) => f.text).join("\n")).not.toMatch(/password:|token:/i);
  });
});
