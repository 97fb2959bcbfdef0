// The site's half of the script API of SPEC 8.2 (externalSystem, notify, database): requests built from the
// applied definitions, calls made now, and cached ones committed to store-and-forward.
export { CallError, callExternal } from "./call-http.js";
export { CallMismatchError, httpRequestOf } from "./http-request.js";
export { ScriptIntegrations, type ScriptIntegrationsOptions } from "./script-integrations.js";
