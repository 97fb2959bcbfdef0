// The witness over real HTTP on loopback with its SQLite file in a temporary directory, and its client: grants,
// renewals, refusals, expiry, epochs across a restart, unsigned requests, and a witness that does not answer.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Election, type ElectionAction } from "../../site-reconciler/redundancy/election.js";
import { HmacPeerAuth } from "../../site-reconciler/redundancy/peer-auth.js";
import { LEASE_PATH, WitnessServer } from "../../site-reconciler/redundancy/witness.js";
import { WitnessClient } from "../../site-reconciler/redundancy/witness-client.js";

const SECRET = Buffer.from("the-pair-and-witness-share-this-one");
const log = pino({ level: "silent" });
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function witness(dir: string) {
  const server = new WitnessServer({
    port: 0,
    stateDir: dir,
    auth: new HmacPeerAuth({ secret: SECRET, node: "witness", peers: ["a", "b"] }),
    log,
  });
  const port = await server.start();
  let stopped = false;
  const stop = async () => {
    if (!stopped) await server.stop();
    stopped = true;
  };
  cleanup.push(stop);
  return { port, stop, url: `http://127.0.0.1:${port}` };
}

async function setUp() {
  const dir = mkdtempSync(join(tmpdir(), "scadalink-witness-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const w = await witness(dir);
  const client = (node: string, url = w.url, secret = SECRET) =>
    new WitnessClient({ url, site: "plant-1", auth: new HmacPeerAuth({ secret, node }), timeoutMs: 2_000 });
  return { dir, w, a: client("a"), b: client("b"), client };
}

describe("witness", () => {
  it("grants a free lease with the next epoch, and renews it for the same holder and epoch", async () => {
    const { a } = await setUp();
    const g = await a.lease({ node: "a", epoch: 4, ttlMs: 5_000, mode: "acquire" });
    expect(g).toMatchObject({ site: "plant-1", granted: true, holder: "a", epoch: 5 });
    const r = await a.lease({ node: "a", epoch: 5, ttlMs: 5_000, mode: "renew" });
    expect(r).toMatchObject({ granted: true, holder: "a", epoch: 5 });
    expect(r !== "unreachable" && g !== "unreachable" && Date.parse(r.expiresAt) >= Date.parse(g.expiresAt)).toBe(true);
    // A renewal of another epoch is not this lease.
    expect(await a.lease({ node: "a", epoch: 4, ttlMs: 5_000, mode: "renew" })).toMatchObject({ granted: false });
  });

  it("refuses the other node while the lease is held, and its renewal too", async () => {
    const { a, b } = await setUp();
    await a.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" });
    expect(await b.lease({ node: "b", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toMatchObject({
      granted: false,
      holder: "a",
      epoch: 1,
    });
    expect(await b.lease({ node: "b", epoch: 1, ttlMs: 5_000, mode: "renew" })).toMatchObject({ granted: false });
  });

  it("grants the other node once the lease has expired, with a higher epoch; the old holder cannot renew", async () => {
    const { a, b, w, client } = await setUp();
    await a.lease({ node: "a", epoch: 0, ttlMs: 200, mode: "acquire" });
    await sleep(300);
    expect(await b.lease({ node: "b", epoch: 1, ttlMs: 5_000, mode: "acquire" })).toMatchObject({
      granted: true,
      holder: "b",
      epoch: 2,
    });
    expect(await a.lease({ node: "a", epoch: 1, ttlMs: 200, mode: "renew" })).toMatchObject({
      granted: false,
      holder: "b",
      epoch: 2,
    });
    const state = await client("a", w.url).state();
    expect(state !== "unreachable" && state.leases).toEqual([
      { site: "plant-1", holder: "b", epoch: 2, expiresAt: expect.any(String), held: true },
    ]);
  });

  it("keeps the epoch across a restart, and counts a held lease as renewed at the restart", async () => {
    const { dir, a, w, client } = await setUp();
    await a.lease({ node: "a", epoch: 41, ttlMs: 300, mode: "acquire" });
    await w.stop();
    const w2 = await witness(dir);
    const b = client("b", w2.url);
    // The holder may still be acting: the restarted witness gives it its ttl again before anyone else.
    expect(await b.lease({ node: "b", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toMatchObject({
      granted: false,
      holder: "a",
      epoch: 42,
    });
    await sleep(400);
    // b asks with a lower epoch than the stored one: the grant is above the stored one all the same.
    expect(await b.lease({ node: "b", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toMatchObject({
      granted: true,
      holder: "b",
      epoch: 43,
    });
  });

  it("answers 401 to an unsigned request or one signed with another secret, 403 to a lease in another's name", async () => {
    const { w, client } = await setUp();
    const body = JSON.stringify({ site: "plant-1", node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" });
    const unsigned = await fetch(`${w.url}${LEASE_PATH}`, { method: "POST", body });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).not.toContain("the-pair");
    const wrong = client("a", w.url, Buffer.from("not-the-secret-of-this-pair-at-all"));
    expect(await wrong.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(wrong.lastError).toBe("HTTP 401");
    const b = client("b", w.url);
    expect(await b.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(b.lastError).toBe("HTTP 403");
    // A node not of the pair is refused too, even with the secret.
    const c = client("c", w.url);
    expect(await c.lease({ node: "c", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(c.lastError).toBe("HTTP 401");
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  });

  it("refuses a malformed lease request with 400", async () => {
    const { a } = await setUp();
    expect(await a.lease({ node: "a", epoch: -1, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(a.lastError).toBe("HTTP 400");
    expect(await a.lease({ node: "a", epoch: 0, ttlMs: 10, mode: "acquire" })).toBe("unreachable");
  });
});

describe("witness client", () => {
  it("says unreachable when the witness does not answer within the timeout", async () => {
    const stalled: Server = createServer(() => undefined); // reads the request, never answers
    await new Promise<void>((r) => stalled.listen(0, "127.0.0.1", () => r()));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          stalled.closeAllConnections();
          stalled.close(() => r());
        }),
    );
    const port = (stalled.address() as AddressInfo).port;
    const client = new WitnessClient({
      url: `http://127.0.0.1:${port}`,
      site: "plant-1",
      auth: new HmacPeerAuth({ secret: SECRET, node: "a" }),
      timeoutMs: 200,
    });
    const t0 = Date.now();
    expect(await client.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(client.lastError).toBe("no answer within 200 ms");
  });

  it("takes no forged grant: an answer not signed by the witness for this request is no answer", async () => {
    // Something on the network answering every lease request with a grant: unsigned, then signed with another
    // secret, then a real witness's signed answer to an earlier request (replayed).
    const real = await setUp();
    const replayFrom = new HmacPeerAuth({ secret: SECRET, node: "witness" });
    let mode: "unsigned" | "other-secret" | "replayed" = "unsigned";
    const grant = JSON.stringify({
      site: "plant-1",
      granted: true,
      holder: "a",
      epoch: 99,
      expiresAt: "2026-12-07T10:00:00.000Z",
    });
    const forged: Server = createServer((req, res) => {
      req.resume();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (mode === "other-secret")
        Object.assign(
          headers,
          new HmacPeerAuth({ secret: Buffer.from("not-the-pair-secret-at-all-000"), node: "witness" }).signAnswer(
            String(req.headers["x-scadalink-nonce"]),
            200,
            grant,
          ),
        );
      if (mode === "replayed") Object.assign(headers, replayFrom.signAnswer("0".repeat(32), 200, grant));
      res.writeHead(200, headers);
      res.end(grant);
    });
    await new Promise<void>((r) => forged.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise<void>((r) => forged.close(() => r())));
    const client = new WitnessClient({
      url: `http://127.0.0.1:${(forged.address() as AddressInfo).port}`,
      site: "plant-1",
      auth: new HmacPeerAuth({ secret: SECRET, node: "a" }),
    });
    for (const m of ["unsigned", "other-secret", "replayed"] as const) {
      mode = m;
      expect(await client.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" }), m).toBe("unreachable");
      expect(client.lastError).toBe("an answer not signed by the witness");
    }
    // The real witness's answers are signed for their request and taken.
    const a = await real.a.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" });
    expect(a).toMatchObject({ granted: true, holder: "a" });
  });

  it("says unreachable when the connection is refused", async () => {
    const { w, a } = await setUp();
    await w.stop();
    expect(await a.lease({ node: "a", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(a.lastError).toBe("ECONNREFUSED");
  });
});

describe("two elections through a real witness", () => {
  it("one becomes active; cut from the witness and the peer, it steps down and the other takes over", async () => {
    const { w, client } = await setUp();
    const failoverMs = 1_000;
    const now = () => performance.now();
    const nodes = {
      a: new Election({ node: "a", failoverMs, witness: true, epoch: 0, now: now(), renewMs: 100, marginMs: 50 }),
      b: new Election({ node: "b", failoverMs, witness: true, epoch: 0, now: now(), renewMs: 100, marginMs: 50 }),
    };
    const clients = { a: client("a"), b: client("b") };
    const dead = { a: client("a", "http://127.0.0.1:9"), b: client("b", "http://127.0.0.1:9") }; // nothing listens
    const cut = { a: false, b: false };
    let link = true;
    let both = false;
    const carry = (name: "a" | "b", actions: ElectionAction[]) => {
      for (const act of actions) {
        if (act.type === "step-down") setTimeout(() => nodes[name].steppedDown(now()), 20);
        if (act.type !== "ask-lease" && act.type !== "renew-lease") continue;
        const c = cut[name] ? dead[name] : clients[name];
        void c.lease(act.request).then((r) => carry(name, nodes[name].witnessAnswer(r, now())));
      }
    };
    const timer = setInterval(() => {
      if (link) {
        carry("a", nodes.a.peerHeartbeat(nodes.b.state(), now()));
        carry("b", nodes.b.peerHeartbeat(nodes.a.state(), now()));
      }
      carry("a", nodes.a.tick(now()));
      carry("b", nodes.b.tick(now()));
      if (nodes.a.role === "active" && nodes.b.role === "active") both = true;
    }, 20);
    cleanup.push(() => clearInterval(timer));
    const until = async (ok: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!ok() && Date.now() < end) await sleep(20);
      return ok();
    };
    expect(await until(() => nodes.a.role === "active" || nodes.b.role === "active", 5_000)).toBe(true);
    const first = nodes.a.role === "active" ? "a" : "b";
    const other = first === "a" ? "b" : "a";
    expect(nodes[other].role).toBe("standby");
    const epoch = nodes[first].epoch;
    // The active loses the witness and the peer link; the standby still reaches the witness.
    link = false;
    cut[first] = true;
    expect(await until(() => nodes[other].role === "active", 5_000)).toBe(true);
    expect(nodes[first].role).toBe("standby");
    expect(nodes[other].epoch).toBe(epoch + 1);
    const state = await client("a", w.url).state();
    expect(state !== "unreachable" && state.leases[0]).toMatchObject({ holder: other, epoch: epoch + 1, held: true });
    expect(both).toBe(false);
  });
});
