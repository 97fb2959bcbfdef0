import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Compilation, Compiler } from "../../controller/compiler/compile.js";
import { buildSiteArtifacts } from "../../controller/compiler/package/build.js";
import { looksLikeCredential } from "../../controller/contract/credential-names.js";
import { revisionHash } from "../../controller/contract/hash.js";
import { validatorFor } from "../../controller/contract/schemas.js";
import type { SiteArtifacts } from "../../schemas/types.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { compile, describeDiagnostics, type Files, toSources, y } from "../helpers/repo.js";
import { INTEGRATIONS, integrationsWith } from "../rules/integration-docs.js";

const SOUTH = y`
  kind: Site
  name: plant-south
`;
const FILE = "integrations/all.yaml";

function artifacts(files: Files): { c: Compilation; sites: Record<string, SiteArtifacts> } {
  const c = compile(files);
  expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  const sites: Record<string, SiteArtifacts> = {};
  for (const [name, info] of c.index.sites) sites[name] = buildSiteArtifacts(info, c.shared.registry);
  return { c, sites };
}
const north = (files: Files) => artifacts(files).sites["plant-north"]!;
const validate = validatorFor("site-artifacts.schema.json");

describe("site.json carries the integrations", () => {
  it("a repo without integrations gives the site.json it gave before they existed", () => {
    const a = north(BASE);
    expect(Object.keys(a)).toEqual(["apiVersion", "kind", "site", "dataConnections", "sharedScripts", "revisionHash"]);
    expect(validate(a)).toBe(true);
  });

  it("every document normalised: defaults filled in, names sorted, secrets as names only", () => {
    const a = north(variant({ [FILE]: INTEGRATIONS }));
    expect(validate(a), JSON.stringify(validate.errors)).toBe(true);
    expect(revisionHash(a)).toBe(a.revisionHash);
    expect(a.storeAndForward).toEqual({ maxMessages: 100_000, maxBytes: 268_435_456 });
    expect(a.externalSystems).toEqual([
      {
        name: "Mes",
        baseUrl: "https://mes.plant.local/api",
        auth: { type: "apiKey", header: "X-Api-Key", secret: "MES_API_KEY" },
        timeoutMs: 5000,
        retry: { intervalMs: 30000, maxAttempts: 20 },
        methods: [
          {
            name: "ReportCount",
            http: "POST",
            path: "/lines/{line}/counts",
            parameters: [
              { name: "line", type: "String" },
              { name: "count", type: "Int32" },
            ],
            returns: "Boolean",
          },
        ],
      },
    ]);
    expect(a.notificationLists).toEqual([
      {
        name: "Operators",
        recipients: ["ops@plant.example"],
        smtp: {
          host: "smtp.plant.local",
          port: 587,
          tls: "starttls",
          from: "scada@plant.example",
          auth: { type: "basic", username: "scada", passwordSecret: "SMTP_PASSWORD" },
          timeoutMs: 30000,
        },
        retry: { intervalMs: 60000, maxAttempts: 60 },
      },
    ]);
    expect(a.databaseConnections).toEqual([
      {
        name: "Historian",
        provider: "postgres",
        host: "db.plant.local",
        port: 5432,
        database: "production",
        user: "scada",
        passwordSecret: "HISTORIAN_PASSWORD",
        poolSize: 4,
        timeoutMs: 5000,
        retry: { intervalMs: 30000, maxAttempts: 100 },
      },
    ]);
    expect(a.apiMethods).toEqual([
      { name: "SetLimit", instance: "Pump07", script: "Limit", keys: ["MES_INBOUND_KEY"], timeoutMs: 10000 },
    ]);
    const [parked] = a.parkedMessages!;
    expect(parked).toMatchObject({
      name: "2026-04-21-retry-mes",
      action: "retry",
      ids: null,
      match: { target: "Mes", method: null, instance: null, parkedBefore: null },
    });
    const { revisionHash: own, ...rest } = parked!;
    expect(own).toBe(revisionHash(rest));
  });

  it("a parked-message time is one instant, one spelling: UTC", () => {
    const at = (time: string) =>
      north(
        variant({
          [FILE]: integrationsWith("match: { target: Mes }", `match: { target: Mes, parkedBefore: "${time}" }`),
        }),
      );
    const offset = at("2026-04-21T08:00:00+02:00");
    expect(offset.parkedMessages![0]!.match!.parkedBefore).toBe("2026-04-21T06:00:00.000Z");
    expect(at("2026-04-21T06:00:00Z").revisionHash).toBe(offset.revisionHash);
    expect(at("2026-04-21T06:00:01Z").revisionHash).not.toBe(offset.revisionHash);
  });

  it("writing the defaults out or leaving them out gives the same site.json", () => {
    const written = north(variant({ [FILE]: INTEGRATIONS }));
    const minimal = INTEGRATIONS.replace("timeoutMs: 5000\nretry: { intervalMs: 30000, maxAttempts: 20 }\n", "")
      .replace("  port: 587\n  tls: starttls\n", "")
      .replace("retry: { intervalMs: 60000, maxAttempts: 60 }\n", "")
      .replace("provider: postgres\n", "")
      .replace("port: 5432\n", "")
      .replace("poolSize: 4\ntimeoutMs: 5000\nretry: { intervalMs: 30000, maxAttempts: 100 }\n", "")
      .replace("timeoutMs: 10000\n", "")
      .replace("header: X-Api-Key, ", "");
    expect(minimal.split("\n").length).toBe(INTEGRATIONS.split("\n").length - 11);
    const left = north(variant({ [FILE]: minimal }));
    expect(left.revisionHash).toBe(written.revisionHash);
  });

  it("order, trailing slashes and the default port of the TLS mode mean nothing; every other change is a new hash", () => {
    const base = north(variant({ [FILE]: INTEGRATIONS })).revisionHash;
    const same = [
      integrationsWith("recipients: [ops@plant.example]", "recipients: [ops@plant.example, a@plant.example]"),
      integrationsWith("recipients: [ops@plant.example]", "recipients: [a@plant.example, ops@plant.example]"),
    ].map((t) => north(variant({ [FILE]: t })).revisionHash);
    expect(same[0]).toBe(same[1]);
    expect(same[0]).not.toBe(base);
    expect(north(variant({ [FILE]: integrationsWith("/api\n", "/api/\n") })).revisionHash).toBe(base);
    for (const [from, to] of [
      ["maxAttempts: 20", "maxAttempts: 21"],
      ["secret: MES_API_KEY", "secret: MES_API_KEY2"],
      ["http: POST", "http: PUT"],
      ["tls: starttls", "tls: tls"],
      ["keys: [MES_INBOUND_KEY]", "keys: [MES_INBOUND_KEY, OTHER]"],
      ["action: retry", "action: discard"],
    ] as const) {
      expect(north(variant({ [FILE]: integrationsWith(from, to) })).revisionHash, to).not.toBe(base);
    }
  });

  it("a Site's integrations list selects what it gets; absent means all, [] none; ApiMethods go to their site only", () => {
    const apiSouth = y`
      ---
      kind: ApiMethod
      name: SetLimit
      site: plant-south
      instance: P1
      script: Answer
      keys: [K]
      ---
      kind: Template
      name: Responder
      scripts: [{ name: Answer, trigger: { type: call }, code: "return 1;" }]
      ---
      kind: Instance
      name: P1
      site: plant-south
      template: Responder
    `;
    const files = (list: string | undefined) =>
      variant({
        [FILE]: INTEGRATIONS + apiSouth,
        "sites/south.yaml": list === undefined ? SOUTH : `${SOUTH}integrations: ${list}\n`,
      });
    const names = (a: SiteArtifacts) => [
      ...(a.externalSystems ?? []).map((x) => x.name),
      ...(a.notificationLists ?? []).map((x) => x.name),
      ...(a.databaseConnections ?? []).map((x) => x.name),
    ];
    const all = artifacts(files(undefined)).sites;
    expect(names(all["plant-south"]!)).toEqual(["Mes", "Operators", "Historian"]);
    expect(all["plant-south"]!.apiMethods!.map((m) => m.instance)).toEqual(["P1"]);
    expect(all["plant-north"]!.apiMethods!.map((m) => m.instance)).toEqual(["Pump07"]);
    expect(all["plant-south"]!.parkedMessages).toEqual([]);
    const some = artifacts(files("[Historian, Mes]")).sites["plant-south"]!;
    expect(names(some)).toEqual(["Mes", "Historian"]);
    expect(validate(some)).toBe(true);
    const none = artifacts(files("[]")).sites["plant-south"]!;
    expect(names(none)).toEqual([]);
    // Its own ApiMethod still reaches it, with the store bounds.
    expect(none.apiMethods).toHaveLength(1);
    expect(none.storeAndForward).toBeDefined();
    // The other site is unaffected by this site's list.
    expect(artifacts(files("[]")).sites["plant-north"]!.revisionHash).toBe(all["plant-north"]!.revisionHash);
  });

  it("a site that gets nothing keeps the old shape, unless it sets storeAndForward bounds", () => {
    const south = (site: string) =>
      artifacts(variant({ [FILE]: INTEGRATIONS, "sites/south.yaml": site })).sites["plant-south"]!;
    expect(south(`${SOUTH}integrations: []\n`).storeAndForward).toBeUndefined();
    const bounded = south(`${SOUTH}integrations: []\nstoreAndForward: { maxMessages: 5000 }\n`);
    expect(bounded.storeAndForward).toEqual({ maxMessages: 5000, maxBytes: 268_435_456 });
    expect(bounded.externalSystems).toEqual([]);
    expect(validate(bounded)).toBe(true);
  });

  it("a change to an integration changes site.json only, never a package", () => {
    const before = artifacts(variant({ [FILE]: INTEGRATIONS }));
    const after = artifacts(variant({ [FILE]: integrationsWith("maxAttempts: 20", "maxAttempts: 5") }));
    expect(after.c.packages().map((p) => p.revisionHash)).toEqual(before.c.packages().map((p) => p.revisionHash));
    expect(after.sites["plant-north"]!.revisionHash).not.toBe(before.sites["plant-north"]!.revisionHash);
  });

  it("an incremental compile follows an edited integration document while the Site document stays the same", () => {
    const compiler = new Compiler();
    compiler.setFiles(toSources(variant({ [FILE]: INTEGRATIONS })));
    const first = compiler.compile();
    const site = first.index.sites.get("plant-north")!;
    const before = buildSiteArtifacts(site, first.shared.registry);
    compiler.setFile(FILE, integrationsWith("maxAttempts: 20", "maxAttempts: 7"));
    const second = compiler.compile();
    // The Site's own information is kept (its document did not change); what it gets is not.
    expect(second.index.sites.get("plant-north")).toBe(site);
    const after = buildSiteArtifacts(second.index.sites.get("plant-north")!, second.shared.registry);
    expect(after.externalSystems![0]!.retry.maxAttempts).toBe(7);
    expect(after.revisionHash).not.toBe(before.revisionHash);
    expect(after).toEqual(north(variant({ [FILE]: integrationsWith("maxAttempts: 20", "maxAttempts: 7") })));
    compiler.deleteFile(FILE);
    const third = compiler.compile();
    expect(buildSiteArtifacts(third.index.sites.get("plant-north")!, third.shared.registry)).toEqual(north(BASE));
  });

  it("the schema refuses a site.json with only part of the integration fields", () => {
    const a = north(variant({ [FILE]: INTEGRATIONS }));
    const { storeAndForward: _, ...partial } = a;
    expect(validate(partial)).toBe(false);
  });

  it("holds no secret value: every credential-looking key is a secret reference holding a name", () => {
    const oauth = integrationsWith(
      "auth: { type: basic, username: scada, passwordSecret: SMTP_PASSWORD }",
      "auth: { type: oauth2, tokenUrl: https://login.local/token, clientId: c, clientSecretSecret: SMTP_CLIENT }",
    ).replace(
      "auth: { type: apiKey, header: X-Api-Key, secret: MES_API_KEY }",
      "auth: { type: bearer, tokenSecret: T }",
    );
    const references = new Set(["passwordSecret", "secret", "tokenSecret", "clientSecretSecret"]);
    const seen: string[] = [];
    const walk = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      for (const [k, v] of Object.entries(node)) {
        // tokenUrl is the OAuth2 token endpoint, no credential.
        if ((looksLikeCredential(k) && k !== "tokenUrl") || references.has(k)) {
          seen.push(k);
          expect(references.has(k), k).toBe(true);
          if (v !== null) expect(v).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        }
        walk(v);
      }
    };
    walk(north(variant({ [FILE]: INTEGRATIONS })));
    walk(north(variant({ [FILE]: oauth })));
    expect(new Set(seen)).toEqual(references);
  });

  it("its hash is recomputed by the independent Python implementation", () => {
    const a = north(variant({ [FILE]: INTEGRATIONS }));
    const docs = [a, ...a.parkedMessages!];
    const script = fileURLToPath(new URL("../helpers/jcs_sha256.py", import.meta.url));
    const run = spawnSync("python3", [script], { input: JSON.stringify(docs), encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(docs.length);
    for (const line of lines) {
      const [stored, recomputed] = line.split(" ");
      expect(recomputed).toBe(stored);
    }
  });
});
