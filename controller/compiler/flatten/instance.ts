import type { Report } from "../diagnostics.js";
import { atValue } from "../load/positions.js";
import { type InstanceDecl, ownerOf, type SiteInfo } from "../model.js";
import type { RepoIndex } from "../repo-index.js";
import { applyBindings, applyInstanceOverrides } from "../rules/overrides.js";
import { expandTagPattern, parseTagPattern } from "../rules/tag-pattern.js";
import { didYouMean } from "../text.js";
import { Overlay, type SharedRegistry } from "./context.js";
import type { AttributeMember, Member } from "./members.js";
import type { FlatTemplate, TemplateFlattener } from "./template.js";

/** An instance with its template, overrides and bindings resolved; members (full mode) have expanded tags. */
export interface ResolvedInstance {
  decl: InstanceDecl;
  flat: FlatTemplate;
  site: SiteInfo;
  /** Every member, sorted by path: only when resolved in full. */
  members: Member[];
}

export interface InstanceContext {
  index: RepoIndex;
  templates: TemplateFlattener;
  shared: SharedRegistry;
}

const MAX_LISTED = 6;
const list = (paths: string[]) =>
  paths.length <= MAX_LISTED
    ? paths.join(", ")
    : `${paths.slice(0, MAX_LISTED).join(", ")} and ${paths.length - MAX_LISTED} more`;

/**
 * Checks an instance against its site and template (unknown-site/area/connection/template, overrides, bindings,
 * unbound-data-attribute, tag-pattern) and resolves it. In full mode every data attribute's tag is expanded and
 * the complete member list built; otherwise only what the checks need is computed.
 */
export function resolveInstance(
  decl: InstanceDecl,
  ctx: InstanceContext,
  report: Report,
  full: boolean,
): ResolvedInstance | undefined {
  const { index } = ctx;
  const site = index.sites.get(decl.site);
  if (!site && !index.ghosts.has("Site", decl.site)) {
    report.add(
      "unknown-site",
      atValue(ownerOf(decl, "site"), "site"),
      `no site "${decl.site}"${didYouMean(decl.site, index.sites.keys())}`,
    );
  }
  if (!index.templates.has(decl.template) && !index.ghosts.has("Template", decl.template)) {
    report.add(
      "unknown-template",
      atValue(ownerOf(decl, "template"), "template"),
      `no template "${decl.template}"${didYouMean(decl.template, index.templates.keys())}`,
    );
  }
  if (site?.doc.usable) {
    if (decl.area !== undefined && !site.areas.has(decl.area)) {
      report.add(
        "unknown-area",
        atValue(ownerOf(decl, "area"), "area"),
        `site ${decl.site} has no area "${decl.area}"${didYouMean(decl.area, site.areas)}`,
      );
    }
    if (decl.connection !== undefined && !site.connections.has(decl.connection)) {
      report.add(
        "unknown-connection",
        atValue(ownerOf(decl, "connection"), "connection"),
        `site ${decl.site} has no data connection "${decl.connection}"${didYouMean(decl.connection, site.connections.keys())}`,
      );
    }
  }
  const flat = ctx.templates.get(decl.template);
  if (!flat?.complete || !site || !decl.doc.usable) return undefined;

  const members = new Overlay(flat.members);
  const layer = {
    members,
    modules: flat.modules,
    complete: true,
    name: `Instance ${decl.id}`,
    shared: ctx.shared,
    report,
  };
  applyInstanceOverrides(decl.overrides, layer);
  applyBindings(decl.bindings, site.doc.usable ? site : undefined, layer);

  const noTag: string[] = [];
  const noConnection: string[] = [];
  const missingParams = new Map<string, string[]>();
  const needArea: string[] = [];
  for (const base of (flat.dataAttributes ??= dataAttributes(flat))) {
    const m = members.get(base.path) as AttributeMember;
    const connection = m.connection ?? decl.connection ?? null;
    if (connection === null) noConnection.push(m.path);
    if (m.tag === null) {
      noTag.push(m.path);
      continue;
    }
    const pattern = parseTagPattern(m.tag);
    for (const p of pattern.params) {
      if (Object.hasOwn(decl.parameters, p)) continue;
      let users = missingParams.get(p);
      if (!users) missingParams.set(p, (users = []));
      users.push(m.path);
    }
    if (pattern.usesArea && decl.area === undefined) needArea.push(m.path);
    if (full) {
      const module = m.scope;
      const tag = expandTagPattern(pattern, {
        instance: decl.name,
        site: decl.site,
        area: decl.area ?? "",
        module,
        attribute: m.name,
        parameters: decl.parameters,
      });
      const origins =
        m.connection === null && connection !== null
          ? { ...m.origins, connection: { obj: ownerOf(decl, "connection"), key: "connection", layer: layer.name } }
          : m.origins;
      members.set(m.path, { ...m, tag, connection, origins });
    }
  }

  const at = atValue(decl.entry, "name");
  if (noTag.length) {
    report.add(
      "unbound-data-attribute",
      at,
      `data attribute${noTag.length > 1 ? "s" : ""} ${list(noTag)} of ${decl.name} ${noTag.length > 1 ? "have" : "has"} no tag: bind under bindings, or give the template a tag pattern`,
    );
  }
  if (noConnection.length) {
    report.add(
      "unbound-data-attribute",
      at,
      `no data connection for ${list(noConnection)} of ${decl.name}: set connection on the instance, or per binding`,
    );
  }
  for (const [p, users] of missingParams) {
    report.add(
      "tag-pattern",
      at,
      `tag pattern of ${list(users)} uses {{param.${p}}}, but ${decl.name} has no parameter "${p}"`,
    );
  }
  if (needArea.length)
    report.add("tag-pattern", at, `tag pattern of ${list(needArea)} uses {{area}}, but ${decl.name} has no area`);

  return { decl, flat, site, members: full ? sortedMembers(members) : [] };
}

function dataAttributes(flat: FlatTemplate): AttributeMember[] {
  const out: AttributeMember[] = [];
  for (const m of flat.members.values()) if (m.kind === "attribute" && m.source === "data") out.push(m);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function sortedMembers(map: Overlay): Member[] {
  return [...map.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
