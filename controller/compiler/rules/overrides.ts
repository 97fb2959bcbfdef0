import type { AlarmTrigger, Binding, InstanceOverride, MemberOverride, ScriptTrigger } from "../../../schemas/types.js";
import type { Loc, Report } from "../diagnostics.js";
import { type MemberMap, type SharedRegistry, scriptEnv } from "../flatten/context.js";
import type { AlarmMember, AttributeMember, Member, OriginRef, ScriptMember } from "../flatten/members.js";
import { atKey, atTextPos, atValue } from "../load/positions.js";
import type { Scalar, SiteInfo } from "../model.js";
import { didYouMean } from "../text.js";
import { checkScript } from "./scripts.js";
import { parseTagPattern } from "./tag-pattern.js";
import { checkAlarmOperands, checkOnTrigger, resolveTriggerAttribute } from "./triggers.js";
import { fitValue } from "./values.js";

/** Fields a derived or composing template may override, per member kind (section 2.5). */
const TEMPLATE_FIELDS: Record<Member["kind"], ReadonlySet<string>> = {
  attribute: new Set(["value", "tag", "units", "description", "locked"]),
  alarm: new Set(["trigger", "priority", "onTrigger", "locked", "description"]),
  script: new Set(["code", "timeoutMs", "trigger", "locked", "description"]),
};
/** Fields an instance may override (scripts: none, override-scope). */
const INSTANCE_FIELDS: Record<"attribute" | "alarm", ReadonlySet<string>> = {
  attribute: new Set(["value"]),
  alarm: new Set(["trigger", "priority"]),
};
/** Trigger operands that may change, per trigger type; type and attribute never change. */
const TRIGGER_FIELDS: Record<string, readonly string[]> = {
  threshold: ["op", "value"],
  range: ["low", "high"],
  match: ["value"],
  rateOfChange: ["perSecond"],
  call: [],
  onChange: [],
  interval: ["everyMs"],
  expression: ["expression"],
};

/** The member table an override layer applies to, and where its diagnostics go. */
export interface Layer {
  members: MemberMap;
  modules: ReadonlyMap<string, string>;
  /** false when some template below is missing: unknown paths are then not reported (their cause is). */
  complete: boolean;
  /** "Template Pump" or "Instance plant-north/Pump07", for --explain. */
  name: string;
  shared: SharedRegistry;
  report: Report;
}

const originAt = (o: OriginRef): string => {
  const l = atValue(o.obj, o.key);
  return `${l.file}:${l.line}`;
};

/** override-unknown-member: the member an override or binding path names, if any. */
function lookup(path: string, keyLoc: Loc, layer: Layer, what: string): Member | undefined {
  const m = layer.members.get(path);
  if (m) return m;
  if (layer.modules.has(path)) {
    layer.report.add(
      "override-unknown-member",
      keyLoc,
      `${what} "${path}": ${path} is a module (${layer.modules.get(path)}), not a member; address its members as ${path}.<member>`,
    );
  } else if (layer.complete) {
    layer.report.add(
      "override-unknown-member",
      keyLoc,
      `${what} "${path}": no such member${didYouMean(path, layer.members.keys())}`,
    );
  }
  return undefined;
}

function lockedMessage(m: Member): string {
  const by = m.lockedBy ? ` (locked by ${m.lockedBy.layer}, ${originAt(m.lockedBy)})` : "";
  return `"${m.path}" is locked${by}: nothing below may change it`;
}

/** Applies a template's overrides (keyed by canonical path) to the layer's members. */
export function applyTemplateOverrides(overrides: Record<string, MemberOverride>, layer: Layer): void {
  for (const [path, o] of Object.entries(overrides)) {
    const keyLoc = atKey(overrides, path);
    const m = lookup(path, keyLoc, layer, "override");
    if (!m) continue;
    if (m.locked) {
      layer.report.add("override-locked", keyLoc, lockedMessage(m));
      continue;
    }
    const allowed = TEMPLATE_FIELDS[m.kind];
    const changes: Record<string, unknown> = {};
    for (const field of Object.keys(o)) {
      if (!allowed.has(field)) {
        layer.report.add(
          "override-field",
          atKey(o, field),
          `"${field}" of ${m.kind} ${m.path} cannot be overridden; a template may change ${[...allowed].join(", ")}`,
        );
        continue;
      }
      changes[field] = (o as Record<string, unknown>)[field];
    }
    layer.members.set(path, applyChanges(m, o as Record<string, unknown>, changes, layer));
  }
}

/** Applies an instance's overrides: attribute values, alarm priorities and thresholds; never scripts. */
export function applyInstanceOverrides(overrides: Record<string, Scalar | InstanceOverride>, layer: Layer): void {
  for (const [path, raw] of Object.entries(overrides)) {
    const keyLoc = atKey(overrides, path);
    const m = lookup(path, keyLoc, layer, "override");
    if (!m) continue;
    if (m.kind === "script") {
      layer.report.add(
        "override-scope",
        keyLoc,
        `"${path}" is a script: instances cannot override scripts; change the template instead`,
      );
      continue;
    }
    if (m.locked) {
      layer.report.add("override-locked", keyLoc, lockedMessage(m));
      continue;
    }
    // `Setpoint: 1200` is shorthand for `Setpoint: { value: 1200 }`; its location is the key's value.
    const shorthand = raw === null || typeof raw !== "object";
    const o = (shorthand ? { value: raw } : raw) as Record<string, unknown>;
    const locObj = shorthand ? overrides : o;
    const fieldKey = (f: string) => (shorthand ? path : f);
    const allowed = INSTANCE_FIELDS[m.kind];
    const changes: Record<string, unknown> = {};
    for (const field of Object.keys(o)) {
      if (!allowed.has(field)) {
        const hint =
          m.kind === "attribute" && field === "tag"
            ? "bind data attributes under bindings"
            : `an instance may change ${m.kind === "attribute" ? "the value of a static attribute" : "an alarm's priority and trigger thresholds"}`;
        layer.report.add(
          "override-field",
          atKey(locObj, fieldKey(field)),
          `"${field}" of ${m.kind} ${m.path} cannot be overridden by an instance: ${hint}`,
        );
        continue;
      }
      if (m.kind === "attribute" && field === "value" && m.source === "data") {
        layer.report.add(
          "override-field",
          atKey(locObj, fieldKey(field)),
          `${m.path} is a data attribute: its value comes from the device; bind its tag under bindings`,
        );
        continue;
      }
      changes[field] = o[field];
    }
    layer.members.set(path, applyChanges(m, o, changes, layer, shorthand ? { obj: overrides, key: path } : undefined));
  }
}

/**
 * Checks and applies accepted field changes to a member, returning the new member (copy-on-write).
 * `valueAt` locates a shorthand value (instance `Setpoint: 1200`), whose field has no key of its own.
 */
function applyChanges(
  m: Member,
  o: Record<string, unknown>,
  changes: Record<string, unknown>,
  layer: Layer,
  valueAt?: { obj: object; key: string },
): Member {
  const report = layer.report;
  const origin = (key: string): OriginRef =>
    valueAt && key === "value" ? { ...valueAt, layer: layer.name } : { obj: o, key, layer: layer.name };
  const loc = (key: string): Loc => (valueAt && key === "value" ? atValue(valueAt.obj, valueAt.key) : atValue(o, key));
  const next = { ...m, origins: { ...m.origins } } as Member;

  if ("locked" in changes) {
    if (changes.locked === true) {
      next.locked = true;
      next.lockedBy = origin("locked");
      next.origins.locked = origin("locked");
    } else report.add("override-field", atKey(o, "locked"), `locked can only be set to true (a lock cannot be lifted)`);
  }
  if (next.kind === "attribute") applyAttribute(next, changes, layer, loc, origin);
  else if (next.kind === "alarm") applyAlarm(next, o, changes, layer, origin);
  else applyScript(next, o, changes, layer, origin);
  return next;
}

function applyAttribute(
  m: AttributeMember,
  changes: Record<string, unknown>,
  layer: Layer,
  loc: (k: string) => Loc,
  origin: (k: string) => OriginRef,
) {
  if ("value" in changes) {
    if (m.source === "data") {
      layer.report.add(
        "override-field",
        loc("value"),
        `${m.path} is a data attribute: its value comes from the device`,
      );
    } else {
      const fit = fitValue(changes.value, m.dataType);
      if (!fit.ok) layer.report.add("value-type-mismatch", loc("value"), `${m.path}: ${fit.reason}`);
      m.value = fit.ok ? fit.value : (changes.value as Scalar);
      m.origins.value = origin("value");
    }
  }
  if ("tag" in changes) {
    if (m.source !== "data") {
      layer.report.add(
        "override-field",
        loc("tag"),
        `${m.path} is a static attribute: only data attributes have a tag`,
      );
    } else {
      for (const p of parseTagPattern(changes.tag as string).problems) layer.report.add("tag-pattern", loc("tag"), p);
      m.tag = changes.tag as string;
      m.origins.tag = origin("tag");
    }
  }
  if ("units" in changes) {
    m.units = changes.units as string;
    m.origins.units = origin("units");
  }
}

/** Checks a trigger override's operands against the trigger's type; returns the accepted ones. */
function triggerChanges(
  m: AlarmMember | ScriptMember,
  t: Record<string, unknown>,
  report: Report,
): Record<string, unknown> {
  const allowed = TRIGGER_FIELDS[m.trigger.type] ?? [];
  const out: Record<string, unknown> = {};
  for (const f of Object.keys(t)) {
    if (allowed.includes(f)) out[f] = t[f];
    else {
      const can = allowed.length
        ? `a ${m.trigger.type} trigger may change ${allowed.join(", ")}`
        : `a ${m.trigger.type} trigger has nothing to change`;
      const why = f === "type" || f === "attribute" ? `the trigger ${f} never changes` : can;
      report.add("override-field", atKey(t, f), `trigger "${f}" of ${m.path} cannot be overridden: ${why}`);
    }
  }
  return out;
}

function applyAlarm(
  m: AlarmMember,
  o: Record<string, unknown>,
  changes: Record<string, unknown>,
  layer: Layer,
  origin: (k: string) => OriginRef,
) {
  if ("priority" in changes) {
    m.priority = changes.priority as number;
    m.origins.priority = origin("priority");
  }
  if ("onTrigger" in changes) {
    checkOnTrigger(changes.onTrigger as string, m.scope, layer.members, atValue(o, "onTrigger"), layer.report);
    m.onTrigger = changes.onTrigger as string;
    m.origins.onTrigger = origin("onTrigger");
  }
  if ("trigger" in changes) {
    const t = changes.trigger as Record<string, unknown>;
    const ops = triggerChanges(m, t, layer.report);
    const merged = { ...m.trigger, ...ops } as AlarmTrigger;
    const attr = resolveTriggerAttribute(merged.attribute, m.scope, layer.members, undefined, layer.report);
    m.trigger = attr
      ? checkAlarmOperands(merged, attr, (f) => (f in ops ? atValue(t, f) : undefined), layer.report)
      : merged;
    for (const f of Object.keys(ops)) m.origins[`trigger.${f}`] = { obj: t, key: f, layer: layer.name };
  }
}

function applyScript(
  m: ScriptMember,
  o: Record<string, unknown>,
  changes: Record<string, unknown>,
  layer: Layer,
  origin: (k: string) => OriginRef,
) {
  const env = scriptEnv(layer.members, m.scope, layer.shared);
  if ("timeoutMs" in changes) {
    m.timeoutMs = changes.timeoutMs as number;
    m.origins.timeoutMs = origin("timeoutMs");
  }
  if ("trigger" in changes) {
    const t = changes.trigger as Record<string, unknown>;
    const ops = triggerChanges(m, t, layer.report);
    m.trigger = { ...m.trigger, ...ops } as ScriptTrigger;
    if (typeof ops.expression === "string") {
      checkScript(
        {
          code: ops.expression,
          params: [],
          expression: true,
          env,
          locate: (p) => atTextPos(t, "expression", p.line, p.column),
        },
        layer.report,
      );
    }
    for (const f of Object.keys(ops)) m.origins[`trigger.${f}`] = { obj: t, key: f, layer: layer.name };
  }
  if ("code" in changes) {
    const code = changes.code as string;
    const calls = checkScript(
      { code, params: m.parameters.map((p) => p.name), env, locate: (p) => atTextPos(o, "code", p.line, p.column) },
      layer.report,
    );
    m.code = code;
    m.sharedCalls = calls;
    m.origins.code = origin("code");
  }
}

/** Applies an instance's bindings (tag and/or connection per data attribute). */
export function applyBindings(bindings: Record<string, Binding>, site: SiteInfo | undefined, layer: Layer): void {
  for (const [path, b] of Object.entries(bindings)) {
    const keyLoc = atKey(bindings, path);
    const m = lookup(path, keyLoc, layer, "binding");
    if (!m) continue;
    if (m.kind !== "attribute" || m.source !== "data") {
      const what =
        m.kind === "attribute"
          ? "a static attribute: set its value under overrides"
          : `${m.kind === "alarm" ? "an alarm" : "a script"}`;
      layer.report.add(
        "override-field",
        keyLoc,
        `binding "${path}": ${path} is ${what}; bindings apply to data attributes`,
      );
      continue;
    }
    if (m.locked) {
      layer.report.add("override-locked", keyLoc, lockedMessage(m));
      continue;
    }
    if (b.connection !== undefined && site && !site.connections.has(b.connection)) {
      layer.report.add(
        "unknown-connection",
        atValue(b, "connection"),
        `binding "${path}": site ${site.doc.data.name} has no data connection "${b.connection}"${didYouMean(b.connection, site.connections.keys())}`,
      );
    }
    if (b.tag !== undefined)
      for (const p of parseTagPattern(b.tag).problems) layer.report.add("tag-pattern", atValue(b, "tag"), p);
    const next = { ...m, origins: { ...m.origins } };
    if (b.tag !== undefined) {
      next.tag = b.tag;
      next.origins.tag = { obj: b, key: "tag", layer: `${layer.name} (binding)` };
    }
    if (b.connection !== undefined) {
      next.connection = b.connection;
      next.origins.connection = { obj: b, key: "connection", layer: `${layer.name} (binding)` };
    }
    layer.members.set(path, next);
  }
}
