import type { Logger } from "pino";
import type { SecretLookup } from "../runtime/runtime.js";
import { PostgresConnections, postgresDeliverer } from "./database/index.js";
import { emailDeliverer } from "./email/index.js";
import { type Deliverer, httpDeliverer, type TargetKind } from "./store-and-forward/index.js";

/** What a deliverer is made from: the site's secrets (by name, at each attempt) and its log. */
export interface DelivererContext {
  secrets: SecretLookup;
  log: Logger;
  /** A PEM file of CAs the site trusts besides Node's defaults, for SMTP servers and token endpoints. */
  caFile?: string;
  /** The site's PostgreSQL pools, shared with database.query; default: pools of the deliverer's own. */
  database?: PostgresConnections;
}

/**
 * The store-and-forward deliverer of each target kind: the one place a kind is wired in, one line each. A kind
 * without one keeps its messages held (queued, reported as configured: false), never parked.
 */
export function siteDeliverers(ctx: DelivererContext): Partial<Record<TargetKind, Deliverer>> {
  return {
    externalSystem: httpDeliverer({ secrets: ctx.secrets }),
    notificationList: emailDeliverer({ secrets: ctx.secrets, ...(ctx.caFile ? { caFile: ctx.caFile } : {}) }),
    databaseConnection: postgresDeliverer({
      connections: ctx.database ?? new PostgresConnections({ secrets: ctx.secrets }),
    }),
  };
}
