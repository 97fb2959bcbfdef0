import { type Diagnostic, Report } from "../diagnostics.js";
import { type SharedInfo, type SharedRegistry, sharedEnv } from "../flatten/context.js";
import { sameItems, sameSet } from "../identity.js";
import { atTextPos, atValue } from "../load/positions.js";
import { type Doc, INTEGRATION_KINDS, type IntegrationKind } from "../model.js";
import type { RepoIndex } from "../repo-index.js";
import { Namespace } from "./names.js";
import { checkScript } from "./scripts.js";
import type { DataType } from "./values.js";

export interface SharedState {
  docs: Doc<"SharedScript">[];
  /** The integration documents the registry was built with: scripts' calls are checked against them. */
  integrationDocs: Doc<IntegrationKind>[];
  registry: SharedRegistry;
  diagnostics: Diagnostic[];
}

/**
 * The shared-script registry and the checks of shared scripts (shared-script-syntax, forbidden API, call targets).
 * It also carries the integration documents scripts call. Reuses the previous state, registry version included,
 * while no shared script and no integration document changed (a new version re-checks every template's scripts).
 */
export function sharedScripts(index: RepoIndex, previous: SharedState | undefined): SharedState {
  const docs = [...index.sharedScripts.values()];
  const broken = new Set(docs.filter((d) => !d.usable).map((d) => d.data.name));
  for (const name of index.ghosts.names("SharedScript")) broken.add(name);
  const integrationDocs = [...index.integrations.values()];
  const brokenIntegrations = new Set(INTEGRATION_KINDS.flatMap((k) => [...index.ghosts.names(k)]));
  if (
    previous &&
    sameSet(previous.registry.broken, broken) &&
    sameItems(previous.docs, docs) &&
    sameSet(previous.registry.brokenIntegrations, brokenIntegrations) &&
    sameItems(previous.integrationDocs, integrationDocs)
  )
    return previous;
  const scripts = new Map<string, SharedInfo>();
  for (const doc of docs) {
    if (!doc.usable) continue;
    const d = doc.data;
    scripts.set(d.name, {
      doc,
      parameters: (d.parameters ?? []).map((p) => ({ name: p.name, type: p.type as DataType })),
      returns: (d.returns as DataType | undefined) ?? null,
      sharedCalls: [],
    });
  }
  const registry: SharedRegistry = {
    version: {},
    scripts,
    broken,
    integrations: index.integrations,
    brokenIntegrations,
  };
  const report = new Report();
  for (const info of scripts.values()) {
    const d = info.doc.data;
    const params = new Namespace(`parameter of ${d.name}`, report);
    for (const p of d.parameters ?? []) params.claim(p.name, atValue(p, "name"));
    info.sharedCalls = checkScript(
      {
        code: d.code,
        params: info.parameters.map((p) => p.name),
        env: sharedEnv(registry),
        locate: (p) => atTextPos(d, "code", p.line, p.column),
      },
      report,
    );
  }
  return { docs, integrationDocs, registry, diagnostics: report.items };
}

/** The shared scripts reachable from the given names through callShared, sorted. */
export function sharedClosure(names: Iterable<string>, registry: SharedRegistry): string[] {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length) {
    const n = queue.pop()!;
    const info = registry.scripts.get(n);
    if (!info || seen.has(n)) continue;
    seen.add(n);
    queue.push(...info.sharedCalls);
  }
  return [...seen].sort();
}
