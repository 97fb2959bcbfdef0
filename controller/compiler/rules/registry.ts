/** Every validation rule: its stable id (API: users' tooling keys on it), severity and a one-line summary. */
export const RULES = {
  "yaml-syntax": {
    severity: "error",
    summary: "Unparsable YAML, duplicate keys, alias bombs, or a file over the size limit",
  },
  schema: { severity: "error", summary: "A document that does not match its JSON Schema" },
  "unknown-kind": { severity: "error", summary: "A document whose kind is missing or not known" },
  "unsupported-version": { severity: "error", summary: "An apiVersion other than scadalink/v1" },
  "invalid-name": { severity: "error", summary: "A name breaking the naming rules, including case-only clashes" },
  "duplicate-name": { severity: "error", summary: "Two definitions with one name in one namespace" },
  "missing-repository": { severity: "error", summary: "No Repository document in scadalink.yaml at the root" },
  "unknown-template": { severity: "error", summary: "extends, compose or an instance names no template" },
  "inheritance-cycle": { severity: "error", summary: "A cycle through extends" },
  "composition-cycle": { severity: "error", summary: "A cycle through compose (possibly mixed with extends)" },
  "member-collision": { severity: "error", summary: "Two members with one canonical path" },
  "override-unknown-member": { severity: "error", summary: "An override or binding for a path that does not exist" },
  "override-field": { severity: "error", summary: "Overriding a field that may not be changed at that level" },
  "override-scope": { severity: "error", summary: "An instance overriding a script" },
  "override-locked": { severity: "error", summary: "Overriding a locked member, or unlocking one" },
  "value-type-mismatch": { severity: "error", summary: "A value that does not fit the dataType" },
  "unknown-site": { severity: "error", summary: "An instance or a ParkedMessages document names no site" },
  "unknown-area": { severity: "error", summary: "An instance names an area its site does not have" },
  "unknown-connection": {
    severity: "error",
    summary: "An instance or binding names a data connection its site does not have",
  },
  "unbound-data-attribute": {
    severity: "error",
    summary: "A data attribute of an instance with no tag or no connection",
  },
  "tag-pattern": { severity: "error", summary: "An unknown {{placeholder}}, or one the instance cannot fill" },
  "trigger-unknown-attribute": { severity: "error", summary: "A trigger names no attribute of the module" },
  "trigger-type-mismatch": {
    severity: "error",
    summary: "Trigger operands that cannot work with the attribute's type",
  },
  "unknown-script": { severity: "error", summary: "onTrigger names no script, or one that takes parameters" },
  "script-syntax": { severity: "error", summary: "Script code that does not compile" },
  "shared-script-syntax": { severity: "error", summary: "Shared script code that does not compile" },
  "script-forbidden-api": { severity: "error", summary: "Script code reaching a global outside the script API" },
  "script-unknown-call-target": {
    severity: "error",
    summary: "callScript/callShared with a literal name that does not exist",
  },
  "script-arg-mismatch": {
    severity: "error",
    summary: "Wrong argument count, or a literal argument of the wrong type",
  },
  "script-unknown-attribute": {
    severity: "error",
    summary: "attributes.get/set of a path that is not an attribute, or set of a read-only data attribute",
  },
  "secret-literal": { severity: "error", summary: "A credential-looking literal in the repository" },
  "unsupported-protocol": { severity: "error", summary: "A data connection protocol other than opcua" },
  "unknown-integration": {
    severity: "error",
    summary: "A Site's integrations names no external system, notification list or database connection",
  },
  "unknown-path-parameter": {
    severity: "error",
    summary: "An external system method's path has a {placeholder} that names none of its parameters",
  },
  "unknown-api-method-target": {
    severity: "error",
    summary: "An ApiMethod names no site, no instance of it, or no call-triggered script of that instance",
  },
  "unknown-external-system": {
    severity: "error",
    summary: "externalSystem.call/cachedCall naming no external system (or one the instance's site does not get)",
  },
  "unknown-external-method": {
    severity: "error",
    summary: "externalSystem.call/cachedCall naming a method the external system does not have",
  },
  "unknown-notification-list": {
    severity: "error",
    summary: "notify naming no notification list (or one the instance's site does not get)",
  },
  "unknown-database-connection": {
    severity: "error",
    summary: "database.query/cachedWrite naming no database connection (or one the instance's site does not get)",
  },
  "batch-unknown-instance": { severity: "error", summary: "A batch selects an instance id that does not exist" },
  "batch-unknown-dependency": { severity: "error", summary: "A batch's after names no batch" },
  "batch-cycle": { severity: "error", summary: "A cycle through batches' after" },
  "batch-immutable": { severity: "error", summary: "The selection of an already released batch changed" },
  "unused-template": { severity: "warning", summary: "A template no instance, extends or compose uses" },
  "script-sql-literal": {
    severity: "warning",
    summary: "SQL for database.query/cachedWrite put together by concatenation instead of parameters",
  },
  "batch-empty-match": { severity: "warning", summary: "A batch match rule that selects no instance" },
  "stale-instance": {
    severity: "warning",
    summary: "An instance whose compiled revision differs from its released one",
  },
} as const satisfies Record<string, { severity: "error" | "warning"; summary: string }>;

export type RuleId = keyof typeof RULES;
export type Severity = "error" | "warning";

export function isRuleId(s: string): s is RuleId {
  return Object.hasOwn(RULES, s);
}
