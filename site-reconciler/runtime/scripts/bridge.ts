import { randomBytes } from "node:crypto";
import vm from "node:vm";

/** callScript (and callShared) nesting limit of section 2.8. */
export const DEPTH_LIMIT = 10;
/** Log messages are cut to this many characters inside the realm. */
export const MAX_LOG_CHARS = 2_000;

/** A compiled script factory: a realm function that, given a frozen API object, returns the script's function. */
export type Factory = (api: unknown) => unknown;

/** What the host may call directly on the realm runtime. None of these run script code. */
export interface RealmControl {
  start(key: string, path: string, kind: "run" | "eval", argsJson: string): void;
  /** The outcome of the last run as JSON text: "" while none. */
  take(): string;
  /** Forgets a run that was stopped (timeout): its leftovers can no longer report. */
  reset(): void;
  addInstance(key: string): void;
  removeInstance(key: string): void;
  addScript(key: string, path: string, scope: string, factory: Factory | null, expr: Factory | null): void;
  clearShared(): void;
  addShared(name: string, factory: Factory): void;
}

/**
 * The one host function the realm calls: op, instance key and string operands in, JSON text out ({"v": value} or
 * {"e": message}). It must never throw.
 */
export type HostBridge = (op: string, key: string, a: string, b: string, c: string) => string;

/**
 * The realm side of the sandbox. Everything scripts can touch (attributes, log, callScript, callShared, now) is made
 * here from frozen realm intrinsics; the host bridge stays in this closure and only strings cross it. The trampoline
 * reaches the runner through a lexical binding with a random name that exposes only run() and a one-time claim().
 */
const runtimeSource = (name: string) => `const ${name} = (function () {
  "use strict";
  const { freeze, hasOwn, getPrototypeOf } = Object;
  const { stringify, parse } = JSON;
  const str = String, num = Number, RealmError = Error, RealmTypeError = TypeError;
  const FP = getPrototypeOf(function () {});
  const applyFn = FP.call.bind(FP.apply);
  const PromiseProto = getPrototypeOf((async () => {})());
  const LIMIT = ${DEPTH_LIMIT}, MAX_LOG = ${MAX_LOG_CHARS}, MAX_ERROR = 2000;

  let bridge = null;
  const instances = new Map();
  let shared = new Map();
  let sharedGen = 0;
  let job = null, outcome = "", active = false, runId = 0;

  // Host errors never cross: a failed or throwing bridge call becomes a realm error with the host's safe message.
  const host = (op, key, a, b, c) => {
    let r;
    try { r = bridge(op, key, a, b, c); } catch { r = undefined; }
    if (typeof r !== "string") throw new RealmError("the runtime could not complete " + op);
    const m = parse(r);
    if (hasOwn(m, "e")) throw new RealmError(str(m.e));
    return m.v;
  };
  const text = (v, what) => {
    if (typeof v !== "string") throw new RealmTypeError(what + " must be a string");
    return v;
  };
  const lock = (o) => {
    for (const k in o) freeze(o[k]);
    return freeze(o);
  };
  const makeLog = (key, label) => {
    const emit = (level, m) => {
      const s = str(m);
      host("log", key, level, label, s.length > MAX_LOG ? s.slice(0, MAX_LOG) : s);
    };
    return lock({ info(m) { emit("info", m); }, warn(m) { emit("warn", m); }, error(m) { emit("error", m); } });
  };
  // Integration calls (SPEC 8.2): the host answers synchronously. A failed call throws an Error with the words
  // and, for externalSystem.call, the HTTP status (null when none came).
  const io = (key, op, what, target, name, args) => {
    const t = text(target, what + ": the " + (op === "notify" ? "list" : op === "call" || op === "cachedCall" ? "system" : "connection") + " name");
    const n = text(name, what + ": the " + (op === "notify" ? "subject" : op === "call" || op === "cachedCall" ? "method name" : "SQL"));
    const payload = stringify({ t, n, a: args }); // a value that is not JSON data throws here, in the realm
    let r;
    try { r = bridge("io", key, op, payload, ""); } catch { r = undefined; }
    if (typeof r !== "string") throw new RealmError("the runtime could not complete " + what);
    const m = parse(r);
    if (hasOwn(m, "e")) {
      const err = new RealmError(str(m.e));
      err.status = hasOwn(m, "s") ? m.s : null;
      throw err;
    }
    return m.v;
  };
  const makeIntegrations = (key) => ({
    externalSystem: lock({
      call(system, method, ...args) { return io(key, "call", "externalSystem.call", system, method, args); },
      cachedCall(system, method, ...args) { return io(key, "cachedCall", "externalSystem.cachedCall", system, method, args); },
    }),
    notify: lock({
      notify(list, subject, body) { return io(key, "notify", "notify", list, subject, [text(body, "notify: the body")]); },
    }).notify,
    database: lock({
      query(connection, sql, ...params) { return io(key, "query", "database.query", connection, sql, params); },
      cachedWrite(connection, sql, ...params) { return io(key, "cachedWrite", "database.cachedWrite", connection, sql, params); },
    }),
  });
  const makeNow = (key) => lock({ now() { return num(host("now", key, "", "", "")); } }).now;
  const makeCallShared = (inst, sdepth) =>
    lock({
      callShared(name, ...args) {
        const def = shared.get(text(name, "callShared: the shared script name"));
        if (def === undefined) throw new RealmError('callShared: no shared script "' + name + '"');
        if (sdepth >= LIMIT) throw new RealmError("callShared depth limit (" + LIMIT + ") exceeded");
        return applyFn(sharedFn(inst, name, def, sdepth + 1), undefined, args);
      },
    }).callShared;

  // One instantiation per (instance, script, depth): the depth is bound lexically, so it holds across awaits.
  const scriptFn = (inst, rec, depth, expr) => {
    const fns = expr ? rec.exprFns : rec.fns;
    const have = fns[depth];
    if (have !== undefined) return have;
    const scoped = (n) => (rec.scope === "" ? n : rec.scope + "." + n);
    const key = inst.key;
    const api = lock({
      attributes: lock({
        get(path) { return host("get", key, scoped(text(path, "attributes.get: the path")), "", ""); },
        set(path, value) {
          const p = scoped(text(path, "attributes.set: the path"));
          host("set", key, p, stringify({ v: value }), "");
        },
      }),
      callScript: lock({
        callScript(name, ...args) {
          const path = scoped(text(name, "callScript: the script name"));
          const target = inst.scripts.get(path);
          if (target === undefined || target.factory === null)
            throw new RealmError('callScript: no script "' + path + '" in this instance');
          if (depth >= LIMIT) throw new RealmError("callScript depth limit (" + LIMIT + ") exceeded");
          return applyFn(scriptFn(inst, target, depth + 1, false), undefined, args);
        },
      }).callScript,
      callShared: makeCallShared(inst, 0),
      log: makeLog(key, rec.path),
      now: makeNow(key),
      ...makeIntegrations(key),
    });
    return (fns[depth] = (expr ? rec.expr : rec.factory)(api));
  };
  const sharedFn = (inst, name, def, sdepth) => {
    if (inst.sharedGen !== sharedGen) {
      inst.shared = new Map();
      inst.sharedGen = sharedGen;
    }
    let fns = inst.shared.get(name);
    if (fns === undefined) inst.shared.set(name, (fns = []));
    const have = fns[sdepth];
    if (have !== undefined) return have;
    const api = lock({ callShared: makeCallShared(inst, sdepth), log: makeLog(inst.key, "shared:" + name), now: makeNow(inst.key) });
    return (fns[sdepth] = def(api));
  };

  const describe = (e) => {
    try {
      const s = str(e);
      return s.length > MAX_ERROR ? s.slice(0, MAX_ERROR) : s;
    } catch {
      return "the script threw a value that cannot be shown";
    }
  };
  const fail = (id, e) => { if (id === runId) outcome = stringify({ ok: false, e: describe(e) }); };
  const succeed = (id, v) => {
    if (id !== runId) return;
    try {
      outcome = stringify({ ok: true, v });
    } catch (e) {
      outcome = stringify({ ok: false, e: "the result is not JSON data: " + describe(e) });
    }
  };
  const settle = async (id, p) => {
    try { succeed(id, await p); } catch (e) { fail(id, e); }
  };

  const run = () => {
    if (active || job === null) throw new RealmError("no script run is pending");
    const j = job;
    job = null;
    active = true;
    const id = runId;
    try {
      const inst = instances.get(j.key);
      const rec = inst === undefined ? undefined : inst.scripts.get(j.path);
      const expr = j.kind === "eval";
      if (rec === undefined || (expr ? rec.expr : rec.factory) === null) throw new RealmError("script " + j.path + " is not loaded");
      const r = applyFn(scriptFn(inst, rec, 0, expr), undefined, parse(j.args));
      if (r !== null && typeof r === "object" && getPrototypeOf(r) === PromiseProto) settle(id, r);
      else succeed(id, r);
    } catch (e) {
      fail(id, e);
    } finally {
      active = false;
    }
  };

  const control = {
    start(key, path, kind, args) { runId++; job = { key, path, kind, args }; outcome = ""; },
    take() { return outcome; },
    reset() { runId++; job = null; outcome = ""; active = false; },
    addInstance(key) { instances.set(key, { key, scripts: new Map(), shared: new Map(), sharedGen }); },
    removeInstance(key) {
      const inst = instances.get(key);
      if (inst !== undefined) inst.scripts.clear();
      instances.delete(key);
    },
    addScript(key, path, scope, factory, expr) {
      instances.get(key).scripts.set(path, { path, scope, factory, expr, fns: [], exprFns: [] });
    },
    clearShared() { shared = new Map(); sharedGen++; },
    addShared(name, factory) { shared.set(name, factory); },
  };
  let claimed = false;
  return freeze({
    run: freeze(() => run()),
    claim: freeze((b) => {
      if (claimed) return null;
      claimed = true;
      bridge = b;
      return control;
    }),
  });
})();
${name}.claim`;

export interface RealmRuntime {
  control: RealmControl;
  /** Runs the pending job; evaluate with runInContext and a timeout. */
  trampoline: vm.Script;
}

/** Installs the realm runtime in a locked-down realm and hands it the host bridge. */
export function installRuntime(context: vm.Context, bridge: HostBridge): RealmRuntime {
  const name = `__scadalink_${randomBytes(16).toString("hex")}`;
  const claim = new vm.Script(runtimeSource(name), { filename: "scadalink:runtime" }).runInContext(context) as (
    b: HostBridge,
  ) => RealmControl | null;
  const control = claim(bridge);
  if (control === null) throw new Error("the script runtime was already claimed");
  const trampoline = new vm.Script(`${name}.run()`, { filename: "scadalink:run" });
  return { control, trampoline };
}
