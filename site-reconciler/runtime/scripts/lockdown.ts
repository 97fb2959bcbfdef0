import { promiseHooks } from "node:v8";
import vm from "node:vm";
import { BUILTINS } from "../../../controller/contract/script-policy.js";

/**
 * Runs inside a fresh realm before anything else: freezes every intrinsic reachable from the global or through
 * syntax, deletes every global that is not a pure built-in, and freezes the global. Afterwards no script can
 * change what another script (of any instance) sees, and nothing with I/O or code generation is left by name.
 */
const LOCKDOWN = `(function () {
  "use strict";
  const allowed = new Set(${JSON.stringify(BUILTINS)});
  const g = globalThis;
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, defineProperty, hasOwn } = Object;
  const ownKeys = Reflect.ownKeys;

  // Per-realm mutable state that would let one script observe another's matches.
  for (const k of ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "input", "$_", "lastMatch", "$&",
    "lastParen", "$+", "leftContext", "$\`", "rightContext", "$'"]) delete RegExp[k];

  // Freezing prototypes makes "obj.name = x" throw when a prototype holds "name" (the override mistake):
  // these accessors let scripts still set such properties on their own objects.
  const tame = (obj, key) => {
    const d = getOwnPropertyDescriptor(obj, key);
    if (!d || !hasOwn(d, "value")) return;
    const value = d.value;
    const acc = {
      get() { return value; },
      set(v) {
        if (this === obj) throw new TypeError("Cannot assign to read only property '" + key + "'");
        if (hasOwn(this, key)) this[key] = v;
        else defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
      },
    };
    defineProperty(obj, key, { get: acc.get, set: acc.set, enumerable: d.enumerable, configurable: false });
  };
  for (const E of [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError]) {
    tame(E.prototype, "name");
    tame(E.prototype, "message");
  }
  tame(Object.prototype, "toString");

  // %Promise% becomes unreachable: no subclass can run script code when a promise is marked handled (see
  // watchPromises), and species lookups fall back to the built-in constructor.
  const PromiseProto = getPrototypeOf((async () => {})());
  const promiseThen = PromiseProto.then;
  const noPromise = () => { throw new TypeError("Promise is not available to scripts"); };
  defineProperty(PromiseProto, "constructor", { value: noPromise, writable: false, enumerable: false, configurable: false });

  // Stack traces show script frames only: nothing about the host's files.
  const startsWith = (s, p) => s.slice(0, p.length) === p;
  const prepareStackTrace = (error, sites) => {
    let out;
    try { out = String(error); } catch { out = "Error"; }
    for (let i = 0; i < sites.length; i++) {
      const f = sites[i].getFileName();
      if (f === "scadalink:run") break;
      if (f === undefined || f === null || startsWith(f, "script:") || startsWith(f, "shared:")) out += "\\n    at " + sites[i];
    }
    return out;
  };
  defineProperty(Error, "prepareStackTrace", { value: prepareStackTrace, writable: false, enumerable: false, configurable: false });

  // Intrinsics reachable only through syntax (function kinds, iterators, promises, arguments).
  const roots = [
    g,
    async function () {},
    function* () {},
    async function* () {},
    (function* () {})(),
    (async function* () {})(),
    (async () => {})(),
    [][Symbol.iterator](),
    new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](),
    ""[Symbol.iterator](),
    /a/g[Symbol.matchAll]("a"),
    (function () { return arguments; })(),
  ];
  const seen = new Set();
  const stack = roots.slice();
  while (stack.length > 0) {
    const o = stack.pop();
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) continue;
    seen.add(o);
    stack.push(getPrototypeOf(o));
    for (const k of ownKeys(o)) {
      const d = getOwnPropertyDescriptor(o, k);
      if (hasOwn(d, "value")) stack.push(d.value);
      else stack.push(d.get, d.set);
    }
  }
  for (const o of seen) if (o !== g) freeze(o);
  for (const k of ownKeys(g)) if (!allowed.has(k)) delete g[k];
  freeze(g);
  return { frozen: seen.size, promiseProto: PromiseProto, promiseThen, noop: freeze(() => {}) };
})()`;

export interface Realm {
  context: vm.Context;
  /** Intrinsics frozen by the lockdown. */
  frozen: number;
  /**
   * While active, marks every promise the realm creates as handled the moment it is created. Without it, a script's
   * unawaited rejected promise would reach the host's unhandledRejection machinery, which crashes the process or
   * hands realm objects to host listeners. Returns the function that stops watching.
   */
  watchPromises(): () => void;
}

/**
 * A new realm with no code generation from strings, no WebAssembly, its own microtask queue (drained inside each
 * evaluation, under its timeout) and an ordinary global (vm.constants.DONT_CONTEXTIFY), which unlike a contextified
 * one can be frozen and has no host object behind it.
 */
export function createRealm(): Realm {
  const vanilla = vm.constants?.DONT_CONTEXTIFY;
  if (vanilla === undefined) throw new Error("the script sandbox needs Node.js with vm.constants.DONT_CONTEXTIFY");
  const context = vm.createContext(vanilla, {
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: "afterEvaluate",
  });
  const out = new vm.Script(LOCKDOWN, { filename: "scadalink:lockdown" }).runInContext(context) as {
    frozen: number;
    promiseProto: object;
    promiseThen: (this: unknown, onFulfilled: unknown, onRejected: unknown) => unknown;
    noop: () => void;
  };
  const { frozen, promiseProto, promiseThen, noop } = out;
  const watchPromises = () => {
    let marking = false;
    return promiseHooks.onInit((promise) => {
      // A new realm promise has no own properties yet and its constructor lookup hits frozen built-ins: then() runs
      // no script code. The promises then() makes itself never reject.
      if (marking || Object.getPrototypeOf(promise) !== promiseProto) return;
      marking = true;
      try {
        Reflect.apply(promiseThen, promise, [undefined, noop]);
      } catch {
        // nothing to do: the promise stays as it is
      } finally {
        marking = false;
      }
    }) as () => void;
  };
  return { context, frozen, watchPromises };
}
