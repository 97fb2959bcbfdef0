// The peer link's replication over real HTTP on loopback between two real SQLite stores: the active serves its
// log, the standby's Replicator follows it (snapshot, changes, acknowledgements), across a restart of the standby
// and a change of active.
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeState, type PeerAuth, PeerLinkServer } from "../../site-reconciler/redundancy/peer-link.js";
import { ReplicationSink, ReplicationSource } from "../../site-reconciler/redundancy/replication.js";
import { Replicator } from "../../site-reconciler/redundancy/replicator.js";
import { type ApplyInput, Store } from "../../site-reconciler/store/store.js";
import { until } from "./runtime-helpers.js";

/** A stand-in for the pair's request signing (peer-auth.ts has the real one, tested on its own). */
const KEY = "pair-secret-test";
const auth: PeerAuth = {
  sign: (method, path, body) => ({
    "x-test-sig": createHmac("sha256", KEY).update(`${method} ${path}\n${body}`).digest("hex"),
  }),
  verify: (method, path, headers, body) => {
    const want = createHmac("sha256", KEY).update(`${method} ${path}\n${body}`).digest();
    const got = Buffer.from(String(headers["x-test-sig"] ?? ""), "hex");
    return got.length === want.length && timingSafeEqual(got, want);
  },
};
const log = pino({ level: "silent" });
const pkg = (name: string): ApplyInput => ({
  name,
  revisionHash: "sha256:1",
  blobOid: "0".repeat(40),
  packageText: "{}",
  state: "enabled",
  deployCommit: "c1",
  at: "2026-12-07T10:00:00.000Z",
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setUp() {
  const d = mkdtempSync(join(tmpdir(), "scadalink-peer-"));
  const a = Store.open(join(d, "a.db"));
  const b = Store.open(join(d, "b.db"));
  b.replica = true;
  for (const s of [a, b]) s.apply(pkg("P1"));
  const source = new ReplicationSource(a.db);
  source.setCapture(true);
  const state: NodeState = { node: "a", role: "active", epoch: 1 };
  const acks: { seq: number; lag: number | null }[] = [];
  const server = new PeerLinkServer({
    port: 0,
    auth,
    state: () => state,
    source,
    onHeartbeat: () => undefined,
    onAck: (seq, lag) => acks.push({ seq, lag }),
    log,
    waitMs: 200,
  });
  const port = await server.start();
  const sink = new ReplicationSink(b.db);
  const replicator = () => new Replicator({ peer: `http://127.0.0.1:${port}`, auth, sink, log, retryMs: 50 });
  cleanup.push(
    () => rmSync(d, { recursive: true, force: true }),
    () => a.close(),
    () => b.close(),
    () => server.stop(),
  );
  return { a, b, source, state, acks, port, sink, replicator };
}
const statics = (s: Store) => s.db.prepare("SELECT * FROM static_values ORDER BY path").all();

describe("peer link replication", () => {
  it("follows the active: a snapshot, then every change, acknowledged and pruned, with the lag measured", async () => {
    const t = await setUp();
    t.a.writeStatic("P1", "Before", 1, "2026-12-07T10:00:01.000Z");
    const r = t.replicator();
    r.start();
    cleanup.push(() => r.stop());
    await until("the snapshot", () => r.status.snapshots === 1);
    expect(statics(t.b)).toEqual(statics(t.a));
    for (let i = 0; i < 500; i++) t.a.writeStatic("P1", `V${i % 50}`, i, "2026-12-07T10:00:02.000Z");
    await until("caught up", () => r.status.seq === t.source.head());
    expect(statics(t.b)).toEqual(statics(t.a));
    await until("acknowledged", () => t.source.backlog().entries === 0);
    expect(t.acks.at(-1)!.seq).toBe(t.source.head());
    expect(t.acks.some((a) => a.lag !== null && a.lag >= 0 && a.lag < 5_000)).toBe(true);
  });

  it("an unsigned or wrongly signed request gets 401 and nothing of the log", async () => {
    const t = await setUp();
    t.a.writeStatic("P1", "Secret", 42, "2026-12-07T10:00:01.000Z");
    const plain = await fetch(`http://127.0.0.1:${t.port}/peer/v1/snapshot`);
    expect(plain.status).toBe(401);
    expect(await plain.text()).not.toContain("Secret");
    const forged = await fetch(`http://127.0.0.1:${t.port}/peer/v1/snapshot`, {
      headers: { "x-test-sig": "00".repeat(32) },
    });
    expect(forged.status).toBe(401);
  });

  it("a restarted standby goes on from its stored position; a new active (epoch) makes it start from a snapshot", async () => {
    const t = await setUp();
    let r = t.replicator();
    r.start();
    await until("the snapshot", () => r.status.snapshots === 1);
    t.a.writeStatic("P1", "Count", 1, "2026-12-07T10:00:01.000Z");
    await until("caught up", () => r.status.seq === t.source.head());
    await r.stop();
    t.a.writeStatic("P1", "Count", 2, "2026-12-07T10:00:02.000Z");
    r = t.replicator();
    r.start();
    cleanup.push(() => r.stop());
    await until("caught up again", () => r.status.seq === t.source.head());
    expect(r.status.snapshots).toBe(0);
    expect(statics(t.b)).toEqual(statics(t.a));
    // The active steps down: the standby's requests are refused, not answered from a log that is no longer live.
    t.state.role = "standby";
    await until("refused", () => r.status.lastError?.includes("409"));
    // It is active again in a new epoch: positions in the old log mean nothing, so a snapshot comes first.
    t.state.role = "active";
    t.state.epoch = 2;
    t.a.writeStatic("P1", "Count", 3, "2026-12-07T10:00:03.000Z");
    await until("a new snapshot", () => r.status.snapshots === 1);
    await until("caught up in epoch 2", () => r.status.origin === "a@2" && r.status.seq === t.source.head());
    expect(statics(t.b)).toEqual(statics(t.a));
  });
});
