/* Generated from schemas/*.schema.json by scripts/gen-schemas.mjs (npm run gen:schemas): TypeScript types. Do not edit. */

/**
 * When the alarm is active: threshold, range, match or rateOfChange on one attribute of the same module.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "AlarmTrigger".
 */
export type AlarmTrigger = ThresholdTrigger | RangeTrigger | MatchTrigger | RateOfChangeTrigger;
/**
 * When the script runs: call, onChange, interval or expression.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "ScriptTrigger".
 */
export type ScriptTrigger = CallTrigger | OnChangeTrigger | IntervalTrigger | ExpressionTrigger;
/**
 * Parameters of the script, in call order; they are in scope by name.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "Parameters".
 */
export type Parameters = ScriptParameter[];
/**
 * The trigger; attribute is a canonical path.
 */
export type AlarmTrigger1 = ThresholdTrigger | RangeTrigger | MatchTrigger | RateOfChangeTrigger;
/**
 * The trigger; an onChange attribute is a canonical path.
 */
export type ScriptTrigger1 = CallTrigger | OnChangeTrigger | IntervalTrigger | ExpressionTrigger;
export type Parameters1 = PackageScriptParameter[];
/**
 * Any ScadaLink config document; kind selects its schema. Map this schema to the repository's YAML files in your editor.
 */
export type Document = {
  /**
   * What this document is.
   */
  kind:
    | "Repository"
    | "Site"
    | "Template"
    | "Instance"
    | "InstanceSet"
    | "SharedScript"
    | "Batch"
    | "ExternalSystem"
    | "NotificationList"
    | "DatabaseConnection"
    | "ApiMethod"
    | "ParkedMessages";
};
/**
 * How the site authenticates: { type: none } (default), { type: apiKey, header, secret }, { type: basic, username, passwordSecret } or { type: bearer, tokenSecret }.
 *
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "Auth".
 */
export type ExternalSystemAuth =
  ExternalSystemNoAuth | ExternalSystemApiKeyAuth | ExternalSystemBasicAuth | ExternalSystemBearerAuth;
/**
 * How the site logs in: { type: none } (default), { type: basic, username, passwordSecret } or { type: oauth2, tokenUrl, clientId, clientSecretSecret, scope }.
 *
 * This interface was referenced by `NotificationList`'s JSON-Schema
 * via the `definition` "Auth".
 */
export type SmtpAuth = SmtpNoAuth | SmtpBasicAuth | SmtpOAuth2Auth;
/**
 * An operator's action on one site's parked store-and-forward messages, from central through git: retry or discard them, by id or by match. The site applies each revision of the document once and reports it on its status branch.
 */
export type ParkedMessages = (
  | {
      ids: unknown;
    }
  | {
      match: unknown;
    }
) & {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "ParkedMessages";
  /**
   * Batch name: lowercase letters, digits, '.', '_', '-', at most 128 characters, starting with a letter or digit, not ending with '.', and not a Windows device name alone or before a '.' (con, prn, aux, nul, com0-9, lpt0-9). Dates make good prefixes: 2026-04-20-pilot-line1.
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * The name of something defined elsewhere in the repository.
   */
  site: string;
  /**
   * retry: queue the messages again, attempts counted from zero. discard: delete them.
   */
  action: "retry" | "discard";
  /**
   * Message ids, as scadalink site parked lists them.
   *
   * @minItems 1
   */
  ids?: [string, ...string[]];
  match?: ParkedMessagesMatch;
};
/**
 * How the site logs in to the server: { type: anonymous } (default) or { type: username, username, passwordSecret }.
 *
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "Auth".
 */
export type Auth = AnonymousAuth | UsernameAuth;
/**
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "DataConnection".
 */
export type DataConnection = {
  /**
   * Site or data connection name: lowercase letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit, and not a Windows device name (con, prn, aux, nul, com0-9, lpt0-9).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SiteName".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  /**
   * Only opcua is supported (the default).
   */
  protocol?: "opcua";
  /**
   * Server endpoint URL, e.g. opc.tcp://10.20.0.5:4840. Never put credentials in it.
   */
  endpoint: string;
  /**
   * OPC UA message security mode.
   */
  securityMode?: "None" | "Sign" | "SignAndEncrypt";
  /**
   * OPC UA security policy.
   */
  securityPolicy?: "None" | "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";
  auth?: Auth;
  /**
   * How often the server samples each tag, in milliseconds (default 1000).
   */
  samplingIntervalMs?: number;
  /**
   * How often the server sends changes, in milliseconds (default 1000).
   */
  publishingIntervalMs?: number;
  /**
   * Wait between reconnection attempts, in milliseconds (default 5000).
   */
  reconnectIntervalMs?: number;
};

export interface ScadalinkSchemas {
  "api-method"?: ApiMethod;
  "batch-handoff"?: BatchHandoff;
  "batch-release"?: BatchRelease;
  "batch-status"?: BatchStatus;
  batch?: Batch;
  common?: Common;
  "database-connection"?: DatabaseConnection;
  "deployment-package"?: DeploymentPackage;
  document?: Document;
  "evidence-checklist"?: EvidenceChecklist;
  "execution-record-template"?: ExecutionRecordTemplate;
  "execution-record"?: ExecutionRecord;
  "external-system"?: ExternalSystem;
  "instance-set"?: InstanceSet;
  instance?: Instance;
  "notification-list"?: NotificationList;
  "parked-messages"?: ParkedMessages;
  repository?: Repository;
  "shared-script"?: SharedScript;
  "site-artifacts"?: SiteArtifacts;
  "site-manifest"?: SiteManifest;
  "site-status"?: SiteStatus;
  site?: Site;
  template?: Template;
  "validate-result"?: ValidateResult;
}
/**
 * An inbound method: external systems call POST /api/<name> on one site's inbound API, and a call-triggered script of one instance answers (its parameters are the method's). Only the site it names gets it.
 */
export interface ApiMethod {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "ApiMethod";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * The site that serves the method.
   */
  site: string;
  /**
   * Name of the instance (of that site) whose script answers.
   */
  instance: string;
  /**
   * Canonical path of a call-triggered script of the instance (ApplyRecipe, or Dosing.ApplyRecipe in a module).
   */
  script: string;
  /**
   * Names of the secrets that are valid keys; a caller sends one in the X-API-Key header.
   *
   * @minItems 1
   *
   * Items: Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  keys: [string, ...string[]];
  /**
   * How long the script may take before the caller gets 504, in milliseconds (default 10000).
   */
  timeoutMs?: number;
}
/**
 * Key/value labels (string to string). Batches select instances by label.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "Labels".
 */
export interface Labels {
  [k: string]: string | undefined;
}
/**
 * batches/<batch>/handoff.json: what each site must provide before the batch runs. Secret names only, never values.
 */
export interface BatchHandoff {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "BatchHandoff";
  batch: string;
  /**
   * The commit the selection was fixed at when the batch became execute; null while it is in phase prepare (rebuilt from every commit, so that a commit changing nothing changes no artifact).
   */
  sourceCommit: string | null;
  instances: HandoffInstance[];
  /**
   * Per site: every connection and secret the selected instances need.
   */
  sites: {
    [k: string]: HandoffSite | undefined;
  };
}
export interface HandoffInstance {
  id: string;
  site: string;
  template: string;
  /**
   * null for a deletion.
   */
  revisionHash: string | null;
  connections: HandoffConnection[];
  /**
   * Names of the secrets the site must provide.
   */
  secrets: string[];
  tagCount: number;
  scripts: string[];
}
/**
 * This interface was referenced by `BatchHandoff`'s JSON-Schema
 * via the `definition` "Connection".
 */
export interface HandoffConnection {
  name: string;
  endpoint: string;
  securityMode: string;
  securityPolicy: string;
  auth: "anonymous" | "username";
  /**
   * Name of the password secret, if any.
   */
  secret: string | null;
}
export interface HandoffSite {
  connections: HandoffConnection[];
  secrets: string[];
  instances: number;
}
/**
 * batches/<batch>/release.json on the deploy branch: what a batch in phase execute releases, fixed at the commit where it first became execute. released is false while it waits for the batches in after.
 */
export interface BatchRelease {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "BatchRelease";
  batch: string;
  /**
   * The commit on main where the batch first became execute.
   */
  sourceCommit: string;
  /**
   * true once the packages are on the deploy branch; false while waiting for after.
   */
  released: boolean;
  releasedAt: string | null;
  /**
   * The batch's selection as it was released. A released batch is immutable: changing it is batch-immutable.
   */
  select: {};
  /**
   * Instance id (<site>/<name>) to the released revision hash, or null for a released deletion.
   */
  instances: {
    [k: string]: string | null | undefined;
  };
}
/**
 * batches/<batch>/status.json on the deploy branch: the batch's progress, computed by the controller from the sites' execution records.
 */
export interface BatchStatus {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "BatchStatus";
  batch: string;
  phase: "prepare" | "execute";
  /**
   * waiting: not released (phase prepare, or after not complete). releasing: released, no execution record yet. in-progress: some records in. complete: every selected instance has a record and at most maxFailed failed. halted: more than maxFailed failed.
   */
  state: "waiting" | "releasing" | "in-progress" | "complete" | "halted";
  /**
   * Why the batch is waiting or halted.
   */
  reason: string | null;
  releasedAt: string | null;
  /**
   * After it, a missing record counts as environment-unavailable.
   */
  deadline: string | null;
  maxFailed: number;
  counts: BatchCounts;
  instances: {
    [k: string]: BatchInstanceStatus | undefined;
  };
}
export interface BatchCounts {
  selected: number;
  passed: number;
  failed: number;
  pending: number;
}
export interface BatchInstanceStatus {
  revisionHash: string | null;
  /**
   * null while no record is in.
   */
  result:
    | (
        | "pass"
        | "login-blocked"
        | "network-blocked"
        | "host-bridge-blocked"
        | "local-runtime-blocked"
        | "data-mismatch"
        | "artifact-mismatch"
        | "environment-unavailable"
        | "runtime-error"
      )
    | null;
  message: string | null;
}
/**
 * One reviewed rollout: which instances get their current revision, after which other batches, with what evidence. Created in a pull request; merging it is the deployment.
 */
export interface Batch {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "Batch";
  /**
   * Batch name: lowercase letters, digits, '.', '_', '-', at most 128 characters, starting with a letter or digit, not ending with '.', and not a Windows device name alone or before a '.' (con, prn, aux, nul, com0-9, lpt0-9). Dates make good prefixes: 2026-04-20-pilot-line1.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "BatchName".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * The instances of the batch: the union of explicit ids and match rules. Fixed once the batch is executed.
   */
  select: {
    /**
     * Instance ids, <site>/<name>.
     */
    instances?: string[];
    /**
     * Rules; an instance matching every field of one rule is selected.
     */
    match?: MatchRule[];
  };
  /**
   * prepare: write the preparation artifacts, release nothing (default). execute: release the selected instances as compiled at the commit where the batch first became execute.
   */
  phase?: "prepare" | "execute";
  /**
   * Batches that must be complete before this one is released.
   */
  after?: string[];
  failurePolicy?: {
    /**
     * More failed execution records than this halts the batch (default 0).
     */
    maxFailed?: number;
  };
  /**
   * Minutes after release within which every site must report; a missing record becomes environment-unavailable (default 60).
   */
  deadlineMinutes?: number;
  /**
   * Evidence each execution record must reference (default: all four).
   *
   * Items: A piece of evidence an execution record references: values-snapshot, alarm-states, connection-health, event-log.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "EvidenceItem".
   */
  evidence?: ("values-snapshot" | "alarm-states" | "connection-health" | "event-log")[];
}
/**
 * This interface was referenced by `Batch`'s JSON-Schema
 * via the `definition` "MatchRule".
 */
export interface MatchRule {
  /**
   * The instance's site.
   */
  site?: string;
  /**
   * The instance's template, or any template it extends.
   */
  template?: string;
  /**
   * The area or any area below it (Line1 matches Line1/Cell1).
   */
  area?: string;
  labels?: Labels1;
}
/**
 * Key/value labels (string to string). Batches select instances by label.
 */
export interface Labels1 {
  [k: string]: string | undefined;
}
/**
 * Definitions shared by the ScadaLink document and contract schemas.
 */
export interface Common {
  [k: string]: unknown | undefined;
}
/**
 * Store-and-forward delivery: a transient failure is tried again every intervalMs; after maxAttempts attempts the message is parked until an operator retries or discards it.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "Retry".
 */
export interface Retry {
  /**
   * Fixed wait between attempts, in milliseconds.
   */
  intervalMs?: number;
  /**
   * Attempts before the message is parked (the first delivery counts).
   */
  maxAttempts?: number;
}
/**
 * Active while `attribute op value` holds, e.g. Speed > 1450.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "ThresholdTrigger".
 */
export interface ThresholdTrigger {
  type: "threshold";
  /**
   * Path of an attribute relative to the module the member is defined in: Speed, or Actuator.Torque inside a composed module.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "AttributePath".
   */
  attribute: string;
  /**
   * Comparison of the attribute value (left) with the threshold value (right).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ComparisonOperator".
   */
  op: ">" | ">=" | "<" | "<=" | "==" | "!=";
  /**
   * Threshold the attribute is compared with; must fit the attribute's dataType.
   */
  value: boolean | number | string;
}
/**
 * Active while the attribute is outside [low, high].
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "RangeTrigger".
 */
export interface RangeTrigger {
  type: "range";
  /**
   * Path of an attribute relative to the module the member is defined in: Speed, or Actuator.Torque inside a composed module.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "AttributePath".
   */
  attribute: string;
  /**
   * Lowest normal value (inclusive).
   */
  low: number;
  /**
   * Highest normal value (inclusive).
   */
  high: number;
}
/**
 * Active while the attribute equals value (e.g. a Boolean fault bit, or a state code).
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "MatchTrigger".
 */
export interface MatchTrigger {
  type: "match";
  /**
   * Path of an attribute relative to the module the member is defined in: Speed, or Actuator.Torque inside a composed module.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "AttributePath".
   */
  attribute: string;
  /**
   * The value that makes the alarm active; must fit the attribute's dataType.
   */
  value: boolean | number | string;
}
/**
 * Active while the attribute changes faster than perSecond (absolute change per second).
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "RateOfChangeTrigger".
 */
export interface RateOfChangeTrigger {
  type: "rateOfChange";
  /**
   * Path of an attribute relative to the module the member is defined in: Speed, or Actuator.Torque inside a composed module.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "AttributePath".
   */
  attribute: string;
  /**
   * Largest normal change per second, in the attribute's units; must be > 0.
   */
  perSecond: number;
}
/**
 * Runs only when called: by callScript, or as an alarm's onTrigger.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "CallTrigger".
 */
export interface CallTrigger {
  type: "call";
}
/**
 * Runs each time the attribute's value changes.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "OnChangeTrigger".
 */
export interface OnChangeTrigger {
  type: "onChange";
  /**
   * Path of an attribute relative to the module the member is defined in: Speed, or Actuator.Torque inside a composed module.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "AttributePath".
   */
  attribute: string;
}
/**
 * Runs every everyMs milliseconds while the instance is enabled.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "IntervalTrigger".
 */
export interface IntervalTrigger {
  type: "interval";
  /**
   * Period in milliseconds; must be > 0.
   */
  everyMs: number;
}
/**
 * Runs when the JavaScript expression turns from false to true; it is re-evaluated whenever an attribute of the module changes.
 *
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "ExpressionTrigger".
 */
export interface ExpressionTrigger {
  type: "expression";
  /**
   * A JavaScript expression using the script API, e.g. attributes.get("Level") > 90.
   */
  expression: string;
}
/**
 * This interface was referenced by `Common`'s JSON-Schema
 * via the `definition` "Parameter".
 */
export interface ScriptParameter {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Value type of an attribute or script parameter.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "DataType".
   */
  type: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
}
/**
 * A database scripts query and write to (database.query, database.cachedWrite). Site-wide: it reaches every site whose Site lists it in integrations (every site when the list is absent). The password is named, never written here.
 */
export interface DatabaseConnection {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "DatabaseConnection";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Only postgres is supported (the default).
   */
  provider?: "postgres";
  /**
   * Host name or address of the server.
   */
  host: string;
  /**
   * TCP port (default 5432).
   */
  port?: number;
  /**
   * Database name.
   */
  database: string;
  /**
   * User the site logs in as.
   */
  user: string;
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  passwordSecret?: string;
  /**
   * Connections the site keeps open at most (default 4).
   */
  poolSize?: number;
  /**
   * How long one query may take, in milliseconds (default 5000).
   */
  timeoutMs?: number;
  retry?: Retry1;
}
/**
 * Delivery of cachedWrite messages (default every 30000 ms, at most 100 attempts); then the message is parked.
 */
export interface Retry1 {
  /**
   * Fixed wait between attempts, in milliseconds.
   */
  intervalMs?: number;
  /**
   * Attempts before the message is parked (the first delivery counts).
   */
  maxAttempts?: number;
}
/**
 * The flattened configuration of one instance: the contract between controller and site. Members are sorted by path (code-unit order); absent optional fields are null, never missing. revisionHash covers everything else.
 */
export interface DeploymentPackage {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "DeploymentPackage";
  instance: PackageInstance;
  /**
   * The instance's template followed by its ancestors (extends), nearest first.
   */
  templateChain: string[];
  attributes: PackageAttribute[];
  alarms: PackageAlarm[];
  scripts: PackageScript[];
  /**
   * Names of the shared scripts this instance's scripts call (directly or through other shared scripts), sorted. Their code is in the site's site.json.
   */
  sharedScripts: string[];
  /**
   * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "RevisionHash".
   */
  revisionHash: string;
}
export interface PackageInstance {
  site: string;
  name: string;
  area: string | null;
  template: string;
  /**
   * enabled: running on the site. disabled: configuration kept, runtime stopped.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceState".
   */
  state: "enabled" | "disabled";
  labels: {
    [k: string]: string | undefined;
  };
}
/**
 * This interface was referenced by `DeploymentPackage`'s JSON-Schema
 * via the `definition` "PackageAttribute".
 */
export interface PackageAttribute {
  /**
   * Canonical path (Inlet.Position).
   */
  path: string;
  /**
   * Value type of an attribute or script parameter.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "DataType".
   */
  dataType: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
  source: "data" | "static";
  access: "read" | "readWrite";
  /**
   * Data connection (data attributes), else null.
   */
  connection: string | null;
  /**
   * Resolved tag (data attributes), else null.
   */
  tag: string | null;
  units: string | null;
  /**
   * Value of a static attribute, else null.
   */
  value: boolean | number | string | null;
}
/**
 * This interface was referenced by `DeploymentPackage`'s JSON-Schema
 * via the `definition` "PackageAlarm".
 */
export interface PackageAlarm {
  path: string;
  trigger: AlarmTrigger1;
  /**
   * Alarm priority, 1 (lowest) to 1000 (highest). Default 500.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Priority".
   */
  priority: number;
  /**
   * Canonical path of the script run on activation.
   */
  onTrigger: string | null;
}
/**
 * This interface was referenced by `DeploymentPackage`'s JSON-Schema
 * via the `definition` "PackageScript".
 */
export interface PackageScript {
  path: string;
  trigger: ScriptTrigger1;
  parameters: Parameters1;
  returns: ("Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime") | null;
  timeoutMs: number;
  /**
   * Module path the script was defined in ("" at top level); attributes.get/set and callScript names resolve against it.
   */
  scope: string;
  /**
   * Function body; line endings normalised to LF, trailing whitespace removed.
   */
  code: string;
}
export interface PackageScriptParameter {
  name: string;
  /**
   * Value type of an attribute or script parameter.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "DataType".
   */
  type: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
}
/**
 * batches/<batch>/evidence-checklist.json: per instance, the evidence its execution record must reference, and where it goes on the status branch.
 */
export interface EvidenceChecklist {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "EvidenceChecklist";
  batch: string;
  /**
   * Items: A piece of evidence an execution record references: values-snapshot, alarm-states, connection-health, event-log.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "EvidenceItem".
   */
  items: ("values-snapshot" | "alarm-states" | "connection-health" | "event-log")[];
  /**
   * Rules every evidence file must follow.
   */
  redaction: string[];
  instances: ChecklistInstance[];
}
export interface ChecklistInstance {
  id: string;
  /**
   * Path of the execution record on the site's status branch.
   */
  record: string;
  evidence: ChecklistEvidence[];
}
export interface ChecklistEvidence {
  /**
   * A piece of evidence an execution record references: values-snapshot, alarm-states, connection-health, event-log.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "EvidenceItem".
   */
  item: "values-snapshot" | "alarm-states" | "connection-health" | "event-log";
  path: string;
  what: string;
}
/**
 * batches/<batch>/execution-record-template.json: the fields of an execution record, the allowed result states with the failure taxonomy, and one record skeleton per selected instance.
 */
export interface ExecutionRecordTemplate {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "ExecutionRecordTemplate";
  batch: string;
  /**
   * Field name to its meaning.
   */
  fields: {
    [k: string]: string | undefined;
  };
  resultStates: ResultStateInfo[];
  records: RecordSkeleton[];
}
export interface ResultStateInfo {
  /**
   * Outcome of one released instance on its site. pass; login-blocked (credentials rejected, or the named secret is missing on the site); network-blocked (endpoint unreachable); host-bridge-blocked (server reachable, session or subscription refused); local-runtime-blocked (the site runtime refused the package: script compile, sandbox); data-mismatch (tags missing, wrong data type, bad quality after the settle time); artifact-mismatch (package hash or schema check failed); environment-unavailable (no record before the batch deadline; set by the controller); runtime-error (anything else).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ResultState".
   */
  state:
    | "pass"
    | "login-blocked"
    | "network-blocked"
    | "host-bridge-blocked"
    | "local-runtime-blocked"
    | "data-mismatch"
    | "artifact-mismatch"
    | "environment-unavailable"
    | "runtime-error";
  /**
   * Counts against maxFailed.
   */
  failure: boolean;
  meaning: string;
}
export interface RecordSkeleton {
  site: string;
  instance: string;
  revisionHash: string | null;
  path: string;
  /**
   * Filled in by the site.
   */
  result: null;
  /**
   * Items: A piece of evidence an execution record references: values-snapshot, alarm-states, connection-health, event-log.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "EvidenceItem".
   */
  evidence: ("values-snapshot" | "alarm-states" | "connection-health" | "event-log")[];
}
/**
 * batches/<batch>/<instance>.json on a site's status branch: what happened when the site applied one released instance. It references evidence files, never credential values.
 */
export interface ExecutionRecord {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "ExecutionRecord";
  batch: string;
  site: string;
  /**
   * Instance name (its id is <site>/<instance>).
   */
  instance: string;
  /**
   * Revision applied, or null for a released deletion.
   */
  revisionHash: string | null;
  /**
   * Deploy-branch commit the site applied.
   */
  deployCommit: string;
  /**
   * Outcome of one released instance on its site. pass; login-blocked (credentials rejected, or the named secret is missing on the site); network-blocked (endpoint unreachable); host-bridge-blocked (server reachable, session or subscription refused); local-runtime-blocked (the site runtime refused the package: script compile, sandbox); data-mismatch (tags missing, wrong data type, bad quality after the settle time); artifact-mismatch (package hash or schema check failed); environment-unavailable (no record before the batch deadline; set by the controller); runtime-error (anything else).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ResultState".
   */
  result:
    | "pass"
    | "login-blocked"
    | "network-blocked"
    | "host-bridge-blocked"
    | "local-runtime-blocked"
    | "data-mismatch"
    | "artifact-mismatch"
    | "environment-unavailable"
    | "runtime-error";
  /**
   * What happened, in words, for a failed result.
   */
  message: string | null;
  evidence: EvidenceReference[];
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  startedAt?: string;
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  recordedAt: string;
}
export interface EvidenceReference {
  /**
   * A piece of evidence an execution record references: values-snapshot, alarm-states, connection-health, event-log.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "EvidenceItem".
   */
  item: "values-snapshot" | "alarm-states" | "connection-health" | "event-log";
  /**
   * File path on the status branch.
   */
  path: string;
}
/**
 * An HTTP service scripts call (an MES, an ERP, a historian's REST API): its base URL, how the site authenticates, and its methods. Site-wide: it reaches every site whose Site lists it in integrations (every site when the list is absent). Credentials are named, never written here.
 */
export interface ExternalSystem {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "ExternalSystem";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * http:// or https:// URL the method paths are appended to, e.g. https://mes.plant.local/api. No query or fragment, and never credentials (user:password@).
   */
  baseUrl: string;
  auth?: ExternalSystemAuth;
  /**
   * How long one request may take, in milliseconds (default 5000).
   */
  timeoutMs?: number;
  retry?: Retry2;
  /**
   * The requests scripts may make: externalSystem.call(system, method, ...args) and cachedCall.
   */
  methods?: ExternalSystemMethod[];
}
/**
 * No authentication (the default).
 *
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "NoAuth".
 */
export interface ExternalSystemNoAuth {
  type: "none";
}
/**
 * The secret's value sent in a request header.
 *
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "ApiKeyAuth".
 */
export interface ExternalSystemApiKeyAuth {
  type: "apiKey";
  /**
   * Header that carries the key (default X-Api-Key).
   */
  header?: string;
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  secret: string;
}
/**
 * HTTP basic authentication; the password is the secret passwordSecret names.
 *
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "BasicAuth".
 */
export interface ExternalSystemBasicAuth {
  type: "basic";
  username: string;
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  passwordSecret: string;
}
/**
 * Authorization: Bearer with the secret tokenSecret names.
 *
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "BearerAuth".
 */
export interface ExternalSystemBearerAuth {
  type: "bearer";
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  tokenSecret: string;
}
/**
 * Delivery of cachedCall messages (default every 30000 ms, at most 20 attempts); then the message is parked.
 */
export interface Retry2 {
  /**
   * Fixed wait between attempts, in milliseconds.
   */
  intervalMs?: number;
  /**
   * Attempts before the message is parked (the first delivery counts).
   */
  maxAttempts?: number;
}
/**
 * This interface was referenced by `ExternalSystem`'s JSON-Schema
 * via the `definition` "Method".
 */
export interface ExternalSystemMethod {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  /**
   * HTTP method of the request.
   *
   * This interface was referenced by `ExternalSystem`'s JSON-Schema
   * via the `definition` "HttpVerb".
   */
  http: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /**
   * Appended to baseUrl (default: nothing). {param} placeholders are replaced by the URL-encoded argument of that parameter, e.g. /lines/{line}/counts.
   */
  path?: string;
  /**
   * Arguments of the call, in call order.
   */
  parameters?: ScriptParameter[];
  /**
   * Type of the parsed result: a dataType, or Object for any JSON value.
   *
   * This interface was referenced by `ExternalSystem`'s JSON-Schema
   * via the `definition` "ReturnType".
   */
  returns?: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime" | "Object";
}
/**
 * Many instances of one template at one site. Each entry of instances is exactly an Instance with the shared fields (template, site, area, connection, state, parameters, labels) filled in; an entry's own fields win.
 */
export interface InstanceSet {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "InstanceSet";
  /**
   * Optional name of the set, for people.
   */
  name?: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels2;
  /**
   * The name of something defined elsewhere in the repository.
   */
  site: string;
  /**
   * The name of something defined elsewhere in the repository.
   */
  template: string;
  /**
   * Area of the site, as a path of area names joined by '/': Line1/Cell1. Must exist in the site.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "AreaPath".
   */
  area?: string;
  /**
   * enabled: running on the site. disabled: configuration kept, runtime stopped.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceState".
   */
  state?: "enabled" | "disabled";
  /**
   * Default data connection (of the instance's site) for all data attributes.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "ConnectionRef".
   */
  connection?: string;
  parameters?: Parameters2;
  /**
   * The instances of the set.
   *
   * @minItems 1
   */
  instances: [InstanceSetEntry, ...InstanceSetEntry[]];
}
/**
 * Key/value labels (string to string). Batches select instances by label.
 */
export interface Labels2 {
  [k: string]: string | undefined;
}
/**
 * Values usable in tag patterns as {{param.NAME}}.
 *
 * This interface was referenced by `Instance`'s JSON-Schema
 * via the `definition` "Parameters".
 */
export interface Parameters2 {
  /**
   * A literal value: boolean, number or string (DateTime values are ISO 8601 strings).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Scalar".
   */
  [k: string]: boolean | number | string | undefined;
}
/**
 * This interface was referenced by `InstanceSet`'s JSON-Schema
 * via the `definition` "Entry".
 */
export interface InstanceSetEntry {
  /**
   * Instance name: letters, digits, '_', '.', '-', at most 128 characters, not starting with '.' or '-', not ending with '.', never containing '..', and not a Windows device name in any case, alone or before a '.' (CON, PRN, AUX, NUL, COM0-9, LPT0-9: 'aux', 'Nul.pump'). It becomes a file name on the deploy branch, and config repos are checked out on Windows too.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceName".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Area of the site, as a path of area names joined by '/': Line1/Cell1. Must exist in the site.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "AreaPath".
   */
  area?: string;
  /**
   * enabled: running on the site. disabled: configuration kept, runtime stopped.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceState".
   */
  state?: "enabled" | "disabled";
  /**
   * Default data connection (of the instance's site) for all data attributes.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "ConnectionRef".
   */
  connection?: string;
  parameters?: Parameters2;
  bindings?: Bindings;
  overrides?: Overrides;
}
/**
 * Per data attribute (canonical path), where to read it from.
 *
 * This interface was referenced by `Instance`'s JSON-Schema
 * via the `definition` "Bindings".
 */
export interface Bindings {
  [k: string]: Binding | undefined;
}
/**
 * Where a data attribute is read from: tag and/or connection. Beats the template's tag pattern and the instance's connection.
 *
 * This interface was referenced by `Instance`'s JSON-Schema
 * via the `definition` "Binding".
 */
export interface Binding {
  /**
   * Tag (OPC UA node id), e.g. ns=2;s=L1.Pump07.Speed. Placeholders are allowed.
   */
  tag?: string;
  /**
   * Data connection of the site.
   */
  connection?: string;
}
/**
 * Per member (canonical path): a value (shorthand for { value: … }) or the fields to change.
 *
 * This interface was referenced by `Instance`'s JSON-Schema
 * via the `definition` "Overrides".
 */
export interface Overrides {
  [k: string]: boolean | number | string | InstanceOverride | undefined;
}
/**
 * One piece of equipment at a site, made from a template. Its id is <site>/<name>.
 */
export interface Instance {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "Instance";
  /**
   * Instance name: letters, digits, '_', '.', '-', at most 128 characters, not starting with '.' or '-', not ending with '.', never containing '..', and not a Windows device name in any case, alone or before a '.' (CON, PRN, AUX, NUL, COM0-9, LPT0-9: 'aux', 'Nul.pump'). It becomes a file name on the deploy branch, and config repos are checked out on Windows too.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceName".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * The name of something defined elsewhere in the repository.
   */
  site: string;
  /**
   * Area of the site, as a path of area names joined by '/': Line1/Cell1. Must exist in the site.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "AreaPath".
   */
  area?: string;
  /**
   * The name of something defined elsewhere in the repository.
   */
  template: string;
  /**
   * enabled: running on the site. disabled: configuration kept, runtime stopped.
   */
  state?: "enabled" | "disabled";
  /**
   * Default data connection (of the instance's site) for all data attributes.
   *
   * This interface was referenced by `Instance`'s JSON-Schema
   * via the `definition` "ConnectionRef".
   */
  connection?: string;
  parameters?: Parameters2;
  bindings?: Bindings;
  overrides?: Overrides;
}
/**
 * Attributes: value (static only). Alarms: priority, trigger operands (value, op, low, high, perSecond). Scripts cannot be overridden by an instance.
 *
 * This interface was referenced by `Instance`'s JSON-Schema
 * via the `definition` "InstanceOverride".
 */
export interface InstanceOverride {
  /**
   * A literal value: boolean, number or string (DateTime values are ISO 8601 strings).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Scalar".
   */
  value?: boolean | number | string;
  /**
   * Alarm priority, 1 (lowest) to 1000 (highest). Default 500.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Priority".
   */
  priority?: number;
  trigger?: TriggerOverride;
  /**
   * Not overridable here: use bindings.
   */
  tag?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Not overridable by an instance (override-field).
   */
  units?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Not overridable by an instance (override-field).
   */
  description?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Not overridable by an instance (override-field).
   */
  locked?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Not overridable by an instance (override-field).
   */
  onTrigger?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Scripts cannot be overridden by an instance (override-scope).
   */
  code?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Scripts cannot be overridden by an instance (override-scope).
   */
  timeoutMs?: {
    [k: string]: unknown | undefined;
  };
}
/**
 * New operands for an inherited trigger. Alarms: value, op, low, high, perSecond. Scripts: everyMs, expression. The trigger type and attribute never change.
 *
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "TriggerOverride".
 */
export interface TriggerOverride {
  /**
   * Never overridable (override-field).
   */
  type?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Never overridable (override-field).
   */
  attribute?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Comparison of the attribute value (left) with the threshold value (right).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ComparisonOperator".
   */
  op?: ">" | ">=" | "<" | "<=" | "==" | "!=";
  /**
   * A literal value: boolean, number or string (DateTime values are ISO 8601 strings).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Scalar".
   */
  value?: boolean | number | string;
  low?: number;
  high?: number;
  perSecond?: number;
  everyMs?: number;
  expression?: string;
}
/**
 * People scripts notify by email (notify(list, subject, body)), and the SMTP server that sends it. Site-wide: it reaches every site whose Site lists it in integrations (every site when the list is absent). Credentials are named, never written here.
 */
export interface NotificationList {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "NotificationList";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Email addresses; each message goes to all of them as BCC, in plain text.
   *
   * @minItems 1
   *
   * Items: An email address, local@domain.
   *
   * This interface was referenced by `NotificationList`'s JSON-Schema
   * via the `definition` "EmailAddress".
   */
  recipients: [string, ...string[]];
  smtp: Smtp;
  retry?: Retry3;
}
/**
 * The mail server the site sends through.
 *
 * This interface was referenced by `NotificationList`'s JSON-Schema
 * via the `definition` "Smtp".
 */
export interface Smtp {
  /**
   * Host name or address of the SMTP server.
   */
  host: string;
  /**
   * TCP port (default 587, or 465 with tls: tls, 25 with tls: none).
   */
  port?: number;
  /**
   * starttls: plain connection upgraded with STARTTLS, refused without it (default). tls: TLS from the first byte (usually port 465). none: no encryption (lab networks only).
   *
   * This interface was referenced by `NotificationList`'s JSON-Schema
   * via the `definition` "SmtpTls".
   */
  tls?: "starttls" | "tls" | "none";
  /**
   * An email address, local@domain.
   */
  from: string;
  auth?: SmtpAuth;
  /**
   * How long one delivery may take, in milliseconds (default 30000).
   */
  timeoutMs?: number;
}
/**
 * No login (the default).
 *
 * This interface was referenced by `NotificationList`'s JSON-Schema
 * via the `definition` "NoAuth".
 */
export interface SmtpNoAuth {
  type: "none";
}
/**
 * SMTP AUTH with a user name and the password the secret passwordSecret names.
 *
 * This interface was referenced by `NotificationList`'s JSON-Schema
 * via the `definition` "BasicAuth".
 */
export interface SmtpBasicAuth {
  type: "basic";
  username: string;
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  passwordSecret: string;
}
/**
 * XOAUTH2 with an access token from the OAuth2 client-credentials grant at tokenUrl; the client secret is the secret clientSecretSecret names.
 *
 * This interface was referenced by `NotificationList`'s JSON-Schema
 * via the `definition` "OAuth2Auth".
 */
export interface SmtpOAuth2Auth {
  type: "oauth2";
  /**
   * Mailbox to log in as (default: the from address).
   */
  username?: string;
  /**
   * Token endpoint, http:// or https://, never with credentials in it.
   */
  tokenUrl: string;
  clientId: string;
  /**
   * Name of a secret provided on the site (the environment variable SCADALINK_SECRET_<NAME> or the file <NAME> in its secrets directory), never its value: letters, digits and underscores, starting with a letter or underscore. Anything else looks like a credential written into the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "IntegrationSecret".
   */
  clientSecretSecret: string;
  /**
   * Scope requested with the token, if the provider needs one.
   */
  scope?: string;
}
/**
 * Delivery of its messages (default every 60000 ms, at most 60 attempts); then the message is parked.
 */
export interface Retry3 {
  /**
   * Fixed wait between attempts, in milliseconds.
   */
  intervalMs?: number;
  /**
   * Attempts before the message is parked (the first delivery counts).
   */
  maxAttempts?: number;
}
/**
 * Every parked message matching all of the given fields (at least one).
 */
export interface ParkedMessagesMatch {
  /**
   * The name of something defined elsewhere in the repository.
   */
  target?: string;
  /**
   * The name of something defined elsewhere in the repository.
   */
  method?: string;
  /**
   * The name of something defined elsewhere in the repository.
   */
  instance?: string;
  /**
   * Only messages parked before this time: UTC or with an offset, ISO 8601 (2026-04-21T06:00:00Z).
   */
  parkedBefore?: string;
}
/**
 * Repository-wide settings. Exactly one, in scadalink.yaml at the root of the config repo.
 */
export interface Repository {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "Repository";
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Branch the controller writes deployment packages to (default scadalink/deploy).
   */
  deployBranch?: string;
  /**
   * Prefix of the branches sites report status on; the site name is appended (default scadalink/status/).
   */
  statusBranchPrefix?: string;
  /**
   * auto: every valid commit on main releases every changed instance. batch: instances are released only by batches in phase execute.
   */
  rollout?: "auto" | "batch";
  /**
   * Globs (relative to the root) of YAML files that are not ScadaLink documents, e.g. .github/** or docs/**.
   */
  exclude?: string[];
}
/**
 * A site-wide helper function, called inline from any script with callShared(name, ...args). It cannot reach attributes.
 */
export interface SharedScript {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "SharedScript";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  parameters?: Parameters;
  /**
   * Value type of an attribute or script parameter.
   */
  returns?: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
  /**
   * The function body (JavaScript, ES2022). Parameters are in scope by name.
   */
  code: string;
}
/**
 * sites/<site>/site.json on the deploy branch: the site's data connections (secret names only), every shared script and, when the repository has any, the site's integrations (external systems, notification lists, database connections, its inbound API methods and parked-message actions, secret names only) with its store-and-forward bounds.
 */
export interface SiteArtifacts {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "SiteArtifacts";
  site: string;
  branches?: SiteBranches;
  /**
   * Sorted by name, every default filled in.
   */
  dataConnections: ArtifactDataConnection[];
  /**
   * Every shared script of the repository, sorted by name.
   */
  sharedScripts: ArtifactSharedScript[];
  storeAndForward?: ArtifactStoreAndForward;
  /**
   * The external systems the Site's integrations list names (every one when it has no list), sorted by name, every default filled in.
   */
  externalSystems?: ArtifactExternalSystem[];
  /**
   * The notification lists the Site's integrations list names (every one when it has no list), sorted by name, every default filled in.
   */
  notificationLists?: ArtifactNotificationList[];
  /**
   * The database connections the Site's integrations list names (every one when it has no list), sorted by name, every default filled in.
   */
  databaseConnections?: ArtifactDatabaseConnection[];
  /**
   * The ApiMethods that name this site, sorted by name.
   */
  apiMethods?: ArtifactApiMethod[];
  /**
   * The ParkedMessages documents that name this site, sorted by name; the site applies each revisionHash once.
   */
  parkedMessages?: ArtifactParkedMessages[];
  /**
   * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "RevisionHash".
   */
  revisionHash: string;
}
/**
 * The branch names the controller used for this release (scadalink.yaml's deployBranch and statusBranchPrefix, defaults filled in): the site checks that it read this deploy branch and reports on <statusBranchPrefix><site>. Absent on releases written before it existed: the defaults.
 */
export interface SiteBranches {
  deployBranch: string;
  statusBranchPrefix: string;
}
export interface ArtifactDataConnection {
  name: string;
  protocol: "opcua";
  endpoint: string;
  /**
   * OPC UA message security mode.
   *
   * This interface was referenced by `Site`'s JSON-Schema
   * via the `definition` "SecurityMode".
   */
  securityMode: "None" | "Sign" | "SignAndEncrypt";
  /**
   * OPC UA security policy.
   *
   * This interface was referenced by `Site`'s JSON-Schema
   * via the `definition` "SecurityPolicy".
   */
  securityPolicy: "None" | "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";
  auth: Auth;
  samplingIntervalMs: number;
  publishingIntervalMs: number;
  reconnectIntervalMs: number;
}
/**
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "AnonymousAuth".
 */
export interface AnonymousAuth {
  type: "anonymous";
}
/**
 * User name and password; the password is a secret provided on the site under passwordSecret.
 *
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "UsernameAuth".
 */
export interface UsernameAuth {
  type: "username";
  username: string;
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  passwordSecret: string;
}
export interface ArtifactSharedScript {
  name: string;
  parameters: Parameters1;
  returns: ("Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime") | null;
  code: string;
}
/**
 * The Site's storeAndForward bounds, defaults filled in.
 */
export interface ArtifactStoreAndForward {
  maxMessages: number;
  maxBytes: number;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "ArtifactExternalSystem".
 */
export interface ArtifactExternalSystem {
  name: string;
  baseUrl: string;
  auth: ArtifactHttpNoAuth | ArtifactHttpApiKeyAuth | ArtifactHttpBasicAuth | ArtifactHttpBearerAuth;
  timeoutMs: number;
  retry: ArtifactRetry;
  /**
   * Sorted by name.
   */
  methods: ArtifactExternalMethod[];
}
export interface ArtifactHttpNoAuth {
  type: "none";
}
export interface ArtifactHttpApiKeyAuth {
  type: "apiKey";
  header: string;
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  secret: string;
}
export interface ArtifactHttpBasicAuth {
  type: "basic";
  username: string;
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  passwordSecret: string;
}
export interface ArtifactHttpBearerAuth {
  type: "bearer";
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  tokenSecret: string;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "Retry".
 */
export interface ArtifactRetry {
  intervalMs: number;
  maxAttempts: number;
}
export interface ArtifactExternalMethod {
  name: string;
  /**
   * HTTP method of the request.
   *
   * This interface was referenced by `ExternalSystem`'s JSON-Schema
   * via the `definition` "HttpVerb".
   */
  http: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  parameters: Parameters1;
  returns: ("Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime" | "Object") | null;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "ArtifactNotificationList".
 */
export interface ArtifactNotificationList {
  name: string;
  /**
   * Sorted.
   */
  recipients: string[];
  smtp: ArtifactSmtp;
  retry: ArtifactRetry;
}
export interface ArtifactSmtp {
  host: string;
  port: number;
  /**
   * starttls: plain connection upgraded with STARTTLS, refused without it (default). tls: TLS from the first byte (usually port 465). none: no encryption (lab networks only).
   *
   * This interface was referenced by `NotificationList`'s JSON-Schema
   * via the `definition` "SmtpTls".
   */
  tls: "starttls" | "tls" | "none";
  from: string;
  auth: ArtifactSmtpNoAuth | ArtifactSmtpBasicAuth | ArtifactSmtpOAuth2Auth;
  timeoutMs: number;
}
export interface ArtifactSmtpNoAuth {
  type: "none";
}
export interface ArtifactSmtpBasicAuth {
  type: "basic";
  username: string;
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  passwordSecret: string;
}
export interface ArtifactSmtpOAuth2Auth {
  type: "oauth2";
  username: string;
  tokenUrl: string;
  clientId: string;
  /**
   * Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  clientSecretSecret: string;
  scope: string | null;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "ArtifactDatabaseConnection".
 */
export interface ArtifactDatabaseConnection {
  name: string;
  provider: "postgres";
  host: string;
  port: number;
  database: string;
  user: string;
  passwordSecret: string | null;
  poolSize: number;
  timeoutMs: number;
  retry: ArtifactRetry;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "ArtifactApiMethod".
 */
export interface ArtifactApiMethod {
  name: string;
  instance: string;
  /**
   * Canonical path of the script in the instance's package.
   */
  script: string;
  /**
   * Secret names, sorted.
   *
   * Items: Name of a secret provided on the site, never its value. The site reads it from the environment variable SCADALINK_SECRET_<NAME> or from the file <NAME> in its secrets directory.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SecretName".
   *
   * This interface was referenced by `SiteArtifacts`'s JSON-Schema
   * via the `definition` "SecretName".
   */
  keys: string[];
  timeoutMs: number;
}
/**
 * This interface was referenced by `SiteArtifacts`'s JSON-Schema
 * via the `definition` "ArtifactParkedMessages".
 */
export interface ArtifactParkedMessages {
  name: string;
  action: "retry" | "discard";
  /**
   * Sorted; null when the document selects by match.
   */
  ids: string[] | null;
  match: ArtifactParkedMatch | null;
  /**
   * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
   */
  revisionHash: string;
}
export interface ArtifactParkedMatch {
  target: string | null;
  method: string | null;
  instance: string | null;
  parkedBefore: string | null;
}
/**
 * sites/<site>/manifest.json on the deploy branch: the revision every instance of the site should run.
 */
export interface SiteManifest {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "SiteManifest";
  site: string;
  /**
   * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
   */
  siteRevisionHash: string;
  /**
   * Instance name to the revisionHash of sites/<site>/instances/<name>.json.
   */
  instances: {
    /**
     * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
     *
     * This interface was referenced by `Common`'s JSON-Schema
     * via the `definition` "RevisionHash".
     */
    [k: string]: string | undefined;
  };
  /**
   * true: the site may apply this manifest even if it removes every instance.
   */
  allowEmpty?: boolean;
}
/**
 * status.json on a site's status branch: what the site has applied and how it is doing.
 */
export interface SiteStatus {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion: "scadalink/v1";
  kind: "SiteStatus";
  site: string;
  /**
   * Increases with every report the site makes.
   */
  sequence: number;
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  reportedAt: string;
  /**
   * Deploy-branch commit last applied.
   */
  deployCommit: string | null;
  siteRevisionHash: string | null;
  instances: {
    [k: string]: InstanceStatus | undefined;
  };
  health: SiteHealth;
  /**
   * A site run as an active/standby pair (SPEC 9): both nodes as the active sees them, the active first. Absent for a single node.
   */
  nodes?: PairNodeStatus[];
  parked?: ParkedReport;
}
export interface InstanceStatus {
  /**
   * Revision applied; null when the instance's first revision was refused (nothing of it runs).
   */
  revisionHash: string | null;
  /**
   * enabled: running on the site. disabled: configuration kept, runtime stopped.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "InstanceState".
   */
  state: "enabled" | "disabled";
  /**
   * Outcome of one released instance on its site. pass; login-blocked (credentials rejected, or the named secret is missing on the site); network-blocked (endpoint unreachable); host-bridge-blocked (server reachable, session or subscription refused); local-runtime-blocked (the site runtime refused the package: script compile, sandbox); data-mismatch (tags missing, wrong data type, bad quality after the settle time); artifact-mismatch (package hash or schema check failed); environment-unavailable (no record before the batch deadline; set by the controller); runtime-error (anything else).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ResultState".
   */
  result:
    | "pass"
    | "login-blocked"
    | "network-blocked"
    | "host-bridge-blocked"
    | "local-runtime-blocked"
    | "data-mismatch"
    | "artifact-mismatch"
    | "environment-unavailable"
    | "runtime-error";
  message: string | null;
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  appliedAt?: string;
  /**
   * Alarms of the running instance that are active now.
   */
  activeAlarms?: ActiveAlarm[];
}
export interface ActiveAlarm {
  path: string;
  since: string | null;
  priority: number;
}
export interface SiteHealth {
  lastPoll: string | null;
  connections: ConnectionHealth[];
  sync?: SyncState;
  tags: TagCounts;
  quality?: QualityCounts;
  alarms?: AlarmCounts;
  scripts?: ScriptCounts;
  /**
   * Store-and-forward per target, keyed kind/name (externalSystem/Mes, notificationList/Operators, databaseConnection/Historian): every target site.json defines and every target with stored messages. Absent when there are none.
   */
  storeAndForward?: {
    [k: string]: TargetBacklog | undefined;
  };
}
export interface ConnectionHealth {
  name: string;
  state: "connected" | "connecting" | "disconnected" | "blocked";
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  since?: string;
  error?: string | null;
}
/**
 * The last sync with the deploy branch: ok, refused (prune safety or an unreadable manifest; nothing of that head applied) or unreachable (git could not be reached; the last applied state keeps running).
 */
export interface SyncState {
  state: "ok" | "refused" | "unreachable";
  message: string | null;
  /**
   * Deploy-branch head seen last.
   */
  deployHead: string | null;
}
export interface TagCounts {
  resolved: number;
  unresolved: number;
  bad: number;
}
/**
 * Data attributes of the running instances by quality.
 */
export interface QualityCounts {
  good: number;
  uncertain: number;
  bad: number;
}
export interface AlarmCounts {
  active: number;
}
/**
 * Script runs that failed since the runtime started (errors include timeouts) and scripts not loaded.
 */
export interface ScriptCounts {
  errors: number;
  timeouts: number;
  notLoaded: number;
}
export interface TargetBacklog {
  /**
   * Messages waiting for delivery.
   */
  queued: number;
  /**
   * Messages parked (a permanent failure, or maxAttempts) until an operator retries or discards them.
   */
  parked: number;
  /**
   * When the oldest queued message was enqueued; null when none is queued.
   */
  oldestQueuedAt: string | null;
  /**
   * Payload bytes of the queued and parked messages.
   */
  bytes: number;
  /**
   * false while the site holds the target's messages (site.json does not define it, or the site has no delivery for its kind): they are neither sent nor parked.
   */
  configured: boolean;
}
export interface PairNodeStatus {
  /**
   * The node's name (--node).
   */
  node: string;
  /**
   * unknown: the peer has not been heard from within failoverSeconds.
   */
  role: "active" | "standby" | "stepping-down" | "unknown";
  /**
   * The active's activation epoch (the fencing token); for a standby the highest epoch it has seen.
   */
  epoch: number;
  /**
   * The reporting node: when it last sent a heartbeat; the peer: when one of it last arrived.
   */
  lastHeartbeat: string | null;
  /**
   * The standby: from a change's commit on the active to the standby's acknowledgement of it, last measured.
   */
  replicationLagMs: number | null;
  /**
   * The active: replication log entries the standby has not acknowledged yet.
   */
  replicationBacklog: number | null;
}
/**
 * The site's parked store-and-forward messages (never a payload) and the ParkedMessages documents of its site.json it has applied. Absent when there are neither.
 */
export interface ParkedReport {
  /**
   * Parked messages on the site.
   */
  total: number;
  /**
   * The most recently enqueued parked messages, newest first, at most 100; total counts the rest too.
   */
  messages: ParkedMessageReport[];
  /**
   * Each ParkedMessages document revision of the applied site.json, once the site has applied it (once per revision).
   */
  actions: ParkedActionReport[];
}
export interface ParkedMessageReport {
  /**
   * The message id (its Idempotency-Key), as scadalink site parked retry and ParkedMessages ids take it.
   */
  id: string;
  kind: "externalSystem" | "notificationList" | "databaseConnection";
  target: string;
  /**
   * The method (or the subject) the message was enqueued with; never its payload.
   */
  label: string;
  /**
   * The instance whose script enqueued it.
   */
  instance: string | null;
  attempts: number;
  lastError: string | null;
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  enqueuedAt: string;
  lastAttemptAt: string | null;
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  parkedAt: string;
}
export interface ParkedActionReport {
  /**
   * The ParkedMessages document.
   */
  name: string;
  /**
   * sha256: followed by the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without this field.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "RevisionHash".
   */
  revisionHash: string;
  action: "retry" | "discard";
  /**
   * UTC time, ISO 8601 (e.g. 2026-04-20T08:15:00.000Z).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Timestamp".
   */
  appliedAt: string;
  /**
   * The deploy commit the site had applied when it acted.
   */
  deployCommit: string | null;
  /**
   * Messages the document named (ids) or its match selected.
   */
  selected: number;
  /**
   * Messages retried or discarded.
   */
  done: number;
  /**
   * Named ids that were queued, not parked: left as they were.
   */
  notParked: number;
  /**
   * Named ids the site does not hold (delivered, discarded, or never stored).
   */
  unknown: number;
}
/**
 * A plant or station that runs one site reconciler: its areas, its data connections (OPC UA servers), the integrations it gets and the bounds of its store-and-forward store. Credentials are named, never written here.
 */
export interface Site {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "Site";
  /**
   * Site or data connection name: lowercase letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit, and not a Windows device name (con, prn, aux, nul, com0-9, lpt0-9).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "SiteName".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Areas of the site, nested: Line1 containing Cell1 is the area path Line1/Cell1.
   */
  areas?: Area[];
  /**
   * OPC UA servers the site reads and writes.
   */
  dataConnections?: DataConnection[];
  /**
   * The external systems, notification lists and database connections this site gets, by name. Absent: every one in the repository; [] none.
   *
   * Items: The name of something defined elsewhere in the repository.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Reference".
   */
  integrations?: string[];
  storeAndForward?: StoreAndForward;
  /**
   * true: a deploy may remove every instance of this site. Without it the site refuses a manifest that would delete all its instances.
   */
  allowEmpty?: boolean;
}
/**
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "Area".
 */
export interface Area {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  /**
   * Sub-areas.
   */
  areas?: Area[];
}
/**
 * Bounds of the site's store-and-forward store (queued and parked messages together). When either is reached, the script call that enqueues throws: nothing is dropped silently.
 *
 * This interface was referenced by `Site`'s JSON-Schema
 * via the `definition` "StoreAndForward".
 */
export interface StoreAndForward {
  /**
   * Messages the store holds at most (default 100000).
   */
  maxMessages?: number;
  /**
   * Bytes of message payload the store holds at most (default 268435456, 256 MiB).
   */
  maxBytes?: number;
}
/**
 * A reusable equipment type: attributes, alarms and scripts, optionally extending one parent template and composing other templates as modules. Instances are made from templates.
 */
export interface Template {
  /**
   * Format version of this document. Only scadalink/v1 exists; it is the default when omitted.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "ApiVersion".
   */
  apiVersion?: "scadalink/v1";
  kind: "Template";
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  labels?: Labels;
  /**
   * Attributes defined by this template (not inherited ones: change those with overrides).
   */
  attributes?: AttributeDefinition[];
  /**
   * Alarms defined by this template.
   */
  alarms?: AlarmDefinition[];
  /**
   * Scripts defined by this template.
   */
  scripts?: ScriptDefinition[];
  /**
   * Modules: other templates embedded under a name. Their members appear as <Module>.<member>.
   */
  compose?: ModuleDefinition[];
  /**
   * Changes to inherited or composed members, keyed by canonical path (Rated, Inlet.Travel, Inlet.Actuator.Torque).
   */
  overrides?: {
    [k: string]: MemberOverride | undefined;
  };
  /**
   * The name of something defined elsewhere in the repository.
   */
  extends?: string;
}
/**
 * A named value of the equipment: bound to a device tag (source: data) or a fixed/settable value (source: static).
 *
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "Attribute".
 */
export interface AttributeDefinition {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  /**
   * Value type of an attribute or script parameter.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "DataType".
   */
  dataType: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
  /**
   * data: read from (and optionally written to) a device tag. static: a value held by the site (default).
   */
  source?: "data" | "static";
  /**
   * Default tag (OPC UA node id) pattern for a data attribute. Placeholders: {{instance}}, {{site}}, {{area}}, {{module}}, {{attribute}}, {{param.NAME}}.
   */
  tag?: string;
  /**
   * For data attributes: read (default), or readWrite to let scripts write to the device.
   */
  access?: "read" | "readWrite";
  /**
   * Engineering units, e.g. rpm, bar, m3/h.
   */
  units?: string;
  /**
   * Default value of a static attribute; must fit dataType.
   */
  value?: boolean | number | string;
  /**
   * true: nobody below (derived templates, composing templates, instances) may change this member.
   */
  locked?: boolean;
}
/**
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "Alarm".
 */
export interface AlarmDefinition {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  trigger: AlarmTrigger;
  /**
   * Alarm priority, 1 (lowest) to 1000 (highest). Default 500.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Priority".
   */
  priority?: number;
  /**
   * Script of the same module run when the alarm becomes active; it must take no parameters.
   */
  onTrigger?: string;
  /**
   * true: nobody below may change this alarm.
   */
  locked?: boolean;
}
/**
 * A JavaScript (ES2022) function body run on the site. API: attributes.get/set, callScript, callShared, log.info/warn/error, now(), and the integrations externalSystem.call/cachedCall, notify, database.query/cachedWrite.
 *
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "Script".
 */
export interface ScriptDefinition {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  trigger: ScriptTrigger;
  parameters?: Parameters;
  /**
   * Value type of an attribute or script parameter.
   */
  returns?: "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";
  /**
   * Longest a single run may take, in milliseconds (default 5000).
   */
  timeoutMs?: number;
  /**
   * The function body. Parameters are in scope by name.
   */
  code: string;
  /**
   * true: nobody below may change this script.
   */
  locked?: boolean;
}
/**
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "Module".
 */
export interface ModuleDefinition {
  /**
   * Name of a template, shared script, member (attribute, alarm, script), module or area: a letter or underscore, then letters, digits or underscores, at most 64 characters.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Identifier".
   */
  name: string;
  /**
   * The name of something defined elsewhere in the repository.
   */
  template: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
}
/**
 * Fields to change on an inherited or composed member. Attributes: value, tag, units, description, locked (only to true). Alarms: trigger operands, priority, onTrigger, locked. Scripts: code, timeoutMs, trigger operands, locked.
 *
 * This interface was referenced by `Template`'s JSON-Schema
 * via the `definition` "MemberOverride".
 */
export interface MemberOverride {
  /**
   * A literal value: boolean, number or string (DateTime values are ISO 8601 strings).
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Scalar".
   */
  value?: boolean | number | string;
  tag?: string;
  units?: string;
  /**
   * Free text for people; never part of a deployment package.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Description".
   */
  description?: string;
  /**
   * Set to true to lock the member for everything below. A locked member can never be unlocked.
   */
  locked?: boolean;
  trigger?: TriggerOverride;
  /**
   * Alarm priority, 1 (lowest) to 1000 (highest). Default 500.
   *
   * This interface was referenced by `Common`'s JSON-Schema
   * via the `definition` "Priority".
   */
  priority?: number;
  onTrigger?: string;
  code?: string;
  timeoutMs?: number;
  /**
   * Never overridable (override-field).
   */
  dataType?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Never overridable (override-field).
   */
  source?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Never overridable (override-field).
   */
  access?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Never overridable (override-field).
   */
  parameters?: {
    [k: string]: unknown | undefined;
  };
  /**
   * Never overridable (override-field).
   */
  returns?: {
    [k: string]: unknown | undefined;
  };
}
/**
 * What `scadalink validate --format json` prints: exactly one object.
 */
export interface ValidateResult {
  /**
   * true when there is no error (warnings allowed).
   */
  ok: boolean;
  errorCount: number;
  warningCount: number;
  diagnostics: Diagnostic[];
  stats: ValidateStats;
}
/**
 * This interface was referenced by `ValidateResult`'s JSON-Schema
 * via the `definition` "Diagnostic".
 */
export interface Diagnostic {
  /**
   * Stable id of the validation rule.
   *
   * This interface was referenced by `ValidateResult`'s JSON-Schema
   * via the `definition` "RuleId".
   */
  rule: string;
  severity: "error" | "warning";
  message: string;
  /**
   * Path relative to the repository root, with '/' separators.
   */
  file: string;
  /**
   * 1-based line where the problem starts.
   */
  line: number;
  /**
   * 1-based column where the problem starts, in UTF-16 code units (as SARIF counts by default).
   */
  column: number;
  /**
   * Line where the offending YAML node ends. Absent when the problem is at a point (a YAML syntax error, a position inside script code, an empty value): then it ends where it starts.
   */
  endLine?: number;
  /**
   * Column just after the node's last character on endLine (exclusive, as SARIF's endColumn). Present exactly when endLine is.
   */
  endColumn?: number;
}
export interface ValidateStats {
  documents: number;
  templates: number;
  instances: number;
  sites: number;
  durationMs: number;
}
