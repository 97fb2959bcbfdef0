import vm from "node:vm";
import { parse } from "acorn";
import { analyzeCode, type CodePos } from "../../../controller/contract/script-analysis.js";
import { SHARED_GLOBALS, TEMPLATE_GLOBALS } from "../../../controller/contract/script-policy.js";
import { type Factory, type HostBridge, installRuntime, type RealmControl } from "./bridge.js";
import { createRealm } from "./lockdown.js";
import type { IoOp, IoReply } from "./protocol.js";

export interface ScriptHost {
  /** Canonical path (scope already applied). Returns the current value; throws an Error whose message is safe to show for an unknown path. */
  get(path: string): unknown;
  /** Canonical path. Throws (safe message) for unknown path, read-only data attribute, wrong type. */
  set(path: string, value: unknown): void;
  log(level: "info" | "warn" | "error", message: string, script: string): void;
  /**
   * A script API call that leaves the sandbox (SPEC 8.2): answered synchronously, by deadline (epoch ms, the end of
   * the run's timeout) at the latest. Absent: such calls fail with a clear error.
   */
  io?(op: IoOp, target: string, name: string, args: unknown[], deadline: number): IoReply;
}

export interface ScriptDef {
  path: string;
  scope: string;
  parameters: { name: string; type: string }[];
  code: string;
  timeoutMs: number;
  /** For expression triggers: the expression text, compiled as an expression with the same scoped API. */
  expression?: string | null;
}

export interface SharedDef {
  name: string;
  parameters: { name: string; type: string }[];
  code: string;
}

/** A script that is not loaded: message names the script and why (syntax / forbidden API + line:col). */
export interface LoadError {
  script: string;
  message: string;
}

export type RunResult = { ok: true; value: unknown } | { ok: false; error: string; timedOut: boolean };

export interface InstanceScripts {
  has(path: string): boolean;
  /** Runs a script by canonical path with args (JSON data), within its timeoutMs. */
  run(path: string, args?: readonly unknown[]): RunResult;
  /** Evaluates the expression trigger of the script at `path` (its scope, its timeout). */
  evaluate(path: string): RunResult;
  /** Drops the instance's functions; later runs return ok:false. */
  dispose(): void;
}

export interface SandboxOptions {
  now?: () => number;
  /**
   * Tests only: loads code without the static policy checks, to show that the realm alone stops escapes. The
   * structural guard (code stays inside its function, no import()) always applies.
   */
  skipStaticChecks?: boolean;
}

const DEFAULT_TIMEOUT_MS = 1_000;
const IO_OPS: ReadonlySet<string> = new Set<IoOp>(["call", "cachedCall", "notify", "query", "cachedWrite"]);
const MAX_PROBLEMS = 5;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

type Kind = "instance" | "shared";
type Compiled = { factory: Factory; error?: undefined } | { factory?: undefined; error: string };

/**
 * One locked-down realm holding the compiled scripts of any number of instances. Scripts get only realm-made API
 * objects bound to their own instance; every run is a timed evaluation that returns a result and never throws.
 */
export class Sandbox {
  readonly #context: vm.Context;
  readonly #watchPromises: () => () => void;
  readonly #control: RealmControl;
  readonly #trampoline: vm.Script;
  readonly #now: () => number;
  readonly #checks: boolean;
  readonly #hosts = new Map<string, ScriptHost>();
  readonly #compiled = new Map<string, Compiled>();
  #seq = 0;
  #running = false;
  /** Where the current run's timeout ends (epoch ms): integration calls must answer by then. */
  #deadline = 0;

  constructor(opts: SandboxOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#checks = !opts.skipStaticChecks;
    const realm = createRealm();
    this.#context = realm.context;
    this.#watchPromises = realm.watchPromises;
    const rt = installRuntime(this.#context, this.#bridge);
    this.#control = rt.control;
    this.#trampoline = rt.trampoline;
  }

  /** Replaces the site's shared scripts (from site.json). Returns the ones that cannot be loaded. */
  setShared(defs: readonly SharedDef[]): LoadError[] {
    const errors: LoadError[] = [];
    this.#control.clearShared();
    const seen = new Set<string>();
    for (const def of defs) {
      const fail = (why: string) => errors.push({ script: def.name, message: `shared script "${def.name}" ${why}` });
      if (seen.has(def.name)) {
        fail("is defined twice");
        continue;
      }
      seen.add(def.name);
      const c = this.#prepare("shared", def.name, def.parameters, def.code, false);
      if (c.error !== undefined) fail(`cannot be loaded: ${c.error}`);
      else this.#control.addShared(def.name, c.factory);
    }
    return errors;
  }

  /** Compiles one instance's scripts against its host. Scripts that cannot be loaded are left out and listed in errors. */
  load(
    instance: string,
    scripts: readonly ScriptDef[],
    host: ScriptHost,
  ): { scripts: InstanceScripts; errors: LoadError[] } {
    const key = `i${++this.#seq}`;
    this.#control.addInstance(key);
    this.#hosts.set(key, host);
    const { ready, errors } = this.#prepareAll(scripts);
    const loaded = new Map<string, { timeoutMs: number; expression: boolean }>();
    for (const { def, body, expr } of ready) {
      this.#control.addScript(key, def.path, def.scope, body, expr);
      loaded.set(def.path, { timeoutMs: timeoutOf(def.timeoutMs), expression: expr !== null });
    }
    let disposed = false;
    const exec = (path: string, kind: "run" | "eval", args: readonly unknown[]): RunResult => {
      const s = disposed ? undefined : loaded.get(path);
      if (s === undefined) return failed(`script "${path}" is not loaded in instance ${instance}`);
      if (kind === "eval" && !s.expression) return failed(`script "${path}" has no trigger expression`);
      return this.#exec(key, path, kind, args, s.timeoutMs);
    };
    return {
      errors,
      scripts: {
        has: (path) => !disposed && loaded.has(path),
        run: (path, args = []) => exec(path, "run", args),
        evaluate: (path) => exec(path, "eval", []),
        dispose: () => {
          if (disposed) return;
          disposed = true;
          loaded.clear();
          this.#hosts.delete(key);
          this.#control.removeInstance(key);
        },
      },
    };
  }

  /**
   * The load-time checks of load() without loading anything: which scripts could not be loaded and why. Compiling
   * runs no script code (the guard keeps code inside its function), so the runtime can judge an instance from this
   * while its scripts run elsewhere.
   */
  check(scripts: readonly ScriptDef[]): LoadError[] {
    return this.#prepareAll(scripts).errors;
  }

  #prepareAll(scripts: readonly ScriptDef[]) {
    const errors: LoadError[] = [];
    const ready: { def: ScriptDef; body: Factory; expr: Factory | null }[] = [];
    for (const def of scripts) {
      const fail = (why: string) => errors.push({ script: def.path, message: `script "${def.path}" ${why}` });
      const body = this.#prepare("instance", def.path, def.parameters, def.code, false);
      if (body.error !== undefined) {
        fail(`cannot be loaded: ${body.error}`);
        continue;
      }
      const expr =
        typeof def.expression === "string" ? this.#prepare("instance", def.path, [], def.expression, true) : undefined;
      if (expr?.error !== undefined) {
        fail(`cannot be loaded: its trigger expression: ${expr.error}`);
        continue;
      }
      ready.push({ def, body: body.factory, expr: expr?.factory ?? null });
    }
    return { ready, errors };
  }

  /** The only host function the realm holds: strings in, JSON text out, never throws. */
  readonly #bridge: HostBridge = (op, key, a, b, c) => {
    try {
      if (op === "now") return JSON.stringify({ v: this.#now() });
      const host = this.#hosts.get(String(key));
      if (host === undefined) return errorText("the instance is no longer loaded");
      switch (op) {
        case "get": {
          const v = host.get(String(a));
          return JSON.stringify({ v }, (_k, x) => (typeof x === "bigint" ? bigintData(x) : x));
        }
        case "set": {
          const v = (JSON.parse(String(b)) as { v?: unknown }).v;
          host.set(String(a), v === undefined ? null : v);
          return "{}";
        }
        case "log": {
          const level = a === "warn" || a === "error" ? a : "info";
          host.log(level, String(c), String(b));
          return "{}";
        }
        case "io": {
          if (!this.#running) return errorText("integration calls are made during a script run only");
          if (!IO_OPS.has(String(a))) return errorText(`unknown integration call ${String(a)}`);
          if (host.io === undefined)
            return errorText("this runtime does not reach external systems, notifications or databases");
          const req = JSON.parse(String(b)) as { t: string; n: string; a: unknown[] };
          const r = host.io(String(a) as IoOp, req.t, req.n, req.a, this.#deadline);
          return JSON.stringify("e" in r ? { e: r.e, s: r.status ?? null } : { v: r.v });
        }
      }
      return errorText(`unknown operation ${String(op)}`);
    } catch (e) {
      return errorText(e);
    }
  };

  #exec(key: string, path: string, kind: "run" | "eval", args: readonly unknown[], timeout: number): RunResult {
    if (this.#running) return failed("a script run is already in progress: scripts cannot start scripts from the host");
    let argsJson: string;
    try {
      argsJson = JSON.stringify(Array.from(args, (a) => (a === undefined ? null : a)));
    } catch {
      return failed("the arguments are not JSON data");
    }
    this.#running = true;
    this.#deadline = Date.now() + timeout;
    const unwatch = this.#watchPromises();
    try {
      this.#control.start(key, path, kind, argsJson);
      this.#trampoline.runInContext(this.#context, { timeout });
    } catch (e) {
      this.#control.reset();
      // The watchdog's error is made in the realm. Read an own data property only: no getter of a realm object runs.
      const code = typeof e === "object" && e !== null ? Object.getOwnPropertyDescriptor(e, "code")?.value : undefined;
      const timedOut = code === "ERR_SCRIPT_EXECUTION_TIMEOUT";
      return failed(timedOut ? `timed out after ${timeout} ms` : "the script run was aborted", timedOut);
    } finally {
      unwatch();
      this.#running = false;
    }
    const out = this.#control.take();
    if (out === "") {
      this.#control.reset();
      return failed("the script did not complete: it awaits something that never settles");
    }
    const r = JSON.parse(out) as { ok: boolean; v?: unknown; e?: string };
    return r.ok ? { ok: true, value: r.v } : failed(String(r.e));
  }

  /** Static policy checks, then the structural guard and compilation; cached by (kind, name, params, code). */
  #prepare(kind: Kind, name: string, parameters: readonly { name: string }[], code: string, expression: boolean) {
    const params = parameters.map((p) => p.name);
    const cacheKey = [kind, expression ? "e" : "b", this.#checks ? "c" : "u", name, params.join(","), code].join("\0");
    let c = this.#compiled.get(cacheKey);
    if (c === undefined) {
      const bad = params.find((p) => !IDENTIFIER.test(p));
      const problems =
        bad !== undefined
          ? [`parameter name "${bad}" is not an identifier`]
          : this.#checks
            ? policyProblems(code, params, expression, kind)
            : [];
      c =
        problems.length > 0
          ? { error: summarize(problems) }
          : compile(this.#context, kind, name, params, code, expression);
      if (this.#compiled.size > 5_000) this.#compiled.clear();
      this.#compiled.set(cacheKey, c);
    }
    return c;
  }
}

function failed(error: string, timedOut = false): RunResult {
  return { ok: false, error, timedOut };
}

export function timeoutOf(ms: number): number {
  return Number.isFinite(ms) && ms >= 1 ? Math.min(Math.floor(ms), 2_147_483_647) : DEFAULT_TIMEOUT_MS;
}

function errorText(e: unknown): string {
  let message: string;
  try {
    message = e instanceof Error ? e.message : String(e);
  } catch {
    message = "the runtime refused the call";
  }
  return JSON.stringify({ e: message });
}

/** Int64 values: numbers when exact, decimal strings otherwise. */
function bigintData(x: bigint): number | string {
  return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
}

function summarize(problems: string[]): string {
  const head = problems.slice(0, MAX_PROBLEMS).join("; ");
  return problems.length > MAX_PROBLEMS ? `${head}; and ${problems.length - MAX_PROBLEMS} more` : head;
}

const at = (p: CodePos) => `line ${p.line}:${p.column}`;

/** The checks of section 2.8 (script-syntax, script-forbidden-api), repeated on the site before any code runs. */
function policyProblems(code: string, params: readonly string[], expression: boolean, kind: Kind): string[] {
  const facts = analyzeCode(code, params, expression);
  if (facts.syntaxError) return [`syntax error at ${at(facts.syntaxError.pos)}: ${facts.syntaxError.message}`];
  const allowed = kind === "shared" ? SHARED_GLOBALS : TEMPLATE_GLOBALS;
  const out: string[] = [];
  for (const f of facts.free) {
    if (f.write) out.push(`${at(f.pos)}: assigns to the global "${f.name}"`);
    else if (!allowed.has(f.name)) {
      const why =
        kind === "shared" && (f.name === "attributes" || f.name === "callScript")
          ? "shared scripts cannot reach attributes or instance scripts"
          : "not available to scripts";
      out.push(`${at(f.pos)}: "${f.name}" is ${why}`);
    }
  }
  for (const f of facts.forbidden) out.push(`${at(f.pos)}: ${f.message}`);
  for (const m of facts.apiMembers) out.push(`${at(m.pos)}: ${m.object}.${m.property} is not part of the script API`);
  return out;
}

interface AstNode {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}

/**
 * Wraps code in a factory that binds the API as constants and returns the script's function; parses the exact
 * source first. A body that only parses as async (it awaits) becomes an async function.
 */
function compile(
  context: vm.Context,
  kind: Kind,
  name: string,
  params: readonly string[],
  code: string,
  expression: boolean,
): Compiled {
  const names =
    kind === "shared"
      ? "callShared, log, now"
      : "attributes, callScript, callShared, log, now, externalSystem, notify, database";
  let firstError: string | undefined;
  for (const isAsync of [false, true]) {
    const head = `(function () { "use strict"; const { ${names} } = arguments[0]; return ${isAsync ? "async " : ""}function (${params.join(", ")}) `;
    const inner = expression ? `{"use strict"; return (\n${code}\n); }` : `{"use strict";\n${code}\n}`;
    const source = `${head}${inner}; })`;
    const problem = guard(source, head.length, head.length + inner.length, expression);
    if (problem?.syntax) {
      firstError ??= problem.message;
      continue;
    }
    if (problem) return { error: problem.message };
    try {
      const script = new vm.Script(source, {
        filename: `${kind === "shared" ? "shared" : "script"}:${name}`,
        lineOffset: -1,
      });
      return { factory: script.runInContext(context) as Factory };
    } catch (e) {
      return { error: `does not compile: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  return { error: `syntax error: ${firstError}` };
}

/**
 * The part of the load-time check the realm depends on, applied even without the policy checks: the code must
 * stay inside its function (else it would run when the factory is made, outside any timeout), and must not use
 * import(), whose rejection is a host-realm error that leads back to the host's Function.
 */
function guard(
  source: string,
  bodyStart: number,
  bodyEnd: number,
  expression: boolean,
): { syntax: boolean; message: string } | undefined {
  let ast: AstNode;
  try {
    ast = parse(source, { ecmaVersion: "latest", sourceType: "script" }) as unknown as AstNode;
  } catch (e) {
    const err = e as SyntaxError & { loc?: { line: number; column: number } };
    const pos = err.loc ? ` at line ${err.loc.line - 1}:${err.loc.line === 1 ? 1 : err.loc.column + 1}` : "";
    return { syntax: true, message: `${String(err.message).replace(/ \(\d+:\d+\)$/, "")}${pos}` };
  }
  const closes = { syntax: false, message: "unbalanced braces: the code closes its function early" };
  const program = ast.body as AstNode[];
  const stmt = program.length === 1 ? program[0] : undefined;
  const factory = stmt?.type === "ExpressionStatement" ? (stmt.expression as AstNode) : undefined;
  if (factory?.type !== "FunctionExpression" || factory.start !== 1 || factory.end !== source.length - 1) return closes;
  const outer = (factory.body as AstNode).body as AstNode[];
  const ret = outer.length === 3 ? outer[2] : undefined;
  const fn = ret?.type === "ReturnStatement" ? (ret.argument as AstNode | null) : undefined;
  const body = fn?.type === "FunctionExpression" ? (fn.body as AstNode) : undefined;
  if (body === undefined || body.start !== bodyStart || body.end !== bodyEnd) return closes;
  if (expression) {
    const stmts = body.body as AstNode[];
    if (stmts.length !== 2 || stmts[1]?.type !== "ReturnStatement")
      return { syntax: false, message: "an expression must be a single expression" };
  }
  const found = findImport(body);
  return found ? { syntax: false, message: "import() is not available to scripts" } : undefined;
}

function findImport(root: AstNode): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      stack.push(...n);
      continue;
    }
    if (n === null || typeof n !== "object" || typeof (n as AstNode).type !== "string") continue;
    const node = n as AstNode;
    if (
      node.type === "ImportExpression" ||
      (node.type === "MetaProperty" && (node.meta as AstNode & { name: string }).name === "import")
    )
      return true;
    for (const k in node) if (k !== "loc") stack.push(node[k]);
  }
  return false;
}
