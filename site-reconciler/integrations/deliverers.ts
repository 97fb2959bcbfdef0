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
  /** A node of a site pair: the activation it acts in, null while it does not (then nothing is delivered). */
  fence?: () => { node: string; epoch: number } | null;
}

/** The headers that say which node of a pair delivered a message, in which epoch. */
export const NODE_HEADER = "x-scadalink-node";
export const EPOCH_HEADER = "x-scadalink-epoch";

/**
 * The store-and-forward deliverer of each target kind: the one place a kind is wired in, one line each. A kind
 * without one keeps its messages held (queued, reported as configured: false), never parked.
 */
export function siteDeliverers(ctx: DelivererContext): Partial<Record<TargetKind, Deliverer>> {
  const fence = ctx.fence;
  const stamp = fence
    ? (): Record<string, string> => {
        const a = fence();
        return a ? { [NODE_HEADER]: a.node, [EPOCH_HEADER]: String(a.epoch) } : {};
      }
    : undefined;
  const all: Partial<Record<TargetKind, Deliverer>> = {
    externalSystem: httpDeliverer({ secrets: ctx.secrets, ...(stamp ? { stamp } : {}) }),
    notificationList: emailDeliverer({
      secrets: ctx.secrets,
      ...(ctx.caFile ? { caFile: ctx.caFile } : {}),
      ...(stamp ? { stamp } : {}),
    }),
    databaseConnection: postgresDeliverer({
      connections: ctx.database ?? new PostgresConnections({ secrets: ctx.secrets }),
    }),
  };
  return fence ? Object.fromEntries(Object.entries(all).map(([k, d]) => [k, fenced(d!, fence)])) : all;
}

/** A deliverer that delivers only while this node acts: the last guard of a node that is stepping down. */
function fenced(d: Deliverer, fence: () => unknown): Deliverer {
  return {
    validate: (p) => d.validate(p),
    deliver: (m, t, stop) =>
      fence()
        ? d.deliver(m, t, stop)
        : Promise.resolve({ ok: false, transient: true, error: "this node of the pair is not active" }),
  };
}
