import type { AlarmTrigger } from "../../../schemas/types.js";
import type { Loc, Report } from "../diagnostics.js";
import type { MemberMap } from "../flatten/context.js";
import { type AttributeMember, join } from "../flatten/members.js";
import type { Scalar } from "../model.js";
import { didYouMean } from "../text.js";
import { fitValue, NUMERIC_TYPES } from "./values.js";

const ORDERING = new Set([">", ">=", "<", "<="]);

/** trigger-unknown-attribute: the attribute a trigger names, relative to the member's module. */
export function resolveTriggerAttribute(
  rel: string,
  scope: string,
  members: MemberMap,
  loc: Loc | undefined,
  report: Report,
): AttributeMember | undefined {
  const m = members.get(join(scope, rel));
  if (m?.kind === "attribute") return m;
  if (loc) {
    const prefix = scope ? `${scope}.` : "";
    const names = [...members.values()]
      .filter((x) => x.kind === "attribute" && x.path.startsWith(prefix))
      .map((x) => x.path.slice(prefix.length));
    const what = m
      ? `"${rel}" is ${m.kind === "alarm" ? "an alarm" : "a script"}, not an attribute`
      : `no attribute "${rel}" in this module`;
    report.add("trigger-unknown-attribute", loc, `trigger: ${what}${m ? "" : didYouMean(rel, names)}`);
  }
  return undefined;
}

/**
 * trigger-type-mismatch and value-type-mismatch for an alarm trigger's operands against its attribute.
 * at(field) gives where a field was written, or undefined for fields not to check (unchanged by an override).
 * Returns the trigger with its operands in canonical form (DateTime normalised).
 */
export function checkAlarmOperands(
  t: AlarmTrigger,
  attr: AttributeMember,
  at: (field: string) => Loc | undefined,
  report: Report,
): AlarmTrigger {
  const dt = attr.dataType;
  const numeric = NUMERIC_TYPES.has(dt);
  const mismatch = (field: string, message: string) => {
    const loc = at(field);
    if (loc) report.add("trigger-type-mismatch", loc, message);
  };
  const value = (v: Scalar, field: string): Scalar => {
    const fit = fitValue(v, dt);
    if (fit.ok) return fit.value;
    const loc = at(field);
    if (loc) report.add("value-type-mismatch", loc, `trigger ${field}: ${fit.reason} (the type of ${attr.path})`);
    return v;
  };
  switch (t.type) {
    case "threshold":
      if (ORDERING.has(t.op) && (dt === "Boolean" || dt === "String")) {
        mismatch("op", `"${t.op}" cannot compare ${attr.path}, a ${dt}: use a match trigger, or == / !=`);
      }
      return { ...t, value: value(t.value, "value") };
    case "match":
      return { ...t, value: value(t.value, "value") };
    case "range":
      if (!numeric) mismatch("type", `a range trigger needs a number, and ${attr.path} is a ${dt}`);
      if (t.low > t.high)
        mismatch(at("low") ? "low" : "high", `range low (${t.low}) is above high (${t.high}): nothing would be normal`);
      return t;
    case "rateOfChange":
      if (!numeric) mismatch("type", `a rateOfChange trigger needs a number, and ${attr.path} is a ${dt}`);
      return t;
  }
}

/** unknown-script: onTrigger must name a script of the same module that takes no parameters. */
export function checkOnTrigger(rel: string, scope: string, members: MemberMap, loc: Loc, report: Report): void {
  const m = members.get(join(scope, rel));
  if (m?.kind === "script") {
    if (m.parameters.length > 0) {
      report.add(
        "unknown-script",
        loc,
        `onTrigger script "${rel}" takes parameters (${m.parameters.map((p) => p.name).join(", ")}); an onTrigger script must take none`,
      );
    }
    return;
  }
  const prefix = scope ? `${scope}.` : "";
  const names = [...members.values()]
    .filter((x) => x.kind === "script" && x.path.startsWith(prefix))
    .map((x) => x.path.slice(prefix.length));
  report.add("unknown-script", loc, `onTrigger: no script "${rel}" in this module${didYouMean(rel, names)}`);
}
