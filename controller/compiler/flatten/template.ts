import type { MemberOverride } from "../../../schemas/types.js";
import { type Diagnostic, Report } from "../diagnostics.js";
import { sameItems } from "../identity.js";
import { atTextPos, atValue } from "../load/positions.js";
import type { Doc } from "../model.js";
import type { RepoIndex } from "../repo-index.js";
import { MemberTable } from "../rules/members.js";
import { Namespace } from "../rules/names.js";
import { applyTemplateOverrides } from "../rules/overrides.js";
import { checkScript } from "../rules/scripts.js";
import { parseTagPattern } from "../rules/tag-pattern.js";
import { checkAlarmOperands, checkOnTrigger, resolveTriggerAttribute } from "../rules/triggers.js";
import { fitValue } from "../rules/values.js";
import { type SharedRegistry, scriptEnv } from "./context.js";
import { type AttributeMember, type Member, memberFromDefinition, relocate } from "./members.js";

/** A template with inheritance, composition and overrides resolved: every member by canonical path. */
export interface FlatTemplate {
  name: string;
  doc: Doc<"Template">;
  members: ReadonlyMap<string, Member>;
  /** Module path → the template composed there. */
  modules: ReadonlyMap<string, string>;
  /** This template, then its ancestors (extends), nearest first. */
  chain: string[];
  /** false when a template it depends on is missing or broken: its instances are not checked member by member. */
  complete: boolean;
  /** Data attributes, in path order (computed on first use). */
  dataAttributes?: AttributeMember[];
}

interface CacheEntry {
  doc: Doc<"Template">;
  deps: (FlatTemplate | undefined)[];
  shared: object;
  flat: FlatTemplate | undefined;
  diagnostics: Diagnostic[];
}

/** Cache of flattened templates across compiles: an entry is reused while its document and dependencies are unchanged. */
export type FlattenCache = Map<string, CacheEntry>;

/**
 * Flattens templates on demand, once per compile, reporting each template's own problems once.
 * Templates in a cycle (already reported) and unusable documents flatten to undefined.
 */
export class TemplateFlattener {
  private readonly session = new Map<string, FlatTemplate | undefined>();
  private readonly active = new Set<string>();

  constructor(
    private readonly index: RepoIndex,
    private readonly cyclic: ReadonlySet<string>,
    private readonly shared: SharedRegistry,
    private readonly cache: FlattenCache,
    private readonly out: Report,
  ) {}

  get(name: string): FlatTemplate | undefined {
    if (this.session.has(name)) return this.session.get(name);
    const doc = this.index.templates.get(name);
    if (!doc?.usable || this.cyclic.has(name) || this.active.has(name)) return undefined;
    this.active.add(name);
    const data = doc.data;
    const base = data.extends !== undefined ? this.get(data.extends) : undefined;
    const composed = (data.compose ?? []).map((c) => this.get(c.template));
    this.active.delete(name);

    const deps = [base, ...composed];
    const hit = this.cache.get(name);
    let entry: CacheEntry;
    if (hit && hit.doc === doc && hit.shared === this.shared.version && sameItems(hit.deps, deps)) entry = hit;
    else {
      const report = new Report();
      const flat = flattenOne(doc, base, composed, this.shared, report);
      entry = { doc, deps, shared: this.shared.version, flat, diagnostics: report.items };
      this.cache.set(name, entry);
    }
    this.out.items.push(...entry.diagnostics);
    this.session.set(name, entry.flat);
    return entry.flat;
  }
}

function flattenOne(
  doc: Doc<"Template">,
  base: FlatTemplate | undefined,
  composed: (FlatTemplate | undefined)[],
  shared: SharedRegistry,
  report: Report,
): FlatTemplate {
  const data = doc.data;
  const name = data.name;
  const table = new MemberTable(report);
  let complete = true;
  const chain = [name];

  if (data.extends !== undefined) {
    if (base) {
      for (const [p, m] of base.members)
        table.inherit(
          p,
          `inherited from ${m.definedIn === base.name ? base.name : `${base.name} (defined in ${m.definedIn})`}`,
          m,
        );
      for (const [p, t] of base.modules) table.inherit(p, `inherited from ${base.name}`, undefined, t);
      chain.push(...base.chain);
      complete &&= base.complete;
    } else complete = false;
  }

  // Own members.
  const own: { member: Member; def: Record<string, unknown> }[] = [];
  const layer = `Template ${name}`;
  for (const [kind, list] of [
    ["attribute", data.attributes],
    ["alarm", data.alarms],
    ["script", data.scripts],
  ] as const) {
    for (const def of list ?? []) {
      const d = def as unknown as Record<string, unknown>;
      const where = atValue(d, "name");
      if (!table.claim(def.name, where, `defined at ${where.file}:${where.line}`)) continue;
      const member = memberFromDefinition(kind, d, name, layer);
      table.inherit(def.name, `defined at ${where.file}:${where.line}`, member);
      own.push({ member, def: d });
    }
  }

  // Modules.
  (data.compose ?? []).forEach((c, i) => {
    const where = atValue(c, "name");
    if (!table.claim(c.name, where, `module at ${where.file}:${where.line}`)) return;
    const sub = composed[i];
    table.inherit(c.name, `module at ${where.file}:${where.line}`, undefined, c.template);
    if (!sub) {
      complete = false;
      return;
    }
    complete &&= sub.complete;
    for (const [p, t] of sub.modules) table.inherit(`${c.name}.${p}`, `in module ${c.name}`, undefined, t);
    for (const [p, m] of sub.members) table.inherit(`${c.name}.${p}`, `in module ${c.name}`, relocate(m, c.name));
  });

  const members = table.members;
  // Checks of own definitions, now that every member they may refer to is known.
  for (const { member, def } of own) checkDefinition(member, def, members, shared, report);

  if (data.overrides) {
    applyTemplateOverrides(data.overrides as Record<string, MemberOverride>, {
      members,
      modules: table.modules,
      complete,
      name: `Template ${name} (override)`,
      shared,
      report,
    });
  }
  return { name, doc, members, modules: table.modules, chain, complete };
}

/** Checks a member where it is defined: value types, tag patterns, triggers, onTrigger, script code. */
function checkDefinition(
  m: Member,
  def: Record<string, unknown>,
  members: Map<string, Member>,
  shared: SharedRegistry,
  report: Report,
) {
  if (m.kind === "attribute") {
    if (m.value !== null) {
      const fit = fitValue(m.value, m.dataType);
      if (fit.ok) m.value = fit.value;
      else report.add("value-type-mismatch", atValue(def, "value"), `${m.path}: ${fit.reason}`);
    }
    if (m.tag !== null)
      for (const p of parseTagPattern(m.tag).problems) report.add("tag-pattern", atValue(def, "tag"), p);
    return;
  }
  const trigger = def.trigger as Record<string, unknown>;
  if (m.kind === "alarm") {
    const attr = resolveTriggerAttribute(m.trigger.attribute, m.scope, members, atValue(trigger, "attribute"), report);
    if (attr) m.trigger = checkAlarmOperands(m.trigger, attr, (f) => atValue(trigger, f), report);
    if (m.onTrigger !== null) checkOnTrigger(m.onTrigger, m.scope, members, atValue(def, "onTrigger"), report);
    return;
  }
  const params = new Namespace(`parameter of ${m.path}`, report);
  for (const p of (def.parameters as Record<string, unknown>[] | undefined) ?? [])
    params.claim(p.name as string, atValue(p, "name"));
  const env = scriptEnv(members, m.scope, shared);
  const calls: string[] = [];
  if (m.trigger.type === "onChange")
    resolveTriggerAttribute(m.trigger.attribute, m.scope, members, atValue(trigger, "attribute"), report);
  if (m.trigger.type === "expression") {
    const code = m.trigger.expression;
    calls.push(
      ...checkScript(
        { code, params: [], expression: true, env, locate: (p) => atTextPos(trigger, "expression", p.line, p.column) },
        report,
      ),
    );
  }
  calls.push(
    ...checkScript(
      {
        code: m.code,
        params: m.parameters.map((p) => p.name),
        env,
        locate: (p) => atTextPos(def, "code", p.line, p.column),
      },
      report,
    ),
  );
  m.sharedCalls = [...new Set(calls)];
}
