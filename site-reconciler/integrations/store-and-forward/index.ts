// Store-and-forward: the site-internal engine the script API (cachedCall, notify, cachedWrite), the operators'
// parked commands and the status report use. See docs/store-and-forward.md. The email and PostgreSQL deliverers
// live in the modules of their protocols (../email, ../database) and are exported here with HTTP's.

export { DatabaseError, PostgresConnections, postgresDeliverer, validateDbWrite } from "../database/index.js";
export { emailDeliverer, validateEmail } from "../email/index.js";
export { classifyError, classifyStatus } from "./classify.js";
export { httpDeliverer, validateHttpRequest } from "./deliver-http.js";
export {
  type EngineOptions,
  type OperatorResult,
  type SafCounters,
  type SafLogger,
  StoreAndForward,
} from "./engine.js";
export { safMetrics } from "./metrics.js";
export { targetsFromArtifacts } from "./targets.js";
export * from "./types.js";
