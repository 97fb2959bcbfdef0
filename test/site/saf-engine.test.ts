// Store-and-forward with real parts: the site store on a SQLite file, HTTP delivery with Node's fetch, a receiver on
// 127.0.0.1 that injects faults. Classification per case, parking, operators, caps, idempotency keys, FIFO, secrets.
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type EnqueueInput,
  InvalidMessageError,
  StoreFullError,
  type TargetConfig,
} from "../../site-reconciler/integrations/store-and-forward/index.js";
import { openSaf, post, removeSafDirs, type SafFixture, sleep, system, until } from "../helpers/saf-engine.js";
import { type Fault, type FaultServer, OK, startFaultServer } from "../helpers/saf-http-server.mjs";

let server: FaultServer;
let open: SafFixture[] = [];
beforeAll(async () => {
  server = await startFaultServer();
});
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  server.behave(OK);
  server.requests.length = 0;
  await server.start();
});
afterAll(async () => {
  await server.stop();
  removeSafDirs();
});

function saf(...args: Parameters<typeof openSaf>): SafFixture {
  const f = openSaf(...args);
  open.push(f);
  return f;
}

const msg = (target: string, body: unknown, path = "/in"): EnqueueInput => ({
  target: { kind: "externalSystem", name: target },
  label: "Report",
  instance: "P1",
  payload: post(`${server.url}${path}`, body),
});

/** Answers the first `times` requests with fault, then 200. */
const failing = (fault: Fault, times: number) => {
  let n = 0;
  return () => (n++ < times ? fault : { status: 200 });
};

describe("classification (SPEC 8.3): transient cases are retried with the same key, permanent ones parked at once", () => {
  const transient: [string, Fault][] = [
    ["HTTP 408", { status: 408 }],
    ["HTTP 429", { status: 429 }],
    ["HTTP 500", { status: 500 }],
    ["HTTP 502", { status: 502 }],
    ["HTTP 503", { status: 503 }],
    ["HTTP 504", { status: 504 }],
    ["a connection reset", { reset: true }],
    ["a timeout (no answer)", { hang: true }],
    ["a 503 whose body outlasts the timeout", { status: 503, slowBody: { chunks: 100, intervalMs: 50 } }],
  ];
  for (const [what, fault] of transient)
    it(`${what} is transient: retried after the interval, then delivered`, async () => {
      const f = saf();
      f.engine.setTargets([system("Mes", { timeoutMs: 300, retry: { intervalMs: 50, maxAttempts: 5 } })]);
      server.behave(failing(fault, 2));
      const id = f.engine.enqueue(msg("Mes", { n: 1 }));
      f.engine.start();
      await until(() => server.requests.length === 3 && f.engine.totals().messages === 0, 10_000, "delivery");
      expect(server.requests.map((r) => r.key)).toEqual([id, id, id]);
      // Fixed interval: each retry at least intervalMs after the failed attempt ended.
      expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(45);
      expect(f.engine.parked()).toEqual([]);
      expect(f.engine.counters).toMatchObject({ delivered: 1, failedAttempts: 2, parked: 0 });
    });

  it("a refused connection is transient, and parks the message after maxAttempts naming the cause", async () => {
    const f = saf();
    await server.stop();
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 3 } })]);
    const id = f.engine.enqueue(msg("Mes", { n: 1 }));
    f.engine.start();
    await until(() => f.engine.parked().length === 1, 10_000, "parking");
    const [p] = f.engine.parked();
    expect(p).toMatchObject({ id, attempts: 3, label: "Report", instance: "P1", kind: "externalSystem", name: "Mes" });
    expect(p!.lastError).toContain("ECONNREFUSED");
  });

  it("a 200 whose body outlasts the timeout is delivered (the status decides), and the lane goes on", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { timeoutMs: 300 })]);
    let n = 0;
    server.behave(() => (n++ === 0 ? { status: 200, slowBody: { chunks: 100, intervalMs: 50 } } : { status: 200 }));
    f.engine.enqueueMany([msg("Mes", { n: 1 }), msg("Mes", { n: 2 })]);
    const t0 = Date.now();
    f.engine.start();
    await until(() => f.engine.totals().messages === 0, 5_000, "both delivered");
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(server.requests.map((r) => (r.body as { n: number }).n)).toEqual([1, 2]);
    expect(f.engine.counters.failedAttempts).toBe(0);
  });

  const permanent: [string, Fault][] = [
    ["HTTP 400", { status: 400, body: '{"error":"line L9 unknown"}' }],
    ["HTTP 401", { status: 401 }],
    ["HTTP 403", { status: 403 }],
    ["HTTP 404", { status: 404 }],
    ["HTTP 409", { status: 409 }],
    ["HTTP 413", { status: 413 }],
    ["HTTP 422", { status: 422 }],
    ["HTTP 301 (redirects are not followed)", { status: 301, headers: { location: "http://127.0.0.1:1/" } }],
  ];
  for (const [what, fault] of permanent)
    it(`${what} is permanent: parked after one attempt, and the next message goes on`, async () => {
      const f = saf();
      f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 10 } })]);
      server.behave(failing(fault, 1));
      const [first, second] = f.engine.enqueueMany([msg("Mes", { n: 1 }), msg("Mes", { n: 2 })]);
      f.engine.start();
      await until(() => f.engine.status()[0]?.queued === 0, 5_000, "lane empty");
      expect(server.requests.map((r) => r.key)).toEqual([first, second]);
      const parked = f.engine.parked();
      expect(parked.map((p) => [p.id, p.attempts])).toEqual([[first, 1]]);
      expect(parked[0]!.lastError).toContain(`HTTP ${fault.status}`);
      if (fault.body) expect(parked[0]!.lastError).toContain("line L9 unknown");
      expect(f.engine.status()[0]).toMatchObject({ queued: 0, parked: 1 });
    });
});

describe("parking, retry and discard", () => {
  it("parks after exactly maxAttempts attempts, one interval apart, keeping the message and its key", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 40, maxAttempts: 4 } })]);
    server.behave(() => ({ status: 503 }));
    const id = f.engine.enqueue(msg("Mes", { n: 1 }));
    f.engine.start();
    await until(() => f.engine.parked().length === 1, 5_000, "parking");
    await sleep(150);
    expect(server.requests.length).toBe(4);
    expect(new Set(server.requests.map((r) => r.key))).toEqual(new Set([id]));
    for (let i = 1; i < 4; i++) expect(server.requests[i]!.at - server.requests[i - 1]!.at).toBeGreaterThanOrEqual(35);
    expect(f.engine.parked()[0]).toMatchObject({ id, attempts: 4, lastError: expect.stringContaining("HTTP 503") });
    expect(f.engine.status()[0]).toMatchObject({ queued: 0, parked: 1, oldestQueuedAt: null });
  });

  it("retry sends parked messages again with their key, before later ones; retry all; unknown and queued ids are reported", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 1 } })]);
    server.behave(() => ({ status: 503 }));
    const ids = f.engine.enqueueMany([msg("Mes", { n: 1 }), msg("Mes", { n: 2 }), msg("Mes", { n: 3 })]);
    f.engine.start();
    await until(() => f.engine.parked().length === 3, 5_000, "three parked");
    expect(f.engine.parked().map((p) => p.id)).toEqual(ids);
    server.requests.length = 0;
    server.behave(OK);
    const r = await f.engine.retry([ids[1]!, "no-such-id"]);
    expect(r).toEqual({ done: [ids[1]], notParked: [], unknown: ["no-such-id"] });
    await until(() => server.requests.length === 1, 5_000, "retried delivery");
    expect(server.requests[0]!.key).toBe(ids[1]);
    expect(f.engine.parked().map((p) => p.id)).toEqual([ids[0], ids[2]]);
    // A queued message is not "retried" (it is not parked): it is reported as such and left alone.
    server.behave(() => ({ hang: true }));
    const later = f.engine.enqueue(msg("Mes", { n: 4 }));
    await until(() => server.requests.length === 2, 5_000, "the later one in flight");
    expect(await f.engine.retry([later])).toEqual({ done: [], notParked: [later], unknown: [] });
    server.behave(OK);
    expect((await f.engine.retry("all")).done.sort()).toEqual([ids[0], ids[2]].sort());
    // The attempt in flight ends first (it times out and, at maxAttempts 1, parks); then the retried ones, in order.
    await until(() => server.requests.length === 4 && f.engine.parked().length === 1, 5_000, "retried deliveries");
    expect(server.requests.map((r) => r.key)).toEqual([ids[1], later, ids[0], ids[2]]);
    expect(f.engine.parked().map((p) => p.id)).toEqual([later]);
    expect(f.engine.counters.retried).toBe(3);
  });

  it("discard deletes parked messages only: a queued one is never discarded", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 1 } }), system("Erp")]);
    server.behave((r) => (r.path === "/bad" ? { status: 400 } : { hang: true }));
    const bad = f.engine.enqueue(msg("Mes", { n: 1 }, "/bad"));
    const queued = f.engine.enqueue(msg("Erp", { n: 2 }, "/slow"));
    f.engine.start();
    await until(() => f.engine.parked().length === 1, 5_000, "parking");
    expect(await f.engine.discard([bad, queued, "nope"])).toEqual({
      done: [bad],
      notParked: [queued],
      unknown: ["nope"],
    });
    expect(f.engine.parked()).toEqual([]);
    expect(f.engine.totals().messages).toBe(1);
    const row = f.store.db.prepare("SELECT id, state FROM saf_messages").all();
    expect(row).toEqual([{ id: queued, state: "queued" }]);
    expect(f.engine.counters.discarded).toBe(1);
  });

  it("matchParked selects parked messages by target, label, instance and parkedBefore (a ParkedMessages match)", async () => {
    let now = Date.parse("2026-04-21T05:00:00Z");
    const f = saf({ now: () => new Date(now) });
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 1 } }), system("Erp")]);
    server.behave(() => ({ status: 400 }));
    const m = (target: string, label: string, instance: string) => ({
      target: { kind: "externalSystem" as const, name: target },
      label,
      instance,
      payload: post(`${server.url}/x`, 1),
    });
    const [a, b] = f.engine.enqueueMany([m("Mes", "ReportCount", "F1"), m("Mes", "ReportAlarm", "F2")]);
    f.engine.start();
    await until(() => f.engine.parked().length === 2, 5_000, "two parked");
    now = Date.parse("2026-04-21T07:00:00Z");
    const [c] = f.engine.enqueueMany([m("Erp", "ReportCount", "F1")]);
    const queued = f.engine.enqueue(m("Mes", "ReportCount", "F1"));
    await until(() => f.engine.parked().length === 4, 5_000, "four parked");
    await f.engine.retry([queued]); // back in its lane: no longer parked, so never matched while queued
    server.behave(() => ({ hang: true }));
    expect(f.engine.matchParked({ target: "Mes" })).toEqual([a, b]);
    expect(f.engine.matchParked({ label: "ReportCount" })).toEqual([a, c]);
    expect(f.engine.matchParked({ label: "ReportCount", instance: "F1", target: "Erp" })).toEqual([c]);
    expect(f.engine.matchParked({ parkedBefore: "2026-04-21T08:00:00+02:00" })).toEqual([a, b]);
    expect(f.engine.matchParked({ parkedBefore: "2026-04-21T06:00:00Z", instance: "F2" })).toEqual([b]);
    expect(() => f.engine.matchParked({ parkedBefore: "yesterday" })).toThrow(InvalidMessageError);
    // The listing: every target's parked messages merged oldest first, at most limit, or one target's.
    expect(f.engine.parked().map((p) => p.id)).toEqual([a, b, c]);
    expect(f.engine.parked({ limit: 2 }).map((p) => p.id)).toEqual([a, b]);
    expect(f.engine.parked({ target: { kind: "externalSystem", name: "Erp" } }).map((p) => p.id)).toEqual([c]);
    expect(Object.keys(f.engine.parked()[0]!).sort()).toEqual([
      "attempts",
      "enqueuedAt",
      "id",
      "instance",
      "kind",
      "label",
      "lastAttemptAt",
      "lastError",
      "name",
      "parkedAt",
    ]);
  });

  it("parked messages outlive their instance's deletion and a restart", async () => {
    const f = saf();
    f.store.apply({
      name: "P1",
      revisionHash: "h1",
      blobOid: "b1",
      packageText: "{}",
      state: "enabled",
      deployCommit: "c1",
      at: new Date().toISOString(),
    });
    f.engine.setTargets([system("Mes")]);
    server.behave(() => ({ status: 404 }));
    const id = f.engine.enqueue(msg("Mes", { n: 1 }));
    f.engine.start();
    await until(() => f.engine.parked().length === 1, 5_000, "parking");
    expect(f.store.remove("P1", "c2", new Date().toISOString())).toBe(true);
    await f.restart();
    expect(f.engine.parked().map((p) => [p.id, p.instance])).toEqual([[id, "P1"]]);
    expect(f.engine.status()).toEqual([
      {
        kind: "externalSystem",
        name: "Mes",
        queued: 0,
        parked: 1,
        oldestQueuedAt: null,
        bytes: expect.any(Number),
        configured: false,
      },
    ]);
  });
});

describe("caps: a full store throws, nothing is dropped", () => {
  it("maxMessages: the next enqueue throws StoreFullError and stores nothing; parked messages count; every stored one is delivered", async () => {
    const f = saf({ caps: { maxMessages: 5 } });
    f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 1 } })]);
    server.behave((r) => ((r.body as { n: number }).n === 0 ? { status: 400 } : { status: 200 }));
    const ids = [0, 1, 2, 3, 4].map((n) => f.engine.enqueue(msg("Mes", { n })));
    expect(() => f.engine.enqueue(msg("Mes", { n: 5 }))).toThrow(StoreFullError);
    expect(() => f.engine.enqueue(msg("Mes", { n: 5 }))).toThrow(
      /full \(5 of 5 messages.*externalSystem Mes was not stored/,
    );
    expect(f.engine.totals().messages).toBe(5);
    expect(f.store.db.prepare("SELECT count(*) AS n FROM saf_messages").get()).toEqual({ n: 5 });
    f.engine.start();
    await until(() => f.engine.status()[0]?.queued === 0, 5_000, "drain");
    expect(server.requests.map((r) => r.key)).toEqual(ids);
    // The parked one (n=0) still takes its place: one more fits, two do not.
    expect(() =>
      f.engine.enqueueMany([
        msg("Mes", { n: 6 }),
        msg("Mes", { n: 7 }),
        msg("Mes", { n: 8 }),
        msg("Mes", { n: 9 }),
        msg("Mes", { n: 10 }),
      ]),
    ).toThrow(StoreFullError);
    expect(f.engine.totals().messages).toBe(1);
    f.engine.enqueueMany([6, 7, 8, 9].map((n) => msg("Mes", { n })));
    expect(() => f.engine.enqueue(msg("Mes", { n: 11 }))).toThrow(StoreFullError);
    expect(f.engine.counters.refusedFull).toBe(8);
    await until(() => f.engine.status()[0]?.queued === 0, 5_000, "drain");
    expect(server.requests.map((r) => (r.body as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
  });

  it("maxBytes and maxMessageBytes, counted after a restart too", async () => {
    const body = "x".repeat(1000);
    const f = saf({ caps: { maxBytes: 3000, maxMessageBytes: 2000 } });
    f.engine.enqueue(msg("Mes", { body }));
    f.engine.enqueue(msg("Mes", { body }));
    const bytes = f.engine.totals().bytes;
    expect(bytes).toBeGreaterThan(2000);
    expect(() => f.engine.enqueue(msg("Mes", { body }))).toThrow(StoreFullError);
    expect(() => f.engine.enqueue(msg("Mes", { body: "y".repeat(2500) }))).toThrow(InvalidMessageError);
    await f.restart();
    expect(f.engine.totals()).toMatchObject({ messages: 2, bytes });
    expect(() => f.engine.enqueue(msg("Mes", { body }))).toThrow(StoreFullError);
    expect(f.engine.status()[0]).toMatchObject({ queued: 2, bytes });
  });
});

describe("idempotency keys", () => {
  it("the id enqueue returns is the Idempotency-Key, the same across a restart and an attempt cut off by it", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { timeoutMs: 5000 })]);
    server.behave(() => ({ hang: true }));
    const id = f.engine.enqueue(msg("Mes", { n: 1 }));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    f.engine.start();
    await until(() => server.requests.length === 1, 5_000, "first attempt");
    await f.restart();
    server.behave(OK);
    f.engine.setTargets([system("Mes")]);
    f.engine.start();
    await until(() => f.engine.totals().messages === 0, 5_000, "delivery after restart");
    expect(server.requests.map((r) => r.key)).toEqual([id, id]);
    // The attempt cut off by the stop was not counted against the message.
    expect(f.engine.counters.failedAttempts).toBe(0);
  });

  it("a caller's own id is kept; a duplicate or malformed id is refused", () => {
    const f = saf();
    expect(f.engine.enqueue({ ...msg("Mes", 1), id: "run-42.call-1" })).toBe("run-42.call-1");
    expect(() => f.engine.enqueue({ ...msg("Mes", 2), id: "run-42.call-1" })).toThrow(/already stored/);
    expect(() => f.engine.enqueue({ ...msg("Mes", 2), id: "bad id\n" })).toThrow(InvalidMessageError);
    expect(f.engine.totals().messages).toBe(1);
  });
});

describe("FIFO per target", () => {
  it("each target in enqueue order while another target fails, and the failing one in order once it recovers", async () => {
    const f = saf();
    f.engine.setTargets([system("Good"), system("Bad", { retry: { intervalMs: 20, maxAttempts: 1000 } })]);
    let badUp = false;
    server.behave((r) => (r.path === "/bad" && !badUp ? { status: 503, unrecorded: true } : { status: 200 }));
    f.engine.start();
    for (let n = 0; n < 300; n++) {
      f.engine.enqueue(msg(n % 2 ? "Bad" : "Good", { n }, n % 2 ? "/bad" : "/good"));
      if (n % 10 === 0) await sleep(1);
    }
    await until(() => f.engine.status().find((s) => s.name === "Good")?.queued === 0, 10_000, "Good drained");
    const seen = (path: string) =>
      server.requests.filter((r) => r.path === path).map((r) => (r.body as { n: number }).n);
    expect(seen("/good")).toEqual(Array.from({ length: 150 }, (_, i) => 2 * i));
    expect(seen("/bad")).toEqual([]);
    expect(f.engine.status().find((s) => s.name === "Bad")).toMatchObject({ queued: 150, parked: 0 });
    badUp = true;
    await until(() => f.engine.totals().messages === 0, 10_000, "Bad drained");
    expect(seen("/bad")).toEqual(Array.from({ length: 150 }, (_, i) => 2 * i + 1));
  });
});

describe("targets, status and bounds", () => {
  it("messages of a target site.json does not define are held: not sent, not parked, delivered once it is defined", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes")]);
    f.engine.start();
    const id = f.engine.enqueue(msg("Erp", { n: 1 }));
    await sleep(200);
    expect(server.requests).toEqual([]);
    const erp = f.engine.status().find((s) => s.name === "Erp");
    expect(erp).toMatchObject({ queued: 1, parked: 0, configured: false });
    expect(Date.parse(erp!.oldestQueuedAt!)).toBeGreaterThan(Date.now() - 5_000);
    f.engine.setTargets([system("Mes"), system("Erp")]);
    await until(() => server.requests.length === 1, 5_000, "delivery");
    expect(server.requests[0]!.key).toBe(id);
  });

  it("a defined target whose kind has no deliverer holds its messages too (configured: false)", async () => {
    const f = saf();
    const ops = { kind: "notificationList" as const, name: "Operators", retry: { intervalMs: 10, maxAttempts: 1 } };
    f.engine.setTargets([ops, system("Mes")]);
    f.engine.start();
    f.engine.enqueue({ target: ops, label: "Pump down", payload: { subject: "Pump down", body: "P1" } });
    await sleep(100);
    expect(f.engine.status().find((s) => s.name === "Operators")).toMatchObject({
      queued: 1,
      parked: 0,
      configured: false,
    });
    expect(f.engine.status().find((s) => s.name === "Mes")).toMatchObject({ queued: 0, configured: true });
    expect(f.engine.parked()).toEqual([]);
  });

  it("at most maxPerSecond attempts a second per target", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes", { maxPerSecond: 20 })]);
    f.engine.enqueueMany(Array.from({ length: 60 }, (_, n) => msg("Mes", { n })));
    f.engine.start();
    await sleep(1000);
    const n = server.requests.length;
    // A burst of 2 (a tenth of a second's worth), then 20 a second.
    expect(n).toBeGreaterThanOrEqual(15);
    expect(n).toBeLessThanOrEqual(23);
    const gaps = server.requests.slice(3).map((r, i) => r.at - server.requests[i + 2]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(30);
  });

  it("status per target: queued, parked, bytes, oldestQueuedAt", () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const f = saf({ now: () => new Date(now) });
    f.engine.enqueue(msg("Mes", { n: 1 }));
    now += 1000;
    f.engine.enqueue(msg("Mes", { n: 2 }));
    f.engine.enqueue({
      target: { kind: "notificationList", name: "Operators" },
      label: "Pump down",
      payload: { subject: "x" },
    });
    const s = f.engine.status();
    expect(s.map((t) => [t.kind, t.name, t.queued, t.parked, t.oldestQueuedAt])).toEqual([
      ["externalSystem", "Mes", 2, 0, "2026-01-01T00:00:00.000Z"],
      ["notificationList", "Operators", 1, 0, "2026-01-01T00:00:01.000Z"],
    ]);
    const stored = f.store.db
      .prepare("SELECT kind, target, sum(bytes) AS b FROM saf_messages GROUP BY kind, target ORDER BY kind")
      .all() as { b: number }[];
    expect(s.map((t) => t.bytes)).toEqual(stored.map((r) => r.b));
  });
});

describe("secrets and what is stored", () => {
  const AUTH: TargetConfig["auth"][] = [
    { type: "apiKey", header: "X-Api-Key", secret: "MES_KEY" },
    { type: "bearer", tokenSecret: "MES_KEY" },
    { type: "basic", username: "scada", passwordSecret: "MES_KEY" },
  ];
  for (const auth of AUTH)
    it(`${auth!.type}: resolved at delivery from the secret as it is then, never stored, masked in errors`, async () => {
      const f = saf();
      const canary = "canary-7f3e9a1b-secret";
      f.engine.setTargets([system("Mes", { auth, retry: { intervalMs: 10, maxAttempts: 2 } })]);
      // Missing at first: a transient failure naming the secret.
      f.engine.enqueue(msg("Mes", { n: 1 }));
      f.engine.start();
      await until(() => f.engine.parked().length === 1, 5_000, "parked without secret");
      expect(f.engine.parked()[0]!.lastError).toBe("secret MES_KEY is not provided");
      expect(server.requests).toEqual([]);
      f.secrets.set("MES_KEY", canary);
      // A receiver that echoes the credential in its error body: lastError masks it.
      server.behave((r) => ({ status: 400, body: JSON.stringify(r.headers) }));
      await f.engine.retry("all");
      await until(() => server.requests.length === 1 && f.engine.parked()[0]?.attempts === 1, 5_000, "attempt");
      const h = server.requests[0]!.headers;
      if (auth!.type === "apiKey") expect(h["x-api-key"]).toBe(canary);
      if (auth!.type === "bearer") expect(h.authorization).toBe(`Bearer ${canary}`);
      if (auth!.type === "basic")
        expect(h.authorization).toBe(`Basic ${Buffer.from(`scada:${canary}`).toString("base64")}`);
      const lastError = f.engine.parked()[0]!.lastError!;
      expect(lastError).toContain("HTTP 400");
      expect(lastError).toContain("***");
      expect(lastError).not.toContain(canary);
      expect(lastError).not.toContain(Buffer.from(`scada:${canary}`).toString("base64"));
      await f.close();
      open = open.filter((o) => o !== f);
      for (const ext of ["", "-wal"]) {
        let bytes = "";
        try {
          bytes = readFileSync(`${f.file}${ext}`, "latin1");
        } catch {}
        expect(bytes).not.toContain(canary);
      }
    });

  it("a message never carries credentials: Authorization, Cookie and Idempotency-Key headers and user info in the URL are refused", () => {
    const f = saf();
    const bad = [
      post(`${server.url}/x`, 1, { Authorization: "Bearer abc" }),
      post(`${server.url}/x`, 1, { cookie: "a=b" }),
      post(`${server.url}/x`, 1, { "Idempotency-Key": "mine" }),
      post("http://user:pw@127.0.0.1:1/x", 1),
      post("ftp://127.0.0.1/x", 1),
      { method: "TRACE", url: `${server.url}/x` },
      post(`${server.url}/x`, 1, { "bad header": "x" }),
    ];
    for (const payload of bad)
      expect(() => f.engine.enqueue({ target: { kind: "externalSystem", name: "Mes" }, label: "x", payload })).toThrow(
        InvalidMessageError,
      );
    expect(() =>
      f.engine.enqueue({ target: { kind: "externalSystem", name: "Mes" }, label: "x", payload: { a: 1n } }),
    ).toThrow(InvalidMessageError);
    expect(f.engine.totals().messages).toBe(0);
    // Plain headers are kept and sent.
    f.engine.enqueue({
      target: { kind: "externalSystem", name: "Mes" },
      label: "x",
      payload: post(`${server.url}/x`, 1, { "X-Line": "L1" }),
    });
    expect(f.engine.totals().messages).toBe(1);
  });

  it("the payload reaches the receiver as sent: method, path, plain headers, JSON body", async () => {
    const f = saf();
    f.engine.setTargets([system("Mes")]);
    const id = f.engine.enqueue({
      target: { kind: "externalSystem", name: "Mes" },
      label: "ReportCount",
      payload: {
        method: "PUT",
        url: `${server.url}/lines/L%201/counts?x=1`,
        headers: { "X-Line": "L1" },
        body: { count: 42, s: "é" },
      },
    });
    f.engine.start();
    await until(() => server.requests.length === 1, 5_000, "delivery");
    const r = server.requests[0]!;
    expect([r.method, r.path, r.headers["x-line"], r.headers["content-type"], r.key, r.body]).toEqual([
      "PUT",
      "/lines/L%201/counts?x=1",
      "L1",
      "application/json",
      id,
      { count: 42, s: "é" },
    ]);
  });
});

describe("submit: group commit", () => {
  it("messages submitted in one turn share one commit; each resolves after it, with its id readable by another connection", async () => {
    const f = saf({ caps: { maxMessages: 8 } });
    const Database = (await import("better-sqlite3")).default;
    const reader = new Database(f.file, { readonly: true });
    const seen: number[] = [];
    const all = Array.from({ length: 10 }, (_, n) =>
      f.engine.submit(msg("Mes", { n })).then((id) => {
        seen.push((reader.prepare("SELECT count(*) AS c FROM saf_messages WHERE id = ?").get(id) as { c: number }).c);
        return id;
      }),
    );
    const bad = f.engine.submit({
      target: { kind: "externalSystem", name: "Mes" },
      label: "x",
      payload: { method: "GET", url: "ftp://x" },
    });
    // Nothing is stored before the turn ends.
    expect(f.engine.totals().messages).toBe(0);
    const results = await Promise.allSettled([...all, bad]);
    reader.close();
    expect(results.map((r) => r.status)).toEqual([...Array(8).fill("fulfilled"), "rejected", "rejected", "rejected"]);
    expect((results[8] as PromiseRejectedResult).reason).toBeInstanceOf(StoreFullError);
    expect((results[10] as PromiseRejectedResult).reason).toBeInstanceOf(InvalidMessageError);
    expect(seen).toEqual(Array(8).fill(1));
    expect(f.engine.totals().messages).toBe(8);
    expect(f.engine.counters.refusedFull).toBe(2);
  });
});

describe("a store that refuses writes (disk full, read-only)", () => {
  it("delivery pauses and retries, nothing is lost or crashes, and everything is delivered once it accepts writes again", async () => {
    const warnings: string[] = [];
    const f = saf({ log: { info: () => undefined, warn: (_o, m) => warnings.push(m) } });
    f.engine.setTargets([system("Mes")]);
    server.behave(() => ({ status: 200, delayMs: 5 }));
    const ids = f.engine.enqueueMany(Array.from({ length: 40 }, (_, n) => msg("Mes", { n })));
    f.engine.start();
    await until(() => server.requests.length >= 5, 5_000, "first deliveries");
    f.store.db.pragma("query_only = ON");
    await until(() => f.engine.counters.storeErrors > 0, 5_000, "a refused write");
    // An enqueue now is the caller's error, and nothing is counted as stored.
    const before = f.engine.totals().messages;
    expect(() => f.engine.enqueue(msg("Mes", { n: 99 }))).toThrow(/readonly/);
    expect(f.engine.totals().messages).toBe(before);
    await sleep(300);
    f.store.db.pragma("query_only = OFF");
    await until(() => f.engine.totals().messages === 0, 10_000, "everything delivered");
    const keys = server.requests.map((r) => r.key);
    expect(new Set(keys)).toEqual(new Set(ids));
    // Deliveries whose deletion was refused may be sent again, always with their own key.
    for (const r of server.requests) expect(ids[(r.body as { n: number }).n]).toBe(r.key);
    expect(f.store.db.prepare("SELECT count(*) AS n FROM saf_messages").get()).toEqual({ n: 0 });
    expect(warnings.some((w) => w.includes("failed"))).toBe(true);
  });
});

describe("operators on a full store", () => {
  it("retry and discard of thousands go in chunks with the event loop free in between, and count exactly", async () => {
    const f = saf();
    const N = 5_000;
    const ids = f.engine.enqueueMany(Array.from({ length: N }, (_, n) => msg(n % 2 ? "Mes" : "Erp", { n })));
    f.store.db.exec("UPDATE saf_messages SET state = 'parked', parked_at = '2026-01-01T00:00:00.000Z'");
    await f.restart();
    expect(f.engine.status().map((s) => [s.name, s.queued, s.parked])).toEqual([
      ["Erp", 0, N / 2],
      ["Mes", 0, N / 2],
    ]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const discarded = await f.engine.discard(ids.filter((_, n) => n % 5 === 0));
    const retried = await f.engine.retry("all");
    clearInterval(timer);
    expect(discarded.done).toHaveLength(N / 5);
    expect(retried.done).toHaveLength(N - N / 5);
    expect(new Set([...discarded.done, ...retried.done]).size).toBe(N);
    // Timers ran between the chunks (5 of discard, 4 of retry).
    expect(ticks).toBeGreaterThan(2);
    expect(f.engine.totals().messages).toBe(N - N / 5);
    expect(f.engine.status().map((s) => [s.name, s.queued, s.parked])).toEqual([
      ["Erp", N / 2 - N / 10, 0],
      ["Mes", N / 2 - N / 10, 0],
    ]);
    const rows = f.store.db.prepare("SELECT state, count(*) AS n FROM saf_messages GROUP BY state").all();
    expect(rows).toEqual([{ state: "queued", n: N - N / 5 }]);
    expect(await f.engine.retry("all")).toEqual({ done: [], notParked: [], unknown: [] });
  });
});
