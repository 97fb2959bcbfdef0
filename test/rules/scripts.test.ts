import { describe, expect, it } from "vitest";
import { analyzeCode } from "../../controller/contract/script-analysis.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, errorsOf, y } from "../helpers/repo.js";

/** Motor with one extra call script whose body is `code` (block scalar starting on line 24). */
const withScript = (code: string, extra = "") =>
  compile(
    variant({
      "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
        "compose:",
        `  - name: Check\n    trigger: { type: call }\n${extra}    code: |\n${code
          .split("\n")
          .map((l) => `      ${l}`)
          .join("\n")}\ncompose:`,
      ),
    }),
  );
const CODE_LINE = BASE["templates/motor.yaml"]!.split("\n").findIndex((l) => l.startsWith("compose:")) + 4;

describe("script-forbidden-api", () => {
  it.each([
    "require('fs')",
    "process.exit(1)",
    "globalThis.x",
    "eval('1')",
    "new Function('return 1')",
    "fetch('http://127.0.0.1')",
    "setTimeout(() => 0, 1)",
    "setInterval(() => 0, 1)",
    "Atomics.wait()",
    "WebAssembly.compile()",
    "Reflect.ownKeys({})",
    "Proxy",
    "Buffer.from('x')",
    "queueMicrotask(() => 0)",
    "structuredClone({})",
    "import('fs')",
    "(() => 0).constructor('return process')()",
    "attributes.get.constructor",
    "''['constructor']['constructor']('x')",
    "Object.getPrototypeOf(log)",
    "({}).__proto__",
    "const { constructor } = log",
    "log.debug('x')",
    "attributes.list()",
    "log = 1",
    "Math = null",
  ])("rejects %s", (code) => {
    const c = withScript(code);
    expect(byRule(c, "script-forbidden-api").length, describeDiagnostics(c)).toBeGreaterThan(0);
    expect(byRule(c, "script-forbidden-api")[0]!.line).toBe(CODE_LINE);
  });

  it.each([
    "const x = Math.max(1, 2); return JSON.stringify({ x });",
    "const m = new Map(); m.set('a', 1); return [...m.keys()].length;",
    "let s = 0; for (const v of [1, 2, 3]) s += v; return s;",
    "const d = new Date(now()); return d.toISOString();",
    "try { return parseFloat('1.5'); } catch (e) { log.error(String(e)); }",
    "const f = (a) => a * 2; return f(attributes.get('Speed'));",
    "function helper(x) { return x + 1; } return helper(1);",
    "const arguments_ = [1]; return Number.isFinite(Infinity) ? arguments_ : undefined;",
    "const r = await callShared('Clamp', 1, 0, 2); return r;",
    "const o = { key: 1 }; return o['key'] + Object.keys(o).length;",
  ])("accepts %s", (code) => {
    const c = withScript(code);
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("does not count a local declaration named like a global as a use of it", () => {
    const c = withScript("const process = 1; return process + 1;");
    expect(errorsOf(c)).toEqual([]);
  });

  it("rejects code that closes its function early to run outside it", () => {
    const c = withScript("}), process.exit(), (function() {");
    expect(errorsOf(c).map((d) => d.rule)).toContain("script-syntax");
  });
});

describe("script-syntax", () => {
  it("points inside a block scalar at the offending line and column", () => {
    const c = withScript("const a = 1;\nconst b = ;");
    expect(byRule(c, "script-syntax")).toMatchObject([{ line: CODE_LINE + 1, column: 17 }]);
  });

  it("points inside a one-line plain scalar", () => {
    const c = compile(
      variant({
        "shared-scripts/clamp.yaml": BASE["shared-scripts/clamp.yaml"]!.replace(
          "return Math.min(hi, Math.max(lo, x));",
          "return )",
        ),
      }),
    );
    expect(byRule(c, "shared-script-syntax")).toMatchObject([{ line: 5, column: 14 }]);
  });

  it("rejects strict-mode errors and a with statement", () => {
    expect(byRule(withScript("with (Math) { return PI; }"), "script-syntax")).toHaveLength(1);
    expect(byRule(withScript("undeclared = 1;"), "script-forbidden-api")).toHaveLength(1);
  });
});

describe("calls and attributes resolve against the script's module", () => {
  it("script-unknown-call-target for callScript and callShared, with suggestions", () => {
    const c = withScript('callScript("Limt", "a");\ncallShared("Clmp", 1, 2, 3);');
    expect(byRule(c, "script-unknown-call-target").map((d) => [d.line, d.message])).toEqual([
      [CODE_LINE, 'callScript: no script in this module "Limt" (did you mean "Limit"?)'],
      [CODE_LINE + 1, 'callShared: no shared script "Clmp" (did you mean "Clamp"?)'],
    ]);
  });

  it("script-arg-mismatch for counts and literal types; spread and variables are not judged", () => {
    const c = withScript(
      'callScript("Limit");\ncallScript("Limit", "a", "b");\ncallShared("Clamp", "1", 0, true);\ncallScript("Limit", ...[1]);\nconst v = 2; callScript("Limit", v);',
    );
    expect(byRule(c, "script-arg-mismatch").map((d) => d.line)).toEqual([
      CODE_LINE,
      CODE_LINE + 1,
      CODE_LINE + 2,
      CODE_LINE + 2,
    ]);
  });

  it("script-unknown-attribute for get/set paths and writes to read-only data attributes", () => {
    const c = withScript(
      'attributes.get("Sped");\nattributes.set("Running", true);\nattributes.set("Inlet.Command", 5);\nattributes.get("Inlet.Actuator");',
    );
    expect(byRule(c, "script-unknown-attribute").map((d) => d.line)).toEqual([CODE_LINE, CODE_LINE + 1, CODE_LINE + 3]);
  });

  it("value-type-mismatch for a literal written with attributes.set", () => {
    const c = withScript('attributes.set("Mode", 3);\nattributes.set("Rated", "fast");\nattributes.set("Mode", "ok");');
    expect(byRule(c, "value-type-mismatch").map((d) => d.line)).toEqual([CODE_LINE, CODE_LINE + 1]);
  });

  it("a composed template's script sees only its own module's members", () => {
    const c = compile(
      variant({
        "templates/valve.yaml": BASE["templates/valve.yaml"]!.replace(
          'attributes.get("Command") > attributes.get("Travel")',
          'attributes.get("Speed") > attributes.get("Travel")',
        ),
      }),
    );
    expect(byRule(c, "script-unknown-attribute")).toMatchObject([{ file: "templates/valve.yaml" }]);
  });

  it("a composing template reaches into its modules by path", () => {
    const c = withScript(
      'attributes.set("Inlet.Command", attributes.get("Inlet.Position"));\ncallScript("Inlet.LimitCommand");',
    );
    expect(errorsOf(c), describeDiagnostics(c)).toEqual([]);
  });

  it("expression triggers are checked like code, at their position", () => {
    const c = compile(
      variant({
        "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace(
          "compose:",
          '  - { name: Trip, trigger: { type: expression, expression: "attributes.get(\'Sped\') > 1 && process" }, code: "" }\ncompose:',
        ),
      }),
    );
    expect(
      errorsOf(c)
        .map((d) => d.rule)
        .sort(),
    ).toEqual(["script-forbidden-api", "script-unknown-attribute"]);
  });
});

describe("shared scripts", () => {
  it("cannot reach attributes or instance scripts, but may call other shared scripts", () => {
    const c = compile(
      variant({
        "shared-scripts/more.yaml": y`
          kind: SharedScript
          name: Bad
          code: return attributes.get("Speed") + callScript("Limit", "x");
          ---
          kind: SharedScript
          name: Good
          parameters: [{ name: v, type: Double }]
          code: return callShared("Clamp", v, 0, 1) + callShared("Good", 0);
        `,
      }),
    );
    expect(errorsOf(c).map((d) => `${d.rule}:${d.line}`)).toEqual(["script-forbidden-api:3", "script-forbidden-api:3"]);
    expect(errorsOf(c)[0]!.message).toMatch(/shared scripts cannot reach attributes/);
  });
});

describe("analyzeCode", () => {
  it("caches facts per code and parameter list", () => {
    expect(analyzeCode("return x;", ["x"])).toBe(analyzeCode("return x;", ["x"]));
    expect(analyzeCode("return x;", [])).not.toBe(analyzeCode("return x;", ["x"]));
  });

  it("finds credential-named variables given literal strings", () => {
    expect(
      analyzeCode('const apiToken = "abc"; const password = ""; const o = { secret: "x" };', []).secrets.map(
        (s) => s.name,
      ),
    ).toEqual(["apiToken", "secret"]);
  });
});
