import type { ExternalSystem, ParkedMessagesMatch } from "../../../schemas/types.js";
import { analyzeCode } from "../../contract/script-analysis.js";
import type { Report } from "../diagnostics.js";
import type { FlatTemplate } from "../flatten/template.js";
import { atValue } from "../load/positions.js";
import { type Doc, INTEGRATION_KINDS, type IntegrationKind } from "../model.js";
import type { RepoIndex } from "../repo-index.js";
import { didYouMean } from "../text.js";
import { Namespace } from "./names.js";
import { INTEGRATION_CALLS, type IntegrationRule, KIND_WORDS } from "./scripts.js";

/**
 * The cross-document checks of the integration documents (section 8.1): a Site's integrations list, external
 * system methods (names, parameters, path placeholders), ApiMethod targets and ParkedMessages sites.
 */
export function checkIntegrations(
  index: RepoIndex,
  template: (name: string) => FlatTemplate | undefined,
  report: Report,
): void {
  for (const site of index.sites.values()) checkSiteIntegrations(site.doc, index, report);
  for (const doc of index.integrations.values()) {
    if (doc.kind === "ExternalSystem" && doc.usable) checkMethods(doc.data as ExternalSystem, report);
  }
  for (const doc of index.apiMethods.values()) if (doc.usable) checkApiMethod(doc, index, template, report);
  for (const doc of index.parkedMessages.values()) if (doc.usable) checkParkedMessages(doc, index, report);
  checkSiteReach(index, template, report);
}

interface Reach {
  name: string;
  kind: IntegrationKind;
  rule: IntegrationRule;
  script: string;
}

/** The integrations a flattened template's scripts name by literal, first script per name. Cached per template. */
const reachCache = new WeakMap<FlatTemplate, Reach[]>();
function reachOf(flat: FlatTemplate): Reach[] {
  const hit = reachCache.get(flat);
  if (hit) return hit;
  const out = new Map<string, Reach>();
  for (const m of flat.members.values()) {
    if (m.kind !== "script") continue;
    const facts = [
      analyzeCode(
        m.code,
        m.parameters.map((p) => p.name),
      ),
    ];
    if (m.trigger.type === "expression") facts.push(analyzeCode(m.trigger.expression, [], true));
    for (const f of facts)
      for (const call of f.calls) {
        const k = INTEGRATION_CALLS[call.fn];
        if (k && call.target !== undefined && !out.has(call.target))
          out.set(call.target, { name: call.target, ...k, script: m.path });
      }
  }
  const list = [...out.values()];
  reachCache.set(flat, list);
  return list;
}

/**
 * An instance whose scripts name an integration that exists but that its site does not get (the Site's
 * integrations list leaves it out): the call would fail on the site. A name no document has is reported at the
 * script already.
 */
function checkSiteReach(index: RepoIndex, template: (name: string) => FlatTemplate | undefined, report: Report): void {
  for (const decl of index.instances.values()) {
    const site = index.sites.get(decl.site);
    const listed: unknown = site?.doc.data.integrations;
    if (!Array.isArray(listed)) continue;
    const flat = template(decl.template);
    if (!flat) continue;
    for (const r of reachOf(flat)) {
      if (index.integrations.get(r.name)?.kind !== r.kind || listed.includes(r.name)) continue;
      report.add(
        r.rule,
        atValue(decl.entry, "name"),
        `${decl.name}'s script ${r.script} uses ${KIND_WORDS[r.kind]} "${r.name}", which site ${decl.site} does not get: add it to that Site's integrations`,
      );
    }
  }
}

/** unknown-site for its site; a parkedBefore of the right shape that is no time (month 13) is a schema error. */
function checkParkedMessages(doc: Doc<"ParkedMessages">, index: RepoIndex, report: Report): void {
  const { site } = doc.data;
  if (!siteExists(index, site))
    report.add("unknown-site", atValue(doc.data, "site"), `no site "${site}"${didYouMean(site, index.sites.keys())}`);
  const match = (doc.data as { match?: ParkedMessagesMatch }).match;
  if (match?.parkedBefore !== undefined && Number.isNaN(Date.parse(match.parkedBefore)))
    report.add("schema", atValue(match, "parkedBefore"), "match.parkedBefore is not a valid time");
}

const siteExists = (index: RepoIndex, site: string) => index.sites.has(site) || index.ghosts.has("Site", site);

/** unknown-integration: a name in Site.integrations that no ExternalSystem, NotificationList or DatabaseConnection has. */
function checkSiteIntegrations(doc: Doc<"Site">, index: RepoIndex, report: Report): void {
  const list: unknown = doc.data.integrations;
  if (!Array.isArray(list)) return;
  list.forEach((name, i) => {
    if (typeof name !== "string" || index.integrations.has(name)) return;
    if (INTEGRATION_KINDS.some((k) => index.ghosts.has(k, name))) return;
    report.add(
      "unknown-integration",
      atValue(list, i),
      `no external system, notification list or database connection "${name}"${didYouMean(name, index.integrations.keys())}`,
    );
  });
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Method and parameter names (duplicate-name), and path placeholders that name no parameter (unknown-path-parameter). */
function checkMethods(system: ExternalSystem, report: Report): void {
  const methods = new Namespace(`method of external system ${system.name}`, report);
  for (const m of system.methods ?? []) {
    methods.claim(m.name, () => atValue(m, "name"));
    const params = new Namespace(`parameter of ${system.name}.${m.name}`, report);
    const names = new Set<string>();
    for (const p of m.parameters ?? []) if (params.claim(p.name, () => atValue(p, "name"))) names.add(p.name);
    if (m.path === undefined) continue;
    for (const [, name = ""] of m.path.matchAll(PLACEHOLDER)) {
      if (names.has(name)) continue;
      const what = name ? `{${name}}` : "{}";
      report.add(
        "unknown-path-parameter",
        atValue(m, "path"),
        `path placeholder ${what} of method ${system.name}.${m.name} names no parameter of it${didYouMean(name, names)}`,
      );
    }
    if (/[{}]/.test(m.path.replace(PLACEHOLDER, ""))) {
      report.add(
        "unknown-path-parameter",
        atValue(m, "path"),
        `path of method ${system.name}.${m.name} has an unmatched brace: placeholders are {parameter}`,
      );
    }
  }
}

/** unknown-api-method-target: the site, the instance of that site, and a call-triggered script of it. */
function checkApiMethod(
  doc: Doc<"ApiMethod">,
  index: RepoIndex,
  template: (name: string) => FlatTemplate | undefined,
  report: Report,
): void {
  const problem = apiMethodProblem(doc, index, template);
  if (problem) {
    const [field, message] = problem;
    report.add("unknown-api-method-target", atValue(doc.data, field), `API method ${doc.data.name}: ${message}`);
  }
}

/** The field at fault and why, or undefined when the target exists (or belongs to a broken document). */
function apiMethodProblem(
  doc: Doc<"ApiMethod">,
  index: RepoIndex,
  template: (name: string) => FlatTemplate | undefined,
): [field: string, message: string] | undefined {
  const { site, instance, script } = doc.data;
  if (!index.sites.has(site)) {
    if (index.ghosts.has("Site", site)) return undefined;
    return ["site", `no site "${site}"${didYouMean(site, index.sites.keys())}`];
  }
  const id = `${site}/${instance}`;
  const decl = index.instances.get(id);
  if (!decl) {
    if (index.ghosts.has("Instance", id)) return undefined;
    const ofSite = [...index.instances.values()].filter((d) => d.site === site).map((d) => d.name);
    return ["instance", `site ${site} has no instance "${instance}"${didYouMean(instance, ofSite)}`];
  }
  const flat = template(decl.template);
  // A template that does not flatten has its own diagnostics; its scripts are not known.
  if (!flat?.complete) return undefined;
  const member = flat.members.get(script);
  if (member?.kind !== "script") {
    const callable = [...flat.members.values()]
      .filter((m) => m.kind === "script" && m.trigger.type === "call")
      .map((m) => m.path);
    return ["script", `instance ${id} has no script "${script}"${didYouMean(script, callable)}`];
  }
  if (member.trigger.type === "call") return undefined;
  return [
    "script",
    `script ${script} of instance ${id} runs on ${member.trigger.type}, not when called: an API method needs a call-triggered script (trigger: { type: call })`,
  ];
}
