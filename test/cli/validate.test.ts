import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validatorFor } from "../../controller/contract/schemas.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { scadalink, spawnScadalink, tempDir, writeRepo } from "../helpers/cli.js";
import { lineOf } from "../helpers/repo.js";
import { TEMPLATE_DIR } from "../helpers/template-repo.js";

const broken = variant({
  "instances/north.yaml": BASE["instances/north.yaml"]!.replace("area: Line1/Cell1", "area: Line1/Cell9 #!"),
});
const brokenLine = lineOf(broken["instances/north.yaml"]!);

describe("scadalink validate", () => {
  it("exits 0 on the template repo and prints a summary", () => {
    const r = scadalink(["validate", "--repo", TEMPLATE_DIR, "--no-cache"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✔ no problems · 45 instances, 12 templates, 3 sites in 40 documents · \d+ ms\n$/);
  });

  it("prints compiler-style lines and exits 1 on errors", () => {
    const r = scadalink(["validate", "--repo", writeRepo(broken), "--no-cache"]);
    expect(r.code).toBe(1);
    const [line, summary] = r.stdout.trim().split("\n");
    expect(line).toBe(
      `instances/north.yaml:${brokenLine}:7  error  site plant-north has no area "Line1/Cell9" (did you mean "Line1/Cell1"?)  unknown-area`,
    );
    expect(summary).toMatch(/^✖ 1 error · 1 instance, 3 templates, 1 site in 8 documents · \d+ ms$/);
  });

  it("exits 0 when there are only warnings", () => {
    const r = scadalink([
      "validate",
      "--repo",
      writeRepo(variant({ "templates/spare.yaml": "kind: Template\nname: Spare\n" })),
      "--no-cache",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "warning  template Spare is not used by any instance, extends or compose  unused-template",
    );
  });

  it("--format json prints exactly one object that matches schemas/validate-result.schema.json", () => {
    const r = scadalink(["validate", "--repo", writeRepo(broken), "--format", "json", "--no-cache"]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    const validate = validatorFor("validate-result.schema.json");
    expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
    expect(out).toMatchObject({
      ok: false,
      errorCount: 1,
      warningCount: 0,
      diagnostics: [
        {
          rule: "unknown-area",
          severity: "error",
          file: "instances/north.yaml",
          line: brokenLine,
          column: 7,
          endLine: brokenLine,
          endColumn: 18,
        },
      ],
      stats: { documents: 8, templates: 3, instances: 1, sites: 1 },
    });
    const ok = JSON.parse(scadalink(["validate", "--repo", TEMPLATE_DIR, "--format", "json"]).stdout);
    expect(validate(ok)).toBe(true);
    expect(ok.ok).toBe(true);
  });

  it("--format github prints workflow annotations", () => {
    const r = scadalink(["validate", "--repo", writeRepo(broken), "--format", "github", "--no-cache"]);
    expect(r.stdout.split("\n")[0]).toBe(
      `::error file=instances/north.yaml,line=${brokenLine},col=7,endLine=${brokenLine},endColumn=18,title=unknown-area::site plant-north has no area "Line1/Cell9" (did you mean "Line1/Cell1"?)`,
    );
  });

  it("--format sarif prints a SARIF 2.1.0 log with rule metadata", () => {
    const r = scadalink(["validate", "--repo", writeRepo(broken), "--format", "sarif", "--no-cache"]);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe("2.1.0");
    const run = sarif.runs[0];
    const result = run.results[0];
    expect(result).toMatchObject({ ruleId: "unknown-area", level: "error" });
    expect(result.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: "instances/north.yaml", uriBaseId: "%SRCROOT%" },
      region: { startLine: brokenLine, startColumn: 7, endLine: brokenLine, endColumn: 18 },
    });
    expect(run.tool.driver.rules[result.ruleIndex].id).toBe("unknown-area");
  });

  it("colours only on request and never with NO_COLOR", () => {
    const dir = writeRepo(broken);
    expect(
      scadalink(["validate", "--repo", dir, "--no-cache"], { env: { NO_COLOR: undefined, FORCE_COLOR: "1" } }).stdout,
    ).toContain("\u001b[31m");
    expect(
      scadalink(["validate", "--repo", dir, "--no-cache"], { env: { NO_COLOR: "1", FORCE_COLOR: "1" } }).stdout,
    ).not.toContain("\u001b[");
  });

  it("exits 2 on usage errors", () => {
    expect(scadalink(["validate", "--format", "yaml"]).code).toBe(2);
    expect(scadalink(["validate", "--repo", join(tempDir(), "nope")]).code).toBe(2);
    expect(scadalink(["validate", "--bogus"]).code).toBe(2);
    expect(scadalink(["frobnicate"]).code).toBe(2);
  });

  it("never prints a secret, in any format", () => {
    const canary = "Canary-51ec-73d";
    const dir = writeRepo(
      variant({
        "sites/north.yaml": BASE["sites/north.yaml"]!.replace("passwordSecret: PLC_B_PASSWORD", `password: ${canary}`),
        "instances/north.yaml": `${BASE["instances/north.yaml"]}  Mode: { value: 3, apiKey: ${canary} }\nparameters: { token: ${canary} }\n`,
      }),
    );
    for (const format of ["text", "json", "github", "sarif"]) {
      const r = scadalink(["validate", "--repo", dir, "--format", format, "--no-cache"]);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).not.toContain(canary);
      expect(r.stdout).toContain("secret-literal");
    }
  });
});

describe("the result cache", () => {
  it("answers a repeated run from the cache, and never from a stale one", () => {
    const dir = writeRepo(BASE);
    const cache = join(tempDir("c"), "cache.json");
    const first = scadalink(["validate", "--repo", dir, "--cache-location", cache, "--format", "json"]);
    const written = statSync(cache).mtimeMs;
    const second = scadalink(["validate", "--repo", dir, "--cache-location", cache, "--format", "json"]);
    expect(statSync(cache).mtimeMs).toBe(written); // a hit does not rewrite the cache
    const strip = (s: string) => ({ ...JSON.parse(s), stats: { ...JSON.parse(s).stats, durationMs: 0 } });
    expect(strip(second.stdout)).toEqual(strip(first.stdout));

    writeFileSync(join(dir, "instances/north.yaml"), broken["instances/north.yaml"]!);
    const third = scadalink(["validate", "--repo", dir, "--cache-location", cache]);
    expect(third.code).toBe(1);
    expect(third.stdout).toContain("unknown-area");
  });

  it("survives a corrupt cache file", () => {
    const cache = join(tempDir("c"), "cache.json");
    writeFileSync(cache, "{ not json");
    const r = scadalink(["validate", "--repo", writeRepo(BASE), "--cache-location", cache]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(cache, "utf8")).key).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("validate --watch", () => {
  it("re-validates when a file changes and stops cleanly on SIGINT", async () => {
    const dir = writeRepo(BASE);
    const child = spawnScadalink(["validate", "--repo", dir, "--watch", "--format", "json"]);
    const lines: string[] = [];
    let buffer = "";
    const next = () =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no result; stderr so far: ${stderr}`)), 20_000);
        const check = () => {
          if (lines.length) {
            clearTimeout(timer);
            resolve(JSON.parse(lines.shift()!));
          } else setTimeout(check, 20);
        };
        check();
      });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => {
      buffer += d;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts.filter(Boolean));
    });
    expect((await next()).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // let the watcher settle
    writeFileSync(join(dir, "instances/north.yaml"), broken["instances/north.yaml"]!);
    const changed = await next();
    expect(changed).toMatchObject({ ok: false, diagnostics: [{ rule: "unknown-area" }] });
    // Written straight away: within chokidar's 50 ms per-file throttle, which watch mode must not miss.
    writeFileSync(join(dir, "instances/north.yaml"), BASE["instances/north.yaml"]!);
    expect((await next()).ok).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
