import type { Doc, IntegrationKind } from "../model.js";
import type { AttributeInfo, ScriptEnv, Signature } from "../rules/scripts.js";
import type { DataType } from "../rules/values.js";
import { join, type Member } from "./members.js";

export interface SharedInfo {
  doc: Doc<"SharedScript">;
  parameters: { name: string; type: DataType }[];
  returns: DataType | null;
  /** Shared scripts this one calls by literal name. */
  sharedCalls: string[];
}

/** The repo's shared scripts. version is a new object whenever any of them changed. */
export interface SharedRegistry {
  version: object;
  scripts: Map<string, SharedInfo>;
  /** Names of shared scripts whose documents could not be used: calls to them are not reported. */
  broken: ReadonlySet<string>;
  /** The repo's ExternalSystem, NotificationList and DatabaseConnection documents, by name (one namespace). */
  integrations: ReadonlyMap<string, Doc<IntegrationKind>>;
  /** Integration names whose documents could not be used (broken, or of a broken shape). */
  brokenIntegrations: ReadonlySet<string>;
}

/** The members of a template or instance by canonical path (a Map, or an Overlay on one). */
export interface MemberMap {
  get(path: string): Member | undefined;
  set(path: string, m: Member): unknown;
  has(path: string): boolean;
  keys(): Iterable<string>;
  values(): Iterable<Member>;
}

/** A copy-on-write view of a member map: changes stay in the overlay, the base is shared and untouched. */
export class Overlay implements MemberMap {
  private readonly own = new Map<string, Member>();
  constructor(private readonly base: ReadonlyMap<string, Member>) {}
  get(path: string): Member | undefined {
    return this.own.get(path) ?? this.base.get(path);
  }
  set(path: string, m: Member): this {
    this.own.set(path, m);
    return this;
  }
  has(path: string): boolean {
    return this.own.has(path) || this.base.has(path);
  }
  keys(): Iterable<string> {
    return this.base.keys();
  }
  *values(): Iterable<Member> {
    for (const k of this.base.keys()) yield this.get(k)!;
  }
}

/** The members a piece of code defined in module `scope` can reach. */
export function scriptEnv(members: MemberMap, scope: string, shared: SharedRegistry): ScriptEnv {
  const prefix = scope ? `${scope}.` : "";
  const relNames = (kind: Member["kind"]) =>
    [...members.values()]
      .filter((m) => m.kind === kind && m.path.startsWith(prefix))
      .map((m) => m.path.slice(prefix.length));
  return {
    shared: false,
    attribute(path): AttributeInfo | undefined {
      const m = members.get(join(scope, path));
      return m?.kind === "attribute" ? m : undefined;
    },
    script(path): Signature | undefined {
      const m = members.get(join(scope, path));
      return m?.kind === "script" ? m : undefined;
    },
    scriptNames: () => relNames("script"),
    attributeNames: () => relNames("attribute"),
    sharedScript: (name) => shared.scripts.get(name),
    sharedNames: () => shared.scripts.keys(),
    brokenShared: (name) => shared.broken.has(name),
    integration: (name) => {
      const doc = shared.integrations.get(name);
      return doc?.usable ? doc : undefined;
    },
    integrationNames: (kind) =>
      [...shared.integrations.values()].filter((d) => d.kind === kind).map((d) => d.data.name),
    brokenIntegration: (name) => shared.brokenIntegrations.has(name) || shared.integrations.get(name)?.usable === false,
  };
}

/** What shared scripts can reach: only other shared scripts. */
export function sharedEnv(shared: SharedRegistry): ScriptEnv {
  return {
    shared: true,
    attribute: () => undefined,
    script: () => undefined,
    scriptNames: () => [],
    attributeNames: () => [],
    sharedScript: (name) => shared.scripts.get(name),
    sharedNames: () => shared.scripts.keys(),
    brokenShared: (name) => shared.broken.has(name),
    integration: () => undefined,
    integrationNames: () => [],
    brokenIntegration: () => false,
  };
}
