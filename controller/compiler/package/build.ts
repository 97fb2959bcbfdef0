import type {
  AlarmTrigger,
  ArtifactDataConnection,
  DeploymentPackage,
  ScriptTrigger,
  SiteArtifacts,
  SiteManifest,
} from "../../../schemas/types.js";
import { API_VERSION } from "../../contract/api.js";
import { type BranchNames, DEFAULT_BRANCHES } from "../../contract/branches.js";
import { withRevisionHash } from "../../contract/hash.js";
import type { SharedRegistry } from "../flatten/context.js";
import type { ResolvedInstance } from "../flatten/instance.js";
import { join } from "../flatten/members.js";
import type { SiteInfo } from "../model.js";
import { sharedClosure } from "../rules/shared-scripts.js";
import { integrationArtifacts } from "./integrations.js";

/** Code as deployed: line endings normalised to LF, trailing whitespace removed (neither changes its meaning). */
export function normalizeCode(code: string): string {
  return code.replace(/\r\n?/g, "\n").trimEnd();
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function alarmTrigger(t: AlarmTrigger, scope: string): AlarmTrigger {
  const attribute = join(scope, t.attribute);
  switch (t.type) {
    case "threshold":
      return { type: t.type, attribute, op: t.op, value: t.value };
    case "range":
      return { type: t.type, attribute, low: t.low, high: t.high };
    case "match":
      return { type: t.type, attribute, value: t.value };
    case "rateOfChange":
      return { type: t.type, attribute, perSecond: t.perSecond };
  }
}

function scriptTrigger(t: ScriptTrigger, scope: string): ScriptTrigger {
  switch (t.type) {
    case "call":
      return { type: t.type };
    case "onChange":
      return { type: t.type, attribute: join(scope, t.attribute) };
    case "interval":
      return { type: t.type, everyMs: t.everyMs };
    case "expression":
      return { type: t.type, expression: t.expression };
  }
}

/** The deployment package of a fully resolved instance (section 4.2), with its revision hash. */
export function buildPackage(r: ResolvedInstance, shared: SharedRegistry): DeploymentPackage {
  const { decl } = r;
  const attributes: DeploymentPackage["attributes"] = [];
  const alarms: DeploymentPackage["alarms"] = [];
  const scripts: DeploymentPackage["scripts"] = [];
  const calls: string[] = [];
  for (const m of r.members) {
    if (m.kind === "attribute") {
      const data = m.source === "data";
      attributes.push({
        path: m.path,
        dataType: m.dataType,
        source: m.source,
        access: m.access,
        connection: data ? m.connection : null,
        tag: data ? m.tag : null,
        units: m.units,
        value: data ? null : m.value,
      });
    } else if (m.kind === "alarm") {
      alarms.push({
        path: m.path,
        trigger: alarmTrigger(m.trigger, m.scope),
        priority: m.priority,
        onTrigger: m.onTrigger === null ? null : join(m.scope, m.onTrigger),
      });
    } else {
      calls.push(...m.sharedCalls);
      scripts.push({
        path: m.path,
        trigger: scriptTrigger(m.trigger, m.scope),
        parameters: m.parameters.map((p) => ({ name: p.name, type: p.type })),
        returns: m.returns,
        timeoutMs: m.timeoutMs,
        scope: m.scope,
        code: normalizeCode(m.code),
      });
    }
  }
  return withRevisionHash({
    apiVersion: API_VERSION,
    kind: "DeploymentPackage" as const,
    instance: {
      site: decl.site,
      name: decl.name,
      area: decl.area ?? null,
      template: decl.template,
      state: decl.state,
      labels: sortedLabels(decl.labels),
    },
    templateChain: r.flat.chain,
    attributes,
    alarms,
    scripts,
    sharedScripts: sharedClosure(calls, shared),
  });
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * sites/<site>/site.json: the site's data connections with defaults filled in, every shared script, and the
 * integrations the site gets (only when it gets any, or sets storeAndForward bounds).
 */
export function buildSiteArtifacts(
  site: SiteInfo,
  shared: SharedRegistry,
  branches: BranchNames = DEFAULT_BRANCHES,
): SiteArtifacts {
  const dataConnections: ArtifactDataConnection[] = [...site.connections.values()]
    .map((c) => ({
      name: c.name,
      protocol: "opcua" as const,
      endpoint: c.endpoint,
      securityMode: c.securityMode ?? "None",
      securityPolicy: c.securityPolicy ?? "None",
      auth:
        c.auth?.type === "username"
          ? { type: "username" as const, username: c.auth.username, passwordSecret: c.auth.passwordSecret }
          : { type: "anonymous" as const },
      samplingIntervalMs: c.samplingIntervalMs ?? 1000,
      publishingIntervalMs: c.publishingIntervalMs ?? 1000,
      reconnectIntervalMs: c.reconnectIntervalMs ?? 5000,
    }))
    .sort(byName);
  const sharedScripts = [...shared.scripts.values()]
    .map((s) => ({
      name: s.doc.data.name,
      parameters: s.parameters.map((p) => ({ name: p.name, type: p.type })),
      returns: s.returns,
      code: normalizeCode(s.doc.data.code),
    }))
    .sort(byName);
  return withRevisionHash({
    apiVersion: API_VERSION,
    kind: "SiteArtifacts" as const,
    site: site.doc.data.name,
    // Only names other than the defaults are written (absent means the defaults): a repo that keeps them has the
    // site.json, and the hashes, it had before branch names travelled.
    ...(branches.deployBranch !== DEFAULT_BRANCHES.deployBranch ||
    branches.statusBranchPrefix !== DEFAULT_BRANCHES.statusBranchPrefix
      ? { branches: { deployBranch: branches.deployBranch, statusBranchPrefix: branches.statusBranchPrefix } }
      : {}),
    dataConnections,
    sharedScripts,
    ...integrationArtifacts(site.doc.data, site.integrations),
  });
}

/** sites/<site>/manifest.json: instance name → revision hash, and the site artifacts' hash. */
export function buildManifest(
  site: SiteInfo,
  artifacts: SiteArtifacts,
  packages: readonly DeploymentPackage[],
): SiteManifest {
  const instances: Record<string, string> = {};
  for (const p of [...packages].sort((a, b) => (a.instance.name < b.instance.name ? -1 : 1)))
    instances[p.instance.name] = p.revisionHash;
  const manifest: SiteManifest = {
    apiVersion: API_VERSION,
    kind: "SiteManifest",
    site: site.doc.data.name,
    siteRevisionHash: artifacts.revisionHash,
    instances,
  };
  if (site.doc.data.allowEmpty === true) manifest.allowEmpty = true;
  return manifest;
}
