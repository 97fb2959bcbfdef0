import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageVersion } from "../../controller/package-root.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { scadalink, tempDir, writeRepo } from "../helpers/cli.js";
import { lineOf } from "../helpers/repo.js";
import { TEMPLATE_DIR } from "../helpers/template-repo.js";

describe("scadalink flatten", () => {
  it("prints every package as a JSON array", () => {
    const r = scadalink(["flatten", "--repo", TEMPLATE_DIR]);
    expect(r.code).toBe(0);
    const packages = JSON.parse(r.stdout);
    expect(packages).toHaveLength(45);
    expect(packages[0]).toMatchObject({ apiVersion: "scadalink/v1", kind: "DeploymentPackage" });
  });

  it("selects instances with --instance and rejects unknown ones with exit 2", () => {
    const r = scadalink([
      "flatten",
      "--repo",
      TEMPLATE_DIR,
      "--instance",
      "ps-hilltop/P1",
      "--instance",
      "res-northfield/V1",
    ]);
    expect(JSON.parse(r.stdout).map((p: { instance: { name: string } }) => p.instance.name)).toEqual(["P1", "V1"]);
    const bad = scadalink(["flatten", "--repo", TEMPLATE_DIR, "--instance", "ps-hilltop/P9"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--instance ps-hilltop/P9: no such instance");
  });

  it("writes <out>/<site>/<name>.json with --out", () => {
    const out = join(tempDir("out"), "packages");
    const r = scadalink(["flatten", "--repo", writeRepo(BASE), "--out", out]);
    expect(r.code).toBe(0);
    expect(readdirSync(join(out, "plant-north"))).toEqual(["Pump07.json"]);
    expect(JSON.parse(readFileSync(join(out, "plant-north", "Pump07.json"), "utf8")).revisionHash).toMatch(/^sha256:/);
    expect(readdirSync(join(out, ".."))).toEqual(["packages"]); // no staging left behind
  });

  it("writes nothing and exits 1 when the repo has errors", () => {
    const out = join(tempDir("out"), "packages");
    const r = scadalink(["flatten", "--repo", writeRepo(variant({ "templates/pump.yaml": undefined })), "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown-template");
    expect(existsSync(out)).toBe(false);
  });

  it("--explain shows where every field came from", () => {
    const r = scadalink(["flatten", "--repo", writeRepo(BASE), "--explain"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const row = (section: string, field: string) => {
      const start = lines.findIndex((l) => l.trim() === section);
      return lines.slice(start + 1).find((l) => l.trim().startsWith(`${field} `))!;
    };
    const motorLine = (needle: string) => lineOf(BASE["templates/motor.yaml"]!, needle);
    expect(row("attribute Speed", "tag")).toMatch(
      /"ns=2;s=L1.Pump07.Speed"\s+instances\/north.yaml:8:\d+\s+Instance plant-north\/Pump07 \(binding\)/,
    );
    const pumpLine = lineOf(BASE["templates/pump.yaml"]!, "Rated:");
    expect(row("attribute Rated", "value")).toMatch(
      new RegExp(`1450\\s+templates/pump.yaml:${pumpLine}:\\d+\\s+Template Pump \\(override\\)`),
    );
    expect(row("attribute MaxSpeed", "locked")).toMatch(
      new RegExp(`templates/motor.yaml:${motorLine("MaxSpeed")}:\\d+\\s+Template Motor`),
    );
    expect(row("alarm OverSpeed", "priority")).toMatch(
      /900\s+instances\/north.yaml:11:\d+\s+Instance plant-north\/Pump07/,
    );
    expect(row("alarm OverSpeed", "trigger.value")).toMatch(
      new RegExp(`1450\\s+templates/motor.yaml:${motorLine("OverSpeed") + 1}:`),
    );
  });
});

describe("scadalink init", () => {
  it("creates a config repo that validates out of the box, with schemas for editors", () => {
    const dir = join(tempDir("init"), "plant");
    const r = scadalink(["init", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("3 sites, 12 templates, 45 instances (valid)");
    expect(existsSync(join(dir, ".scadalink", "schemas", "template.schema.json"))).toBe(true);
    const settings = JSON.parse(readFileSync(join(dir, ".vscode", "settings.json"), "utf8"));
    const mapped = Object.keys(settings["yaml.schemas"])[0]!;
    expect(existsSync(join(dir, mapped))).toBe(true);
    expect(scadalink(["validate", "--repo", dir]).code).toBe(0);
  });

  it("never overwrites: refuses a directory that is a config repo or has clashing files", () => {
    const dir = writeRepo({ "scadalink.yaml": "kind: Repository\n" });
    expect(scadalink(["init", dir]).code).toBe(2);
    const other = writeRepo({ "README.md": "mine\n" });
    const r = scadalink(["init", other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("README.md");
    expect(readFileSync(join(other, "README.md"), "utf8")).toBe("mine\n");
    expect(existsSync(join(other, "scadalink.yaml"))).toBe(false);
  });
});

describe("help and version", () => {
  it("prints the version", () => {
    const r = scadalink(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(packageVersion());
  });

  it.each(["init", "validate", "flatten"])("%s --help documents its options and exits 0", (cmd) => {
    const r = scadalink([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: scadalink ${cmd}`);
  });

  it("keeps the init template untouched by tests", () => {
    writeFileSync(join(tempDir(), "x"), "");
    expect(existsSync(join(TEMPLATE_DIR, "scadalink.yaml"))).toBe(true);
  });
});
