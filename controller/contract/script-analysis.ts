import { parse } from "acorn";
import { analyze } from "eslint-scope";
import { looksLikeCredential } from "./credential-names.js";
import { INTEGRATION_MEMBERS } from "./script-policy.js";

/** A position inside script code: 1-based line and column relative to the code itself. */
export interface CodePos {
  line: number;
  column: number;
}

export type LiteralType = "string" | "number" | "integer" | "boolean" | "null";

export interface Arg {
  literal: LiteralType | undefined;
  /** The literal's value, when it is a literal. */
  value: unknown;
  spread: boolean;
  /** A string put together at run time: `+` with a string literal, or a template literal with `${…}`. */
  built: boolean;
  pos: CodePos;
}

export type ApiFunction =
  | "callScript"
  | "callShared"
  | "attributes.get"
  | "attributes.set"
  | "externalSystem.call"
  | "externalSystem.cachedCall"
  | "notify"
  | "database.query"
  | "database.cachedWrite";

/** A call of the script API with what can be known statically. */
export interface ApiCall {
  fn: ApiFunction;
  /** Literal first argument (script name, attribute path, system, list or connection), if literal. */
  target: string | undefined;
  targetPos: CodePos;
  /** Remaining arguments (after the target). */
  args: Arg[];
  pos: CodePos;
}

export interface Forbidden {
  message: string;
  pos: CodePos;
}

/** What static analysis learns from one piece of code, independent of where it is used. */
export interface CodeFacts {
  syntaxError: { message: string; pos: CodePos } | undefined;
  /** Globals the code reads or writes (not declared in it, not parameters). */
  free: { name: string; write: boolean; pos: CodePos }[];
  forbidden: Forbidden[];
  calls: ApiCall[];
  /** Members of log / attributes / externalSystem / database used that the API does not have. */
  apiMembers: { object: ApiObject; property: string; pos: CodePos }[];
  /** Credential-looking names given a string literal. */
  secrets: { name: string; pos: CodePos }[];
}

export type ApiObject = "log" | "attributes" | "externalSystem" | "database";

/** The members each API object has (section 2.8 and 8.2). */
export const API_MEMBERS: Readonly<Record<ApiObject, readonly string[]>> = {
  log: ["info", "warn", "error"],
  attributes: ["get", "set"],
  ...INTEGRATION_MEMBERS,
};

/** Property names that lead from any object to Function or to prototypes: escapes from the sandbox. */
export const FORBIDDEN_PROPERTIES = new Set([
  "constructor",
  "__proto__",
  "prototype",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "caller",
  "callee",
  "getPrototypeOf",
  "setPrototypeOf",
  "defineProperty",
  "defineProperties",
  "getOwnPropertyDescriptor",
  "getOwnPropertyDescriptors",
]);

type Node = {
  type: string;
  start: number;
  end: number;
  loc: { start: { line: number; column: number } };
  [k: string]: unknown;
};

const cache = new Map<string, CodeFacts>();

/**
 * Parses code as the body of `async function (params) { "use strict"; … }` (or, for an expression, the operand
 * of its return) and collects facts. Results are cached by (mode, params, code).
 */
export function analyzeCode(code: string, params: readonly string[], expression = false): CodeFacts {
  const key = `${expression ? "e" : "b"}\u0000${params.join(",")}\u0000${code}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const facts = computeFacts(code, params, expression);
  if (cache.size > 20_000) cache.clear();
  cache.set(key, facts);
  return facts;
}

function computeFacts(code: string, params: readonly string[], expression: boolean): CodeFacts {
  const facts: CodeFacts = { syntaxError: undefined, free: [], forbidden: [], calls: [], apiMembers: [], secrets: [] };
  // The code starts on line 2 of the wrapper, at column 0: code positions are wrapper positions minus one line.
  // Duplicate parameter names are reported by duplicate-name; the parser need not reject them again.
  // Names that are no identifiers are reported as invalid-name; they cannot be parameters of the wrapper.
  const unique = [...new Set(params)].filter((p) => /^[A-Za-z_$][\w$]*$/.test(p));
  const head = expression
    ? `(async function () {"use strict"; return (`
    : `(async function (${unique.join(", ")}) {"use strict";`;
  const wrapped = `${head}\n${code}\n${expression ? ");" : ""}})`;
  const pos = (n: { loc: { start: { line: number; column: number } } }): CodePos => ({
    line: Math.max(1, n.loc.start.line - 1),
    column: n.loc.start.line === 1 ? 1 : n.loc.start.column + 1,
  });
  let ast: Node;
  try {
    ast = parse(wrapped, { ecmaVersion: 2022, sourceType: "script", locations: true, ranges: true }) as unknown as Node;
  } catch (e) {
    const err = e as SyntaxError & { loc?: { line: number; column: number } };
    const loc = err.loc ?? { line: 2, column: 0 };
    facts.syntaxError = {
      message: String(err.message).replace(/ \(\d+:\d+\)$/, ""),
      pos: pos({ loc: { start: loc } }),
    };
    return facts;
  }
  // The code must stay inside its function: `}), evil(), (function(){` would parse as three expressions.
  const body = ast.body as Node[];
  const only = body.length === 1 ? (body[0] as Node) : undefined;
  const fn = only?.type === "ExpressionStatement" ? (only.expression as Node) : undefined;
  if (fn?.type !== "FunctionExpression" || fn.start !== 1 || fn.end !== wrapped.length - 1) {
    facts.syntaxError = {
      message: "unbalanced braces: the code closes its function early",
      pos: { line: 1, column: 1 },
    };
    return facts;
  }

  const scopes = analyze(ast as never, { ecmaVersion: 2022, sourceType: "script" });
  const freeIds = new Set<unknown>();
  for (const ref of scopes.globalScope!.through) {
    const id = ref.identifier as unknown as Node & { name: string };
    freeIds.add(id);
    facts.free.push({ name: id.name, write: ref.isWrite(), pos: pos(id) });
  }
  const isFree = (n: unknown, name?: string): boolean =>
    !!n &&
    (n as Node).type === "Identifier" &&
    freeIds.has(n) &&
    (name === undefined || (n as { name: string }).name === name);

  const literal = (n: Node): { type: LiteralType; value: unknown } | undefined => {
    if (n.type === "Literal") {
      const v = n.value;
      if (v === null) return { type: "null", value: null };
      if (typeof v === "string" || typeof v === "boolean")
        return { type: v === true || v === false ? "boolean" : "string", value: v };
      if (typeof v === "number") return { type: Number.isInteger(v) ? "integer" : "number", value: v };
      return undefined;
    }
    if (n.type === "TemplateLiteral" && (n.expressions as unknown[]).length === 0) {
      const q = (n.quasis as { value: { cooked: string } }[])[0];
      return { type: "string", value: q?.value.cooked ?? "" };
    }
    if (n.type === "UnaryExpression" && n.operator === "-" && (n.argument as Node).type === "Literal") {
      const v = (n.argument as Node).value;
      if (typeof v === "number") return { type: Number.isInteger(v) ? "integer" : "number", value: -v };
    }
    return undefined;
  };
  const propName = (n: Node, computed: boolean): string | undefined => {
    if (!computed && n.type === "Identifier") return n.name as string;
    const l = literal(n);
    return l?.type === "string" ? (l.value as string) : undefined;
  };

  const apiObject = (n: Node): ApiObject | undefined => {
    for (const o of Object.keys(API_MEMBERS) as ApiObject[]) if (isFree(n, o)) return o;
    return undefined;
  };
  /** `"… " + x`, `` `…${x}` ``: a string assembled from parts that are not all literals. */
  const isBuiltString = (n: Node): boolean => {
    if (n.type === "TemplateLiteral") return (n.expressions as unknown[]).length > 0;
    if (n.type !== "BinaryExpression" || n.operator !== "+") return false;
    const parts: Node[] = [];
    const flat = (e: Node) => {
      if (e.type === "BinaryExpression" && e.operator === "+") {
        flat(e.left as Node);
        flat(e.right as Node);
      } else parts.push(e);
    };
    flat(n);
    const text = parts.some((p) => literal(p)?.type === "string" || p.type === "TemplateLiteral");
    return text && parts.some((p) => !literal(p));
  };

  walk(fn.body as Node, (n) => {
    switch (n.type) {
      case "ImportExpression":
        facts.forbidden.push({ message: "import() is not available to scripts", pos: pos(n) });
        break;
      case "MetaProperty":
        if ((n.meta as { name: string }).name === "import")
          facts.forbidden.push({ message: "import.meta is not available to scripts", pos: pos(n) });
        break;
      case "MemberExpression": {
        const name = propName(n.property as Node, n.computed as boolean);
        if (name !== undefined && FORBIDDEN_PROPERTIES.has(name)) {
          facts.forbidden.push({
            message: `"${name}" is not available to scripts (it reaches prototypes or Function)`,
            pos: pos(n.property as Node),
          });
        }
        const obj = n.object as Node;
        const object = apiObject(obj);
        if (name !== undefined && object && !API_MEMBERS[object].includes(name)) {
          facts.apiMembers.push({ object, property: name, pos: pos(n.property as Node) });
        }
        break;
      }
      case "ObjectPattern":
        for (const p of n.properties as Node[]) {
          if (p.type !== "Property") continue;
          const name = propName(p.key as Node, p.computed as boolean);
          if (name !== undefined && FORBIDDEN_PROPERTIES.has(name)) {
            facts.forbidden.push({
              message: `"${name}" is not available to scripts (it reaches prototypes or Function)`,
              pos: pos(p.key as Node),
            });
          }
        }
        break;
      case "CallExpression": {
        const callee = n.callee as Node;
        let fnName: ApiFunction | undefined;
        if (isFree(callee, "callScript")) fnName = "callScript";
        else if (isFree(callee, "callShared")) fnName = "callShared";
        else if (isFree(callee, "notify")) fnName = "notify";
        else if (callee.type === "MemberExpression") {
          const object = apiObject(callee.object as Node);
          const m = propName(callee.property as Node, callee.computed as boolean);
          if (object && object !== "log" && m !== undefined && API_MEMBERS[object].includes(m))
            fnName = `${object}.${m}` as ApiFunction;
        }
        if (!fnName) break;
        const [first, ...rest] = n.arguments as Node[];
        const t = first ? literal(first) : undefined;
        facts.calls.push({
          fn: fnName,
          target: t?.type === "string" ? (t.value as string) : undefined,
          targetPos: pos(first ?? n),
          args: rest.map((a) => {
            const l = a.type === "SpreadElement" ? undefined : literal(a);
            return {
              literal: l?.type,
              value: l?.value,
              spread: a.type === "SpreadElement",
              built: isBuiltString(a),
              pos: pos(a),
            };
          }),
          pos: pos(n),
        });
        break;
      }
      case "VariableDeclarator": {
        const id = n.id as Node;
        const init = n.init as Node | null;
        if (
          id.type === "Identifier" &&
          init &&
          looksLikeCredential(id.name as string) &&
          isNonEmptyString(literal(init))
        ) {
          facts.secrets.push({ name: id.name as string, pos: pos(init) });
        }
        break;
      }
      case "AssignmentExpression": {
        const left = n.left as Node;
        const name =
          left.type === "Identifier"
            ? (left.name as string)
            : left.type === "MemberExpression"
              ? propName(left.property as Node, left.computed as boolean)
              : undefined;
        if (name && looksLikeCredential(name) && isNonEmptyString(literal(n.right as Node)))
          facts.secrets.push({ name, pos: pos(n.right as Node) });
        break;
      }
      case "Property": {
        const name = propName(n.key as Node, n.computed as boolean);
        const v = n.value as Node;
        if (name && looksLikeCredential(name) && isNonEmptyString(literal(v)))
          facts.secrets.push({ name, pos: pos(v) });
        break;
      }
    }
  });
  return facts;
}

function isNonEmptyString(l: { type: LiteralType; value: unknown } | undefined): boolean {
  return l?.type === "string" && (l.value as string).length > 0;
}

/** Visits every node below root (generic over ESTree: any property holding nodes). */
function walk(root: Node, visit: (n: Node) => void): void {
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    visit(n);
    for (const key in n) {
      if (key === "loc" || key === "range" || key === "parent") continue;
      const v = n[key];
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) if (v[i] && typeof v[i].type === "string") stack.push(v[i]);
      } else if (v && typeof v === "object" && typeof (v as Node).type === "string") stack.push(v as Node);
    }
  }
}
