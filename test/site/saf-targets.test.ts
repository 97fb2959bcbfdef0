// The engine's targets and caps from a site.json (SiteArtifacts, checked against its schema here).
import { describe, expect, it } from "vitest";
import type { SiteArtifacts } from "../../schemas/types.js";
import { siteArtifacts } from "../../schemas/validators.js";
import { targetsFromArtifacts } from "../../site-reconciler/integrations/store-and-forward/index.js";

const mes = {
  name: "Mes",
  baseUrl: "https://mes.plant.local/api",
  auth: { type: "apiKey", header: "X-Api-Key", secret: "MES_API_KEY" },
  timeoutMs: 5000,
  retry: { intervalMs: 30000, maxAttempts: 20 },
  methods: [],
};
const operators = {
  name: "Operators",
  recipients: ["ops@plant.example"],
  smtp: {
    host: "smtp.plant.local",
    port: 587,
    tls: "starttls",
    from: "scada@plant.example",
    auth: { type: "basic", username: "scada", passwordSecret: "SMTP_PASSWORD" },
    timeoutMs: 7000,
  },
  retry: { intervalMs: 60000, maxAttempts: 60 },
};
const historian = {
  name: "Historian",
  provider: "postgres",
  host: "db.plant.local",
  port: 5432,
  database: "production",
  user: "scada",
  passwordSecret: "HISTORIAN_PASSWORD",
  poolSize: 4,
  timeoutMs: 4000,
  retry: { intervalMs: 30000, maxAttempts: 100 },
};
const artifacts = {
  apiVersion: "scadalink/v1",
  kind: "SiteArtifacts",
  site: "wtp-riverside",
  dataConnections: [],
  sharedScripts: [],
  storeAndForward: { maxMessages: 5000, maxBytes: 1048576 },
  externalSystems: [mes],
  notificationLists: [operators],
  databaseConnections: [historian],
  apiMethods: [],
  parkedMessages: [],
  revisionHash: `sha256:${"0".repeat(64)}`,
};

describe("targetsFromArtifacts", () => {
  it("every integration of site.json becomes a target with its retry, timeout and auth; the caps come from storeAndForward", () => {
    expect(siteArtifacts(artifacts), JSON.stringify((siteArtifacts as unknown as { errors: unknown }).errors)).toBe(
      true,
    );
    const { targets, caps } = targetsFromArtifacts(artifacts as unknown as SiteArtifacts);
    expect(caps).toEqual({ maxMessages: 5000, maxBytes: 1048576 });
    expect(targets).toEqual([
      {
        kind: "externalSystem",
        name: "Mes",
        retry: { intervalMs: 30000, maxAttempts: 20 },
        timeoutMs: 5000,
        auth: { type: "apiKey", header: "X-Api-Key", secret: "MES_API_KEY" },
        document: mes,
      },
      {
        kind: "notificationList",
        name: "Operators",
        retry: { intervalMs: 60000, maxAttempts: 60 },
        timeoutMs: 7000,
        document: operators,
      },
      {
        kind: "databaseConnection",
        name: "Historian",
        retry: { intervalMs: 30000, maxAttempts: 100 },
        timeoutMs: 4000,
        document: historian,
      },
    ]);
  });

  it("no site.json, or one without integrations: no targets, default caps", () => {
    expect(targetsFromArtifacts(null)).toEqual({ targets: [], caps: {} });
    const bare = { ...artifacts } as Record<string, unknown>;
    for (const k of [
      "storeAndForward",
      "externalSystems",
      "notificationLists",
      "databaseConnections",
      "apiMethods",
      "parkedMessages",
    ])
      delete bare[k];
    expect(siteArtifacts(bare), JSON.stringify((siteArtifacts as unknown as { errors: unknown }).errors)).toBe(true);
    expect(targetsFromArtifacts(bare as unknown as SiteArtifacts)).toEqual({ targets: [], caps: {} });
  });
});
