// What a script may name, shared by `validate` (rules/scripts.ts) and the site's sandbox (lockdown, sandbox):
// one list, so a script that validates is a script the sandbox runs, and nothing more.

/** The script API of section 2.8, and of 8.2: externalSystem.call/cachedCall, notify, database.query/cachedWrite. */
export const SCRIPT_API = [
  "attributes",
  "callScript",
  "callShared",
  "log",
  "now",
  "externalSystem",
  "notify",
  "database",
];
/** The integration calls of section 8.2 by object: members a script may use. */
export const INTEGRATION_MEMBERS: Readonly<Record<"externalSystem" | "database", readonly string[]>> = {
  externalSystem: ["call", "cachedCall"],
  database: ["query", "cachedWrite"],
};
/** Language built-ins with no I/O and no way out of the sandbox. */
export const BUILTINS = [
  "Math",
  "JSON",
  "Number",
  "String",
  "Boolean",
  "Array",
  "Object",
  "Date",
  "Map",
  "Set",
  "Error",
  "TypeError",
  "RangeError",
  "parseInt",
  "parseFloat",
  "isNaN",
  "isFinite",
  "NaN",
  "Infinity",
  "undefined",
];
/**
 * Globals a template script may read. A shared script gets no attributes, callScript or integrations: it is a pure
 * helper, and what leaves the site is the instance's to do (listings and parked messages name the instance).
 */
export const TEMPLATE_GLOBALS: ReadonlySet<string> = new Set([...SCRIPT_API, ...BUILTINS]);
export const SHARED_GLOBALS: ReadonlySet<string> = new Set(["callShared", "log", "now", ...BUILTINS]);
