import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { redactUrl } from "../../controller/git/repo.js";
import { MIGRATIONS } from "../../site-reconciler/store/migrations.js";
import { Store } from "../../site-reconciler/store/store.js";
import { tempDir } from "./helpers.js";

const AT = "2026-05-01T00:00:00.000Z";
const apply = (store: Store, revision: string, state: "enabled" | "disabled" = "enabled") =>
  store.apply({
    name: "Pump07",
    revisionHash: `sha256:${revision.repeat(64)}`,
    blobOid: revision.repeat(40),
    packageText: `{"r":"${revision}"}`,
    state,
    deployCommit: "c".repeat(40),
    at: AT,
  });

describe("the site store", () => {
  it("migrates a database of an earlier version step by step, and refuses one of a later version", () => {
    const file = join(tempDir("store"), "site.db");
    const old = new Database(file);
    old.exec(MIGRATIONS[0]!);
    old.pragma("user_version = 1");
    old.close();
    const store = Store.open(file);
    expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(
      store.db
        .prepare(
          "EXPLAIN QUERY PLAN SELECT name, revision_hash, blob_oid, state, deploy_commit, applied_at FROM instances",
        )
        .all(),
    ).toEqual([expect.objectContaining({ detail: expect.stringContaining("COVERING INDEX") })]);
    store.db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    store.close();
    expect(() => Store.open(file)).toThrow(/schema version .*this scadalink knows/);
  });

  it("applying the applied revision again is a no-op: no second audit row", () => {
    const store = Store.open(join(tempDir("store"), "site.db"));
    expect(apply(store, "a")).toBe(true);
    expect(apply(store, "a")).toBe(false);
    expect(store.auditTail(10)).toHaveLength(1);
    expect(apply(store, "b", "disabled")).toBe(true);
    expect(store.auditTail(10).map((a) => a.action)).toEqual(["disable", "apply"]);
    store.close();
  });

  it("event retention drops old events and keeps at most the newest rows", () => {
    const store = Store.open(join(tempDir("store"), "site.db"));
    store.event("2026-01-01T00:00:00.000Z", "deploy", "old");
    for (let i = 0; i < 5; i++) store.event(AT, "deploy", `new ${i}`);
    expect(store.pruneEvents("2026-02-01T00:00:00.000Z", 3)).toBe(3);
    expect(store.events({ limit: 10 }).map((e) => e.message)).toEqual(["new 2", "new 3", "new 4"]);
    store.close();
  });
});

describe("messages", () => {
  it("mask the credentials of a URL and keep the rest", () => {
    expect(redactUrl("fetch https://site:tok3n@git.example/plant.git failed; see http://h/x")).toBe(
      "fetch https://***@git.example/plant.git failed; see http://h/x",
    );
  });
});
