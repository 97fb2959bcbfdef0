import type {
  ApiMethod,
  Batch,
  Binding,
  DatabaseConnection,
  DataConnection,
  ExternalSystem,
  InstanceOverride,
  NotificationList,
  ParkedMessages,
  Repository,
  SharedScript,
  Site,
  Template,
} from "../../schemas/types.js";
import type { SourceText } from "./load/positions.js";
import type { ConfigKind } from "./schema/validate-schema.js";

export type Scalar = boolean | number | string;

export interface DataByKind {
  Repository: Repository;
  Site: Site;
  Template: Template;
  Instance: Record<string, unknown>;
  InstanceSet: Record<string, unknown>;
  SharedScript: SharedScript;
  Batch: Batch;
  ExternalSystem: ExternalSystem;
  NotificationList: NotificationList;
  DatabaseConnection: DatabaseConnection;
  ApiMethod: ApiMethod;
  ParkedMessages: ParkedMessages;
}

/** The site-wide integration kinds: a Site's integrations list names them, in one namespace. */
export const INTEGRATION_KINDS = ["ExternalSystem", "NotificationList", "DatabaseConnection"] as const;
export type IntegrationKind = (typeof INTEGRATION_KINDS)[number];

export function isIntegrationKind(kind: string): kind is IntegrationKind {
  return (INTEGRATION_KINDS as readonly string[]).includes(kind);
}

/** A loaded, schema-checked config document. */
export interface Doc<K extends ConfigKind = ConfigKind> {
  kind: K;
  data: DataByKind[K];
  src: SourceText;
  index: number;
  /** false when its shape is too broken for semantic checks (its schema diagnostics say why). */
  usable: boolean;
}

/** One instance, from an Instance document or an InstanceSet entry, with the set's shared fields filled in. */
export interface InstanceDecl {
  id: string;
  site: string;
  name: string;
  template: string;
  area: string | undefined;
  state: "enabled" | "disabled";
  connection: string | undefined;
  parameters: Record<string, Scalar>;
  bindings: Record<string, Binding>;
  overrides: Record<string, Scalar | InstanceOverride>;
  labels: Record<string, string>;
  doc: Doc<"Instance" | "InstanceSet">;
  /** The map holding the instance's own fields (the Instance document, or the set entry). */
  entry: Record<string, unknown>;
  /** The InstanceSet document's map, for fields the entry inherits. */
  set: Record<string, unknown> | undefined;
}

/** The map a field of an instance was written in: the entry when it has the field, else the set. */
export function ownerOf(decl: InstanceDecl, field: string): Record<string, unknown> {
  if (decl.set && !Object.hasOwn(decl.entry, field) && Object.hasOwn(decl.set, field)) return decl.set;
  return decl.entry;
}

export interface SiteInfo {
  doc: Doc<"Site">;
  /** Area paths (Line1, Line1/Cell1). */
  areas: Set<string>;
  connections: Map<string, DataConnection>;
  /**
   * The integration documents this site gets (its integrations list, or all), its ApiMethods and ParkedMessages.
   * Set by every index built; the rest of SiteInfo is kept across compiles while the Site document is unchanged.
   */
  integrations?: SiteIntegrations;
}

/** What site.json carries of the integration documents, as written (package/integrations.ts normalises them). */
export interface SiteIntegrations {
  externalSystems: ExternalSystem[];
  notificationLists: NotificationList[];
  databaseConnections: DatabaseConnection[];
  apiMethods: ApiMethod[];
  parkedMessages: ParkedMessages[];
}

export type {
  ApiMethod,
  Batch,
  DatabaseConnection,
  ExternalSystem,
  NotificationList,
  ParkedMessages,
  Repository,
  SharedScript,
  Site,
  Template,
};
