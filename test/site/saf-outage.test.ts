// An outage: messages keep flowing to two targets while one of them is down for two seconds (its port closed, its
// connections cut). The other keeps delivering throughout; the backlog of the one that was down shows in the status,
// and once it is back everything is delivered, in enqueue order per target, nothing parked, nothing lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { check } from "../helpers/saf-crash.mjs";
import { openSaf, removeSafDirs, sleep, system, until } from "../helpers/saf-engine.js";
import { type FaultServer, startFaultServer } from "../helpers/saf-http-server.mjs";

let mes: FaultServer;
let erp: FaultServer;
beforeAll(async () => {
  mes = await startFaultServer();
  erp = await startFaultServer();
});
afterAll(async () => {
  await mes.stop();
  await erp.stop();
  removeSafDirs();
});

describe("store-and-forward through an outage", () => {
  it("one target down for 2 s while both receive messages: all delivered in order once it returns", async () => {
    const f = openSaf();
    const retry = { intervalMs: 100, maxAttempts: 1000 };
    f.engine.setTargets([system("Mes", { retry }), system("Erp", { retry })]);
    f.engine.start();
    const acked = new Map<string, { target: string; nonce: string }>();
    let n = 0;
    const produce = (ms: number) =>
      (async () => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          for (let i = 0; i < 10; i++, n++) {
            const target = n % 2 ? "Mes" : "Erp";
            const nonce = `1-${n}`;
            const url = `${target === "Mes" ? mes.url : erp.url}/${target}`;
            const id = f.engine.enqueue({
              target: { kind: "externalSystem", name: target },
              label: "ReportCount",
              payload: { method: "POST", url, body: { nonce, round: 1, n } },
            });
            acked.set(id, { target, nonce });
          }
          await sleep(50);
        }
      })();
    await produce(500);
    await mes.stop();
    const erpBefore = erp.requests.length;
    const nBefore = n;
    await produce(2000);
    const enqueuedDuring = (n - nBefore) / 2;
    const during = f.engine.status().find((s) => s.name === "Mes")!;
    const sampledAt = Date.now();
    const erpDuring = erp.requests.length - erpBefore;
    await mes.start();
    const back = Date.now();
    await produce(500);
    await until(() => f.engine.totals().messages === 0, 20_000, "the backlog drained");
    const drainedMs = Date.now() - back;

    // The backlog was visible, and the other target went on delivering during the outage.
    expect(enqueuedDuring).toBeGreaterThan(50);
    expect(during.queued).toBeGreaterThanOrEqual(enqueuedDuring);
    // The oldest queued message has waited through most of the outage.
    expect(sampledAt - Date.parse(during.oldestQueuedAt!)).toBeGreaterThanOrEqual(1500);
    expect(erpDuring).toBeGreaterThan(enqueuedDuring / 2);
    // Everything arrived, each target's first deliveries in enqueue order, duplicates (a request cut off by the
    // outage) only with the same key; nothing parked.
    const result = check(acked, [...mes.requests, ...erp.requests]);
    expect(result.problems).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.delivered).toBe(acked.size);
    expect(f.engine.parked()).toEqual([]);
    expect(f.engine.counters.failedAttempts).toBeGreaterThan(5);
    expect(drainedMs).toBeLessThan(15_000);
    await f.close();
  }, 60_000);
});
