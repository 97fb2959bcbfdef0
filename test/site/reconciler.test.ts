import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validatorFor } from "../../controller/contract/schemas.js";
import { gitCache } from "../../controller/git/repo.js";
import type { SiteManifest, SiteStatus } from "../../schemas/types.js";
import { MAX_PACKS } from "../../site-reconciler/deploy-source.js";
import { acquireLock, StateDirLockedError } from "../../site-reconciler/lock.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { AUTO, DEPLOY, editDeploy, fleet, git, reconciler, SITE, STATUS, show, tempDir } from "./helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

const MANIFEST = `sites/${SITE}/manifest.json`;
const pkgPath = (name: string) => `sites/${SITE}/instances/${name}.json`;
const MORE = AUTO["instances/more.yaml"]!;

describe("the site reconciler against a smart-HTTP git server and a real SQLite file", () => {
  it("first sync applies every instance of the manifest and reports it on the status branch", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    const r = await site.once();
    const manifest = show<SiteManifest>(f.bare, DEPLOY, MANIFEST);
    expect(r.sync.state).toBe("ok");
    expect(r.applied).toEqual(["Pump07", "Pump08"]);
    expect(Object.fromEntries([...site.store.applied()].map(([n, a]) => [n, a.revisionHash]))).toEqual(
      manifest.instances,
    );
    const status = show<SiteStatus>(f.bare, STATUS, "status.json");
    expect(validatorFor("site-status.schema.json")(status)).toBe(true);
    expect(status).toMatchObject({ site: SITE, sequence: 1, deployCommit: r.head });
    expect(status.instances.Pump07).toMatchObject({ revisionHash: manifest.instances.Pump07, state: "enabled" });
    expect(site.store.auditTail(10).map((a) => `${a.action} ${a.instance}`)).toEqual(["apply Pump08", "apply Pump07"]);
    expect(site.store.integrityCheck()).toBe("ok");
    // The store is a WAL database.
    expect(site.store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    await site.stop();
  });

  it("an incremental change reads and applies only the changed instance; an unchanged head applies nothing", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const before = site.store.applied();
    const packs = join(state, "mirror.git", "objects", "pack");
    const first = new Set(readdirSync(packs));
    await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1111\n` });
    const r = await site.once();
    expect(r.applied).toEqual(["Pump08"]);
    // The fetch brought only what the new deploy commit adds: the commit, 4 trees, the package and the manifest.
    const added = readdirSync(packs).filter((n) => n.endsWith(".idx") && !first.has(n));
    expect(added).toHaveLength(1);
    const objects = git(join(state, "mirror.git"), "verify-pack", "-v", join(packs, added[0]!))
      .split("\n")
      .filter((l) => /^[0-9a-f]{40} (commit|tree|blob)/.test(l));
    expect(objects).toHaveLength(7);
    const after = site.store.applied();
    expect(after.get("Pump07")).toEqual(before.get("Pump07"));
    expect(after.get("Pump08")!.revisionHash).not.toBe(before.get("Pump08")!.revisionHash);
    expect(after.get("Pump08")!.deployCommit).toBe(r.head);
    const again = await site.once();
    expect(again).toMatchObject({ applied: [], removed: [], refused: [], status: "none" });
    await site.stop();
  });

  it("disable, enable and delete follow the manifest; the audit row of a deleted instance stays", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    site.store.writeStatic("Pump08", "Mode", "manual", new Date().toISOString());

    await f.change({ "instances/more.yaml": `${MORE}state: disabled\n` });
    await site.once();
    expect(site.store.applied().get("Pump08")!.state).toBe("disabled");
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").instances.Pump08!.state).toBe("disabled");

    await f.change({ "instances/more.yaml": MORE });
    await site.once();
    expect(site.store.applied().get("Pump08")!.state).toBe("enabled");

    await f.change({ "instances/more.yaml": undefined });
    const r = await site.once();
    expect(r.removed).toEqual(["Pump08"]);
    expect([...site.store.applied().keys()]).toEqual(["Pump07"]);
    expect(site.store.staticValues("Pump08").size).toBe(0);
    expect(site.store.auditTail(10, "Pump08").map((a) => a.action)).toEqual(["delete", "enable", "disable", "apply"]);
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").instances.Pump08).toBeUndefined();
    await site.stop();
  });

  it("static values written at run time survive a restart and are reset by a new revision", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    let site = await reconciler(f.url, { stateDir: state });
    await site.once();
    site.store.writeStatic("Pump07", "Mode", "manual", "2026-01-01T00:00:00.000Z");
    await site.stop();
    site = await reconciler(f.url, { stateDir: state });
    await site.once();
    expect(site.store.staticValues("Pump07").get("Mode")?.value).toBe("manual");
    await f.change({
      "templates/pump.yaml": (AUTO["templates/pump.yaml"] ?? "").replace("value: 1450", "value: 1460"),
    });
    await site.once();
    expect(site.store.staticValues("Pump07").size).toBe(0);
    await site.stop();
  });

  it("a rollback by git revert goes back to the earlier revisions", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    const first = site.store.applied().get("Pump08")!.revisionHash;
    f.clone.write({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1111\n` });
    const bad = f.clone.commit("rated 1111");
    f.clone.push();
    await f.deploy();
    await site.once();
    expect(site.store.applied().get("Pump08")!.revisionHash).not.toBe(first);
    f.clone.revert(bad);
    f.clone.push();
    await f.deploy();
    const r = await site.once();
    expect(r.applied).toEqual(["Pump08"]);
    expect(site.store.applied().get("Pump08")!.revisionHash).toBe(first);
    await site.stop();
  });

  it("a tampered package is refused and recorded; the previous revision stays applied", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    const kept = site.store.applied().get("Pump07")!;
    await f.change({
      "templates/pump.yaml": (AUTO["templates/pump.yaml"] ?? "").replace("value: 1450", "value: 1460"),
    });
    // Someone edits the deployed package after the controller hashed it: it no longer hashes to the manifest.
    await editDeploy(server, f.name, (c) => {
      const path = join(c.dir, pkgPath("Pump07"));
      const text = git(c.dir + "/.git", "show", `HEAD:${pkgPath("Pump07")}`);
      c.write({ [pkgPath("Pump07")]: text.replace('"value": 1460', '"value": 9999') });
      expect(path).toContain("Pump07");
    });
    const r = await site.once();
    expect(r.refused).toEqual(["Pump07"]);
    expect(r.applied).toEqual(["Pump08"]);
    expect(site.store.applied().get("Pump07")).toEqual(kept);
    const audit = site.store.auditTail(1, "Pump07")[0]!;
    expect(audit).toMatchObject({ action: "refuse", fromHash: kept.revisionHash });
    expect(audit.message).toMatch(/hashes to sha256:[0-9a-f]{64}, the manifest says/);
    const status = show<SiteStatus>(f.bare, STATUS, "status.json");
    expect(status.instances.Pump07).toMatchObject({ revisionHash: kept.revisionHash, result: "artifact-mismatch" });
    // Seen again, the same refusal is not audited twice.
    await site.once();
    expect(site.store.auditTail(5, "Pump07").filter((a) => a.action === "refuse")).toHaveLength(1);
    await site.stop();
  });

  it("a package edited on the deploy branch without its manifest is never applied, and the drift check says so", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    const kept = site.store.applied().get("Pump07")!;
    await editDeploy(server, f.name, (c) => {
      const text = git(`${c.dir}/.git`, "show", `HEAD:${pkgPath("Pump07")}`);
      const edited = text.replace('"value": 1450', '"value": 9999');
      expect(edited).not.toBe(text);
      c.write({ [pkgPath("Pump07")]: edited });
    });
    await site.once(); // the new head: its manifest changes nothing
    const r = await site.once(); // the same head: the drift check compares what is applied with the branch
    expect(r.sync.state).toBe("refused");
    expect(r.sync.message).toMatch(
      /^artifact-mismatch: package\(s\) on the deploy branch do not match its manifest, not applied .*Pump07 \(.*hashes to sha256:/,
    );
    expect(site.store.applied().get("Pump07")).toEqual(kept);
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").health.sync).toMatchObject({ state: "refused" });
    await site.once();
    expect(
      site.store.events({ limit: 20 }).filter((e) => e.kind === "refused" && /Pump07/.test(e.message)),
    ).toHaveLength(1);
    await site.stop();
  });

  it("a manifest that removes every instance is refused without allowEmpty, and applied with it", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    const empty = (allowEmpty: boolean) => (c: { write(files: Record<string, string>): void; dir: string }) => {
      const m = JSON.parse(git(`${c.dir}/.git`, "show", `HEAD:${MANIFEST}`)) as SiteManifest;
      m.instances = {};
      if (allowEmpty) m.allowEmpty = true;
      c.write({ [MANIFEST]: `${JSON.stringify(m, null, 2)}\n` });
    };
    await editDeploy(server, f.name, empty(false));
    const refused = await site.once();
    expect(refused.sync).toMatchObject({ state: "refused" });
    expect(refused.sync.message).toMatch(/would remove every instance .*allowEmpty: true/);
    expect([...site.store.applied().keys()]).toEqual(["Pump07", "Pump08"]);
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").health.sync).toMatchObject({ state: "refused" });

    await editDeploy(server, f.name, empty(true));
    const applied = await site.once();
    expect(applied.sync.state).toBe("ok");
    expect(applied.removed).toEqual(["Pump07", "Pump08"]);
    await site.stop();
  });

  it("a deploy branch without this site's manifest, or no deploy branch at all, deletes nothing", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    await editDeploy(server, f.name, (c) => c.git("rm", "-q", "-r", `sites/${SITE}`));
    expect((await site.once()).sync.state).toBe("refused");
    git(f.bare, "update-ref", "-d", `refs/heads/${DEPLOY}`);
    const r = await site.once();
    expect(r.sync).toMatchObject({ state: "refused" });
    expect(r.sync.message).toMatch(/does not exist: nothing removed/);
    expect(site.store.applied().size).toBe(2);
    await site.stop();
  });

  it("a site that does not check releases (--allow-unsigned) follows a force-pushed deploy branch to its new head", async () => {
    // A site with release keys refuses this as a rollback (test/site/provenance.test.ts).
    const f = await fleet(server);
    const site = await reconciler(f.url, { allowUnsigned: true });
    const first = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    await site.once();
    const old = site.store.applied().get("Pump08")!.revisionHash;
    await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1111\n` });
    await site.once();
    // History rewritten: the branch goes back to its first commit (not a fast-forward).
    git(f.bare, "update-ref", `refs/heads/${DEPLOY}`, first);
    const r = await site.once();
    expect(r.head).toBe(first);
    expect(site.store.applied().get("Pump08")!.revisionHash).toBe(old);
    await site.stop();
  });

  it("git unreachable: nothing is deleted, the applied state stays, and the next poll after it returns catches up", async () => {
    const local = await startGitServer();
    const f = await fleet(local);
    const site = await reconciler(f.url, { pollIntervalMs: 200 });
    await site.once();
    const port = local.port;
    const root = local.root;
    // A change waits on the server while it is down.
    f.clone.write({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1222\n` });
    f.clone.commit("rated 1222");
    f.clone.push();
    await f.deploy();
    const head = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    await local.stop();
    const down = await site.once();
    expect(down.sync.state).toBe("unreachable");
    expect(down.status).toBe("failed");
    expect(site.store.applied().size).toBe(2);
    site.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(site.store.meta("deployCommit")).not.toBe(head);
    const back = await startGitServer({ root, port });
    const returned = Date.now();
    while (site.store.meta("deployCommit") !== head && Date.now() - returned < 10_000)
      await new Promise((r) => setTimeout(r, 20));
    expect(site.store.meta("deployCommit")).toBe(head);
    // Within one poll interval (200 ms) plus the loop itself.
    expect(Date.now() - returned).toBeLessThan(1_500);
    await site.stop();
    await back.stop();
  });

  it("repairs a ref left pointing at a missing commit by an interrupted fetch (isomorphic-git #894)", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const head = await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1333\n` });
    // What a fetch killed after moving the ref and before writing the pack leaves behind
    // (native git refuses to point a ref at a missing object, so the ref file is written directly).
    const mirror = join(state, "mirror.git");
    writeFileSync(join(mirror, "refs", "remotes", "origin", ...DEPLOY.split("/")), `${head}\n`);
    expect(() => git(mirror, "cat-file", "-e", head)).toThrow();
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(r.head).toBe(head);
    expect(r.applied).toEqual(["Pump08"]);
    git(mirror, "cat-file", "-e", head);
    await site.stop();
  });

  it("a mirror whose pack files are damaged is fetched again from scratch", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const head = await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1444\n` });
    // A process killed while isomorphic-git wrote a pack leaves it truncated.
    const packs = join(state, "mirror.git", "objects", "pack");
    for (const pack of readdirSync(packs).filter((n) => n.endsWith(".pack"))) truncateSync(join(packs, pack), 100);
    // As after a restart: no pack index is in memory any more.
    for (const key of Reflect.ownKeys(gitCache)) delete (gitCache as Record<PropertyKey, unknown>)[key];
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(r.head).toBe(head);
    expect(r.applied).toEqual(["Pump08"]);
    expect(site.store.applied().get("Pump08")!.deployCommit).toBe(head);
    await site.stop();
  });

  it("a mirror missing a tree its head names drops the ref and fetches again", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
    const site = await reconciler(f.url, { stateDir: state }, log);
    await site.once();
    // Loose objects instead of packs, then one tree gone: the head commit is here, its site's trees are not whole.
    const mirror = join(state, "mirror.git");
    const packs = join(mirror, "objects", "pack");
    const aside = tempDir("packs");
    for (const name of readdirSync(packs)) renameSync(join(packs, name), join(aside, name));
    for (const name of readdirSync(aside).filter((n) => n.endsWith(".pack")))
      execFileSync("git", ["--git-dir", mirror, "unpack-objects", "-q"], { input: readFileSync(join(aside, name)) });
    const tree = git(mirror, "rev-parse", `refs/remotes/origin/${DEPLOY}:sites/${SITE}/instances`);
    rmSync(join(mirror, "objects", tree.slice(0, 2), tree.slice(2)));
    for (const key of Reflect.ownKeys(gitCache)) delete (gitCache as Record<PropertyKey, unknown>)[key];
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(lines.join("")).toContain("deploy branch unreadable after fetch: fetching it again");
    git(mirror, "cat-file", "-e", tree);
    await site.stop();
  });

  it("a mirror holding more packs than MAX_PACKS is re-created from the tip, and the status branch carries on", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const packs = join(state, "mirror.git", "objects", "pack");
    for (let i = 0; i <= MAX_PACKS; i++) writeFileSync(join(packs, `pack-${String(i).padStart(40, "0")}.pack`), "");
    await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1555\n` });
    const r = await site.once();
    expect(r).toMatchObject({ applied: ["Pump08"], status: "change" });
    expect(readdirSync(packs).filter((n) => n.endsWith(".pack")).length).toBeLessThan(3);
    expect(git(f.bare, "rev-list", "--count", `refs/heads/${STATUS}`)).toBe("2");
    await site.stop();
  });

  it("drift: a stored package changed behind the reconciler's back is repaired from the deploy branch and reported", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const good = site.store.packageText("Pump07")!;
    const db = new Database(join(state, "site.db"));
    db.prepare("UPDATE instances SET package = ? WHERE name = 'Pump07'").run(good.replace('"Rated"', '"Rated2"'));
    db.close();
    const r = await site.once();
    expect(r.repaired).toEqual(["Pump07"]);
    expect(r.sync.message).toMatch(/drift repaired .*Pump07/);
    expect(site.store.packageText("Pump07")).toBe(good);
    expect(site.store.auditTail(1, "Pump07")[0]!.action).toBe("repair");
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").health.sync?.message).toMatch(/Pump07/);
    expect((await site.once()).repaired).toEqual([]);
    await site.stop();
  });

  it("drift: a stored revision changed, an instance row deleted or one added by hand are all repaired", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const site = await reconciler(f.url, { stateDir: state });
    await site.once();
    const before = site.store.applied();
    const db = new Database(join(state, "site.db"));
    db.prepare("UPDATE instances SET revision_hash = ? WHERE name = 'Pump08'").run(`sha256:${"0".repeat(64)}`);
    db.prepare(
      "INSERT INTO instances SELECT 'Ghost', revision_hash, blob_oid, package, state, deploy_commit, applied_at FROM instances WHERE name = 'Pump07'",
    ).run();
    db.prepare("DELETE FROM instances WHERE name = 'Pump07'").run();
    db.close();
    const r = await site.once();
    expect(r.repaired).toEqual(["Ghost", "Pump07", "Pump08"]);
    const after = site.store.applied();
    expect([...after.keys()]).toEqual(["Pump07", "Pump08"]);
    for (const name of ["Pump07", "Pump08"]) expect(after.get(name)!.revisionHash).toBe(before.get(name)!.revisionHash);
    expect((await site.once()).repaired).toEqual([]);
    await site.stop();
  });
});

describe("the status branch", () => {
  it("commits real changes; heartbeats amend the previous heartbeat-only commit; sequence always increases", async () => {
    const f = await fleet(server);
    let now = Date.parse("2026-05-01T00:00:00.000Z");
    const site = await reconciler(f.url, { heartbeatMs: 60_000, now: () => new Date(now) });
    await site.once();
    const log = () => git(f.bare, "log", "--format=%s", `refs/heads/${STATUS}`).split("\n");
    expect(log()).toHaveLength(1);
    now += 10_000;
    expect((await site.once()).status).toBe("none");
    now += 60_000;
    expect((await site.once()).status).toBe("heartbeat");
    now += 60_000;
    expect((await site.once()).status).toBe("heartbeat");
    expect(log()).toHaveLength(2);
    expect(log()[0]).toMatch(/^heartbeat: plant-north #3/);
    await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1111\n` });
    now += 1_000;
    expect((await site.once()).status).toBe("change");
    expect(log()).toHaveLength(3);
    expect(show<SiteStatus>(f.bare, STATUS, "status.json").sequence).toBe(4);
    // The replaced heartbeat is unreachable (dangling), nothing is broken.
    expect(git(f.bare, "fsck", "--full", "--strict", "--no-dangling")).toBe("");
    await site.stop();
  });

  it("a push that loses to another writer is retried on the branch's new head", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    await site.once();
    // Another writer moves the status branch.
    const other = await editStatus(f.name);
    await f.change({ "instances/more.yaml": `${MORE}overrides:\n  Rated: 1111\n` });
    expect((await site.once()).status).toBe("change");
    expect(git(f.bare, "rev-parse", `refs/heads/${STATUS}~1`)).toBe(other);
    await site.stop();
  });
});

async function editStatus(name: string): Promise<string> {
  const { workClone } = await import("../helpers/git-server.js");
  const c = await workClone(server, name, join(tempDir("status-edit"), name));
  c.git("checkout", "-q", "-B", STATUS, `origin/${STATUS}`);
  c.write({ "note.txt": "written by someone else\n" });
  c.commit("another writer");
  c.push(STATUS);
  return c.head();
}

describe("one reconciler per state directory", () => {
  it("a second reconciler on the same state directory stops with a clear message", async () => {
    const f = await fleet(server);
    const state = tempDir("site");
    const first = await reconciler(f.url, { stateDir: state });
    await expect(reconciler(f.url, { stateDir: state })).rejects.toThrow(
      new RegExp(`another site reconciler \\(pid ${process.pid}\\) is using the state directory`),
    );
    await first.stop();
    const again = await reconciler(f.url, { stateDir: state });
    await again.stop();
  });

  it("a lock left by a dead process is taken over; one held by a live process is not", async () => {
    const state = tempDir("lock");
    const file = join(state, "reconciler.lock");
    writeFileSync(file, "999999999\n");
    const lock = acquireLock(state);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(file)).toBe(false);
    const live = spawn("sleep", ["30"]);
    try {
      writeFileSync(file, `${live.pid}\n`);
      expect(() => acquireLock(state)).toThrow(StateDirLockedError);
      expect(readFileSync(file, "utf8")).toBe(`${live.pid}\n`);
    } finally {
      live.kill();
    }
  });
});
