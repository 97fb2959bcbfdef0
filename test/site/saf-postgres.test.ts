// PostgreSQL delivery against a real server: a throwaway cluster (initdb, pg_ctl) on a loopback port, the engine on
// a real site store, pg pools. Writes delivered, SQL errors parked at once by SQLSTATE, the server stopped while
// messages flow, a wrong password, timeouts, database.query, and the password never in an error.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactDatabaseConnection } from "../../schemas/types.js";
import {
  DatabaseError,
  PostgresConnections,
  postgresDeliverer,
  transientSqlError,
  validateDbWrite,
} from "../../site-reconciler/integrations/database/index.js";
import type { EnqueueInput, TargetConfig } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { findPostgresBin, type PostgresCluster, startPostgresCluster } from "../helpers/postgres-cluster.js";
import { openSaf, removeSafDirs, type SafFixture, until } from "../helpers/saf-engine.js";

// CI installs the Debian package (see .ci/run); a developer machine without it skips these tests, CI never does.
const run = findPostgresBin() || process.env.CI ? describe : describe.skip;

const PASSWORD = "pg-canary-7f3a9c";

describe("SQLSTATE classification (pure)", () => {
  const cases: [string, boolean][] = [
    ["08006", true],
    ["08001", true],
    ["08P01", false],
    ["57P01", true],
    ["57P03", true],
    ["57014", true],
    ["53300", true],
    ["53100", true],
    ["40001", true],
    ["40P01", true],
    ["55P03", true],
    ["42601", false],
    ["42P01", false],
    ["42501", false],
    ["23505", false],
    ["23502", false],
    ["22P02", false],
    ["22003", false],
    ["28P01", false],
    ["XX000", false],
    ["P0001", false],
  ];
  for (const [code, transient] of cases)
    it(`${code} is ${transient ? "transient" : "permanent"} for a statement`, () => {
      expect(transientSqlError({ code })).toBe(transient);
    });
  it("an error without a SQLSTATE (a socket's) is transient", () => {
    expect(transientSqlError({ code: "ECONNRESET" })).toBe(true);
    expect(transientSqlError(new Error("Connection terminated unexpectedly"))).toBe(true);
  });
  it("a payload that could never run is refused at enqueue", () => {
    expect(() => validateDbWrite({ sql: "INSERT INTO t VALUES ($1)", params: [1] })).not.toThrow();
    expect(() => validateDbWrite({ sql: "  " })).toThrow(/needs sql/);
    expect(() => validateDbWrite({ sql: "SELECT 1", params: 1 })).toThrow(/array/);
    expect(() => validateDbWrite({ sql: "SELECT 1", password: "x" })).toThrow(/no field password/);
    expect(() => validateDbWrite("SELECT 1")).toThrow(/sql, params/);
  });
});

run("PostgreSQL delivery (real server)", () => {
  let pgc: PostgresCluster;
  let conns: PostgresConnections;
  const secrets = new Map<string, string>();
  const open: SafFixture[] = [];

  beforeAll(async () => {
    pgc = await startPostgresCluster();
    await pgc.sql(`CREATE ROLE scada LOGIN PASSWORD '${PASSWORD}'`);
    await pgc.sql(
      "CREATE TABLE counts (seq serial PRIMARY KEY, line text NOT NULL, n int NOT NULL, msg text UNIQUE);" +
        "CREATE TABLE locked (x int);" +
        "GRANT SELECT, INSERT ON counts TO scada; GRANT USAGE ON SEQUENCE counts_seq_seq TO scada;",
    );
  }, 60_000);
  afterEach(async () => {
    for (const f of open.splice(0)) await f.close();
    await conns?.close();
    await pgc.sql("TRUNCATE counts");
    secrets.clear();
  });
  afterAll(async () => {
    await pgc?.destroy();
    removeSafDirs();
  });

  const connection = (extra: Partial<ArtifactDatabaseConnection> = {}): ArtifactDatabaseConnection => ({
    name: "Historian",
    provider: "postgres",
    host: "127.0.0.1",
    port: pgc.port,
    database: "postgres",
    user: "scada",
    passwordSecret: "HISTORIAN_PASSWORD",
    poolSize: 2,
    timeoutMs: 2000,
    retry: { intervalMs: 50, maxAttempts: 1000 },
    ...extra,
  });
  const target = (c = connection()): TargetConfig => ({
    kind: "databaseConnection",
    name: c.name,
    retry: c.retry,
    timeoutMs: c.timeoutMs,
    maxPerSecond: 10_000,
    document: c,
  });
  const write = (sql: string, ...params: unknown[]): EnqueueInput => ({
    target: { kind: "databaseConnection", name: "Historian" },
    label: "cachedWrite",
    instance: "P1",
    payload: { sql, params },
  });
  const insert = (line: string, n: number | string, msg: string) =>
    write("INSERT INTO counts (line, n, msg) VALUES ($1, $2, $3)", line, n, msg);

  function saf(c = connection()): SafFixture {
    secrets.set("HISTORIAN_PASSWORD", PASSWORD);
    conns = new PostgresConnections({ secrets: (n) => secrets.get(n) });
    const f = openSaf({ deliverers: { databaseConnection: postgresDeliverer({ connections: conns }) } });
    open.push(f);
    f.engine.setTargets([target(c)]);
    return f;
  }
  const rows = async () => (await pgc.sql("SELECT line, n, msg FROM counts ORDER BY seq")).rows;
  const settled = (f: SafFixture) => () => {
    const s = f.engine.status()[0];
    return s !== undefined && s.queued === 0;
  };

  it("delivers a parameterised write", async () => {
    const f = saf();
    f.engine.start();
    f.engine.enqueue(insert("L1", 42, "m1"));
    await until(settled(f), 10_000, "the write");
    expect(await rows()).toEqual([{ line: "L1", n: 42, msg: "m1" }]);
    expect(f.engine.counters.delivered).toBe(1);
  });

  it("parks a constraint violation, a syntax error, a denied table, a bad value and a wrong parameter count at once; the queue goes on", async () => {
    const f = saf();
    f.engine.start();
    f.engine.enqueueMany([
      insert("L1", 1, "dup"),
      insert("L1", 2, "dup"),
      write("INSERT INTO counts (line, n) VALUES ($1"),
      write("INSERT INTO locked (x) VALUES ($1)", 1),
      insert("L1", "not a number", "bad"),
      write("INSERT INTO counts (line, n) VALUES ($1, $2)", "L1"),
      insert("L1", 3, "after"),
    ]);
    await until(settled(f), 10_000, "the queue");
    expect(await rows()).toEqual([
      { line: "L1", n: 1, msg: "dup" },
      { line: "L1", n: 3, msg: "after" },
    ]);
    const parked = f.engine.parked({});
    expect(parked.map((p) => p.attempts)).toEqual([1, 1, 1, 1, 1]);
    expect(parked.map((p) => p.lastError?.match(/SQLSTATE (\w+)/)?.[1])).toEqual([
      "23505",
      "42601",
      "42501",
      "22P02",
      "08P01",
    ]);
  });

  it("the server stopped while messages flow: transient, then everything delivered in order once it is back", async () => {
    const f = saf();
    f.engine.start();
    for (let i = 0; i < 20; i++) f.engine.enqueue(insert("L1", i, `a${i}`));
    await until(() => f.engine.counters.delivered >= 5, 10_000, "some deliveries");
    pgc.stop("immediate");
    for (let i = 20; i < 40; i++) f.engine.enqueue(insert("L1", i, `a${i}`));
    await until(() => f.engine.counters.failedAttempts >= 3, 10_000, "failed attempts while down");
    const during = f.engine.status()[0]!;
    expect(during.queued).toBeGreaterThan(0);
    expect(during.parked).toBe(0);
    pgc.start();
    await until(settled(f), 20_000, "the backlog");
    const got = await rows();
    expect(got.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(f.engine.status()[0]!.parked).toBe(0);
  }, 40_000);

  it("a wrong password is transient: the messages wait in order until the secret is fixed", async () => {
    const f = saf();
    secrets.set("HISTORIAN_PASSWORD", "wrong-password");
    f.engine.start();
    f.engine.enqueueMany([insert("L1", 1, "p1"), insert("L1", 2, "p2")]);
    await until(() => f.engine.counters.failedAttempts >= 2, 10_000, "failed attempts");
    expect(f.engine.status()[0]).toMatchObject({ queued: 2, parked: 0 });
    const head = f.store.db.prepare("SELECT last_error FROM saf_messages ORDER BY seq LIMIT 1").get() as {
      last_error: string;
    };
    expect(head.last_error).toMatch(/password authentication failed .*SQLSTATE 28P01/);
    secrets.set("HISTORIAN_PASSWORD", PASSWORD);
    await until(settled(f), 10_000, "delivery after the fix");
    expect((await rows()).map((r) => r.msg)).toEqual(["p1", "p2"]);
  });

  it("a secret that is not provided is transient and named", async () => {
    const f = saf();
    secrets.delete("HISTORIAN_PASSWORD");
    f.engine.start();
    f.engine.enqueue(insert("L1", 1, "s1"));
    await until(() => f.engine.counters.failedAttempts >= 1, 10_000, "a failed attempt");
    const head = f.store.db.prepare("SELECT last_error, state FROM saf_messages").get() as Record<string, string>;
    expect(head).toEqual({ last_error: "secret HISTORIAN_PASSWORD is not provided", state: "queued" });
  });

  it("a statement past timeoutMs is cancelled by the server and transient", async () => {
    const f = saf(connection({ timeoutMs: 300, retry: { intervalMs: 50, maxAttempts: 2 } }));
    f.engine.start();
    f.engine.enqueue(write("SELECT pg_sleep(3)"));
    await until(() => f.engine.status()[0]?.parked === 1, 10_000, "parking after maxAttempts");
    const [p] = f.engine.parked({});
    expect(p!.attempts).toBe(2);
    expect(p!.lastError).toMatch(/statement timeout|timed out after 300 ms/);
  });

  it("the password never appears in an error, even when a statement echoes it", async () => {
    const f = saf();
    f.engine.start();
    // The server's message quotes the bad value: 'invalid input syntax for type integer: "<value>"'.
    f.engine.enqueue(insert("L1", PASSWORD, "echo"));
    await until(() => f.engine.status()[0]?.parked === 1, 10_000, "the parked message");
    const [p] = f.engine.parked({});
    expect(p!.lastError).toMatch(/invalid input syntax for type integer: "\*\*\*"/);
    const err = await conns.query(connection(), "SELECT $1::int", [PASSWORD]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(String((err as Error).message)).not.toContain(PASSWORD);
    expect((err as Error).message).toContain("***");
    const stored = f.store.db
      .prepare("SELECT count(*) AS n FROM saf_messages WHERE instr(last_error, ?) > 0")
      .get(PASSWORD) as { n: number };
    expect(stored.n).toBe(0);
  });

  it("query returns rows, and throws a clear error for bad SQL and for a server that is down", async () => {
    secrets.set("HISTORIAN_PASSWORD", PASSWORD);
    conns = new PostgresConnections({ secrets: (n) => secrets.get(n) });
    await pgc.sql("INSERT INTO counts (line, n, msg) VALUES ('L9', 9, 'q')");
    expect(await conns.query(connection(), "SELECT line, n FROM counts WHERE n = $1", [9])).toEqual([
      { line: "L9", n: 9 },
    ]);
    await expect(conns.query(connection(), "SELECT nope FROM counts")).rejects.toMatchObject({
      name: "DatabaseError",
      code: "42703",
      transient: false,
      message: expect.stringMatching(/^database Historian: column "nope" does not exist \(SQLSTATE 42703\)$/),
    });
    const down = connection({ port: 1, timeoutMs: 1000 });
    await expect(conns.query(down, "SELECT 1")).rejects.toMatchObject({
      transient: true,
      message: expect.stringMatching(/^database Historian: .*ECONNREFUSED/),
    });
  });

  it("poolSize bounds the connections a connection document opens", async () => {
    secrets.set("HISTORIAN_PASSWORD", PASSWORD);
    conns = new PostgresConnections({ secrets: (n) => secrets.get(n) });
    const c = connection({ poolSize: 2 });
    let peak = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        const r = await pgc.sql(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'scadalink-site'",
        );
        peak = Math.max(peak, r.rows[0].n);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(Array.from({ length: 8 }, () => conns.query(c, "SELECT pg_sleep(0.15)")));
    done = true;
    await watch;
    expect(peak).toBe(2);
  });
});
