// What a script may name, shared by `validate` (rules/scripts.ts) and the site's sandbox (lockdown, sandbox):
// one list, so a script that validates is a script the sandbox runs, and nothing more.

/** The script API of section 2.8. */
export const SCRIPT_API = ["attributes", "callScript", "callShared", "log", "now"];
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
/** Globals a template script may read; a shared script gets no attributes or callScript. */
export const TEMPLATE_GLOBALS: ReadonlySet<string> = new Set([...SCRIPT_API, ...BUILTINS]);
export const SHARED_GLOBALS: ReadonlySet<string> = new Set(["callShared", "log", "now", ...BUILTINS]);
