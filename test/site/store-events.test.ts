import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../site-reconciler/store/migrations.js";
import { type EventQuery, Store } from "../../site-reconciler/store/store.js";
import { tempDir } from "./helpers.js";

const AT = "2026-05-01T00:00:00.000Z";
const newStore = () => Store.open(join(tempDir("store"), "site.db"));
const apply = (store: Store, name: string, revision: string) =>
  store.apply({
    name,
    revisionHash: `sha256:${revision.repeat(64)}`,
    blobOid: revision.repeat(40),
    packageText: `{"r":"${revision}"}`,
    state: "enabled",
    deployCommit: "c".repeat(40),
    at: AT,
  });
const states = (store: Store, instance?: string) =>
  Object.fromEntries([...store.alarmStates(instance)].map(([i, paths]) => [i, Object.fromEntries(paths)]));
const messages = (store: Store, q: Partial<EventQuery>) =>
  store.queryEvents({ limit: 100, ...q }).map((e) => e.message);
const minute = (m: number) => new Date(Date.parse(AT) + m * 60_000).toISOString();

describe("store migration 3", () => {
  it("turns a version 2 database into version 3 and keeps its instances, values and events", () => {
    const file = join(tempDir("store"), "site.db");
    const old = new Database(file);
    for (const [v, step] of MIGRATIONS.slice(0, 2).entries()) {
      old.exec(step);
      old.pragma(`user_version = ${v + 1}`);
    }
    old.prepare("INSERT INTO instances VALUES ('Pump07', 'sha256:a', 'oid', '{}', 'enabled', 'c1', ?)").run(AT);
    old.prepare("INSERT INTO static_values VALUES ('Pump07', 'Mode', '\"manual\"', ?)").run(AT);
    old.prepare("INSERT INTO events (at, kind, instance, message) VALUES (?, 'deploy', 'Pump07', 'apply')").run(AT);
    old.close();

    // A read-only reader (site inspect) of the old database sees no alarm states rather than failing.
    const reader = Store.open(file, { readonly: true });
    expect(reader.alarmStates().size).toBe(0);
    reader.close();

    const store = Store.open(file);
    expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect([...store.applied().keys()]).toEqual(["Pump07"]);
    expect(store.staticValues("Pump07").get("Mode")?.value).toBe("manual");
    expect(store.queryEvents({ instance: "Pump07", limit: 10 }).map((e) => e.message)).toEqual(["apply"]);
    store.setAlarmState("Pump07", "OverSpeed", true, AT);
    expect(states(store)).toEqual({ Pump07: { OverSpeed: { active: true, since: AT } } });
    store.close();
  });

  it("queries one instance's time window through an index, without sorting", () => {
    const store = newStore();
    const plan = store.db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT id FROM events WHERE instance = ? AND at >= ? AND at < ? ORDER BY at DESC, id DESC LIMIT 5",
      )
      .all("Pump07", AT, AT) as { detail: string }[];
    expect(plan.map((p) => p.detail).join("\n")).toMatch(/USING (COVERING )?INDEX events_instance_at/);
    expect(plan.map((p) => p.detail).join("\n")).not.toContain("TEMP B-TREE");
    store.close();
  });
});

describe("alarm states", () => {
  it("are upserted per instance and path, and read for one instance or all", () => {
    const store = newStore();
    apply(store, "Pump07", "a");
    apply(store, "Pump08", "a");
    store.setAlarmState("Pump07", "OverSpeed", true, minute(1));
    store.setAlarmState("Pump07", "Inlet.Stuck", false, minute(2));
    store.setAlarmState("Pump08", "OverSpeed", false, minute(3));
    store.setAlarmState("Pump07", "OverSpeed", false, minute(4));
    expect(states(store)).toEqual({
      Pump07: { "Inlet.Stuck": { active: false, since: minute(2) }, OverSpeed: { active: false, since: minute(4) } },
      Pump08: { OverSpeed: { active: false, since: minute(3) } },
    });
    expect(states(store, "Pump08")).toEqual({ Pump08: { OverSpeed: { active: false, since: minute(3) } } });
    expect(states(store, "Nope")).toEqual({});
    store.close();
  });

  it("survive the same revision applied again, and are reset by a new revision or the instance's removal", () => {
    const store = newStore();
    apply(store, "Pump07", "a");
    apply(store, "Pump08", "a");
    store.setAlarmState("Pump07", "OverSpeed", true, AT);
    store.setAlarmState("Pump08", "OverSpeed", true, AT);
    expect(apply(store, "Pump07", "a")).toBe(false);
    expect(states(store, "Pump07")).toEqual({ Pump07: { OverSpeed: { active: true, since: AT } } });

    expect(apply(store, "Pump07", "b")).toBe(true);
    expect(states(store)).toEqual({ Pump08: { OverSpeed: { active: true, since: AT } } });

    store.remove("Pump08", "c".repeat(40), AT);
    expect(states(store)).toEqual({});
    store.close();
  });

  it("a runtime's late write for a removed instance does not reach the instance applied again under that name", () => {
    const store = newStore();
    store.setAlarmState("Pump09", "OverSpeed", true, AT);
    apply(store, "Pump09", "a");
    expect(states(store)).toEqual({});
    store.close();
  });
});

describe("the event query", () => {
  /** Events of two instances and the site over ten minutes. */
  function logged(): Store {
    const store = newStore();
    for (let m = 0; m < 10; m++) {
      const instance = m % 2 === 0 ? "Pump07" : "Pump08";
      store.event(minute(m), m % 3 === 0 ? "alarm" : "script", `${instance} event ${m}`, instance);
    }
    store.event(minute(5), "connection", "plc-a disconnected");
    return store;
  }

  it("narrows by instance exactly: no site-wide rows, unlike events()", () => {
    const store = logged();
    expect(messages(store, { instance: "Pump07" })).toEqual([0, 2, 4, 6, 8].map((m) => `Pump07 event ${m}`));
    expect(store.events({ instance: "Pump07", limit: 100 }).map((e) => e.message)).toContain("plc-a disconnected");
    expect(messages(store, {})).toHaveLength(11);
    expect(messages(store, { instance: "Pump0" })).toEqual([]);
    store.close();
  });

  it("narrows by a time window, since inclusive and until exclusive", () => {
    const store = logged();
    expect(messages(store, { since: minute(3), until: minute(6) })).toEqual([
      "Pump08 event 3",
      "Pump07 event 4",
      "Pump08 event 5",
      "plc-a disconnected",
    ]);
    expect(messages(store, { instance: "Pump08", since: minute(7) })).toEqual(["Pump08 event 7", "Pump08 event 9"]);
    expect(messages(store, { until: minute(1) })).toEqual(["Pump07 event 0"]);
    store.close();
  });

  it("narrows by kind, and by a keyword found in the message or the kind, case-insensitive", () => {
    const store = logged();
    expect(messages(store, { kind: "alarm" })).toEqual([
      "Pump07 event 0",
      "Pump08 event 3",
      "Pump07 event 6",
      "Pump08 event 9",
    ]);
    expect(messages(store, { kind: "ALARM" })).toEqual([]);
    expect(messages(store, { keyword: "PLC-A" })).toEqual(["plc-a disconnected"]);
    expect(messages(store, { keyword: "Connect" })).toEqual(["plc-a disconnected"]);
    expect(messages(store, { keyword: "ALAR", instance: "Pump08" })).toEqual(["Pump08 event 3", "Pump08 event 9"]);
    store.close();
  });

  it("takes % and _ in a keyword literally", () => {
    const store = newStore();
    for (const m of ["level 100%", "level 1000", "tank_1 full", "tank21 full", "path a\\b"])
      store.event(AT, "script", m);
    expect(messages(store, { keyword: "0%" })).toEqual(["level 100%"]);
    expect(messages(store, { keyword: "%" })).toEqual(["level 100%"]);
    expect(messages(store, { keyword: "k_1" })).toEqual(["tank_1 full"]);
    expect(messages(store, { keyword: "_" })).toEqual(["tank_1 full"]);
    expect(messages(store, { keyword: "a\\b" })).toEqual(["path a\\b"]);
    store.close();
  });

  it("returns the newest `limit` matches, oldest first, ordered by time", () => {
    const store = logged();
    expect(messages(store, { limit: 3 })).toEqual(["Pump08 event 7", "Pump07 event 8", "Pump08 event 9"]);
    expect(messages(store, { instance: "Pump07", limit: 2 })).toEqual(["Pump07 event 6", "Pump07 event 8"]);
    // An event recorded late with an earlier time sorts by its time.
    store.event(minute(2.5), "script", "late", "Pump07");
    expect(messages(store, { instance: "Pump07", until: minute(4), limit: 2 })).toEqual(["Pump07 event 2", "late"]);
    store.close();
  });

  it("sees what retention keeps when the age and the row caps both apply", () => {
    const store = logged();
    // Age drops minutes 0-2; the row cap then keeps the 5 newest rows written of the other 8: minutes 6-9 and the
    // site-wide event of minute 5, written last.
    expect(store.pruneEvents(minute(3), 5)).toBe(3 + 3);
    expect(messages(store, {})).toEqual([
      "plc-a disconnected",
      "Pump07 event 6",
      "Pump08 event 7",
      "Pump07 event 8",
      "Pump08 event 9",
    ]);
    expect(messages(store, { since: minute(0), until: minute(6) })).toEqual(["plc-a disconnected"]);
    expect(messages(store, { instance: "Pump07" })).toEqual(["Pump07 event 6", "Pump07 event 8"]);
    store.close();
  });
});
