import { describe, expect, it } from "vitest";
import {
  type InstanceScripts,
  type LoadError,
  type RunResult,
  Sandbox,
  type ScriptDef,
  type ScriptHost,
  type SharedDef,
} from "../../site-reconciler/runtime/scripts/sandbox.js";

interface FakeHost extends ScriptHost {
  values: Map<string, unknown>;
  gets: string[];
  sets: [string, unknown][];
  logs: { level: string; message: string; script: string }[];
}

/** A host with the given attributes; paths in readOnly refuse writes, unknown paths throw like the runtime does. */
function fakeHost(values: Record<string, unknown> = {}, readOnly: string[] = []): FakeHost {
  const h: FakeHost = {
    values: new Map(Object.entries(values)),
    gets: [],
    sets: [],
    logs: [],
    get(path) {
      h.gets.push(path);
      if (!h.values.has(path)) throw new Error(`unknown attribute "${path}"`);
      return h.values.get(path);
    },
    set(path, value) {
      if (!h.values.has(path)) throw new Error(`unknown attribute "${path}"`);
      if (readOnly.includes(path)) throw new Error(`"${path}" is a read-only data attribute`);
      h.sets.push([path, value]);
      h.values.set(path, value);
    },
    log(level, message, script) {
      h.logs.push({ level, message, script });
    },
  };
  return h;
}

const script = (path: string, code: string, more: Partial<ScriptDef> = {}): ScriptDef => ({
  path,
  scope: "",
  parameters: [],
  code,
  timeoutMs: 1_000,
  ...more,
});
const params = (...names: string[]) => names.map((name) => ({ name, type: "Double" }));

const CLAMP: SharedDef = {
  name: "Clamp",
  parameters: params("x", "lo", "hi"),
  code: "return Math.min(hi, Math.max(lo, x));",
};

function load(sb: Sandbox, defs: ScriptDef[], host: ScriptHost = fakeHost(), instance = "Pump07"): InstanceScripts {
  const { scripts, errors } = sb.load(instance, defs, host);
  expect(errors).toEqual([]);
  return scripts;
}

function value(r: RunResult): unknown {
  if (!r.ok) throw new Error(`the run failed: ${r.error}`);
  return r.value;
}

function failure(r: RunResult): string {
  if (r.ok) throw new Error(`the run succeeded with ${JSON.stringify(r.value)}`);
  return r.error;
}

/** Loads one script into a fresh sandbox without the static checks and runs it: the realm alone must hold. */
function runUnchecked(code: string, host: ScriptHost = fakeHost()): RunResult {
  const sb = new Sandbox({ skipStaticChecks: true });
  return load(sb, [script("S", code)], host).run("S");
}

describe("script API", () => {
  it("resolves attributes.get/set and callScript against the script's scope", () => {
    const sb = new Sandbox();
    const host = fakeHost({ "Inlet.Position": 42, "Inlet.Travel": 0, Position: -1 });
    const s = load(
      sb,
      [
        script("Inlet.Move", 'attributes.set("Travel", attributes.get("Position") + 1); return callScript("Half");', {
          scope: "Inlet",
        }),
        script("Inlet.Half", 'return attributes.get("Position") / 2;', { scope: "Inlet" }),
      ],
      host,
    );
    expect(value(s.run("Inlet.Move"))).toBe(21);
    expect(host.gets).toEqual(["Inlet.Position", "Inlet.Position"]);
    expect(host.sets).toEqual([["Inlet.Travel", 43]]);
  });

  it("passes parameters by name and returns callScript's value directly", () => {
    const sb = new Sandbox();
    const s = load(sb, [
      script("Caller", 'return callScript("Scale", 21, 2) + 1;'),
      script("Scale", "return x * factor;", { parameters: params("x", "factor") }),
    ]);
    expect(value(s.run("Caller"))).toBe(43);
    expect(value(s.run("Scale", [3, 5]))).toBe(15);
  });

  it("runs the spec example: callScript inside a template literal, callShared inline, log.warn", () => {
    const sb = new Sandbox();
    expect(sb.setShared([CLAMP])).toEqual([]);
    const host = fakeHost({ Speed: 1500, MaxSpeed: 4000 });
    const s = load(
      sb,
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the script's own template literal
        script("LogOverSpeed", 'log.warn(`over speed: ${attributes.get("Speed")} > ${callScript("Limit", "over")}`);'),
        script("Limit", 'return callShared("Clamp", attributes.get("MaxSpeed"), 0, 3000);', {
          parameters: [{ name: "reason", type: "String" }],
        }),
      ],
      host,
    );
    expect(s.run("LogOverSpeed")).toEqual({ ok: true, value: undefined });
    expect(host.logs).toEqual([{ level: "warn", message: "over speed: 1500 > 3000", script: "LogOverSpeed" }]);
  });

  it("sends every log level to the host with the calling script's path, stringified and cut to 2,000 chars", () => {
    const sb = new Sandbox();
    const host = fakeHost();
    const s = load(
      sb,
      [
        script(
          "Inlet.Talk",
          'log.info("a"); log.warn(42); log.error({ toString() { return "obj" } }); log.info("x".repeat(5000));',
          { scope: "Inlet" },
        ),
      ],
      host,
    );
    value(s.run("Inlet.Talk"));
    expect(host.logs.slice(0, 3)).toEqual([
      { level: "info", message: "a", script: "Inlet.Talk" },
      { level: "warn", message: "42", script: "Inlet.Talk" },
      { level: "error", message: "obj", script: "Inlet.Talk" },
    ]);
    expect(host.logs[3]?.message).toBe("x".repeat(2000));
  });

  it("now() comes from the sandbox's clock", () => {
    let t = 1_700_000_000_000;
    const sb = new Sandbox({ now: () => t });
    const s = load(sb, [script("Now", "return now();")]);
    expect(value(s.run("Now"))).toBe(1_700_000_000_000);
    t += 5;
    expect(value(s.run("Now"))).toBe(1_700_000_000_005);
  });

  it("runs a body that awaits, and callers can await an async callee", () => {
    const sb = new Sandbox();
    const host = fakeHost({ Level: 7 });
    const s = load(
      sb,
      [
        script("Later", 'await 0; const v = await callScript("Read"); return v * 2;'),
        script("Read", 'await null; return attributes.get("Level");'),
        script("Sync", 'return typeof callScript("Read");'),
      ],
      host,
    );
    expect(value(s.run("Later"))).toBe(14);
    expect(value(s.run("Read"))).toBe(7);
    expect(value(s.run("Sync"))).toBe("object");
  });

  it("evaluates an expression trigger with the script's scope and timeout", () => {
    const sb = new Sandbox();
    const host = fakeHost({ "Inlet.Position": 15 });
    const s = load(
      sb,
      [
        script("Inlet.Watch", "return 1;", { scope: "Inlet", expression: 'attributes.get("Position") > 10' }),
        script("Plain", "return 1;"),
        script("Spin", "return 1;", { expression: "(() => { while (true) {} })()", timeoutMs: 50 }),
      ],
      host,
    );
    expect(value(s.evaluate("Inlet.Watch"))).toBe(true);
    host.values.set("Inlet.Position", 3);
    expect(value(s.evaluate("Inlet.Watch"))).toBe(false);
    expect(failure(s.evaluate("Plain"))).toMatch(/no trigger expression/);
    expect(s.evaluate("Spin")).toMatchObject({ ok: false, timedOut: true });
  });

  it("passes only JSON data across the host boundary: DateTime values are ISO strings", () => {
    const sb = new Sandbox();
    const host = fakeHost({ Stamp: new Date(0), Last: null });
    const s = load(
      sb,
      [
        script(
          "Dates",
          'const v = attributes.get("Stamp"); attributes.set("Last", new Date(1)); return [typeof v, v];',
        ),
        script("Shape", "return { a: [1, 'two', null, undefined], n: NaN, f() {} };"),
        script("Big", "return 1n;"),
        script("Echo", "return args;", { parameters: [{ name: "args", type: "String" }] }),
      ],
      host,
    );
    expect(value(s.run("Dates"))).toEqual(["string", "1970-01-01T00:00:00.000Z"]);
    expect(host.values.get("Last")).toBe("1970-01-01T00:00:00.001Z");
    expect(value(s.run("Shape"))).toEqual({ a: [1, "two", null, null], n: null });
    expect(failure(s.run("Big"))).toMatch(/not JSON data/);
    expect(value(s.run("Echo", [{ deep: [new Date(0)] }]))).toEqual({ deep: ["1970-01-01T00:00:00.000Z"] });
  });

  it("shared scripts run inline, call each other, and log under their own name", () => {
    const sb = new Sandbox();
    const errors = sb.setShared([
      CLAMP,
      {
        name: "Percent",
        parameters: params("x"),
        code: 'log.info("pct"); return callShared("Clamp", x * 100, 0, 100);',
      },
    ]);
    expect(errors).toEqual([]);
    const host = fakeHost();
    const s = load(sb, [script("P", 'return [callShared("Percent", 0.5), callShared("Percent", 3)];')], host);
    expect(value(s.run("P"))).toEqual([50, 100]);
    expect(host.logs.map((l) => l.script)).toEqual(["shared:Percent", "shared:Percent"]);
    // Replacing the shared scripts applies to instances already loaded.
    sb.setShared([{ ...CLAMP, code: "return -1;" }]);
    expect(failure(s.run("P"))).toMatch(/no shared script "Percent"/);
  });

  it("lets scripts set properties that frozen prototypes also define (no override mistake)", () => {
    const s = load(new Sandbox(), [
      script(
        "E",
        'class Fault extends Error { constructor(m) { super(m); this.name = "Fault"; } }' +
          'const o = {}; o.toString = () => "custom";' +
          'try { throw new Fault("bad valve"); } catch (e) { return [String(e), String(o)]; }',
      ),
    ]);
    expect(value(s.run("E"))).toEqual(["Fault: bad valve", "custom"]);
  });
});

describe("load-time checks", () => {
  const FORBIDDEN: [string, string][] = [
    ["require", 'return require("fs");'],
    ["import", 'return import("fs");'],
    ["process", "return process.env;"],
    ["globalThis", "return globalThis;"],
    ["eval", 'return eval("1");'],
    ["Function", 'return Function("return 1")();'],
    ["fetch", 'return fetch("http://example.com");'],
    ["setTimeout", "setTimeout(() => {}, 1);"],
    ["setInterval", "setInterval(() => {}, 1);"],
    ["setImmediate", "setImmediate(() => {});"],
    ["queueMicrotask", "queueMicrotask(() => {});"],
    ["Atomics", "return Atomics;"],
    ["WebAssembly", "return WebAssembly;"],
    ["SharedArrayBuffer", "return new SharedArrayBuffer(8);"],
    ["constructor", 'return now.constructor("return process")();'],
    ["__proto__", "return ({}).__proto__;"],
    ["log member", 'log.debug("x");'],
    ["attributes member", "return attributes.list();"],
    ["global write", "Math = 1;"],
  ];

  it.each(FORBIDDEN)("does not load a script using %s, naming the script and the position", (_name, code) => {
    const sb = new Sandbox();
    const { scripts, errors } = sb.load(
      "Pump07",
      [script("Ok", "return 1;"), script("Inlet.Bad", `\n  ${code}`)],
      fakeHost(),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.script).toBe("Inlet.Bad");
    expect(errors[0]?.message).toMatch(/^script "Inlet\.Bad" cannot be loaded: .*line 2:\d+/);
    expect(scripts.has("Inlet.Bad")).toBe(false);
    expect(failure(scripts.run("Inlet.Bad"))).toMatch(/not loaded/);
    expect(value(scripts.run("Ok"))).toBe(1);
  });

  it("reports syntax errors with their position, in bodies and in trigger expressions", () => {
    const { errors } = new Sandbox().load(
      "Pump07",
      [
        script("Broken", "const a = 1;\nconst b = ;"),
        script("BadExpr", "return 1;", { expression: "attributes.get(" }),
        script("Escapes", "}); (function () {"),
        script("BadParam", "return 1;", { parameters: [{ name: "not-a-name", type: "String" }] }),
      ],
      fakeHost(),
    );
    const by = (name: string) => errors.find((e: LoadError) => e.script === name)?.message;
    expect(by("Broken")).toMatch(/^script "Broken" cannot be loaded: syntax error at line 2:11/);
    expect(by("BadExpr")).toMatch(/trigger expression: syntax error at line \d+:\d+/);
    expect(by("Escapes")).toMatch(/closes its function early/);
    expect(by("BadParam")).toMatch(/parameter name "not-a-name" is not an identifier/);
  });

  it("setShared reports broken shared scripts by name and position, and keeps the good ones", () => {
    const sb = new Sandbox();
    const errors = sb.setShared([
      CLAMP,
      { name: "Peek", parameters: [], code: 'return attributes.get("Speed");' },
      { name: "Nested", parameters: [], code: 'return callScript("X");' },
      { name: "Broken", parameters: [], code: "return (;" },
      { name: "Clamp", parameters: [], code: "return 0;" },
    ]);
    expect(errors.map((e) => e.script)).toEqual(["Peek", "Nested", "Broken", "Clamp"]);
    expect(errors[0]?.message).toMatch(
      /^shared script "Peek" cannot be loaded: line 1:8: "attributes" is shared scripts cannot reach/,
    );
    expect(errors[1]?.message).toMatch(/line 1:8: "callScript"/);
    expect(errors[2]?.message).toMatch(/syntax error at line 1:9/);
    expect(errors[3]?.message).toMatch(/defined twice/);
    const s = load(sb, [script("Use", 'return callShared("Clamp", 5, 0, 3);')]);
    expect(value(s.run("Use"))).toBe(3);
  });

  it("rejects import() even without the static checks: the realm cannot stop it", () => {
    const sb = new Sandbox({ skipStaticChecks: true });
    const { errors } = sb.load(
      "Pump07",
      [
        script("Imp", 'return import("fs");'),
        script("Hidden", 'const f = () => import("node:child_process"); return f;'),
      ],
      fakeHost(),
    );
    expect(errors.map((e) => e.message)).toEqual([
      'script "Imp" cannot be loaded: import() is not available to scripts',
      'script "Hidden" cannot be loaded: import() is not available to scripts',
    ]);
    // Code that closes its factory early would run when the factory is made, outside any timeout.
    const early = "}; }), (function () { while (true) {} })(), (function () { return function () {";
    const shared = new Sandbox({ skipStaticChecks: true }).setShared([{ name: "Out", parameters: [], code: early }]);
    expect(shared.map((e) => e.message)).toEqual([
      'shared script "Out" cannot be loaded: unbalanced braces: the code closes its function early',
    ]);
  });
});

describe("the realm without the static checks", () => {
  const GONE = [
    "require",
    "process",
    "globalThis",
    "eval",
    "Function",
    "fetch",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "queueMicrotask",
    "Atomics",
    "WebAssembly",
    "SharedArrayBuffer",
    "Proxy",
    "Reflect",
    "WeakRef",
    "FinalizationRegistry",
    "Promise",
    "console",
    "Intl",
    "module",
    "Buffer",
  ];

  it.each(GONE)("%s does not exist in the realm", (name) => {
    expect(value(runUnchecked(`return typeof ${name};`))).toBe("undefined");
    expect(failure(runUnchecked(`return ${name};`))).toBe(`ReferenceError: ${name} is not defined`);
  });

  it("cannot create globals", () => {
    expect(failure(runUnchecked("leak = 1; return leak;"))).toMatch(/ReferenceError: leak is not defined/);
  });

  const ESCAPES: [string, string, RegExp][] = [
    ["this.constructor.constructor", 'return this.constructor.constructor("return process")();', /TypeError/],
    ["a sloppy this", "return (function () { return this; })().process;", /TypeError/],
    ["an arrow's constructor", 'return (() => {}).constructor("return process")();', /EvalError/],
    ["attributes.get.constructor", 'return attributes.get.constructor("return process")();', /EvalError/],
    ["log.info.constructor", 'return log.info.constructor("return process")();', /EvalError/],
    ["callScript.constructor", 'return callScript.constructor("return process")();', /EvalError/],
    ["callShared.constructor", 'return callShared.constructor("return process")();', /EvalError/],
    ["now.constructor", 'return now.constructor("return process")();', /EvalError/],
    [
      "the API's prototype",
      'return Object.getPrototypeOf(attributes).constructor.constructor("return process")();',
      /EvalError/,
    ],
    [
      "an error from a host callback",
      'try { attributes.get("nope"); } catch (e) { return e.constructor.constructor("return process")(); }',
      /EvalError/,
    ],
    ["the async function constructor", 'return (async () => {}).constructor("return process")();', /EvalError/],
    [
      "the generator function constructor",
      'return Object.getPrototypeOf(function* () {}).constructor("return process")();',
      /EvalError/,
    ],
    ["the Promise constructor", "return (async () => 1)().constructor((r) => r(1));", /Promise is not available/],
    ["arguments.callee.caller", "return arguments.callee.caller;", /TypeError/],
    ["Function.prototype.caller", "function f() { return f.caller; } return f();", /TypeError/],
    ["Error.prepareStackTrace", "Error.prepareStackTrace = (e, s) => s; return new Error().stack;", /TypeError/],
    [
      "Error.prepareStackTrace by defineProperty",
      'Object.defineProperty(Error, "prepareStackTrace", { value: (e, s) => s });',
      /TypeError/,
    ],
    ["the realm's stack formatter", "return Error.prepareStackTrace({}, [{ getFileName: () => null }]);", /^$/],
  ];

  it.each(ESCAPES)("stops an escape through %s", (_name, code, expected) => {
    const r = runUnchecked(code, fakeHost());
    if (expected.source === "^$") {
      // Calling the realm's own formatter with script values only yields a string.
      expect(r).toMatchObject({ ok: true });
      expect(typeof (r as { value: unknown }).value).toBe("string");
      return;
    }
    expect(failure(r)).toMatch(expected);
  });

  it("hands scripts realm errors that carry only the host's safe message", () => {
    const host = fakeHost({ Valve: 1 }, ["Valve"]);
    const r = runUnchecked(
      'try { attributes.set("Valve", 2); } catch (e) {' +
        " return [e instanceof Error, Object.getPrototypeOf(e) === Error.prototype, e.message, e.stack]; }",
      host,
    );
    const [isError, realmProto, message, stack] = value(r) as [boolean, boolean, string, string];
    expect([isError, realmProto, message]).toEqual([true, true, '"Valve" is a read-only data attribute']);
    expect(stack.split("\n")).toEqual(['Error: "Valve" is a read-only data attribute', "    at script:S:1:18"]);
  });

  it("shows script frames only in stack traces, even after a prepareStackTrace attempt", () => {
    const r = runUnchecked(
      "try { Error.prepareStackTrace = (e, s) => s; } catch {}" +
        " function inner() { return new Error('deep').stack; } return [inner(), typeof Error.prepareStackTrace];",
    );
    const [stack, kind] = value(r) as [string, string];
    expect(kind).toBe("function");
    expect(stack.split("\n")).toEqual(["Error: deep", "    at inner (script:S:1:83)", "    at script:S:1:118"]);
  });

  it("freezes the API and the intrinsics: pollution throws and another instance never sees it", () => {
    const sb = new Sandbox({ skipStaticChecks: true });
    const attempts = [
      'attributes.get = () => "evil"',
      "log.info = () => 0",
      "Object.prototype.polluted = 1",
      "Array.prototype.push = () => 0",
      "Math.max = () => 0",
      "JSON.parse = () => 0",
      "Object.getPrototypeOf(function () {}).call = () => 0",
      'Object.defineProperty(Object.prototype, "polluted", { value: 1 })',
      "Object.getPrototypeOf(attributes).polluted = 1",
      "Object.getPrototypeOf((async () => {})()).then = () => 0",
      "String.prototype.trim = () => 0",
    ];
    const polluter = attempts.map(
      (a) => `try { ${a}; out.push("changed: ${a.replace(/"/g, "'")}"); } catch (e) { out.push(e.name); }`,
    );
    const a = load(sb, [script("Pollute", `const out = []; ${polluter.join("\n")} return out;`)], fakeHost(), "A");
    const hostB = fakeHost({ x: 5 });
    const b = load(
      sb,
      [
        script(
          "Observe",
          'return [({}).polluted, [1].push(2), Math.max(1, 2), JSON.parse("3"), attributes.get("x"), " a ".trim()];',
        ),
      ],
      hostB,
      "B",
    );
    expect(value(a.run("Pollute"))).toEqual(attempts.map(() => "TypeError"));
    expect(value(b.run("Observe"))).toEqual([null, 2, 2, 3, 5, "a"]);
  });

  it("keeps no per-realm state one instance could read from another (RegExp statics)", () => {
    const sb = new Sandbox({ skipStaticChecks: true });
    const a = load(sb, [script("Match", 'return /secret-(\\d+)/.exec("secret-42")[1];')], fakeHost(), "A");
    const b = load(
      sb,
      [script("Peek", "const R = /x/.constructor; return [R.$1, R.lastMatch, R.input, R.leftContext];")],
      fakeHost(),
      "B",
    );
    expect(value(a.run("Match"))).toBe("42");
    expect(value(b.run("Peek"))).toEqual([null, null, null, null]);
  });

  it("marks every realm promise handled: no rejection reaches the host's unhandledRejection", async () => {
    const seen: unknown[] = [];
    const listener = (reason: unknown) => seen.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const sb = new Sandbox({ skipStaticChecks: true });
      const s = load(sb, [
        script(
          "Leak",
          '(async () => { throw new Error("a"); })();' +
            "(async () => 1)().then(() => { throw 2; });" +
            "(async function* () { throw 3; })().next();" +
            'callScript("Thrower");' +
            "return 1;",
        ),
        script("Thrower", 'await 0; throw new Error("unawaited");'),
      ]);
      expect(value(s.run("Leak"))).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(value(s.run("Leak"))).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off("unhandledRejection", listener);
    }
    expect(seen).toEqual([]);
  });
});

describe("timeouts and failures", () => {
  it("stops an infinite loop at the timeout and keeps working", () => {
    const sb = new Sandbox();
    const s = load(sb, [script("Spin", "while (true) {}", { timeoutMs: 100 }), script("Ok", "return 1;")]);
    const t0 = performance.now();
    const r = s.run("Spin");
    const elapsed = performance.now() - t0;
    expect(r).toEqual({ ok: false, error: "timed out after 100 ms", timedOut: true });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(2000);
    expect(value(s.run("Ok"))).toBe(1);
  });

  it("stops a loop after an await and an endless chain of awaits, and drops their leftovers", () => {
    const sb = new Sandbox();
    const host = fakeHost({ Count: 0 });
    const s = load(
      sb,
      [
        script("AsyncSpin", "await 0; while (true) {}", { timeoutMs: 80 }),
        script("Ticks", 'for (;;) { await 0; attributes.set("Count", attributes.get("Count") + 1); }', {
          timeoutMs: 80,
        }),
        script("Ok", "await 0; return 2;"),
      ],
      host,
    );
    expect(s.run("AsyncSpin")).toMatchObject({ ok: false, timedOut: true });
    expect(s.run("Ticks")).toMatchObject({ ok: false, timedOut: true });
    const count = host.values.get("Count");
    expect(value(s.run("Ok"))).toBe(2);
    expect(host.values.get("Count")).toBe(count);
  });

  it("stops a loop inside a nested callScript within the top-level run's timeout", () => {
    const sb = new Sandbox();
    const s = load(sb, [
      script("Outer", 'try { callScript("Inner"); } catch { return "caught"; }', { timeoutMs: 100 }),
      script("Inner", "while (true) {}", { timeoutMs: 60_000 }),
      script("Ok", 'return "fine";'),
    ]);
    const t0 = performance.now();
    expect(s.run("Outer")).toMatchObject({ ok: false, timedOut: true });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(value(s.run("Ok"))).toBe("fine");
  });

  it("limits callScript nesting to 10: depth 10 succeeds, the 11th call fails cleanly, also across awaits", () => {
    const sb = new Sandbox();
    const n = params("n");
    const s = load(sb, [
      script("Rec", 'return n <= 0 ? 0 : 1 + callScript("Rec", n - 1);', { parameters: n }),
      script("AsyncRec", 'await 0; return n <= 0 ? 0 : 1 + (await callScript("AsyncRec", n - 1));', { parameters: n }),
      script("Catch", 'try { callScript("Rec", 50); } catch (e) { return [e instanceof Error, e.message]; }'),
      script("Forever", 'return callScript("Forever");'),
    ]);
    expect(value(s.run("Rec", [10]))).toBe(10);
    expect(s.run("Rec", [11])).toEqual({
      ok: false,
      error: "Error: callScript depth limit (10) exceeded",
      timedOut: false,
    });
    expect(value(s.run("AsyncRec", [10]))).toBe(10);
    expect(failure(s.run("AsyncRec", [11]))).toBe("Error: callScript depth limit (10) exceeded");
    expect(value(s.run("Catch"))).toEqual([true, "callScript depth limit (10) exceeded"]);
    expect(failure(s.run("Forever"))).toMatch(/depth limit/);
  });

  it("limits callShared nesting and survives plain stack overflows", () => {
    const sb = new Sandbox();
    sb.setShared([{ name: "Again", parameters: [], code: 'return callShared("Again");' }]);
    const s = load(sb, [
      script("Shared", 'return callShared("Again");'),
      script("Deep", "function f(x) { return f(x + 1) + 1; } return f(0);"),
      script("DeepApi", 'function f() { attributes.get("x"); return f(); } return f();'),
      script("Ok", "return 3;"),
    ]);
    expect(failure(s.run("Shared"))).toBe("Error: callShared depth limit (10) exceeded");
    expect(failure(s.run("Deep"))).toMatch(/RangeError: Maximum call stack size exceeded/);
    expect(failure(s.run("DeepApi"))).toMatch(/RangeError|Error/);
    expect(value(s.run("Ok"))).toBe(3);
  });

  it("returns a throw as ok:false with the message and carries on", () => {
    const sb = new Sandbox();
    const s = load(sb, [
      script("Throw", 'throw new RangeError("setpoint out of range");'),
      script("ThrowValue", 'throw "plain";'),
      script("ThrowNasty", "throw { toString() { throw new Error('no'); } };"),
      script("Unknown", 'return attributes.get("Nope");'),
      script("NotString", "return attributes.get(42);"),
      script("Never", "await { then() {} }; return 1;"),
      script("Ok", "return 4;"),
    ]);
    expect(s.run("Throw")).toEqual({ ok: false, error: "RangeError: setpoint out of range", timedOut: false });
    expect(failure(s.run("ThrowValue"))).toBe("plain");
    expect(failure(s.run("ThrowNasty"))).toMatch(/cannot be shown/);
    expect(failure(s.run("Unknown"))).toBe('Error: unknown attribute "Nope"');
    expect(failure(s.run("NotString"))).toBe("TypeError: attributes.get: the path must be a string");
    expect(failure(s.run("Never"))).toMatch(/never settles/);
    expect(failure(s.run("Missing"))).toMatch(/not loaded/);
    expect(value(s.run("Ok"))).toBe(4);
  });

  it("refuses a run started from inside a host callback", () => {
    const sb = new Sandbox();
    let inner: RunResult | undefined;
    let s: InstanceScripts | undefined;
    const host = fakeHost({ x: 1 });
    const get = host.get;
    host.get = (path) => {
      inner = s?.run("Ok");
      return get(path);
    };
    s = load(sb, [script("Read", 'return attributes.get("x");'), script("Ok", "return 1;")], host);
    expect(value(s.run("Read"))).toBe(1);
    expect(inner).toMatchObject({ ok: false, timedOut: false });
    expect(failure(inner as RunResult)).toMatch(/already in progress/);
  });
});

describe("instances", () => {
  it("keeps each instance's scripts on its own host: another instance's path goes to the own host", () => {
    const sb = new Sandbox();
    const hostA = fakeHost({ x: 1 });
    const hostB = fakeHost({ x: 2, "B.x": 3 });
    const code = [
      script("Read", 'return attributes.get("x");'),
      script("Cross", 'return attributes.get("B.x");'),
      script("Write", 'attributes.set("x", 10);'),
    ];
    const a = load(sb, code, hostA, "A");
    const b = load(sb, code, hostB, "B");
    expect([value(a.run("Read")), value(b.run("Read"))]).toEqual([1, 2]);
    expect(failure(a.run("Cross"))).toBe('Error: unknown attribute "B.x"');
    expect(hostA.gets).toContain("B.x");
    expect(hostB.gets).not.toContain("B.x");
    value(a.run("Write"));
    expect([hostA.values.get("x"), hostB.values.get("x")]).toEqual([10, 2]);
  });

  it("callScript reaches only the instance's own scripts", () => {
    const sb = new Sandbox();
    const a = load(sb, [script("Call", 'return callScript("OnlyInB");')], fakeHost(), "A");
    const b = load(sb, [script("OnlyInB", "return 1;")], fakeHost(), "B");
    expect(failure(a.run("Call"))).toBe('Error: callScript: no script "OnlyInB" in this instance');
    expect(value(b.run("OnlyInB"))).toBe(1);
  });

  it("dispose drops an instance's functions without touching the others", () => {
    const sb = new Sandbox();
    const hostA = fakeHost({ x: 1 });
    const a = load(sb, [script("Read", 'return attributes.get("x");')], hostA, "A");
    const b = load(sb, [script("Read", "return 2;")], fakeHost(), "B");
    a.dispose();
    expect(a.has("Read")).toBe(false);
    expect(failure(a.run("Read"))).toMatch(/not loaded/);
    expect(hostA.gets).toEqual([]);
    expect(value(b.run("Read"))).toBe(2);
  });
});

describe("integration calls in the realm (SPEC 8.2)", () => {
  const withIo = (
    answer: (
      op: string,
      target: string,
      name: string,
      args: unknown[],
    ) => { v: unknown } | { e: string; status?: number | null },
  ) => {
    const calls: { op: string; target: string; name: string; args: unknown[]; left: number }[] = [];
    const h = fakeHost();
    h.io = (op, target, name, args, deadline) => {
      calls.push({ op, target, name, args, left: deadline - Date.now() });
      return answer(op, target, name, args);
    };
    return { h, calls };
  };

  it("each call reaches the host with its operation, names, arguments and the run's deadline", () => {
    const { h, calls } = withIo((op) => ({ v: op === "query" ? [{ a: 1 }] : "id-1" }));
    const out = load(
      new Sandbox(),
      [
        script(
          "S",
          'return [externalSystem.call("Mes", "Get", "o1", 2, undefined), externalSystem.cachedCall("Mes", "Put", { x: [1] }), notify("Ops", "Stopped", "line 1"), database.query("H", "SELECT $1", 5), database.cachedWrite("H", "INSERT $1", "v")];',
          { timeoutMs: 800 },
        ),
      ],
      h,
    ).run("S");
    expect(value(out)).toEqual(["id-1", "id-1", "id-1", [{ a: 1 }], "id-1"]);
    expect(calls.map(({ left: _, ...c }) => c)).toEqual([
      { op: "call", target: "Mes", name: "Get", args: ["o1", 2, null] },
      { op: "cachedCall", target: "Mes", name: "Put", args: [{ x: [1] }] },
      { op: "notify", target: "Ops", name: "Stopped", args: ["line 1"] },
      { op: "query", target: "H", name: "SELECT $1", args: [5] },
      { op: "cachedWrite", target: "H", name: "INSERT $1", args: ["v"] },
    ]);
    // The deadline is the end of this run's own timeout.
    for (const c of calls) {
      expect(c.left).toBeGreaterThan(700);
      expect(c.left).toBeLessThanOrEqual(800);
    }
  });

  it("a failed call is a realm Error with status and message; names must be strings; non-JSON arguments never cross", () => {
    const { h, calls } = withIo(() => ({ e: "Mes: HTTP 503: down", status: 503 }));
    const sb = new Sandbox();
    const s = load(
      sb,
      [
        script(
          "Status",
          'try { externalSystem.call("Mes", "Get"); } catch (e) { return [e instanceof Error, e.status, e.message]; }',
        ),
        script("Name", 'externalSystem.call(42, "Get");'),
        script("Body", 'notify("Ops", "s", 7);'),
        script("Big", 'externalSystem.call("Mes", "Get", 10n);'),
      ],
      h,
    );
    expect(value(s.run("Status"))).toEqual([true, 503, "Mes: HTTP 503: down"]);
    expect(failure(s.run("Name"))).toMatch(/externalSystem\.call: the system name must be a string/);
    expect(failure(s.run("Body"))).toMatch(/notify: the body must be a string/);
    expect(failure(s.run("Big"))).toMatch(/BigInt/);
    expect(calls).toHaveLength(1);
  });

  it("without an I/O host the calls fail with a clear error, and shared scripts do not have them", () => {
    const sb = new Sandbox();
    expect(failure(load(sb, [script("S", 'notify("Ops", "s", "b");')]).run("S"))).toMatch(
      /does not reach external systems, notifications or databases/,
    );
    const errors = sb.setShared([{ name: "X", parameters: [], code: 'return database.query("H", "SELECT 1");' }]);
    expect(errors[0]?.message).toMatch(/"database" is not available to scripts/);
  });
});
