import { describe, expect, it } from "vitest";
import { compileFiles } from "../../controller/compiler/compile.js";
import { buildManifest, buildSiteArtifacts } from "../../controller/compiler/package/build.js";
import { revisionHash } from "../../controller/contract/hash.js";
import { validatorFor } from "../../controller/contract/schemas.js";
import { templateFiles } from "../helpers/template-repo.js";

describe("the contract documents match the schemas in schemas/", async () => {
  const c = compileFiles(await templateFiles());
  const packages = c.packages();

  it("every package of the template repo is a valid DeploymentPackage whose hash verifies", () => {
    const validate = validatorFor("deployment-package.schema.json");
    expect(packages.length).toBeGreaterThanOrEqual(40);
    for (const p of packages) {
      expect(validate(p), JSON.stringify(validate.errors)).toBe(true);
      expect(revisionHash(p)).toBe(p.revisionHash);
    }
  });

  it("members are sorted by path and optional fields are null, never missing", () => {
    for (const p of packages) {
      for (const list of [p.attributes, p.alarms, p.scripts]) {
        const paths = list.map((m) => m.path);
        expect(paths).toEqual([...paths].sort());
      }
      for (const a of p.attributes)
        expect(Object.keys(a)).toEqual(["path", "dataType", "source", "access", "connection", "tag", "units", "value"]);
    }
  });

  it("site artifacts and manifests are valid, and hold secret names only", () => {
    const artifacts = validatorFor("site-artifacts.schema.json");
    const manifest = validatorFor("site-manifest.schema.json");
    for (const [name, site] of c.index.sites) {
      const a = buildSiteArtifacts(site, c.shared.registry);
      expect(artifacts(a), JSON.stringify(artifacts.errors)).toBe(true);
      expect(revisionHash(a)).toBe(a.revisionHash);
      const m = buildManifest(
        site,
        a,
        packages.filter((p) => p.instance.site === name),
      );
      expect(manifest(m), JSON.stringify(manifest.errors)).toBe(true);
      expect(Object.keys(m.instances).length).toBeGreaterThan(0);
    }
    const riverside = buildSiteArtifacts(c.index.sites.get("wtp-riverside")!, c.shared.registry);
    expect(riverside.dataConnections.find((d) => d.name === "plc-treatment")!.auth).toEqual({
      type: "username",
      username: "scadalink",
      passwordSecret: "RIVERSIDE_TREATMENT_PLC_PASSWORD",
    });
  });

  it("the execution record and site status schemas accept a well-formed document and reject a bad result state", () => {
    const record = validatorFor("execution-record.schema.json");
    const good = {
      apiVersion: "scadalink/v1",
      kind: "ExecutionRecord",
      batch: "2026-04-13-hilltop-canary",
      site: "ps-hilltop",
      instance: "P1",
      revisionHash: packages[0]!.revisionHash,
      deployCommit: "0123456789abcdef0123456789abcdef01234567",
      result: "pass",
      message: null,
      evidence: [{ item: "values-snapshot", path: "evidence/P1/values.json" }],
      recordedAt: "2026-04-13T10:00:00.000Z",
    };
    expect(record(good), JSON.stringify(record.errors)).toBe(true);
    expect(record({ ...good, result: "passed" })).toBe(false);
    const status = validatorFor("site-status.schema.json");
    expect(
      status({
        apiVersion: "scadalink/v1",
        kind: "SiteStatus",
        site: "ps-hilltop",
        sequence: 3,
        reportedAt: "2026-04-13T10:00:00.000Z",
        deployCommit: null,
        siteRevisionHash: null,
        instances: {},
        health: {
          lastPoll: null,
          connections: [{ name: "rtu-hilltop", state: "connected" }],
          tags: { resolved: 1, unresolved: 0, bad: 0 },
        },
      }),
      JSON.stringify(status.errors),
    ).toBe(true);
  });
});
