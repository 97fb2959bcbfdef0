import { describe, expect, it } from "vitest";
import { Compiler, type SourceFile } from "../../controller/compiler/compile.js";
import { placeholders } from "../../controller/compiler/rules/scripts.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, type Files, lineOf } from "../helpers/repo.js";
import { INTEGRATIONS, integrationsWith } from "./integration-docs.js";

// The integration calls of SPEC 8.2 checked against the documents of 8.1, at the line of the call.

const MOTOR = "templates/motor.yaml";
const DOCS = "integrations/all.yaml";

/** The base Motor template with a call-triggered script Report whose body is `lines` (mark a line with // #!). */
function motorWith(lines: string[], params = ""): string {
  const base = BASE[MOTOR]!;
  const script = [
    "  - name: Report",
    "    trigger: { type: call }",
    ...(params ? [`    parameters: [${params}]`] : []),
    "    code: |",
    ...lines.map((l) => `      ${l}`),
  ].join("\n");
  return base.replace("compose:", `${script}\ncompose:`);
}

function check(lines: string[], more: Files = {}, params = "") {
  const motor = motorWith(lines, params);
  const c = compile(variant({ [DOCS]: INTEGRATIONS, [MOTOR]: motor, ...more }));
  return { c, line: motor.includes("#!") ? lineOf(motor) : 0 };
}

describe("integration calls in scripts (SPEC 8.2)", () => {
  it("every call of the API, well formed, validates with no error and no warning", () => {
    const { c } = check(
      [
        'const ok = externalSystem.call("Mes", "ReportCount", "L1", 3);',
        'const id = externalSystem.cachedCall("Mes", "ReportCount", attributes.get("Mode"), 7);',
        'notify("Operators", "Over speed", "Speed " + attributes.get("Speed"));',
        'const rows = database.query("Historian", "select v from t where id = $1 and at > $2", 4, now());',
        'database.cachedWrite("Historian", "insert into t (v, note) values ($1, \'$9 is text\') -- $7", 1.5);',
        "return [ok, id, rows];",
      ],
      {},
    );
    expect(c.diagnostics, describeDiagnostics(c)).toEqual([]);
  });

  it("names computed at run time are not guessed at", () => {
    const { c } = check(
      [
        'const system = attributes.get("Mode");',
        'externalSystem.call(system, "Anything", 1, 2, 3);',
        'externalSystem.call("Mes", attributes.get("Mode"), "L1");',
        'notify(system, "s", "b");',
        'database.query(system, "select $1, $2", 1);',
        "const args = [1, 2];",
        'externalSystem.call("Mes", "ReportCount", ...args);',
        'database.query("Historian", "select $1, $2", ...args);',
      ],
      {},
    );
    expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  });

  describe("unknown-external-system", () => {
    it("a misspelt system, at the call's line, with the name it meant", () => {
      const { c, line } = check(['externalSystem.cachedCall("MES", "ReportCount", "L1", 3); // #!']);
      const d = byRule(c, "unknown-external-system");
      expect(
        d.map((x) => `${x.file}:${x.line}`),
        describeDiagnostics(c),
      ).toEqual([`${MOTOR}:${line}`]);
      expect(d[0]!.message).toMatch(/no external system "MES".*"Mes"/);
      expect(c.errorCount).toBe(1);
    });

    it("a notification list named where a system belongs says what it is", () => {
      const { c } = check(['externalSystem.call("Operators", "ReportCount", "L1", 3); // #!']);
      expect(byRule(c, "unknown-external-system")[0]?.message).toMatch(/"Operators" is a notification list/);
    });

    it("a system its instance's site does not get is reported at the instance", () => {
      const site = `${BASE["sites/north.yaml"]}integrations: [Operators, Historian]\n`;
      const { c } = check(['externalSystem.cachedCall("Mes", "ReportCount", "L1", 3);'], { "sites/north.yaml": site });
      const d = byRule(c, "unknown-external-system");
      expect(
        d.map((x) => `${x.file}:${x.line}`),
        describeDiagnostics(c),
      ).toEqual([`instances/north.yaml:${lineOf(BASE["instances/north.yaml"]!, "name: Pump07")}`]);
      expect(d[0]!.message).toMatch(/Pump07's script Report uses external system "Mes", which site plant-north/);
      // Listing it makes the same script valid.
      const listed = `${BASE["sites/north.yaml"]}integrations: [Mes, Operators, Historian]\n`;
      const ok = check(['externalSystem.cachedCall("Mes", "ReportCount", "L1", 3);'], { "sites/north.yaml": listed });
      expect(ok.c.errorCount, describeDiagnostics(ok.c)).toBe(0);
    });

    it("a call to a system whose document is broken is not reported again", () => {
      const broken = integrationsWith("timeoutMs: 5000", "timeoutMs: soon");
      const { c } = check(['externalSystem.call("Mes", "ReportCount", "L1", 3);'], { [DOCS]: broken });
      expect(byRule(c, "schema").length, describeDiagnostics(c)).toBeGreaterThan(0);
      expect(byRule(c, "unknown-external-system")).toEqual([]);
      expect(byRule(c, "unknown-external-method")).toEqual([]);
    });
  });

  describe("unknown-external-method", () => {
    it("a method the system does not have, at its line, with the name it meant", () => {
      const { c, line } = check(['externalSystem.call("Mes", "ReportCounts", "L1", 3); // #!']);
      const d = byRule(c, "unknown-external-method");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/Mes has no method "ReportCounts".*ReportCount/);
      expect(c.errorCount).toBe(1);
    });
  });

  describe("script-arg-mismatch against a method's parameters", () => {
    it("too few arguments", () => {
      const { c, line } = check(['externalSystem.call("Mes", "ReportCount", "L1"); // #!']);
      const d = byRule(c, "script-arg-mismatch");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/passes 1 argument; Mes\.ReportCount takes 2 \(line: String, count: Int32\)/);
    });

    it("a literal of the wrong type", () => {
      const { c } = check(['externalSystem.cachedCall("Mes", "ReportCount", "L1", 2.5); // #!']);
      expect(byRule(c, "script-arg-mismatch")[0]?.message, describeDiagnostics(c)).toMatch(
        /argument 2 \(count\) must be Int32, not a number literal/,
      );
    });

    it("no method at all", () => {
      const { c } = check(['externalSystem.call("Mes"); // #!']);
      expect(byRule(c, "script-arg-mismatch")[0]?.message, describeDiagnostics(c)).toMatch(/names no method/);
    });

    it("notify takes a list, a subject and a body", () => {
      const { c, line } = check(['notify("Operators", "only a subject"); // #!']);
      expect(
        byRule(c, "script-arg-mismatch").map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
    });

    it("notify's subject and body are strings", () => {
      const { c, line } = check(['notify("Operators", "count", 42); // #!']);
      const d = byRule(c, "script-arg-mismatch");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/the body must be a string, not an integer literal/);
    });

    it("SQL placeholders and parameters must agree in number", () => {
      const { c, line } = check(['database.query("Historian", "select * from t where a = $1 and b = $2", 1); // #!']);
      const d = byRule(c, "script-arg-mismatch");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/passes 1 parameter; the SQL uses \$1…\$2/);
    });

    it("the SQL must be a string", () => {
      const { c } = check(['database.cachedWrite("Historian", 42); // #!']);
      expect(byRule(c, "script-arg-mismatch")[0]?.message, describeDiagnostics(c)).toMatch(/SQL must be a string/);
    });
  });

  describe("unknown-notification-list", () => {
    it("a misspelt list, at its line, with the name it meant", () => {
      const { c, line } = check(['notify("Operator", "s", "b"); // #!']);
      const d = byRule(c, "unknown-notification-list");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/no notification list "Operator".*Operators/);
    });
  });

  describe("unknown-database-connection", () => {
    it("a misspelt connection, at its line", () => {
      const { c, line } = check(['database.query("Historain", "select 1"); // #!']);
      const d = byRule(c, "unknown-database-connection");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toMatch(/no database connection "Historain".*Historian/);
    });

    it("an external system named as a connection says what it is", () => {
      const { c } = check(['database.cachedWrite("Mes", "insert into t values ($1)", 1);']);
      expect(byRule(c, "unknown-database-connection")[0]?.message).toMatch(/"Mes" is an external system/);
    });
  });

  describe("script-sql-literal (warning)", () => {
    it.each([
      ['database.query("Historian", "select * from t where id = " + attributes.get("Mode")); // #!'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the script's own template literal, under test
      ['database.cachedWrite("Historian", `insert into t values (${attributes.get("Speed")})`); // #!'],
      ['database.query("Historian", "select " + "1, " + attributes.get("Mode") + " from t"); // #!'],
    ])("%s", (code) => {
      const { c, line } = check([code]);
      const d = byRule(c, "script-sql-literal");
      expect(
        d.map((x) => `${x.severity} ${x.line}`),
        describeDiagnostics(c),
      ).toEqual([`warning ${line}`]);
      expect(c.errorCount, describeDiagnostics(c)).toBe(0);
    });

    it("is not raised for literals joined with literals, nor for parameters", () => {
      const { c } = check([
        'database.query("Historian", "select v " + "from t where id = $1", attributes.get("Mode"));',
        'database.cachedWrite("Historian", `insert into t values ($1)`, 1);',
      ]);
      expect(c.diagnostics, describeDiagnostics(c)).toEqual([]);
    });
  });

  describe("script-forbidden-api", () => {
    it.each([
      ['externalSystem.post("Mes", "x"); // #!', "externalSystem.post does not exist"],
      ['database.exec("Historian", "drop table t"); // #!', "database.exec does not exist"],
    ])("%s", (code, message) => {
      const { c, line } = check([code]);
      const d = byRule(c, "script-forbidden-api");
      expect(
        d.map((x) => x.line),
        describeDiagnostics(c),
      ).toEqual([line]);
      expect(d[0]!.message).toContain(message);
    });

    it("shared scripts cannot reach the integrations", () => {
      const shared = `${BASE["shared-scripts/clamp.yaml"]!.replace(
        "code: return Math.min(hi, Math.max(lo, x));",
        'code: notify("Operators", "s", "b"); return Math.min(hi, Math.max(lo, x));',
      )}`;
      const c = compile(variant({ [DOCS]: INTEGRATIONS, "shared-scripts/clamp.yaml": shared }));
      const d = byRule(c, "script-forbidden-api");
      expect(
        d.map((x) => x.file),
        describeDiagnostics(c),
      ).toEqual(["shared-scripts/clamp.yaml"]);
      expect(d[0]!.message).toMatch(/shared scripts cannot reach .*integrations/);
    });
  });

  it("an edit of an integration document re-checks the scripts that call it (incremental equals cold)", () => {
    const files = variant({
      [DOCS]: INTEGRATIONS,
      [MOTOR]: motorWith(['externalSystem.call("Mes", "ReportCount", "L1", 3);']),
    });
    const sources = (f: Files): SourceFile[] => Object.entries(f).map(([path, text]) => ({ path, text: text! }));
    const compiler = new Compiler();
    compiler.setFiles(sources(files));
    expect(compiler.compile().errorCount).toBe(0);
    const renamed = { ...files, [DOCS]: integrationsWith("- name: ReportCount", "- name: ReportTotal") };
    compiler.setFiles(sources(renamed));
    const warm = compiler.compile();
    expect(byRule(warm, "unknown-external-method").length, describeDiagnostics(warm)).toBe(1);
    expect(warm.diagnostics).toEqual(compile(renamed).diagnostics);
    compiler.setFiles(sources(files));
    expect(compiler.compile().errorCount).toBe(0);
  });
});

describe("placeholders", () => {
  it.each([
    ["select 1", 0],
    ["select $1, $2", 2],
    ["select $3", 3],
    ["select '$4' from t where a = $1", 1],
    ['select "col$5" from t where a = $1 -- $9', 1],
    ["select /* $8 */ $2", 2],
  ])("%s uses up to $%s", (sql, n) => {
    expect(placeholders(sql)).toBe(n);
  });
});
