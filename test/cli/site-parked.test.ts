import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpDeliverer, StoreAndForward } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { Store } from "../../site-reconciler/store/store.js";
import { AUTO } from "../controller/helpers.js";
import { localRepo, scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";
import { y } from "../helpers/repo.js";
import { system } from "../helpers/saf-engine.js";
import { type FaultServer, startFaultServer } from "../helpers/saf-http-server.mjs";
import { until } from "../site/runtime-helpers.js";

// `scadalink site parked`, `… retry` and `… discard` with the built CLI, on a state directory with parked messages:
// with no site running (the command acts on the store), and against a running site process (it asks the site).

let mes: FaultServer;
beforeAll(async () => {
  mes = await startFaultServer();
});
afterAll(async () => {
  await mes.stop();
});

const CANARY = "payload-canary-51c2";
const MES = { kind: "externalSystem", name: "Mes" } as const;

/** A state directory of site plant-north holding `n` messages to Mes, parked by a permanent failure. */
async function parkedState(n: number, label = "ReportCount"): Promise<{ state: string; ids: string[] }> {
  const state = tempDir("state");
  const store = Store.open(join(state, "site.db"));
  store.setMeta("site", "plant-north");
  const engine = new StoreAndForward({
    db: store.db,
    deliverers: { externalSystem: httpDeliverer({ secrets: () => undefined }) },
  });
  engine.setTargets([system("Mes", { retry: { intervalMs: 20, maxAttempts: 1 } })]);
  mes.behave(() => ({ status: 422, body: "rejected" }));
  const ids = Array.from({ length: n }, (_, i) =>
    engine.enqueue({
      target: MES,
      label,
      instance: "Pump07",
      payload: { method: "POST", url: `${mes.url}/counts/${i}`, body: { note: CANARY } },
    }),
  );
  engine.start();
  await until("parked", () => engine.status()[0]?.parked === n);
  await engine.stop();
  store.close();
  return { state, ids };
}

const list = (state: string) => {
  const r = scadalink(["site", "parked", "--state-dir", state, "--format", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { site: string; total: number; messages: { id: string }[]; targets: unknown[] };
};

describe("scadalink site parked, no site running", () => {
  it("lists parked messages with the backlog per target, never the payload; text output escapes control characters", async () => {
    // A label with terminal controls in it (scripts choose labels): text output must not pass them on.
    const { state, ids } = await parkedState(2, "Report\u001b[2J\u001b]0;owned\u0007Count");
    const r = scadalink(["site", "parked", "--state-dir", state, "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(CANARY);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(["site", "total", "targets", "messages"]);
    expect(doc.site).toBe("plant-north");
    expect(doc.total).toBe(2);
    expect(doc.targets).toEqual([
      { kind: "externalSystem", target: "Mes", queued: 0, parked: 2, oldestQueuedAt: null, bytes: expect.any(Number) },
    ]);
    expect(doc.messages.map((m: { id: string }) => m.id)).toEqual(ids);
    expect(Object.keys(doc.messages[0])).toEqual([
      "id",
      "kind",
      "target",
      "label",
      "instance",
      "attempts",
      "lastError",
      "enqueuedAt",
      "lastAttemptAt",
      "parkedAt",
    ]);
    expect(doc.messages[0]).toMatchObject({
      label: "Report\u001b[2J\u001b]0;owned\u0007Count",
      instance: "Pump07",
      attempts: 1,
      lastError: "HTTP 422: rejected",
    });

    const text = scadalink(["site", "parked", "--state-dir", state]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(ids[0]);
    expect(text.stdout).toContain("Report\\x1b[2J\\x1b]0;owned\\x07Count");
    expect(text.stdout).toContain("after 1 attempt: HTTP 422: rejected");
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(text.stdout).not.toContain(CANARY);
    expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("2 parked messages");
  });

  it("retry and discard act on the store; unknown and queued ids are said and exit 1; usage errors exit 2", async () => {
    const { state, ids } = await parkedState(3);
    const retry = scadalink(["site", "parked", "retry", ids[0]!, "--state-dir", state]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/^retried 1 parked message in the store \(no site running\)/);
    expect(list(state).messages.map((m) => m.id)).toEqual([ids[1], ids[2]]);

    const again = scadalink(["site", "parked", "retry", ids[0]!, "nope", "--state-dir", state, "--format", "json"]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({ action: "retry", done: [], notParked: [ids[0]], unknown: ["nope"] });

    const discard = scadalink(["site", "parked", "discard", ids[1]!, "--state-dir", state]);
    expect(discard.code, discard.stderr).toBe(0);
    expect(list(state).messages.map((m) => m.id)).toEqual([ids[2]]);
    // The queued one is never discarded.
    const queued = scadalink(["site", "parked", "discard", ids[0]!, "--state-dir", state]);
    expect(queued.code).toBe(1);
    expect(queued.stdout).toContain("not parked (queued, left as it is)");
    const store = Store.open(join(state, "site.db"), { readonly: true });
    const rows = store.db.prepare("SELECT id, state FROM saf_messages ORDER BY seq").all();
    store.close();
    expect(rows).toEqual([
      { id: ids[0], state: "queued" },
      { id: ids[2], state: "parked" },
    ]);

    for (const args of [["retry"], ["retry", "x", "--all"], ["discard"], ["discard", "--all", "x"]]) {
      const r = scadalink(["site", "parked", ...args, "--state-dir", state]);
      expect(r.code, args.join(" ")).toBe(2);
    }
    expect(scadalink(["site", "parked", "--state-dir", tempDir("empty")]).code).toBe(2);
  });

  it("a request a running site does not take in time is withdrawn: nothing done, then or later", async () => {
    const { state, ids } = await parkedState(1);
    // A live process holds the lock but takes no requests (this test process).
    writeFileSync(join(state, "reconciler.lock"), `${process.pid}\n`);
    const r = scadalink(["site", "parked", "retry", ids[0]!, "--state-dir", state, "--wait", "0.5"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(pid ${process.pid}) did not take the request within 0.5 s: nothing was done`);
    const store = Store.open(join(state, "site.db"), { readonly: true });
    expect(store.db.prepare("SELECT count(*) AS n FROM saf_requests").get()).toEqual({ n: 0 });
    store.close();
    expect(list(state).total).toBe(1);
  });
});

describe("scadalink site parked against a running site", () => {
  it("retry and discard are done by the running site's engine (the retried message is delivered); the list reads the store live", async () => {
    const { state, ids } = await parkedState(3);
    mes.behave(() => ({ status: 200 }));
    const repo = localRepo({
      ...AUTO,
      "integrations.yaml": y`
        kind: ExternalSystem
        name: Mes
        baseUrl: ${mes.url}/api
        retry: { intervalMs: 100, maxAttempts: 2 }
        methods:
          - { name: ReportCount, http: POST, path: /counts }
      `,
    });
    expect(scadalink(["controller", "--repo", repo.dir, "--once", "--log-level", "error"]).code).toBe(0);
    // --runtime none: no devices, no scripts, and store-and-forward still delivers and takes requests.
    const child = spawnScadalink(
      [
        "site",
        "--site",
        "plant-north",
        "--repo",
        repo.dir,
        "--state-dir",
        state,
        "--runtime",
        "none",
        "--log-level",
        "warn",
      ],
      { SCADALINK_API_PORT: "off", SCADALINK_POLL_INTERVAL: "1" },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      await until(
        "the site holds the lock",
        () => {
          try {
            return readFileSync(join(state, "reconciler.lock"), "utf8").trim() === String(child.pid);
          } catch {
            return false;
          }
        },
        20_000,
      );
      // The fleet view shows the site's backlog from its status branch.
      const fleetView = await until(
        "the backlog on the status branch",
        () => {
          const st = scadalink(["status", "--repo", repo.dir, "--format", "json"]);
          const site = JSON.parse(st.stdout).sites.find((x: { site: string }) => x.site === "plant-north");
          return site?.storeAndForward?.parked === 3 ? site.storeAndForward : false;
        },
        20_000,
      );
      expect(fleetView).toMatchObject({ queued: 0, parked: 3, oldestQueuedAt: null, held: 0 });
      expect(fleetView.targets["externalSystem/Mes"]).toMatchObject({ queued: 0, parked: 3, configured: true });
      const fleetText = scadalink(["status", "--repo", repo.dir]);
      expect(fleetText.stdout).toContain("store-and-forward  0 queued, 3 parked");
      expect(fleetText.stdout).toMatch(/externalSystem\/Mes\s+0 queued, 3 parked/);
      const before = mes.requests.length;
      const retry = scadalink(["site", "parked", "retry", ids[0]!, "--state-dir", state]);
      expect(retry.code, `${retry.stderr}\n${stderr}`).toBe(0);
      expect(retry.stdout).toContain(`retried 1 parked message by the running site (pid ${child.pid})`);
      const got = await until(
        "delivered by the site",
        () => mes.requests.slice(before).find((q) => q.key === ids[0]),
        10_000,
      );
      expect(got.path).toBe("/counts/0");
      expect(mes.requests.length).toBe(before + 1);
      await until(
        "acknowledged",
        () => list(state).total === 2 && !list(state).targets.some((t) => (t as { queued: number }).queued > 0),
      );

      const discard = scadalink(["site", "parked", "discard", ids[1]!, "--state-dir", state, "--format", "json"]);
      expect(discard.code, discard.stderr).toBe(0);
      expect(JSON.parse(discard.stdout)).toEqual({ action: "discard", done: [ids[1]], notParked: [], unknown: [] });
      expect(list(state).messages.map((m) => m.id)).toEqual([ids[2]]);

      const all = scadalink(["site", "parked", "retry", "--all", "--state-dir", state]);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toContain("retried 1 parked message by the running site");
      await until("the last delivered", () => mes.requests.slice(before).find((q) => q.key === ids[2]), 10_000);
      // The discarded one is never sent again.
      expect(mes.requests.slice(before).some((q) => q.key === ids[1])).toBe(false);
      await until("nothing left", () => list(state).targets.length === 0, 10_000);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
