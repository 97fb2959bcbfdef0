import type { AlarmTrigger, ScriptTrigger } from "../../../schemas/types.js";
import type { Scalar } from "../model.js";
import type { DataType } from "../rules/values.js";

/** Where a field's value was written: the map and key, and the layer (template, override, instance, default). */
export interface OriginRef {
  obj: object;
  key: string;
  layer: string;
}

interface MemberBase {
  /** Canonical path within the flattened template (Inlet.Actuator.Torque). */
  path: string;
  /** Module path the member was defined in ("" at top level); its references resolve against it. */
  scope: string;
  /** Last segment of path. */
  name: string;
  /** Template that defined the member. */
  definedIn: string;
  locked: boolean;
  /** Where it was locked, for messages. */
  lockedBy: OriginRef | undefined;
  origins: Record<string, OriginRef>;
}

export interface AttributeMember extends MemberBase {
  kind: "attribute";
  dataType: DataType;
  source: "data" | "static";
  access: "read" | "readWrite";
  /** Tag pattern (template) or resolved tag (instance); null when none. */
  tag: string | null;
  units: string | null;
  value: Scalar | null;
  /** Data connection, set on instances only. */
  connection: string | null;
}

export interface AlarmMember extends MemberBase {
  kind: "alarm";
  /** attribute is relative to scope. */
  trigger: AlarmTrigger;
  priority: number;
  /** Relative to scope. */
  onTrigger: string | null;
}

export interface ScriptMember extends MemberBase {
  kind: "script";
  /** An onChange attribute is relative to scope. */
  trigger: ScriptTrigger;
  parameters: { name: string; type: DataType }[];
  returns: DataType | null;
  timeoutMs: number;
  code: string;
  /** Shared scripts the code (and expression) call by literal name. */
  sharedCalls: string[];
}

export type Member = AttributeMember | AlarmMember | ScriptMember;

export const DEFAULT_PRIORITY = 500;
export const DEFAULT_TIMEOUT_MS = 5000;

/** Joins module paths and member names with ".", skipping empty parts ("" is the top level). */
export function join(scope: string, rel: string): string {
  return scope && rel ? `${scope}.${rel}` : scope || rel;
}

/** The same member seen from a composing template, under module prefix. */
export function relocate(m: Member, prefix: string): Member {
  return { ...m, path: join(prefix, m.path), scope: join(prefix, m.scope) };
}

/** Builds a member from its definition map in a template; absent fields take their defaults. */
export function memberFromDefinition(
  kind: Member["kind"],
  def: Record<string, unknown>,
  template: string,
  layer: string,
): Member {
  const origins: Record<string, OriginRef> = {};
  const field = <T>(key: string, fallback: T): T => {
    origins[key] = { obj: def, key, layer: Object.hasOwn(def, key) ? layer : `${layer} (default)` };
    return Object.hasOwn(def, key) ? (def[key] as T) : fallback;
  };
  const name = def.name as string;
  const locked = def.locked === true;
  const base = {
    path: name,
    scope: "",
    name,
    definedIn: template,
    locked,
    lockedBy: locked ? { obj: def, key: "locked", layer } : undefined,
    origins,
  };
  if (kind === "attribute") {
    return {
      ...base,
      kind,
      dataType: field("dataType", "Double" as DataType),
      source: field("source", "static" as const),
      access: field("access", "read" as const),
      tag: field<string | null>("tag", null),
      units: field<string | null>("units", null),
      value: field<Scalar | null>("value", null),
      connection: null,
    };
  }
  if (kind === "alarm") {
    return {
      ...base,
      kind,
      trigger: field("trigger", { type: "match", attribute: "", value: false } as AlarmTrigger),
      priority: field("priority", DEFAULT_PRIORITY),
      onTrigger: field<string | null>("onTrigger", null),
    };
  }
  const params = field<{ name: string; type: DataType }[]>("parameters", []);
  return {
    ...base,
    kind,
    trigger: field("trigger", { type: "call" } as ScriptTrigger),
    parameters: params.map((p) => ({ name: p.name, type: p.type })),
    returns: field<DataType | null>("returns", null),
    timeoutMs: field("timeoutMs", DEFAULT_TIMEOUT_MS),
    code: field("code", ""),
    sharedCalls: [],
  };
}
