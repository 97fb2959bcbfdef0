// The script API of SPEC 8.2 end to end below the reconciler: scripts in real script host processes (dist/), their
// calls answered by the site's ScriptIntegrations, a real HTTP server with faults, the store-and-forward engine on
// a real SQLite file, and a real PostgreSQL cluster for database.query.
import Database from "better-sqlite3";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SiteArtifacts } from "../../schemas/types.js";
import { PostgresConnections } from "../../site-reconciler/integrations/database/index.js";
import { ScriptIntegrations } from "../../site-reconciler/integrations/script-api/index.js";
import { ScriptPool } from "../../site-reconciler/runtime/scripts/pool.js";
import type { ScriptDef } from "../../site-reconciler/runtime/scripts/sandbox.js";
import { findPostgresBin, type PostgresCluster, startPostgresCluster } from "../helpers/postgres-cluster.js";
import { openSaf, removeSafDirs, type SafFixture } from "../helpers/saf-engine.js";
import { type FaultServer, OK, startFaultServer } from "../helpers/saf-http-server.mjs";
import { until } from "./runtime-helpers.js";

const KEY = "mes-key-3c9f1e";
const script = (path: string, code: string, timeoutMs = 2_000): ScriptDef => ({
  path,
  scope: "",
  parameters: [],
  code,
  timeoutMs,
  expression: null,
});

function artifacts(url: string, extra: Partial<SiteArtifacts> = {}): SiteArtifacts {
  return {
    externalSystems: [
      {
        name: "Mes",
        baseUrl: `${url}/api`,
        auth: { type: "apiKey", header: "X-Api-Key", secret: "MES_API_KEY" },
        timeoutMs: 1_500,
        retry: { intervalMs: 50, maxAttempts: 3 },
        methods: [
          {
            name: "GetOrder",
            http: "GET",
            path: "/orders/{id}",
            parameters: [
              { name: "id", type: "String" },
              { name: "verbose", type: "Boolean" },
            ],
            returns: "Object",
          },
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
    ],
    notificationLists: [
      {
        name: "Operators",
        recipients: ["ops@plant.example"],
        smtp: { host: "127.0.0.1", port: 2525, tls: "none", from: "scada@plant.example", auth: null, timeoutMs: 1000 },
        retry: { intervalMs: 50, maxAttempts: 3 },
      } as unknown as NonNullable<SiteArtifacts["notificationLists"]>[number],
    ],
    databaseConnections: [],
    ...extra,
  } as SiteArtifacts;
}

describe("script API (SPEC 8.2) through the script hosts", () => {
  let server: FaultServer;
  let saf: SafFixture;
  let pool: ScriptPool;
  let integrations: ScriptIntegrations;

  beforeAll(async () => {
    server = await startFaultServer();
  });
  afterAll(async () => {
    await server.stop();
    removeSafDirs();
  });
  const setUp = (extra: Partial<SiteArtifacts> = {}) => {
    saf = openSaf();
    saf.secrets.set("MES_API_KEY", KEY);
    const a = artifacts(server.url, extra);
    saf.engine.setTargets([
      {
        kind: "externalSystem",
        name: "Mes",
        retry: { intervalMs: 50, maxAttempts: 3 },
        timeoutMs: 1_000,
        auth: a.externalSystems![0]!.auth,
      },
    ]);
    integrations = new ScriptIntegrations({ secrets: (n) => saf.secrets.get(n), saf: saf.engine });
    integrations.configure(a);
    pool = new ScriptPool({
      log: pino({ level: "silent" }),
      hosts: 1,
      counters: { scriptHostRestarts: 0, scriptCrashes: 0 },
      event: () => undefined,
      io: (r) => integrations.handle(r),
    });
  };
  afterEach(async () => {
    await pool?.close();
    await saf?.close();
    server.behave(() => undefined);
    server.requests.length = 0;
  });

  it("externalSystem.call sends the request now and returns the parsed result", async () => {
    setUp();
    server.behave((r) => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: r.path, ok: true }),
    }));
    const h = pool.load(
      "F1",
      [
        script("Report", 'return externalSystem.call("Mes", "ReportCount", "L 1/a", 42);'),
        script("Get", 'return externalSystem.call("Mes", "GetOrder", "o#7", true);'),
      ],
      [],
      () => [],
    );
    const r = await h.run("Report", "run");
    expect(r.result).toEqual({ ok: true, value: { path: "/api/lines/L%201%2Fa/counts", ok: true } });
    const post = server.requests.at(-1)!;
    expect(post.method).toBe("POST");
    expect(post.body).toEqual({ count: 42 });
    expect(post.headers["x-api-key"]).toBe(KEY);
    // call is not store-and-forward: no idempotency key, nothing stored.
    expect(post.key).toBeNull();
    expect(saf.engine.totals().messages).toBe(0);
    const g = await h.run("Get", "run");
    expect(g.result).toEqual({ ok: true, value: { path: "/api/orders/o%237?verbose=true", ok: true } });
    expect(server.requests.at(-1)!.method).toBe("GET");
  });

  it("a failed call throws with status and message, and no secret in either", async () => {
    setUp();
    server.behave(() => ({ status: 503, body: `down for maintenance (key ${KEY})` }));
    const h = pool.load(
      "F1",
      [
        script(
          "Report",
          'try { externalSystem.call("Mes", "ReportCount", "L1", 1); return "no error"; } catch (e) { return [e.status, e.message]; }',
        ),
      ],
      [],
      () => [],
    );
    const r = await h.run("Report", "run");
    expect(r.result.ok).toBe(true);
    const [status, message] = (r.result as { value: [number, string] }).value;
    expect(status).toBe(503);
    expect(message).toMatch(/^Mes: HTTP 503: down for maintenance/);
    expect(message).not.toContain(KEY);
    server.behave(() => ({ reset: true }));
    const cut = await h.run("Report", "run");
    expect((cut.result as { value: [unknown, string] }).value[0]).toBeNull();
    expect((cut.result as { value: [unknown, string] }).value[1]).toMatch(/connection failed/);
  });

  it("the script's timeout covers a call that hangs: the run times out, and the host goes on", async () => {
    setUp();
    server.behave((r) => (r.path.includes("slow") ? { hang: true } : OK()));
    const h = pool.load(
      "F1",
      [
        script("Hang", 'externalSystem.call("Mes", "ReportCount", "slow", 1); return "returned";', 400),
        script("Quick", 'return externalSystem.call("Mes", "ReportCount", "fast", 2);'),
      ],
      [],
      () => [],
    );
    const t0 = Date.now();
    const r = await h.run("Hang", "run");
    expect(r.result).toMatchObject({ ok: false, timedOut: true });
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(r.crashed).toBe(false);
    const q = await h.run("Quick", "run");
    expect(q.result.ok).toBe(true);
  });

  it("arguments that do not fit the method are the script's error: nothing is sent or stored", async () => {
    setUp();
    const h = pool.load(
      "F1",
      [
        script("Few", 'externalSystem.call("Mes", "ReportCount", "L1");'),
        script("Type", 'externalSystem.cachedCall("Mes", "ReportCount", "L1", "many");'),
        script("NoSystem", 'externalSystem.call("Erp", "ReportCount", "L1", 1);'),
        script("NoMethod", 'externalSystem.call("Mes", "Report", "L1", 1);'),
        script("NoList", 'notify("Nobody", "s", "b");'),
      ],
      [],
      () => [],
    );
    const err = async (p: string) => ((await h.run(p, "run")).result as { error: string }).error;
    expect(await err("Few")).toMatch(/Mes\.ReportCount takes 2 argument\(s\) \(line, count\), not 1/);
    expect(await err("Type")).toMatch(/argument 2 \(count\) must be a Int32, not the string "many"/);
    expect(await err("NoSystem")).toMatch(/no external system "Erp"/);
    expect(await err("NoMethod")).toMatch(/Mes has no method "Report"/);
    expect(await err("NoList")).toMatch(/no notification list "Nobody"/);
    expect(server.requests).toHaveLength(0);
    expect(saf.engine.totals().messages).toBe(0);
  });

  it("cachedCall, notify and cachedWrite are committed to SQLite before they return their message id", async () => {
    setUp({
      databaseConnections: [
        {
          name: "Historian",
          provider: "postgres",
          host: "127.0.0.1",
          port: 1,
          database: "production",
          user: "scada",
          passwordSecret: "HISTORIAN_PASSWORD",
          poolSize: 1,
          timeoutMs: 1000,
          retry: { intervalMs: 1000, maxAttempts: 3 },
        },
      ],
    });
    const h = pool.load(
      "F1",
      [
        script(
          "Send",
          'return [externalSystem.cachedCall("Mes", "ReportCount", "L1", 7), notify("Operators", "Line 1 stopped", "since 10:04"), database.cachedWrite("Historian", "INSERT INTO counts (line, n) VALUES ($1, $2)", "L1", 7)];',
        ),
      ],
      [],
      () => [],
    );
    const r = await h.run("Send", "run");
    expect(r.result.ok).toBe(true);
    const ids = (r.result as { value: string[] }).value;
    expect(ids).toHaveLength(3);
    // Another connection to the file sees all three at once: they were committed before the script went on.
    const db = new Database(saf.file, { readonly: true });
    try {
      const rows = db
        .prepare("SELECT id, kind, target, label, instance, payload FROM saf_messages ORDER BY seq")
        .all() as { id: string; kind: string; target: string; label: string; instance: string; payload: string }[];
      expect(rows.map((x) => x.id)).toEqual(ids);
      expect(rows.map((x) => [x.kind, x.target, x.label, x.instance])).toEqual([
        ["externalSystem", "Mes", "ReportCount", "F1"],
        ["notificationList", "Operators", "Line 1 stopped", "F1"],
        ["databaseConnection", "Historian", "INSERT INTO counts (line, n) VALUES ($1, $2)", "F1"],
      ]);
      expect(JSON.parse(rows[0]!.payload)).toEqual({
        method: "POST",
        url: `${server.url}/api/lines/L1/counts`,
        body: { count: 7 },
      });
      expect(JSON.parse(rows[2]!.payload)).toEqual({
        sql: "INSERT INTO counts (line, n) VALUES ($1, $2)",
        params: ["L1", 7],
      });
      // No secret is stored in a message: the key is added at delivery.
      expect(rows.some((x) => x.payload.includes(KEY))).toBe(false);
    } finally {
      db.close();
    }
    // The engine delivers the cached call with the message id as its Idempotency-Key.
    saf.engine.start();
    await until("the cached call delivered", () => server.requests.length === 1);
    expect(server.requests[0]!.key).toBe(ids[0]);
    expect(server.requests[0]!.headers["x-api-key"]).toBe(KEY);
  });

  it("a full store makes cachedCall throw in the script, and nothing is dropped", async () => {
    setUp();
    saf.engine.setCaps({ maxMessages: 2 });
    const h = pool.load(
      "F1",
      [
        script(
          "Fill",
          'const ids = []; for (let i = 0; i < 3; i++) { try { ids.push(externalSystem.cachedCall("Mes", "ReportCount", "L1", i)); } catch (e) { ids.push("error: " + e.message); } } return ids;',
        ),
      ],
      [],
      () => [],
    );
    const r = await h.run("Fill", "run");
    const out = (r.result as { value: string[] }).value;
    expect(out[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(out[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(out[2]).toMatch(/^error: .*full.*not stored/);
    expect(saf.engine.totals().messages).toBe(2);
    expect(saf.engine.counters.refusedFull).toBe(1);
  });

  it("shared scripts cannot reach the integrations", () => {
    setUp();
    const errors = pool.setShared([{ name: "Helper", parameters: [], code: 'return notify("Operators", "s", "b");' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/"notify" is not available to scripts/);
  });

  it("members of externalSystem and database outside the API are refused at load", () => {
    setUp();
    expect(pool.check([script("Odd", 'return externalSystem.post("Mes");')])[0]?.message).toMatch(
      /externalSystem\.post is not part of the script API/,
    );
  });
});

const pg = findPostgresBin() || process.env.CI ? describe : describe.skip;

pg("database.query against a real PostgreSQL", () => {
  let pgc: PostgresCluster;
  let conns: PostgresConnections;
  let pool: ScriptPool;
  const PASSWORD = "pg-script-7d41";

  beforeAll(async () => {
    pgc = await startPostgresCluster();
    await pgc.sql(`CREATE ROLE scada LOGIN PASSWORD '${PASSWORD}'`);
    await pgc.sql(
      "CREATE TABLE recipes (name text PRIMARY KEY, speed double precision); GRANT SELECT ON recipes TO scada",
    );
    await pgc.sql("INSERT INTO recipes VALUES ('A', 1.5), ('B', 2.5)");
    conns = new PostgresConnections({ secrets: (n) => (n === "HISTORIAN_PASSWORD" ? PASSWORD : undefined) });
    const integrations = new ScriptIntegrations({ secrets: () => undefined, database: conns });
    integrations.configure({
      databaseConnections: [
        {
          name: "Historian",
          provider: "postgres",
          host: "127.0.0.1",
          port: pgc.port,
          database: "postgres",
          user: "scada",
          passwordSecret: "HISTORIAN_PASSWORD",
          poolSize: 2,
          timeoutMs: 3000,
          retry: { intervalMs: 1000, maxAttempts: 3 },
        },
      ],
    } as SiteArtifacts);
    pool = new ScriptPool({
      log: pino({ level: "silent" }),
      hosts: 1,
      counters: { scriptHostRestarts: 0, scriptCrashes: 0 },
      event: () => undefined,
      io: (r) => integrations.handle(r),
    });
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await conns?.close();
    await pgc?.destroy();
  });

  it("returns the rows of a parameterised query; an SQL error throws with the server's words, no password", async () => {
    const h = pool.load(
      "F1",
      [
        script(
          "Read",
          'return database.query("Historian", "SELECT name, speed FROM recipes WHERE speed > $1 ORDER BY name", 1);',
        ),
        script(
          "Bad",
          'try { database.query("Historian", "SELECT nothing FROM recipes"); } catch (e) { return e.message; }',
        ),
        script("Slow", 'database.query("Historian", "SELECT pg_sleep(5)"); return "returned";', 500),
      ],
      [],
      () => [],
    );
    expect((await h.run("Read", "run")).result).toEqual({
      ok: true,
      value: [
        { name: "A", speed: 1.5 },
        { name: "B", speed: 2.5 },
      ],
    });
    const bad = (await h.run("Bad", "run")).result as { value: string };
    expect(bad.value).toMatch(/database Historian: .*column "nothing" does not exist/);
    expect(bad.value).not.toContain(PASSWORD);
    const t0 = Date.now();
    expect((await h.run("Slow", "run")).result).toMatchObject({ ok: false, timedOut: true });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((await h.run("Read", "run")).result.ok).toBe(true);
  });
});
