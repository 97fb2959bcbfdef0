import type {
  ApiMethod,
  ArtifactApiMethod,
  ArtifactDatabaseConnection,
  ArtifactExternalSystem,
  ArtifactNotificationList,
  ArtifactParkedMessages,
  ArtifactRetry,
  ArtifactSmtp,
  ArtifactStoreAndForward,
  DatabaseConnection,
  ExternalSystem,
  NotificationList,
  ParkedMessages,
  ParkedMessagesMatch,
  Retry,
  Site,
} from "../../../schemas/types.js";
import { withRevisionHash } from "../../contract/hash.js";
import type { SiteIntegrations } from "../model.js";

/**
 * Defaults of the integration documents and of Site.storeAndForward. They are written into site.json, so
 * writing one out or leaving it out gives the same hash (docs/integrations.md lists them).
 */
export const INTEGRATION_DEFAULTS = {
  externalSystem: { timeoutMs: 5000, retry: { intervalMs: 30_000, maxAttempts: 20 }, apiKeyHeader: "X-Api-Key" },
  notificationList: { retry: { intervalMs: 60_000, maxAttempts: 60 }, tls: "starttls", timeoutMs: 30_000 },
  smtpPorts: { starttls: 587, tls: 465, none: 25 },
  databaseConnection: { port: 5432, poolSize: 4, timeoutMs: 5000, retry: { intervalMs: 30_000, maxAttempts: 100 } },
  apiMethod: { timeoutMs: 10_000 },
  storeAndForward: { maxMessages: 100_000, maxBytes: 256 * 1024 * 1024 },
} as const;

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const sorted = (xs: readonly string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function retry(r: Retry | undefined, d: ArtifactRetry): ArtifactRetry {
  return { intervalMs: r?.intervalMs ?? d.intervalMs, maxAttempts: r?.maxAttempts ?? d.maxAttempts };
}

export function externalSystemArtifact(s: ExternalSystem): ArtifactExternalSystem {
  const d = INTEGRATION_DEFAULTS.externalSystem;
  const a = s.auth;
  const auth: ArtifactExternalSystem["auth"] =
    a?.type === "apiKey"
      ? { type: "apiKey", header: a.header ?? d.apiKeyHeader, secret: a.secret }
      : a?.type === "basic"
        ? { type: "basic", username: a.username, passwordSecret: a.passwordSecret }
        : a?.type === "bearer"
          ? { type: "bearer", tokenSecret: a.tokenSecret }
          : { type: "none" };
  return {
    name: s.name,
    // A trailing slash would double the one every path starts with.
    baseUrl: s.baseUrl.replace(/\/+$/, ""),
    auth,
    timeoutMs: s.timeoutMs ?? d.timeoutMs,
    retry: retry(s.retry, d.retry),
    methods: (s.methods ?? [])
      .map((m) => ({
        name: m.name,
        http: m.http,
        path: m.path ?? "",
        parameters: (m.parameters ?? []).map((p) => ({ name: p.name, type: p.type })),
        returns: m.returns ?? null,
      }))
      .sort(byName),
  };
}

export function notificationListArtifact(n: NotificationList): ArtifactNotificationList {
  const d = INTEGRATION_DEFAULTS.notificationList;
  const tls = n.smtp.tls ?? d.tls;
  const a = n.smtp.auth;
  const auth: ArtifactSmtp["auth"] =
    a?.type === "basic"
      ? { type: "basic", username: a.username, passwordSecret: a.passwordSecret }
      : a?.type === "oauth2"
        ? {
            type: "oauth2",
            username: a.username ?? n.smtp.from,
            tokenUrl: a.tokenUrl,
            clientId: a.clientId,
            clientSecretSecret: a.clientSecretSecret,
            scope: a.scope ?? null,
          }
        : { type: "none" };
  return {
    name: n.name,
    // Recipients get one BCC message: their order means nothing.
    recipients: sorted(n.recipients),
    smtp: {
      host: n.smtp.host,
      port: n.smtp.port ?? INTEGRATION_DEFAULTS.smtpPorts[tls],
      tls,
      from: n.smtp.from,
      auth,
      timeoutMs: n.smtp.timeoutMs ?? d.timeoutMs,
    },
    retry: retry(n.retry, d.retry),
  };
}

export function databaseConnectionArtifact(c: DatabaseConnection): ArtifactDatabaseConnection {
  const d = INTEGRATION_DEFAULTS.databaseConnection;
  return {
    name: c.name,
    provider: "postgres",
    host: c.host,
    port: c.port ?? d.port,
    database: c.database,
    user: c.user,
    passwordSecret: c.passwordSecret ?? null,
    poolSize: c.poolSize ?? d.poolSize,
    timeoutMs: c.timeoutMs ?? d.timeoutMs,
    retry: retry(c.retry, d.retry),
  };
}

export function apiMethodArtifact(m: ApiMethod): ArtifactApiMethod {
  return {
    name: m.name,
    instance: m.instance,
    script: m.script,
    keys: sorted(m.keys),
    timeoutMs: m.timeoutMs ?? INTEGRATION_DEFAULTS.apiMethod.timeoutMs,
  };
}

/** A ParkedMessages action with its own revision hash: the site applies each hash once. */
export function parkedMessagesArtifact(p: ParkedMessages): ArtifactParkedMessages {
  const { ids, match } = p as { ids?: string[]; match?: ParkedMessagesMatch };
  return withRevisionHash({
    name: p.name,
    action: p.action,
    ids: ids ? sorted(ids) : null,
    match: match
      ? {
          target: match.target ?? null,
          method: match.method ?? null,
          instance: match.instance ?? null,
          parkedBefore: match.parkedBefore === undefined ? null : utc(match.parkedBefore),
        }
      : null,
  });
}

/** One instant, one spelling: an offset time as UTC with milliseconds (validation rejects times that are none). */
function utc(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

export function storeAndForwardArtifact(s: Site["storeAndForward"]): ArtifactStoreAndForward {
  const d = INTEGRATION_DEFAULTS.storeAndForward;
  return { maxMessages: s?.maxMessages ?? d.maxMessages, maxBytes: s?.maxBytes ?? d.maxBytes };
}

/** The integration fields of a site.json, or undefined when the site has none and sets no storeAndForward bounds. */
export function integrationArtifacts(site: Site, of: SiteIntegrations | undefined) {
  const none =
    !of ||
    (of.externalSystems.length === 0 &&
      of.notificationLists.length === 0 &&
      of.databaseConnections.length === 0 &&
      of.apiMethods.length === 0 &&
      of.parkedMessages.length === 0);
  // Without any, site.json stays as it was before integrations existed: an upgrade alone releases nothing.
  if (none && site.storeAndForward === undefined) return undefined;
  return {
    storeAndForward: storeAndForwardArtifact(site.storeAndForward),
    externalSystems: (of?.externalSystems ?? []).map(externalSystemArtifact).sort(byName),
    notificationLists: (of?.notificationLists ?? []).map(notificationListArtifact).sort(byName),
    databaseConnections: (of?.databaseConnections ?? []).map(databaseConnectionArtifact).sort(byName),
    apiMethods: (of?.apiMethods ?? []).map(apiMethodArtifact).sort(byName),
    parkedMessages: (of?.parkedMessages ?? []).map(parkedMessagesArtifact).sort(byName),
  };
}
