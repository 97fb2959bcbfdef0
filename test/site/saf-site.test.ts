import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validatorFor } from "../../controller/contract/schemas.js";
import type { SiteStatus } from "../../schemas/types.js";
import type { Reconciler } from "../../site-reconciler/reconciler.js";
import { BACKLOG_AGE_MS, backlogDigest } from "../../site-reconciler/status/build.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { y } from "../helpers/repo.js";
import { type FaultServer, startFaultServer } from "../helpers/saf-http-server.mjs";
import { AUTO, type Fleet, fleet, git, reconciler, STATUS, show, tempDir } from "./helpers.js";
import { until } from "./runtime-helpers.js";

// The store-and-forward engine as the site runs it: on the site store, targets from the applied site.json, started
// with the loop, its backlog and parked messages on the status branch, ParkedMessages documents applied once.

let server: GitServer;
let mes: FaultServer;
const running: Reconciler[] = [];

beforeAll(async () => {
  server = await startGitServer();
  mes = await startFaultServer();
});
afterAll(async () => {
  for (const r of running.splice(0)) await r.stop();
  await mes.stop();
  await server.stop();
});

const MES = { kind: "externalSystem", name: "Mes" } as const;
/** In every payload: never on the status branch. */
const CANARY = "payload-canary-7f3a";

const integrations = () => y`
  kind: ExternalSystem
  name: Mes
  baseUrl: ${mes.url}/api
  timeoutMs: 2000
  retry: { intervalMs: 100, maxAttempts: 2 }
  methods:
    - name: ReportCount
      http: POST
      path: /counts
`;

async function site(f: Fleet, stateDir = tempDir("site")): Promise<Reconciler> {
  const r = await reconciler(f.url, { stateDir, pollIntervalMs: 200 });
  running.push(r);
  return r;
}

async function stop(r: Reconciler): Promise<void> {
  running.splice(running.indexOf(r), 1);
  await r.stop();
}

function enqueue(r: Reconciler, path: string): string {
  return r.storeAndForwardEngine.enqueue({
    target: MES,
    label: "ReportCount",
    instance: "Pump07",
    payload: { method: "POST", url: `${mes.url}${path}`, body: { count: 1, note: CANARY } },
  });
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const status = (f: Fleet) => show<SiteStatus>(f.bare, STATUS, "status.json");

/** status.json once it says what check wants. */
function reported(f: Fleet, what: string, check: (s: SiteStatus) => boolean, ms = 15_000): Promise<SiteStatus> {
  return until(
    what,
    () => {
      try {
        const s = status(f);
        return check(s) ? s : false;
      } catch {
        return false;
      }
    },
    ms,
  );
}

describe("store-and-forward in the site", () => {
  it("delivers a message enqueued into the running site's engine, with its id as Idempotency-Key", async () => {
    mes.behave(() => ({ status: 200 }));
    const f = await fleet(server, { ...AUTO, "integrations.yaml": integrations() });
    const r = await site(f);
    const port = await r.serve(0);
    r.start();
    const s = await reported(f, "the target reported", (s) => !!s.health.storeAndForward?.["externalSystem/Mes"]);
    expect(validatorFor("site-status.schema.json")(s)).toBe(true);
    expect(s.health.storeAndForward).toEqual({
      "externalSystem/Mes": { queued: 0, parked: 0, oldestQueuedAt: null, bytes: 0, configured: true },
    });
    expect(s.parked).toBeUndefined();
    const id = enqueue(r, "/ok/1");
    const got = await until("delivered", () => mes.requests.find((q) => q.key === id));
    expect(got).toMatchObject({ method: "POST", path: "/ok/1", body: { count: 1, note: CANARY } });
    await until("acknowledged", () => r.storeAndForwardEngine.status()[0]?.queued === 0);
    expect(r.storeAndForwardEngine.counters.delivered).toBe(1);
    // The engine's metrics are on the site's registry.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('scadalink_site_saf_messages{kind="externalSystem",target="Mes",state="queued"} 0');
    expect(metrics).toContain('scadalink_site_saf_target_configured{kind="externalSystem",target="Mes"} 1');
    expect(metrics).toMatch(/^scadalink_site_saf_delivered_total 1$/m);
  });

  it("messages stored before a stop are delivered after the restart, also with the package runtime (no scripts)", async () => {
    mes.behave(() => ({ status: 200 }));
    const f = await fleet(server, { ...AUTO, "integrations.yaml": integrations() });
    const stateDir = tempDir("site");
    let r = await site(f, stateDir);
    await r.once(); // one loop, no delivery: the engine starts with the running loop only
    const ids = [enqueue(r, "/later/1"), enqueue(r, "/later/2")];
    await stop(r);
    expect(mes.requests.filter((q) => ids.includes(q.key ?? ""))).toEqual([]);
    r = await site(f, stateDir);
    expect(r.storeAndForwardEngine.status()[0]).toMatchObject({ queued: 2, configured: true });
    r.start();
    await until("both delivered", () => mes.requests.filter((q) => ids.includes(q.key ?? "")).length === 2);
    expect(mes.requests.filter((q) => ids.includes(q.key ?? "")).map((q) => q.path)).toEqual(["/later/1", "/later/2"]);
  });

  it("a message parked between polls is reported within seconds, not at the next poll", async () => {
    mes.behave((q) => (q.path?.startsWith("/fail") ? { status: 503 } : { status: 200 }));
    const f = await fleet(server, { ...AUTO, "integrations.yaml": integrations() });
    const r = await reconciler(f.url, { stateDir: tempDir("site") }); // polls once an hour
    running.push(r);
    r.start();
    await reported(f, "the first report", (s) => !!s.health.storeAndForward?.["externalSystem/Mes"]);
    const heads = git(f.bare, "rev-list", "--count", STATUS);
    const id = enqueue(r, "/fail/kick");
    const t0 = Date.now();
    const s = await reported(f, "the parked message", (s) => s.parked?.messages[0]?.id === id, 10_000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(s.health.storeAndForward?.["externalSystem/Mes"]?.parked).toBe(1);
    expect(Number(git(f.bare, "rev-list", "--count", STATUS))).toBe(Number(heads) + 1);
  });

  it("a site without integrations reports no storeAndForward and no parked list", async () => {
    const f = await fleet(server);
    const r = await site(f);
    await r.once();
    const s = status(f);
    expect(s.health).not.toHaveProperty("storeAndForward");
    expect(s).not.toHaveProperty("parked");
  });

  it("parks after maxAttempts, reports it in status.json with the parked list (never the payload); a ParkedMessages retry is applied once, a discard too, and a restart keeps all of it", async () => {
    mes.behave((q) => (q.path?.startsWith("/fail") ? { status: 503, body: "down for maintenance" } : { status: 200 }));
    const f = await fleet(server, { ...AUTO, "integrations.yaml": integrations() });
    const stateDir = tempDir("site");
    let r = await site(f, stateDir);
    r.start();
    await reported(f, "the target reported", (s) => !!s.health.storeAndForward?.["externalSystem/Mes"]);
    const id = enqueue(r, "/fail/1");
    const s = await reported(f, "the parked message", (s) => s.parked?.total === 1);
    expect(validatorFor("site-status.schema.json")(s)).toBe(true);
    expect(s.health.storeAndForward?.["externalSystem/Mes"]).toMatchObject({ queued: 0, parked: 1, configured: true });
    expect(s.parked!.messages).toHaveLength(1);
    const m = s.parked!.messages[0]!;
    expect(m).toMatchObject({ id, kind: "externalSystem", target: "Mes", label: "ReportCount", instance: "Pump07" });
    expect(m.attempts).toBe(2);
    expect(m.lastError).toMatch(/^HTTP 503/);
    expect(Object.keys(m).sort()).toEqual(
      [
        "attempts",
        "enqueuedAt",
        "id",
        "instance",
        "kind",
        "label",
        "lastAttemptAt",
        "lastError",
        "parkedAt",
        "target",
      ].sort(),
    );
    // Nothing of the payload on the status branch, in any file of any commit.
    expect(git(f.bare, "log", "-p", STATUS)).not.toContain(CANARY);
    expect(mes.requests.filter((q) => q.key === id)).toHaveLength(2);

    // A ParkedMessages document on main: retried once, reported with its revision.
    await f.change({
      "parked.yaml": y`
        kind: ParkedMessages
        name: 2026-04-21-retry-mes
        site: plant-north
        action: retry
        ids: [${id}]
      `,
    });
    const acted = await reported(f, "the action reported", (s) => (s.parked?.actions.length ?? 0) === 1);
    expect(acted.parked!.actions[0]).toMatchObject({
      name: "2026-04-21-retry-mes",
      action: "retry",
      selected: 1,
      done: 1,
      notParked: 0,
      unknown: 0,
    });
    expect(acted.parked!.actions[0]!.revisionHash).toMatch(/^sha256:/);
    // The target still fails: the retried message parks again, after two more attempts, and stays parked.
    await until("parked again", () => r.storeAndForwardEngine.counters.parked === 2);
    await until("reported parked again", () => status(f).parked?.total === 1);
    expect(mes.requests.filter((q) => q.key === id)).toHaveLength(4);
    await sleep(1000); // five more loops, each seeing the same document
    expect(r.storeAndForwardEngine.counters.retried).toBe(1);
    expect(mes.requests.filter((q) => q.key === id)).toHaveLength(4);

    // A restart applies nothing again and keeps the message parked and the action reported.
    await stop(r);
    r = await site(f, stateDir);
    await r.once();
    expect(r.storeAndForwardEngine.counters.retried).toBe(0);
    expect(r.storeAndForwardEngine.parked().map((p) => p.id)).toEqual([id]);
    const after = status(f);
    expect(after.parked?.total).toBe(1);
    expect(after.parked?.actions.map((a) => a.name)).toEqual(["2026-04-21-retry-mes"]);

    // A discard document: the message is deleted, once.
    await f.change({
      "discard.yaml": y`
        kind: ParkedMessages
        name: 2026-04-22-discard-mes
        site: plant-north
        action: discard
        match: { target: Mes, method: ReportCount }
      `,
    });
    await r.once();
    expect(r.storeAndForwardEngine.parked()).toEqual([]);
    expect(r.storeAndForwardEngine.counters.discarded).toBe(1);
    const gone = status(f);
    expect(gone.parked?.total).toBe(0);
    expect(gone.parked?.actions.find((a) => a.name === "2026-04-22-discard-mes")).toMatchObject({
      action: "discard",
      selected: 1,
      done: 1,
    });
    expect(gone.health.storeAndForward?.["externalSystem/Mes"]).toMatchObject({ queued: 0, parked: 0, bytes: 0 });
    await r.once();
    expect(r.storeAndForwardEngine.counters.discarded).toBe(1);
  });

  it("a ParkedMessages revision applied once is not applied to messages that park later; a new revision is", async () => {
    mes.behave(() => ({ status: 400, body: "bad request" }));
    const f = await fleet(server, { ...AUTO, "integrations.yaml": integrations() });
    const r = await site(f);
    r.start();
    await reported(f, "the target reported", (s) => !!s.health.storeAndForward?.["externalSystem/Mes"]);
    const first = enqueue(r, "/bad/1");
    await until("parked at once (400 is permanent)", () => r.storeAndForwardEngine.counters.parked === 1);
    await f.change({
      "parked.yaml": y`
        kind: ParkedMessages
        name: retry-all-mes
        site: plant-north
        action: retry
        match: { target: Mes }
      `,
    });
    await until("the first retried and parked again", () => r.storeAndForwardEngine.counters.parked === 2, 15_000);
    expect(r.storeAndForwardEngine.counters.retried).toBe(1);
    const second = enqueue(r, "/bad/2");
    await until("the second parked", () => r.storeAndForwardEngine.counters.parked === 3);
    await sleep(1000);
    expect(r.storeAndForwardEngine.counters.retried).toBe(1);
    expect(r.storeAndForwardEngine.parked().map((p) => p.id)).toEqual([first, second]);
    // Its selection edited: a new revision, applied to what is parked now.
    await f.change({
      "parked.yaml": y`
        kind: ParkedMessages
        name: retry-all-mes
        site: plant-north
        action: retry
        match: { target: Mes, instance: Pump07 }
      `,
    });
    await until("both retried", () => r.storeAndForwardEngine.counters.retried === 3, 15_000);
    const s = await reported(f, "the new revision reported", (s) => s.parked?.actions[0]?.selected === 2);
    expect(s.parked!.actions).toHaveLength(1);
  });

  it("a steady flow writes no status commit per loop: only parked counts, held targets and a backlog's order of magnitude do", () => {
    const now = Date.parse("2026-05-01T12:00:00Z");
    const t = (queued: number, ageMs: number, parked = 0, configured = true) => ({
      "externalSystem/Mes": {
        queued,
        parked,
        oldestQueuedAt: queued ? new Date(now - ageMs).toISOString() : null,
        bytes: queued * 10,
        configured,
      },
    });
    const d = (x: ReturnType<typeof t>) => backlogDigest(x, now);
    // Messages flowing (the oldest younger than BACKLOG_AGE_MS): the same as none queued.
    expect(d(t(3, 1000))).toBe(d(t(0, 0)));
    expect(d(t(1, BACKLOG_AGE_MS - 1))).toBe(d(t(0, 0)));
    // A backlog: a change, and again with each order of magnitude, not with each message.
    expect(d(t(3, BACKLOG_AGE_MS))).not.toBe(d(t(0, 0)));
    expect(d(t(3, BACKLOG_AGE_MS))).toBe(d(t(9, BACKLOG_AGE_MS * 2)));
    expect(d(t(10, BACKLOG_AGE_MS))).not.toBe(d(t(9, BACKLOG_AGE_MS)));
    expect(d(t(0, 0, 1))).not.toBe(d(t(0, 0, 0)));
    expect(d(t(0, 0, 0, false))).not.toBe(d(t(0, 0, 0, true)));
    expect(backlogDigest(undefined, now)).toBe("");
  });
});
