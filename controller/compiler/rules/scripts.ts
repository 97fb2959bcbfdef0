import { analyzeCode, type CodePos, type LiteralType } from "../../contract/script-analysis.js";
import { SHARED_GLOBALS, TEMPLATE_GLOBALS } from "../../contract/script-policy.js";
import type { Loc, Report } from "../diagnostics.js";
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
 * credential-named variables given a string. Returns the shared scripts the code calls by literal name.
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
        c.env.shared && (f.name === "attributes" || f.name === "callScript")
          ? "shared scripts cannot reach attributes or instance scripts: pass values as parameters"
          : "scripts may use only attributes, callScript, callShared, log, now() and pure built-ins such as Math and JSON";
      report.add("script-forbidden-api", at(f.pos), `"${f.name}" is not available: ${why}`);
    }
  }
  for (const f of facts.forbidden) report.add("script-forbidden-api", at(f.pos), f.message);
  for (const m of facts.apiMembers) {
    const has = m.object === "log" ? "log.info, log.warn and log.error" : "attributes.get and attributes.set";
    report.add("script-forbidden-api", at(m.pos), `${m.object}.${m.property} does not exist: the API has ${has}`);
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
      checkArgs(call.fn, call.target, sig, call.args, call.pos, at, report);
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
      `${fn}("${target}") passes ${args.length} argument${args.length === 1 ? "" : "s"}; ${target} takes ${n}${n ? ` (${list})` : ""}`,
    );
  }
  args.forEach((a, i) => {
    const p = params[i];
    if (!p || a.spread || !a.literal || a.literal === "null") return;
    if (!literalFits(a.literal, p.type)) {
      report.add(
        "script-arg-mismatch",
        at(a.pos),
        `${fn}("${target}"): argument ${i + 1} (${p.name}) must be ${p.type}, not a ${a.literal} literal`,
      );
    }
  });
}

function literalFits(lit: LiteralType, type: string): boolean {
  if (type === "String" || type === "DateTime") return lit === "string";
  if (type === "Boolean") return lit === "boolean";
  if (type === "Int32" || type === "Int64") return lit === "integer";
  if (NUMERIC_TYPES.has(type)) return lit === "integer" || lit === "number";
  return true;
}
