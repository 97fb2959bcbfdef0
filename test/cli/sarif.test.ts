import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import canonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { validators } from "../../schemas/validators.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { scadalink, writeRepo } from "../helpers/cli.js";
import { lineOf } from "../helpers/repo.js";

// validate's machine formats against their consumers: SARIF against the official OASIS SARIF 2.1.0 schema (with
// its uri-reference and other formats checked), artifact URIs resolved as a code-scanning consumer resolves them,
// and regions and annotations that span the offending YAML node.

const FIXTURE = fileURLToPath(new URL("../fixtures/sarif-schema-2.1.0.json", import.meta.url));
/**
 * RFC 8785 SHA-256 of sarif-2.1/prose/sarif-schema-2.1.0.json in oasis-tcs/sarif-spec (commit e0583813): the
 * fixture is that file, reformatted only.
 */
const OFFICIAL = "c34de406589773c9b12d581ee43d17bf99c016b92ee85eb34891740e94c193a6";

function sarifValidator() {
  const schema = JSON.parse(readFileSync(FIXTURE, "utf8"));
  // The schema's language pattern (…{2}]?$) has a stray ']' that only a regular expression without the u flag reads.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

/** An instance of the base repo's Pump in a file of its own, with an area its site does not have. */
const broken = (name: string) =>
  BASE["instances/north.yaml"]!.replace("name: Pump07", `name: ${name}`)
    .replace("area: Line1/Cell1", "area: Line1/Cell9")
    .replace("L1.Pump07", `L1.${name}`);

const ODD: Record<string, string> = {
  "instances/my station ü #1.yaml": broken("Pump11"),
  "instances/50% done?.yaml": broken("Pump12"),
  "instances/a,b:c [x].yaml": broken("Pump13"),
};
const oddRepo = () => writeRepo(variant(ODD));
const AREA_LINE = lineOf(broken("X"), "area:");
const AREA_COLUMN = 7;
const AREA_END = AREA_COLUMN + "Line1/Cell9".length;

describe("validate --format sarif", () => {
  it("the schema fixture is the official OASIS SARIF 2.1.0 schema", () => {
    const schema = JSON.parse(readFileSync(FIXTURE, "utf8"));
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.title).toBe("Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema");
    expect(createHash("sha256").update(canonicalize(schema)!).digest("hex")).toBe(OFFICIAL);
  });

  it("validates against the official schema for a repo with spaces, ü, #, %, ?, ',' and ':' in file names", () => {
    const dir = oddRepo();
    const r = scadalink(["validate", "--repo", dir, "--format", "sarif", "--no-cache"]);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout);
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);

    const results = log.runs[0].results as {
      ruleId: string;
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: Record<string, number> } }[];
    }[];
    const uris = results.map((x) => x.locations[0]!.physicalLocation.artifactLocation.uri).sort();
    expect(uris).toEqual([
      "instances/50%25%20done%3F.yaml",
      "instances/a%2Cb%3Ac%20%5Bx%5D.yaml",
      "instances/my%20station%20%C3%BC%20%231.yaml",
    ]);
    for (const x of results) {
      const { artifactLocation, region } = x.locations[0]!.physicalLocation;
      expect(x.ruleId).toBe("unknown-area");
      // Resolved against the repo root (%SRCROOT%) as a consumer does, each URI names its file.
      const file = fileURLToPath(new URL(artifactLocation.uri, pathToFileURL(`${dir}/`)));
      expect(existsSync(file), file).toBe(true);
      expect(Object.keys(ODD)).toContain(file.slice(dir.length + 1));
      // The region is the offending value, Line1/Cell9.
      expect(region).toEqual({
        startLine: AREA_LINE,
        startColumn: AREA_COLUMN,
        endLine: AREA_LINE,
        endColumn: AREA_END,
      });
    }
  });

  it("a raw file name in a URI is what the schema rejects (the check the URIs pass is real)", () => {
    const r = scadalink(["validate", "--repo", oddRepo(), "--format", "sarif", "--no-cache"]);
    const log = JSON.parse(r.stdout);
    for (const x of log.runs[0].results) {
      const loc = x.locations[0].physicalLocation.artifactLocation;
      loc.uri = decodeURIComponent(loc.uri);
    }
    const validate = sarifValidator();
    expect(validate(log)).toBe(false);
    expect(validate.errors!.map((e) => e.message)).toContain('must match format "uri-reference"');
  });

  it("has a region without an end where the problem is at a point (a YAML syntax error)", () => {
    const dir = writeRepo(variant({ "instances/bad ü.yaml": "kind: Instance\nname: [unclosed\n" }));
    const log = JSON.parse(scadalink(["validate", "--repo", dir, "--format", "sarif", "--no-cache"]).stdout);
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const result = log.runs[0].results.find((x: { ruleId: string }) => x.ruleId === "yaml-syntax");
    expect(result.locations[0].physicalLocation.artifactLocation.uri).toBe("instances/bad%20%C3%BC.yaml");
    expect(Object.keys(result.locations[0].physicalLocation.region).sort()).toEqual(["startColumn", "startLine"]);
  });
});

describe("validate --format github and --format json: ranges", () => {
  it("annotations carry endLine and endColumn, with file names escaped as workflow-command properties", () => {
    const r = scadalink(["validate", "--repo", oddRepo(), "--format", "github", "--no-cache"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("::"));
    const position = `line=${AREA_LINE},col=${AREA_COLUMN},endLine=${AREA_LINE},endColumn=${AREA_END}`;
    const message = `site plant-north has no area "Line1/Cell9" (did you mean "Line1/Cell1"?)`;
    expect(lines.sort()).toEqual(
      [
        `::error file=instances/50%25 done?.yaml,${position},title=unknown-area::${message}`,
        `::error file=instances/a%2Cb%3Ac [x].yaml,${position},title=unknown-area::${message}`,
        `::error file=instances/my station ü #1.yaml,${position},title=unknown-area::${message}`,
      ].sort(),
    );
  });

  it("a range over several lines is annotated by its lines alone (GitHub takes columns on one line only)", () => {
    // A template attribute without its dataType: the whole attribute's map is the problem.
    const dir = writeRepo(
      variant({ "templates/spare.yaml": "kind: Template\nname: Spare\nattributes:\n  - name: A\n    units: rpm\n" }),
    );
    const r = scadalink(["validate", "--repo", dir, "--format", "github", "--no-cache"]);
    expect(r.stdout).toMatch(/^::error file=templates\/spare\.yaml,line=4,endLine=5,title=schema::/m);
  });

  it("--format json adds endLine and endColumn to the documented fields, and matches the schema", () => {
    const r = scadalink(["validate", "--repo", oddRepo(), "--format", "json", "--no-cache"]);
    const out = JSON.parse(r.stdout);
    const validate = validators["validate-result.schema.json"]!;
    expect(validate(out), JSON.stringify(validate.errors)).toBe(true);
    const d = out.diagnostics.find((x: { file: string }) => x.file === "instances/my station ü #1.yaml");
    expect(d).toEqual({
      rule: "unknown-area",
      severity: "error",
      message: expect.stringContaining('no area "Line1/Cell9"'),
      file: "instances/my station ü #1.yaml",
      line: AREA_LINE,
      column: AREA_COLUMN,
      endLine: AREA_LINE,
      endColumn: AREA_END,
    });
    expect(Object.keys(d)).toEqual(["rule", "severity", "message", "file", "line", "column", "endLine", "endColumn"]);
  });
});
