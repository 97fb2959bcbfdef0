import type {
  Binding,
  DatabaseConnection,
  DataConnection,
  ExternalSystem,
  InstanceOverride,
  NotificationList,
} from "../../schemas/types.js";
import { REPOSITORY_FILE } from "../contract/api.js";
import { type Diagnostic, Report } from "./diagnostics.js";
import type { FileAnalysis } from "./load/analyze-file.js";
import { at, atValue, SourceText } from "./load/positions.js";
import type { Doc, InstanceDecl, IntegrationKind, Scalar, SiteInfo, SiteIntegrations } from "./model.js";
import { Namespace } from "./rules/names.js";

export { REPOSITORY_FILE };

/**
 * Names defined by documents that could not be used (YAML errors, unsupported apiVersion, misspelt kind,
 * broken shape). Their own diagnostics explain them; a reference to them is not reported again as unknown.
 */
export class Ghosts {
  private readonly byKind = new Map<string, Set<string>>();
  add(kind: string, name: string): void {
    let set = this.byKind.get(kind);
    if (!set) this.byKind.set(kind, (set = new Set()));
    set.add(name);
  }
  /** kind is a document kind; for Instance the name is the instance id. */
  has(kind: string, name: string): boolean {
    return this.byKind.get(kind)?.has(name) ?? false;
  }
  names(kind: string): Iterable<string> {
    return this.byKind.get(kind) ?? [];
  }
}

/** Every definition of the repo by name, InstanceSets expanded. */
export interface RepoIndex {
  repository: Doc<"Repository"> | undefined;
  sites: Map<string, SiteInfo>;
  templates: Map<string, Doc<"Template">>;
  sharedScripts: Map<string, Doc<"SharedScript">>;
  batches: Map<string, Doc<"Batch">>;
  /** ExternalSystem, NotificationList and DatabaseConnection documents: one namespace, as a Site's integrations names them. */
  integrations: Map<string, Doc<IntegrationKind>>;
  /** By <site>/<name>: inbound methods are named per site. */
  apiMethods: Map<string, Doc<"ApiMethod">>;
  parkedMessages: Map<string, Doc<"ParkedMessages">>;
  /** By id (<site>/<name>); the first declaration of an id. */
  instances: Map<string, InstanceDecl>;
  ghosts: Ghosts;
  documents: number;
}

const INTEGRATION_WHAT: Record<IntegrationKind, string> = {
  ExternalSystem: "external system",
  NotificationList: "notification list",
  DatabaseConnection: "database connection",
};

const declCache = new WeakMap<object, InstanceDecl>();
const siteCache = new WeakMap<object, { info: SiteInfo; diagnostics: Diagnostic[] }>();

/** Indexes the documents of all files (sorted by path): duplicate-name, case clashes, missing-repository. */
export function buildIndex(files: readonly FileAnalysis[], report: Report): RepoIndex {
  const index: RepoIndex = {
    repository: undefined,
    sites: new Map(),
    templates: new Map(),
    sharedScripts: new Map(),
    batches: new Map(),
    integrations: new Map(),
    apiMethods: new Map(),
    parkedMessages: new Map(),
    instances: new Map(),
    ghosts: new Ghosts(),
    documents: 0,
  };
  const ns = {
    Site: new Namespace("site", report),
    Template: new Namespace("template", report),
    SharedScript: new Namespace("shared script", report),
    Batch: new Namespace("batch", report),
    Integration: new Namespace("integration", report),
    ParkedMessages: new Namespace("ParkedMessages document", report),
  };
  const instanceNs = new Map<string, Namespace>();
  const apiMethodNs = new Map<string, Namespace>();
  let repositoryFile: FileAnalysis | undefined;

  for (const file of files) {
    for (const g of file.ghosts) addGhost(index.ghosts, g.kind, g.name, g.site, g.entries);
    if (file.path === REPOSITORY_FILE) repositoryFile = file;
    for (const doc of file.docs) {
      index.documents++;
      const data = doc.data as Record<string, unknown>;
      switch (doc.kind) {
        case "Repository":
          if (file.path !== REPOSITORY_FILE) {
            report.add(
              "missing-repository",
              at(data),
              `the Repository document belongs in ${REPOSITORY_FILE} at the repository root`,
            );
          } else if (index.repository) {
            report.add("duplicate-name", at(data), `${REPOSITORY_FILE} holds more than one Repository document`);
          } else index.repository = doc as Doc<"Repository">;
          break;
        case "Site":
        case "Template":
        case "SharedScript":
        case "Batch": {
          const name = data.name;
          if (typeof name !== "string" || !ns[doc.kind].claim(name, atValue(data, "name"))) break;
          if (doc.kind === "Site") index.sites.set(name, siteInfo(doc as Doc<"Site">, report));
          else if (doc.kind === "Template") index.templates.set(name, doc as Doc<"Template">);
          else if (doc.kind === "SharedScript") index.sharedScripts.set(name, doc as Doc<"SharedScript">);
          else index.batches.set(name, doc as Doc<"Batch">);
          break;
        }
        case "ExternalSystem":
        case "NotificationList":
        case "DatabaseConnection": {
          const name = data.name;
          if (typeof name !== "string") break;
          if (ns.Integration.claim(name, atValue(data, "name"), INTEGRATION_WHAT[doc.kind]))
            index.integrations.set(name, doc as Doc<IntegrationKind>);
          break;
        }
        case "ApiMethod": {
          const { name, site } = data;
          if (typeof name !== "string" || typeof site !== "string") break;
          let siteNs = apiMethodNs.get(site);
          if (!siteNs) apiMethodNs.set(site, (siteNs = new Namespace(`API method of site ${site}`, report)));
          if (siteNs.claim(name, atValue(data, "name")))
            index.apiMethods.set(`${site}/${name}`, doc as Doc<"ApiMethod">);
          break;
        }
        case "ParkedMessages": {
          const name = data.name;
          if (typeof name === "string" && ns.ParkedMessages.claim(name, atValue(data, "name")))
            index.parkedMessages.set(name, doc as Doc<"ParkedMessages">);
          break;
        }
        case "Instance":
        case "InstanceSet":
          if (!doc.usable) {
            const entries = Array.isArray(data.instances)
              ? data.instances.map((e) => (e as { name?: unknown } | null)?.name)
              : [];
            addGhost(index.ghosts, doc.kind, data.name, data.site, entries);
          }
          for (const decl of instanceDecls(doc as Doc<"Instance" | "InstanceSet">)) {
            let siteNs = instanceNs.get(decl.site);
            if (!siteNs) instanceNs.set(decl.site, (siteNs = new Namespace(`instance of site ${decl.site}`, report)));
            if (siteNs.claim(decl.name, atValue(decl.entry, "name"))) index.instances.set(decl.id, decl);
          }
          break;
      }
    }
  }

  for (const info of index.sites.values()) info.integrations = siteIntegrations(info, index);

  if (!index.repository) {
    const broken = repositoryFile?.report.items.some((d) => d.rule === "yaml-syntax");
    if (!broken) {
      const src = repositoryFile?.src ?? new SourceText(REPOSITORY_FILE, "");
      const message = repositoryFile
        ? `${REPOSITORY_FILE} has no Repository document (kind: Repository)`
        : `no ${REPOSITORY_FILE} at the repository root: every config repo needs one (kind: Repository)`;
      report.add("missing-repository", src.loc(0), message);
    }
  }
  return index;
}

/** The integration documents a site gets: those its integrations list names (all when it has none), its own ApiMethods and ParkedMessages. */
function siteIntegrations(info: SiteInfo, index: RepoIndex): SiteIntegrations {
  const site = info.doc.data.name;
  const listed = info.doc.data.integrations;
  const wanted = Array.isArray(listed) ? new Set(listed) : undefined;
  const out: SiteIntegrations = {
    externalSystems: [],
    notificationLists: [],
    databaseConnections: [],
    apiMethods: [],
    parkedMessages: [],
  };
  for (const [name, doc] of index.integrations) {
    if (wanted && !wanted.has(name)) continue;
    if (doc.kind === "ExternalSystem") out.externalSystems.push(doc.data as ExternalSystem);
    else if (doc.kind === "NotificationList") out.notificationLists.push(doc.data as NotificationList);
    else out.databaseConnections.push(doc.data as DatabaseConnection);
  }
  for (const doc of index.apiMethods.values()) if (doc.data.site === site) out.apiMethods.push(doc.data);
  for (const doc of index.parkedMessages.values()) if (doc.data.site === site) out.parkedMessages.push(doc.data);
  return out;
}

function addGhost(ghosts: Ghosts, kind: unknown, name: unknown, site: unknown, entries: unknown[]): void {
  if (typeof kind !== "string") return;
  if (kind === "Instance" || kind === "InstanceSet") {
    if (typeof site !== "string") return;
    for (const n of kind === "Instance" ? [name] : entries)
      if (typeof n === "string") ghosts.add("Instance", `${site}/${n}`);
  } else if (typeof name === "string") ghosts.add(kind, name);
}

/** The instances a document declares (one for Instance, one per entry for InstanceSet). Cached per map. */
function instanceDecls(doc: Doc<"Instance" | "InstanceSet">): InstanceDecl[] {
  const data = doc.data as Record<string, unknown>;
  if (doc.kind === "Instance") {
    const d = declFrom(doc, data, undefined);
    return d ? [d] : [];
  }
  const entries = Array.isArray(data.instances) ? data.instances : [];
  const out: InstanceDecl[] = [];
  for (const entry of entries) {
    if (entry && typeof entry === "object" && !Array.isArray(entry)) {
      const d = declFrom(doc, entry as Record<string, unknown>, data);
      if (d) out.push(d);
    }
  }
  return out;
}

function declFrom(
  doc: Doc<"Instance" | "InstanceSet">,
  entry: Record<string, unknown>,
  set: Record<string, unknown> | undefined,
): InstanceDecl | undefined {
  const cached = declCache.get(entry);
  if (cached) return cached;
  const pick = (f: string): unknown => (Object.hasOwn(entry, f) ? entry[f] : set?.[f]);
  const str = (f: string) => {
    const v = pick(f);
    return typeof v === "string" ? v : undefined;
  };
  const map = <T>(v: unknown): Record<string, T> =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, T>) : {};
  const name = entry.name;
  const site = str("site");
  const template = str("template");
  if (typeof name !== "string" || !site || !template) return undefined;
  const decl: InstanceDecl = {
    id: `${site}/${name}`,
    site,
    name,
    template,
    area: str("area"),
    state: pick("state") === "disabled" ? "disabled" : "enabled",
    connection: str("connection"),
    parameters: over(map<Scalar>(set?.parameters), map<Scalar>(entry.parameters)),
    bindings: map<Binding>(entry.bindings),
    overrides: map<Scalar | InstanceOverride>(entry.overrides),
    labels: over(map<string>(set?.labels), map<string>(entry.labels)),
    doc,
    entry,
    set,
  };
  declCache.set(entry, decl);
  return decl;
}

/** b's entries over a's; either one itself when the other is empty (a copy of a 300,000-label map is costly). */
function over<T>(a: Record<string, T>, b: Record<string, T>): Record<string, T> {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { ...a, ...b };
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** Areas and connections of a site, with duplicate-name / case clashes among them. Cached per document. */
function siteInfo(doc: Doc<"Site">, outer: Report): SiteInfo {
  const cached = siteCache.get(doc.data);
  if (cached) {
    outer.items.push(...cached.diagnostics);
    return cached.info;
  }
  const report = new Report();
  const info: SiteInfo = { doc, areas: new Set(), connections: new Map() };
  const connNs = new Namespace(`data connection of site ${doc.data.name}`, report);
  // The document may be unusable (schema errors): read only what has the right shape.
  for (const c of Array.isArray(doc.data.dataConnections) ? doc.data.dataConnections : []) {
    if (c && typeof c === "object" && typeof c.name === "string" && connNs.claim(c.name, atValue(c, "name")))
      info.connections.set(c.name, c as DataConnection);
  }
  const walk = (areas: unknown, prefix: string) => {
    if (!Array.isArray(areas)) return;
    const areaNs = new Namespace(prefix ? `area of ${prefix}` : "area", report);
    for (const a of areas) {
      if (!a || typeof a !== "object" || typeof a.name !== "string") continue;
      if (!areaNs.claim(a.name, () => atValue(a, "name"))) continue;
      const path = prefix ? `${prefix}/${a.name}` : a.name;
      info.areas.add(path);
      walk(a.areas, path);
    }
  };
  walk(doc.data.areas, "");
  siteCache.set(doc.data, { info, diagnostics: report.items });
  outer.items.push(...report.items);
  return info;
}
