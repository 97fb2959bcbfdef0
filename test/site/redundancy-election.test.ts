// The election as a state machine with fake times: each rule of docs/redundancy.md (Election), and a small
// simulation of a pair, a witness (the real lease rule, in memory) and a network that can be cut.
import { describe, expect, it } from "vitest";
import { Election, type ElectionAction, type ElectionOptions } from "../../site-reconciler/redundancy/election.js";
import { decideLease, type LeaseRequest, type LeaseRow } from "../../site-reconciler/redundancy/lease.js";
import type { NodeState } from "../../site-reconciler/redundancy/peer-link.js";

const FAILOVER = 10_000;
const make = (o: Partial<ElectionOptions> & { node: string }) =>
  new Election({ failoverMs: FAILOVER, witness: false, epoch: 0, now: 0, marginMs: 0, ...o });
const types = (actions: ElectionAction[]) => actions.map((a) => a.type);
const active = (node: string, epoch: number): NodeState => ({ node, role: "active", epoch });
const standby = (node: string, epoch: number): NodeState => ({ node, role: "standby", epoch });
const lease = (actions: ElectionAction[]): LeaseRequest | undefined =>
  actions.flatMap((a) => (a.type === "ask-lease" || a.type === "renew-lease" ? [a.request] : []))[0];

describe("election without a witness", () => {
  it("starts as standby and stays one while the active is heard", () => {
    const b = make({ node: "b", epoch: 4 });
    expect(b.state()).toEqual({ node: "b", role: "standby", epoch: 4 });
    for (let t = 0; t <= 60_000; t += 1_000) {
      b.peerHeartbeat(active("a", 4), t);
      expect(types(b.tick(t + 500))).toEqual([]);
    }
    expect(b.role).toBe("standby");
  });

  it("never takes over before failoverMs of silence, and does at failoverMs with the highest epoch + 1", () => {
    const b = make({ node: "b", epoch: 2 });
    b.peerHeartbeat(active("a", 3), 5_000);
    expect(b.tick(5_000 + FAILOVER - 1)).toEqual([]);
    expect(b.role).toBe("standby");
    const acts = b.tick(5_000 + FAILOVER);
    expect(acts).toEqual([{ type: "activate", epoch: 4, reason: expect.stringContaining("no active heard") }]);
    expect(b.state()).toEqual({ node: "b", role: "active", epoch: 4 });
  });

  it("counts the silence from its own start when no active was ever heard", () => {
    const a = make({ node: "a", now: 1_000 });
    expect(a.tick(1_000 + FAILOVER - 1)).toEqual([]);
    expect(types(a.tick(1_000 + FAILOVER))).toEqual(["activate"]);
    expect(a.epoch).toBe(1);
  });

  it("yields to a live standby peer whose name sorts earlier (two cold starts do not both activate)", () => {
    const a = make({ node: "a" });
    const b = make({ node: "b" });
    for (let t = 0; t < FAILOVER; t += 1_000) {
      a.peerHeartbeat(b.state(), t);
      b.peerHeartbeat(a.state(), t);
    }
    b.peerHeartbeat(a.state(), FAILOVER);
    expect(b.tick(FAILOVER)).toEqual([]);
    expect(types(a.tick(FAILOVER))).toEqual(["activate"]);
    b.peerHeartbeat(a.state(), FAILOVER + 100);
    expect(b.tick(FAILOVER + 200)).toEqual([]);
    expect(b.role).toBe("standby");
    // The earlier name gone silent, b no longer yields.
    expect(types(b.tick(FAILOVER + 100 + FAILOVER))).toEqual(["activate"]);
  });

  it("two actives meeting: the lower epoch steps down at once, the higher stays", () => {
    const a = make({ node: "a" });
    a.tick(FAILOVER);
    expect(a.state()).toEqual({ node: "a", role: "active", epoch: 1 });
    const b = make({ node: "b", epoch: 1 });
    b.tick(FAILOVER); // the link is cut: b takes over too
    expect(b.state()).toEqual({ node: "b", role: "active", epoch: 2 });
    expect(b.peerHeartbeat(a.state(), FAILOVER + 1)).toEqual([]);
    const acts = a.peerHeartbeat(b.state(), FAILOVER + 1);
    expect(acts).toEqual([
      { type: "epoch-seen", epoch: 2 },
      { type: "step-down", epoch: 1, reason: expect.stringContaining("higher epoch seen: 2") },
    ]);
    expect(a.state()).toEqual({ node: "a", role: "stepping-down", epoch: 1 });
    a.steppedDown(FAILOVER + 50);
    expect(a.state()).toEqual({ node: "a", role: "standby", epoch: 2 });
  });

  it("two actives of the same epoch: the node whose name sorts later steps down", () => {
    const a = make({ node: "a", epoch: 6 });
    const b = make({ node: "b", epoch: 6 });
    a.tick(FAILOVER);
    b.tick(FAILOVER);
    expect([a.epoch, b.epoch]).toEqual([7, 7]);
    expect(a.peerHeartbeat(b.state(), FAILOVER + 1)).toEqual([]);
    expect(types(b.peerHeartbeat(a.state(), FAILOVER + 1))).toEqual(["step-down"]);
    expect(b.reason).toContain("b sorts after a");
    expect(a.role).toBe("active");
  });

  it("an active steps down at once on any higher epoch, also from a standby or a replication message", () => {
    const a = make({ node: "a" });
    a.tick(FAILOVER);
    expect(types(a.peerHeartbeat(standby("b", 5), FAILOVER + 1))).toEqual(["epoch-seen", "step-down"]);
    const c = make({ node: "c" });
    c.tick(FAILOVER);
    expect(types(c.epochSeen(2, FAILOVER + 1, "a replication answer"))).toEqual(["epoch-seen", "step-down"]);
  });

  it("never lowers the epoch, and every activation takes a new one", () => {
    const b = make({ node: "b", epoch: 9 });
    b.peerHeartbeat(active("a", 3), 0);
    b.epochSeen(1, 0);
    expect(b.highestSeen).toBe(9);
    b.tick(FAILOVER);
    expect(b.epoch).toBe(10);
    b.epochSeen(11, FAILOVER + 1);
    b.steppedDown(FAILOVER + 2);
    b.tick(FAILOVER + 2 + FAILOVER);
    expect(b.state()).toEqual({ node: "b", role: "active", epoch: 12 });
  });

  it("a returning node joins as standby: no failback while the other is active", () => {
    // a was active at epoch 1, restarted; b took over at epoch 2 and keeps running.
    const a = make({ node: "a", epoch: 1, now: 100_000 });
    for (let t = 100_000; t < 200_000; t += 1_000) {
      a.peerHeartbeat(active("b", 2), t);
      expect(a.tick(t + 999)).toEqual([]);
    }
    expect(a.state()).toEqual({ node: "a", role: "standby", epoch: 2 });
  });

  it("ignores a peer that claims this node's own name", () => {
    const a = make({ node: "a" });
    a.tick(FAILOVER);
    expect(a.peerHeartbeat(active("a", 99), FAILOVER + 1)).toEqual([]);
    expect(a.role).toBe("active");
  });
});

describe("election with a witness", () => {
  const W = { witness: true };

  it("asks for the lease only after failoverMs of silence, again every renewMs, never while one is in flight", () => {
    const b = make({ node: "b", epoch: 3, ...W });
    b.peerHeartbeat(active("a", 3), 0);
    expect(b.tick(FAILOVER - 1)).toEqual([]);
    expect(lease(b.tick(FAILOVER))).toEqual({ node: "b", epoch: 3, ttlMs: FAILOVER / 2, mode: "acquire" });
    expect(b.tick(FAILOVER + 1_500)).toEqual([]); // still in flight
    b.witnessAnswer({ granted: false, holder: "a", epoch: 3 }, FAILOVER + 1_600);
    expect(b.role).toBe("standby");
    expect(lease(b.tick(FAILOVER + 1_700))?.mode).toBe("acquire");
  });

  it("becomes active only on a grant to itself, with the grant's epoch", () => {
    const b = make({ node: "b", epoch: 3, ...W });
    b.tick(FAILOVER);
    expect(b.witnessAnswer("unreachable", FAILOVER + 10)).toEqual([]);
    expect(b.role).toBe("standby");
    b.tick(FAILOVER + 1_000);
    expect(b.witnessAnswer({ granted: true, holder: "b", epoch: 7 }, FAILOVER + 1_010)).toEqual([
      { type: "activate", epoch: 7, reason: expect.stringContaining("granted the lease at epoch 7") },
    ]);
    expect(b.state()).toEqual({ node: "b", role: "active", epoch: 7 });
  });

  it("never activates while the witness is unreachable, however long the silence", () => {
    const b = make({ node: "b", ...W });
    for (let t = FAILOVER; t < 10 * FAILOVER; t += 100) {
      for (const a of b.tick(t)) expect(a.type).toBe("ask-lease");
      b.witnessAnswer("unreachable", t + 50);
    }
    expect(b.role).toBe("standby");
  });

  it("ignores a grant whose epoch is not above one seen meanwhile", () => {
    const b = make({ node: "b", epoch: 3, ...W });
    b.tick(FAILOVER);
    b.peerHeartbeat(active("a", 8), FAILOVER + 5);
    expect(b.witnessAnswer({ granted: true, holder: "b", epoch: 4 }, FAILOVER + 10)).toEqual([]);
    expect(b.role).toBe("standby");
  });

  it("the active renews every second, its lease counted from when it sent each renewal", () => {
    const a = make({ node: "a", ...W });
    a.tick(FAILOVER);
    a.witnessAnswer({ granted: true, holder: "a", epoch: 1 }, FAILOVER + 20);
    expect(a.tick(FAILOVER + 999)).toEqual([]);
    const r = lease(a.tick(FAILOVER + 1_000));
    expect(r).toEqual({ node: "a", epoch: 1, ttlMs: 5_000, mode: "renew" });
    // The answer comes 900 ms later; the lease runs from the send: 1000 + 5000, not 1900 + 5000.
    a.witnessAnswer({ granted: true, holder: "a", epoch: 1 }, FAILOVER + 1_900);
    for (let t = FAILOVER + 2_000; t < FAILOVER + 6_000; t += 100) {
      if (a.tick(t).length) a.witnessAnswer("unreachable", t + 1);
    }
    expect(a.role).toBe("active");
    expect(types(a.tick(FAILOVER + 6_000))).toEqual(["step-down"]);
    expect(a.reason).toContain("lease not renewed");
  });

  it("the active steps down at once when the witness refuses a renewal or shows a higher epoch", () => {
    const a = make({ node: "a", ...W });
    a.tick(FAILOVER);
    a.witnessAnswer({ granted: true, holder: "a", epoch: 1 }, FAILOVER + 1);
    a.tick(FAILOVER + 1_000);
    expect(types(a.witnessAnswer({ granted: false, holder: null, epoch: 1 }, FAILOVER + 1_001))).toEqual(["step-down"]);
    expect(a.reason).toContain("it has expired");
    const c = make({ node: "c", ...W });
    c.tick(FAILOVER);
    c.witnessAnswer({ granted: true, holder: "c", epoch: 1 }, FAILOVER + 1);
    c.tick(FAILOVER + 1_000);
    expect(types(c.witnessAnswer({ granted: false, holder: "d", epoch: 2 }, FAILOVER + 1_001))).toEqual([
      "step-down",
      "epoch-seen",
    ]);
  });
});

/**
 * Two nodes and a witness on one fake clock. Requests to the witness take `latency` each way; one that cannot
 * reach it (or whose answer cannot come back) is answered "unreachable" after the client's timeout. Heartbeats go
 * every second while the peer link is up. Stepping down takes 200 ms.
 */
function simulate(o: { failoverMs?: number; latency?: number; timeoutMs?: number } = {}) {
  const failoverMs = o.failoverMs ?? FAILOVER;
  const latency = o.latency ?? 40;
  const timeoutMs = o.timeoutMs ?? 1_000;
  const nodes = {
    a: make({ node: "a", witness: true, failoverMs }),
    b: make({ node: "b", witness: true, failoverMs }),
  };
  const reach = { a: true, b: true, link: true };
  let row: LeaseRow | undefined;
  let t = 0;
  const events: { at: number; run: () => void }[] = [];
  const later = (at: number, run: () => void) => events.push({ at, run });
  const trace: { t: number; a: string; b: string; leaseExpiresAt: number; holder: string | null }[] = [];
  const stepDownAt: { node: string; t: number; witnessExpiry: number }[] = [];

  const handle = (name: "a" | "b", actions: ElectionAction[]) => {
    const e = nodes[name];
    for (const act of actions) {
      if (act.type === "step-down") {
        stepDownAt.push({ node: name, t, witnessExpiry: row?.expiresAt ?? 0 });
        later(t + 200, () => e.steppedDown(t));
      }
      if (act.type !== "ask-lease" && act.type !== "renew-lease") continue;
      if (!reach[name]) {
        later(t + timeoutMs, () => handle(name, e.witnessAnswer("unreachable", t)));
        continue;
      }
      later(t + latency, () => {
        const d = decideLease(row, act.request, t);
        row = d.row;
        const answer = d.answer;
        if (reach[name]) later(t + latency, () => handle(name, e.witnessAnswer(answer, t)));
        else later(t - latency + timeoutMs, () => handle(name, e.witnessAnswer("unreachable", t)));
      });
    }
  };

  const runUntil = (end: number) => {
    for (; t <= end; t += 10) {
      for (const ev of events.splice(0).sort((x, y) => x.at - y.at)) {
        if (ev.at <= t) ev.run();
        else events.push(ev);
      }
      if (t % 1_000 === 0 && reach.link) {
        handle("a", nodes.a.peerHeartbeat(nodes.b.state(), t));
        handle("b", nodes.b.peerHeartbeat(nodes.a.state(), t));
      }
      if (t % 100 === 0) for (const n of ["a", "b"] as const) handle(n, nodes[n].tick(t));
      trace.push({
        t,
        a: nodes.a.role,
        b: nodes.b.role,
        leaseExpiresAt: row?.expiresAt ?? 0,
        holder: row?.holder ?? null,
      });
    }
  };
  return { nodes, reach, runUntil, trace, stepDownAt, row: () => row };
}

describe("a pair with a witness (simulated)", () => {
  it("one node becomes active at start, the other stays standby", () => {
    const s = simulate();
    s.runUntil(30_000);
    const roles = [s.nodes.a.role, s.nodes.b.role].sort();
    expect(roles).toEqual(["active", "standby"]);
    expect(s.trace.every((x) => !(x.a === "active" && x.b === "active"))).toBe(true);
  });

  it("in a partition never two actives: the one that still reaches the witness takes over", () => {
    const s = simulate();
    s.runUntil(30_000);
    const first = s.nodes.a.role === "active" ? "a" : "b";
    const other = first === "a" ? "b" : "a";
    const epoch = s.nodes[first].epoch;
    // The active loses the witness and the peer link; the standby still reaches the witness.
    s.reach[first] = false;
    s.reach.link = false;
    s.runUntil(90_000);
    expect(s.trace.some((x) => x.a === "active" && x.b === "active")).toBe(false);
    expect(s.nodes[other].role).toBe("active");
    expect(s.nodes[other].epoch).toBe(epoch + 1);
    expect(s.nodes[first].role).toBe("standby");
    // The cut active stopped before the witness's lease ran out.
    const down = s.stepDownAt.find((d) => d.node === first)!;
    expect(down.t).toBeLessThan(down.witnessExpiry);
  });

  it("in a partition where the active keeps the witness, the standby never takes over", () => {
    const s = simulate();
    s.runUntil(30_000);
    const first = s.nodes.a.role === "active" ? "a" : "b";
    const other = first === "a" ? "b" : "a";
    s.reach[other] = false;
    s.reach.link = false;
    s.runUntil(60_000);
    // The standby, cut from both, still asks; then reaches the witness again: refused while the lease is held.
    s.reach[other] = true;
    s.runUntil(120_000);
    expect(s.nodes[first].role).toBe("active");
    expect(s.nodes[other].role).toBe("standby");
    expect(s.trace.some((x) => x.a === "active" && x.b === "active")).toBe(false);
  });

  it("an active whose renewals go unanswered steps down before the witness's lease expires, even with slow answers", () => {
    // Cut at every phase of the renewal cycle, so one cut falls just after an acknowledgement came back.
    for (let offset = 0; offset < 1_000; offset += 50) {
      const s = simulate({ latency: 400, timeoutMs: 2_000 });
      s.runUntil(30_000 + offset);
      const first = s.nodes.a.role === "active" ? "a" : "b";
      s.reach[first] = false;
      s.runUntil(45_000);
      const down = s.stepDownAt.find((d) => d.node === first)!;
      expect(down).toBeDefined();
      expect(down.t, `cut at +${offset} ms`).toBeLessThan(down.witnessExpiry);
      expect(s.trace.some((x) => x.a === "active" && x.b === "active")).toBe(false);
    }
  });

  it("when the active dies, the standby is active within failoverMs plus the lease's expiry", () => {
    const s = simulate();
    s.runUntil(30_000);
    const first = s.nodes.a.role === "active" ? "a" : "b";
    const other = first === "a" ? "b" : "a";
    s.reach[first] = false;
    s.reach.link = false;
    s.runUntil(30_000 + FAILOVER + 2_000);
    expect(s.nodes[other].role).toBe("active");
  });
});

describe("a peer whose link refuses connections (its process is not running)", () => {
  it("without a witness: the standby takes over at once, with the highest epoch + 1 and that reason", () => {
    const b = make({ node: "b", epoch: 2 });
    b.peerHeartbeat(active("a", 3), 1_000);
    expect(b.peerNotRunning(1_200)).toEqual([
      { type: "activate", epoch: 4, reason: expect.stringContaining("refuses connections") },
    ]);
    expect(b.role).toBe("active");
  });

  it("with a witness: the standby asks for the lease at once, and is active only on the grant", () => {
    const b = make({ node: "b", epoch: 2, witness: true });
    b.peerHeartbeat(active("a", 3), 1_000);
    const acts = b.peerNotRunning(1_200);
    expect(types(acts)).toEqual(["ask-lease"]);
    expect(b.role).toBe("standby");
    // Refused while the dead active's lease runs: still standby.
    b.witnessAnswer({ granted: false, holder: "a", epoch: 3 }, 1_300);
    expect(b.role).toBe("standby");
  });

  it("an active ignores it", () => {
    const a = make({ node: "a" });
    a.tick(FAILOVER);
    expect(a.role).toBe("active");
    expect(a.peerNotRunning(FAILOVER + 100)).toEqual([]);
    expect(a.role).toBe("active");
  });
});
