// The replication log of a site pair (docs/redundancy.md): capture triggers on the active's real SQLite store, the
// standby's store brought to the same content by a snapshot and by the log, with the store-and-forward engine and
// the store's own writers making the changes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StoreAndForward } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { ReplicationSink, ReplicationSource } from "../../site-reconciler/redundancy/replication.js";
import { type ApplyInput, Store } from "../../site-reconciler/store/store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function pair() {
  const d = mkdtempSync(join(tmpdir(), "scadalink-repl-"));
  dirs.push(d);
  const a = Store.open(join(d, "a.db"));
  const b = Store.open(join(d, "b.db"));
  return { a, b, source: new ReplicationSource(a.db), sink: new ReplicationSink(b.db) };
}
const pkg = (name: string, hash = "sha256:1"): ApplyInput => ({
  name,
  revisionHash: hash,
  blobOid: "0".repeat(40),
  packageText: "{}",
  state: "enabled",
  deployCommit: "c1",
  at: "2026-12-07T10:00:00.000Z",
});
const ORIGIN = { node: "a", epoch: 1 };
const rows = (s: Store, sql: string) => s.db.prepare(sql).all();
/** The replicated content of a store, comparable across the pair (event ids are each node's own). */
const content = (s: Store) => ({
  statics: rows(s, "SELECT instance, path, value, written_at FROM static_values ORDER BY instance, path"),
  alarms: rows(s, "SELECT * FROM alarm_states ORDER BY instance, path"),
  saf: rows(s, "SELECT * FROM saf_messages ORDER BY seq"),
  parked: rows(s, "SELECT * FROM saf_parked_actions ORDER BY revision_hash"),
  events: rows(s, "SELECT at, kind, instance, message FROM events ORDER BY id"),
});
const sync = (p: ReturnType<typeof pair>) => {
  const changes = p.source.changesSince(p.sink.position()?.seq ?? 0);
  if (changes === "gone") throw new Error("gone");
  return p.sink.apply(changes, ORIGIN);
};

describe("replication log", () => {
  it("captures nothing outside a pair: no log rows while capture is off", () => {
    const p = pair();
    p.a.apply(pkg("P1"));
    p.a.writeStatic("P1", "Count", 3, "2026-12-07T10:00:01.000Z");
    p.a.setAlarmState("P1", "High", true, "2026-12-07T10:00:01.000Z");
    expect(p.source.capturing).toBe(false);
    expect(p.source.head()).toBe(0);
    expect(p.source.backlog().entries).toBe(0);
  });

  it("a snapshot and then the log bring the standby to the active's content, store-and-forward included", async () => {
    const p = pair();
    for (const s of [p.a, p.b]) s.apply(pkg("P1"));
    p.source.setCapture(true);
    p.a.writeStatic("P1", "Count", 1, "2026-12-07T10:00:01.000Z");
    p.sink.applySnapshot(p.source.snapshot(), ORIGIN);
    expect(content(p.b)).toEqual(content(p.a));
    // Changes after the snapshot: statics, alarms, events, messages enqueued, one delivered, one parked.
    p.a.writeStatic("P1", "Count", 2, "2026-12-07T10:00:02.000Z");
    p.a.writeStatic("P1", "Mode", "auto", "2026-12-07T10:00:02.000Z");
    p.a.setAlarmState("P1", "High", true, "2026-12-07T10:00:02.000Z");
    p.a.event("2026-12-07T10:00:02.000Z", "script-error", "Tick: boom", "P1");
    const engine = new StoreAndForward({ db: p.a.db, deliverers: {} });
    const ids = engine.enqueueMany(
      [1, 2, 3].map((n) => ({
        target: { kind: "externalSystem" as const, name: "Mes" },
        label: "ReportCount",
        instance: "P1",
        payload: { method: "POST" as const, url: "http://127.0.0.1:9/x", body: { n } },
      })),
    );
    p.a.db.prepare("DELETE FROM saf_messages WHERE id = ?").run(ids[0]);
    p.a.db
      .prepare("UPDATE saf_messages SET state = 'parked', parked_at = 'now', attempts = 3 WHERE id = ?")
      .run(ids[1]);
    p.a.recordParkedAction({
      revisionHash: "sha256:p",
      name: "RetryAll",
      action: "retry",
      appliedAt: "2026-12-07T10:00:03.000Z",
      deployCommit: "c1",
      selected: 1,
      done: 1,
      notParked: 0,
      unknown: 0,
    });
    p.a.writeStatic("P1", "Count", 3, "2026-12-07T10:00:04.000Z");
    const seq = sync(p);
    expect(seq).toBe(p.source.head());
    expect(content(p.b)).toEqual(content(p.a));
    expect(rows(p.b, "SELECT id FROM saf_messages ORDER BY seq")).toEqual([{ id: ids[1] }, { id: ids[2] }]);
    // Replicated events say which node wrote them.
    expect(rows(p.b, "SELECT node FROM events WHERE kind = 'script-error'")).toEqual([{ node: "a" }]);
    await engine.stop();
  });

  it("acknowledged log entries are pruned; a standby behind the pruned part must start from a snapshot", () => {
    const p = pair();
    for (const s of [p.a, p.b]) s.apply(pkg("P1"));
    p.source.setCapture(true);
    p.sink.applySnapshot(p.source.snapshot(), ORIGIN);
    for (let i = 0; i < 10; i++) p.a.writeStatic("P1", "Count", i, `2026-12-07T10:00:0${i}.000Z`);
    const seq = sync(p);
    const lag = p.source.acknowledge(seq);
    expect(lag).not.toBeNull();
    expect(lag!).toBeGreaterThanOrEqual(0);
    expect(p.source.backlog().entries).toBe(0);
    expect(p.source.changesSince(seq)).toEqual([]);
    expect(p.source.changesSince(seq - 5)).toBe("gone");
    expect(p.source.changesSince(seq + 5)).toBe("gone");
  });

  it("refuses changes of another origin, a repeat, or a batch before any snapshot; a failed batch applies nothing", () => {
    const p = pair();
    for (const s of [p.a, p.b]) s.apply(pkg("P1"));
    p.source.setCapture(true);
    p.a.writeStatic("P1", "Count", 1, "2026-12-07T10:00:01.000Z");
    const changes = p.source.changesSince(0) as Exclude<ReturnType<ReplicationSource["changesSince"]>, "gone">;
    expect(() => p.sink.apply(changes, ORIGIN)).toThrow(/another active's log/);
    p.sink.applySnapshot({ seq: 0, tables: {} }, ORIGIN);
    expect(() => p.sink.apply(changes, { node: "a", epoch: 2 })).toThrow(/another active's log/);
    const bad = [...changes, { seq: changes.at(-1)!.seq + 1, tbl: "audit", op: "upsert" as const, row: {}, at: "x" }];
    expect(() => p.sink.apply(bad, ORIGIN)).toThrow(/not a replicated table/);
    expect(p.sink.position()?.seq).toBe(0);
    expect(rows(p.b, "SELECT * FROM static_values")).toEqual([]);
    p.sink.apply(changes, ORIGIN);
    expect(() => p.sink.apply(changes, ORIGIN)).toThrow(/applied already/);
  });

  it("a static value of an instance the standby has not applied waits for it, survives a restart, and is then written", () => {
    const p = pair();
    p.a.apply(pkg("P2"));
    p.source.setCapture(true);
    p.sink.applySnapshot(p.source.snapshot(), ORIGIN);
    p.a.writeStatic("P2", "Count", 7, "2026-12-07T10:00:01.000Z");
    sync(p);
    expect(p.sink.waiting).toBe(1);
    expect(rows(p.b, "SELECT * FROM static_values")).toEqual([]);
    // The standby restarts: the waiting row is in its store, not in memory.
    const file = p.b.db.name;
    p.b.close();
    const b2 = Store.open(file);
    const sink2 = new ReplicationSink(b2.db);
    expect(sink2.waiting).toBe(1);
    b2.apply(pkg("P2"));
    sink2.release();
    expect(sink2.waiting).toBe(0);
    expect(rows(b2, "SELECT instance, path, value FROM static_values")).toEqual([
      { instance: "P2", path: "Count", value: "7" },
    ]);
    b2.close();
  });

  it("a new revision's reset comes from the active: the standby applying it late does not wipe what the active wrote since", () => {
    const p = pair();
    for (const s of [p.a, p.b]) s.apply(pkg("P1", "sha256:1"));
    p.b.replica = true;
    p.source.setCapture(true);
    p.a.writeStatic("P1", "Count", 1, "2026-12-07T10:00:01.000Z");
    p.sink.applySnapshot(p.source.snapshot(), ORIGIN);
    // The active applies revision 2 (its statics reset) and its runtime writes under it; the standby has not fetched
    // revision 2 yet when the log arrives, and applies it afterwards.
    p.a.apply(pkg("P1", "sha256:2"));
    p.a.writeStatic("P1", "Count", 100, "2026-12-07T10:00:05.000Z");
    sync(p);
    p.b.apply(pkg("P1", "sha256:2"));
    expect(content(p.b).statics).toEqual(content(p.a).statics);
    expect(content(p.b).statics).toEqual([
      { instance: "P1", path: "Count", value: "100", written_at: "2026-12-07T10:00:05.000Z" },
    ]);
    // Without the replica setting the late apply would have wiped it: the setting is what keeps it.
    p.b.replica = false;
    p.b.apply(pkg("P1", "sha256:3"));
    expect(content(p.b).statics).toEqual([]);
  });
});
