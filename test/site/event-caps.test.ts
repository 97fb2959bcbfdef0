import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferedEvents } from "../../site-reconciler/runtime/instance/events.js";
import { TokenBucket } from "../../site-reconciler/runtime/limits/token-bucket.js";
import { Store } from "../../site-reconciler/store/store.js";
import { tempDir } from "./helpers.js";

const newStore = () => Store.open(join(tempDir("store"), "site.db"));
const count = (store: Store, where = "1 = 1") =>
  (store.db.prepare(`SELECT COUNT(*) AS n FROM events WHERE ${where}`).get() as { n: number }).n;

describe("token bucket", () => {
  it("lets a burst through, then the rate, and refuses the rest at once", () => {
    let t = 0;
    const b = new TokenBucket(10, 5, () => t);
    expect(Array.from({ length: 8 }, () => b.take()).filter(Boolean)).toHaveLength(5);
    t = 500; // half a second: 5 more
    expect(Array.from({ length: 8 }, () => b.take()).filter(Boolean)).toHaveLength(5);
    t = 100_000; // a long pause saves up no more than the burst
    expect(Array.from({ length: 20 }, () => b.take()).filter(Boolean)).toHaveLength(5);
    expect(b.take(6)).toBe(false);
  });
});

describe("event-log caps", () => {
  it("one instance's flood is cut at its rate; others still log; the count is written as one summary row", () => {
    let t = Date.parse("2026-05-01T00:00:00Z");
    const store = newStore();
    const events = new BufferedEvents(store, () => t, 250, { perInstancePerSec: 10, perInstanceBurst: 20 });
    for (let i = 0; i < 10_000; i++) events.event("script-log", `Loop: line ${i}`, "H1");
    events.event("script-log", "Tick: fine", "C1");
    events.flush();
    expect(count(store, "instance = 'H1' AND kind = 'script-log'")).toBe(20);
    expect(count(store, "instance = 'C1'")).toBe(1);
    expect(events.suppressedTotal).toBe(9_980);
    // The summary comes once SUMMARY_MS (10 s) have passed, in the flush after.
    t += 11_000;
    events.event("script-log", "Loop: after the pause", "H1");
    events.flush();
    const summary = store.db
      .prepare("SELECT message FROM events WHERE kind = 'events-suppressed' AND instance = 'H1'")
      .all() as { message: string }[];
    expect(summary).toHaveLength(1);
    expect(summary[0]!.message).toMatch(/^9980 event\(s\) of H1 not logged in 11 s: over the event-log rate cap/);
    store.close();
  });

  it("the site-wide rate holds however many instances flood, and alarm states are never dropped", () => {
    const t = Date.parse("2026-05-01T00:00:00Z");
    const store = newStore();
    const events = new BufferedEvents(store, () => t, 250, { sitePerSec: 50, siteBurst: 100 });
    for (let i = 0; i < 1_000; i++)
      events.alarm(`P${i}`, "High", true, new Date(t).toISOString(), `High active (${i})`);
    events.close();
    expect(count(store, "kind = 'alarm'")).toBe(100);
    // Every state is kept: they are what a restart starts from.
    expect(store.alarmStates().size).toBe(1_000);
    store.close();
  });

  it("the table never holds more than maxRows, at every flush, and long messages are cut", () => {
    let t = Date.parse("2026-05-01T00:00:00Z");
    const store = newStore();
    const events = new BufferedEvents(store, () => t, 250, { maxRows: 500, maxMessage: 100 });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) events.event("connection", `${round}/${i} ${"y".repeat(300)}`, `I${i}`);
      t += 1_000;
      events.flush();
      expect(count(store)).toBeLessThanOrEqual(500);
    }
    expect(count(store)).toBe(500);
    const longest = store.db.prepare("SELECT MAX(LENGTH(message)) AS n FROM events").get() as { n: number };
    expect(longest.n).toBeLessThan(140);
    // The newest rows are the ones kept.
    expect(store.events({ limit: 1 })[0]!.message).toMatch(/^19\/99 /);
    store.close();
  });
});
