import type { ExternalSystem } from "../../../schemas/types.js";
import {
  API_MEMBERS,
  type ApiCall,
  analyzeCode,
  type CodePos,
  type LiteralType,
} from "../../contract/script-analysis.js";
import { SHARED_GLOBALS, TEMPLATE_GLOBALS } from "../../contract/script-policy.js";
import type { Loc, Report } from "../diagnostics.js";
import type { Doc, IntegrationKind } from "../model.js";
import { didYouMean } from "../text.js";
import { type DataType, fitValue, NUMERIC_TYPES } from "./values.js";

export interface Signature {
  parameters: readonly { name: string; type: string }[];
}

export interface AttributeInfo {
  dataType: DataType;
  source: "data" | "static";
  access: "read" | "readWrite";
}

/** What a piece of code can reach: its instance's members (relative to its module) and the shared scripts. */
export interface ScriptEnv {
  shared: boolean;
  attribute(path: string): AttributeInfo | undefined;
  script(path: string): Signature | undefined;
  scriptNames(): Iterable<string>;
  attributeNames(): Iterable<string>;
  sharedScript(name: string): Signature | undefined;
  sharedNames(): Iterable<string>;
  /** A shared script that exists but whose document is broken (reported there). */
  brokenShared(name: string): boolean;
  /** A usable ExternalSystem, NotificationList or DatabaseConnection document of that name. */
  integration(name: string): Doc<IntegrationKind> | undefined;
  integrationNames(kind: IntegrationKind): Iterable<string>;
  /** An integration document of that name exists but could not be used (reported there). */
  brokenIntegration(name: string): boolean;
}

export interface ScriptCheck {
  code: string;
  params: readonly string[];
  expression?: boolean;
  env: ScriptEnv;
  /** Maps a position inside the code to the file. */
  locate: (pos: CodePos) => Loc;
}

/**
 * script-syntax / shared-script-syntax, script-forbidden-api, script-unknown-call-target, script-arg-mismatch,
 * script-unknown-attribute, and value-type-mismatch for literal attributes.set values; secret-literal for
 * credential-named variables given a string; the integration calls of 8.2 against their documents
 * (unknown-external-system, unknown-external-method, unknown-notification-list, unknown-database-connection,
 * script-arg-mismatch, script-sql-literal). Returns the shared scripts the code calls by literal name.
 */
export function checkScript(c: ScriptCheck, report: Report): string[] {
  const facts = analyzeCode(c.code, c.params, c.expression);
  const at = c.locate;
  if (facts.syntaxError) {
    report.add(
      c.env.shared ? "shared-script-syntax" : "script-syntax",
      at(facts.syntaxError.pos),
      facts.syntaxError.message,
    );
    return [];
  }
  const allowed = c.env.shared ? SHARED_GLOBALS : TEMPLATE_GLOBALS;
  for (const f of facts.free) {
    if (f.write) report.add("script-forbidden-api", at(f.pos), `scripts cannot assign to the global "${f.name}"`);
    else if (!allowed.has(f.name)) {
      const why =
        c.env.shared && TEMPLATE_GLOBALS.has(f.name)
          ? "shared scripts cannot reach attributes, instance scripts or integrations: pass values as parameters, and make the call from the instance's script"
          : "scripts may use only attributes, callScript, callShared, log, now(), externalSystem, notify, database and pure built-ins such as Math and JSON";
      report.add("script-forbidden-api", at(f.pos), `"${f.name}" is not available: ${why}`);
    }
  }
  for (const f of facts.forbidden) report.add("script-forbidden-api", at(f.pos), f.message);
  for (const m of facts.apiMembers) {
    if (c.env.shared && m.object !== "log") continue; // the object itself is already reported as forbidden
    const has = API_MEMBERS[m.object].map((p) => `${m.object}.${p}`);
    const list = `${has.slice(0, -1).join(", ")} and ${has.at(-1)}`;
    report.add("script-forbidden-api", at(m.pos), `${m.object}.${m.property} does not exist: the API has ${list}`);
  }
  for (const s of facts.secrets) {
    report.add(
      "secret-literal",
      at(s.pos),
      `"${s.name}" is given a literal credential (value hidden): scripts must not hold secrets`,
    );
  }

  const sharedCalls: string[] = [];
  for (const call of facts.calls) {
    if (call.fn in INTEGRATION_CALLS) {
      if (!c.env.shared) checkIntegrationCall(call, c.env, at, report);
      continue;
    }
    if (call.target === undefined) continue;
    if (call.fn === "callScript" || call.fn === "callShared") {
      const isShared = call.fn === "callShared";
      if (!isShared && c.env.shared) continue; // already reported as forbidden
      const sig = isShared ? c.env.sharedScript(call.target) : c.env.script(call.target);
      if (isShared) sharedCalls.push(call.target);
      if (!sig && isShared && c.env.brokenShared(call.target)) continue;
      if (!sig) {
        const names = isShared ? c.env.sharedNames() : c.env.scriptNames();
        const what = isShared ? "shared script" : "script in this module";
        report.add(
          "script-unknown-call-target",
          at(call.targetPos),
          `${call.fn}: no ${what} "${call.target}"${didYouMean(call.target, names)}`,
        );
        continue;
      }
      checkArgs(`${call.fn}("${call.target}")`, call.target, sig, call.args, call.pos, at, report);
    } else {
      if (c.env.shared) continue;
      const attr = c.env.attribute(call.target);
      if (!attr) {
        report.add(
          "script-unknown-attribute",
          at(call.targetPos),
          `${call.fn}: no attribute "${call.target}" in this module${didYouMean(call.target, c.env.attributeNames())}`,
        );
        continue;
      }
      if (call.fn === "attributes.set") {
        if (attr.source === "data" && attr.access !== "readWrite") {
          report.add(
            "script-unknown-attribute",
            at(call.targetPos),
            `attributes.set: "${call.target}" is a read-only data attribute (access: read)`,
          );
        }
        const v = call.args[0];
        if (v?.literal && v.literal !== "null") {
          const fit = fitValue(v.value, attr.dataType);
          if (!fit.ok)
            report.add("value-type-mismatch", at(v.pos), `attributes.set("${call.target}", …): ${fit.reason}`);
        }
      }
    }
  }
  return sharedCalls;
}

/** What each integration call's first argument names, and the rule for a name that is not one. */
export const INTEGRATION_CALLS: Partial<Record<ApiCall["fn"], { kind: IntegrationKind; rule: IntegrationRule }>> = {
  "externalSystem.call": { kind: "ExternalSystem", rule: "unknown-external-system" },
  "externalSystem.cachedCall": { kind: "ExternalSystem", rule: "unknown-external-system" },
  notify: { kind: "NotificationList", rule: "unknown-notification-list" },
  "database.query": { kind: "DatabaseConnection", rule: "unknown-database-connection" },
  "database.cachedWrite": { kind: "DatabaseConnection", rule: "unknown-database-connection" },
};
export type IntegrationRule = "unknown-external-system" | "unknown-notification-list" | "unknown-database-connection";

export const KIND_WORDS: Record<IntegrationKind, string> = {
  ExternalSystem: "external system",
  NotificationList: "notification list",
  DatabaseConnection: "database connection",
};

/** The integration call's target, method and literal arguments against the repo's documents (section 8.2). */
function checkIntegrationCall(call: ApiCall, env: ScriptEnv, at: (p: CodePos) => Loc, report: Report): void {
  const { kind, rule } = INTEGRATION_CALLS[call.fn]!;
  const [second, ...rest] = call.args;
  if (call.fn.startsWith("database.")) {
    if (second?.built)
      report.add(
        "script-sql-literal",
        at(second.pos),
        `${call.fn}: the SQL is put together from pieces; pass values as parameters ($1, $2, …) after the SQL`,
      );
  }
  if (call.target === undefined) return;
  const doc = env.integration(call.target);
  if (!doc || doc.kind !== kind) {
    if (env.brokenIntegration(call.target)) return;
    const other = doc
      ? ` ("${call.target}" is ${doc.kind === "ExternalSystem" ? "an" : "a"} ${KIND_WORDS[doc.kind]})`
      : "";
    report.add(
      rule,
      at(call.targetPos),
      `${call.fn}: no ${KIND_WORDS[kind]} "${call.target}"${other}${didYouMean(call.target, env.integrationNames(kind))}`,
    );
    return;
  }
  const label = `${call.fn}("${call.target}"`;
  if (kind === "NotificationList") {
    if (!call.args.some((a) => a.spread) && call.args.length !== 2)
      report.add(
        "script-arg-mismatch",
        at(call.pos),
        `notify("${call.target}") passes ${call.args.length + 1} argument${call.args.length ? "s" : ""}; it takes 3 (list, subject, body)`,
      );
    call.args.slice(0, 2).forEach((a, i) => {
      if (a.literal && a.literal !== "string")
        report.add(
          "script-arg-mismatch",
          at(a.pos),
          `notify("${call.target}", …): the ${i ? "body" : "subject"} must be a string, not ${aLiteral(a.literal)}`,
        );
    });
    return;
  }
  if (kind === "DatabaseConnection") {
    if (!second || second.spread) {
      if (!second)
        report.add("script-arg-mismatch", at(call.pos), `${label}) has no SQL: it takes (connection, sql, ...params)`);
      return;
    }
    if (second.literal && second.literal !== "string") {
      report.add(
        "script-arg-mismatch",
        at(second.pos),
        `${label}, …): the SQL must be a string, not ${aLiteral(second.literal)}`,
      );
      return;
    }
    if (second.literal !== "string" || rest.some((a) => a.spread)) return;
    const used = placeholders(second.value as string);
    if (used !== rest.length)
      report.add(
        "script-arg-mismatch",
        at(call.pos),
        `${label}, …) passes ${rest.length} parameter${rest.length === 1 ? "" : "s"}; the SQL uses ${used ? `$1…$${used}` : "none"}`,
      );
    return;
  }
  const system = doc.data as ExternalSystem;
  const methods = system.methods ?? [];
  if (!second) {
    report.add("script-arg-mismatch", at(call.pos), `${label}) names no method: it takes (system, method, ...args)`);
    return;
  }
  if (second.literal !== "string") return;
  const name = second.value as string;
  const method = methods.find((m) => m.name === name);
  if (!method) {
    const names = methods.map((m) => m.name);
    report.add(
      "unknown-external-method",
      at(second.pos),
      `${label}, …): external system ${system.name} has no method "${name}"${didYouMean(name, names)}`,
    );
    return;
  }
  const sig: Signature = { parameters: (method.parameters ?? []).map((p) => ({ name: p.name, type: p.type })) };
  checkArgs(`${label}, "${name}")`, `${system.name}.${name}`, sig, rest, call.pos, at, report);
}

/** The highest $n in SQL, outside string literals, quoted identifiers and comments. */
export function placeholders(sql: string): number {
  const code = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, " ");
  let max = 0;
  for (const m of code.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

function checkArgs(
  fn: string,
  target: string,
  sig: Signature,
  args: { literal: LiteralType | undefined; spread: boolean; pos: CodePos }[],
  callPos: CodePos,
  at: (p: CodePos) => Loc,
  report: Report,
): void {
  const params = sig.parameters;
  if (!args.some((a) => a.spread) && args.length !== params.length) {
    const list = params.map((p) => `${p.name}: ${p.type}`).join(", ");
    const n = params.length;
    report.add(
      "script-arg-mismatch",
      at(callPos),
      `${fn} passes ${args.length} argument${args.length === 1 ? "" : "s"}; ${target} takes ${n}${n ? ` (${list})` : ""}`,
    );
  }
  args.forEach((a, i) => {
    const p = params[i];
    if (!p || a.spread || !a.literal || a.literal === "null") return;
    if (!literalFits(a.literal, p.type)) {
      report.add(
        "script-arg-mismatch",
        at(a.pos),
        `${fn}: argument ${i + 1} (${p.name}) must be ${p.type}, not ${aLiteral(a.literal)}`,
      );
    }
  });
}

/** "an integer literal", "a string literal". */
const aLiteral = (lit: LiteralType) => `${lit === "integer" ? "an" : "a"} ${lit} literal`;

function literalFits(lit: LiteralType, type: string): boolean {
  if (type === "String" || type === "DateTime") return lit === "string";
  if (type === "Boolean") return lit === "boolean";
  if (type === "Int32" || type === "Int64") return lit === "integer";
  if (NUMERIC_TYPES.has(type)) return lit === "integer" || lit === "number";
  return true;
}
