import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../controller/package-root.js";

const read = (p: string) => readFileSync(join(packageRoot(), p), "utf8");
const doc = read("docs/configuration.md");
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A table row whose field column is exactly `field`. */
const row = (field: string) => new RegExp(`^\\| \`${reEscape(field)}\` \\|`, "m");
const section = (title: string) => doc.split(new RegExp(`^### ${reEscape(title)}$`, "m"))[1]!.split(/^##+ /m)[0]!;

describe("docs/configuration.md, generated from the schemas", () => {
  it("is exactly what scripts/gen-config-docs.mjs generates (npm run gen:docs)", () => {
    const r = spawnSync(process.execPath, [join(packageRoot(), "scripts/gen-config-docs.mjs"), "--check"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("has a section for every document kind and every file the controller and sites write", () => {
    const kinds = ["Repository", "Site", "Template", "Instance", "InstanceSet", "SharedScript", "Batch"];
    const written = [
      "DeploymentPackage",
      "SiteArtifacts",
      "SiteManifest",
      "BatchRelease",
      "BatchStatus",
      "ExecutionRecord",
      "EvidenceChecklist",
      "ExecutionRecordTemplate",
      "BatchHandoff",
      "SiteStatus",
      "ValidateResult",
    ];
    for (const title of [...kinds, ...written]) expect(doc, title).toMatch(new RegExp(`^### ${title}$`, "m"));
    for (const kind of kinds) expect(section(kind), kind).toMatch(row("kind"));
  });

  it("lists every top-level property of the Site and Template schemas as a field row of its section", () => {
    for (const [file, title] of [
      ["site.schema.json", "Site"],
      ["template.schema.json", "Template"],
    ] as const) {
      const schema = JSON.parse(read(`schemas/${file}`)) as { properties: Record<string, unknown> };
      const body = section(title);
      for (const prop of Object.keys(schema.properties)) expect(body, `${title}.${prop}`).toMatch(row(prop));
    }
  });

  it("describes nested fields and links shared definitions such as the trigger types", () => {
    expect(section("Site")).toMatch(row("dataConnections[].auth.passwordSecret"));
    expect(section("Site")).toMatch(/^\| `dataConnections\[\]\.securityMode` \|.*\| `"None"` \|/m);
    expect(section("Template")).toMatch(/^\| `alarms\[\]\.trigger` \| \[AlarmTrigger\]\(#alarmtrigger\) \| yes \|/m);
    expect(section("Template")).toMatch(/^\| `attributes\[\]\.dataType` \| \[DataType\]\(#datatype\) \|/m);
    expect(section("AlarmTrigger")).toContain("[ThresholdTrigger](#thresholdtrigger)");
    expect(section("ThresholdTrigger")).toMatch(/^\| `type` \| `"threshold"` \| yes \|/m);
    expect(section("ScriptTrigger")).toContain("[IntervalTrigger](#intervaltrigger)");
    expect(section("IntervalTrigger")).toMatch(row("everyMs"));
    // every link points at a heading of the document
    const anchors = new Set(
      [...doc.matchAll(/^#+ (.*)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, "")
          .replace(/\s/g, "-"),
      ),
    );
    for (const [, anchor] of doc.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors, anchor).toContain(anchor);
  });
});
