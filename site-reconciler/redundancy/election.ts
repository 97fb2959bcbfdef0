import type { LeaseRequest } from "./lease.js";
import type { NodeState, PeerRole } from "./peer-link.js";

export interface ElectionOptions {
  node: string;
  /** How long the active may be silent before the standby takes over (failoverSeconds × 1000). */
  failoverMs: number;
  /** Whether a witness decides who is active (--witness). */
  witness: boolean;
  /** The highest epoch this node has seen, from its store (meta.epoch). */
  epoch: number;
  /** When the node started (the same monotonic clock as every later input). */
  now: number;
  /** How often the active renews its lease (default 1 s). */
  renewMs?: number;
  /** The lease's time to live (default failoverMs / 2). */
  leaseTtlMs?: number;
  /**
   * The active stops this much before its own count of the lease runs out, so that a late timer still stops it
   * before the witness can give the lease away (default 250 ms).
   */
  marginMs?: number;
}

/** The witness's answer to the request an action asked for, or that it could not be reached in time. */
export type WitnessReply =
  | { granted: boolean; holder: string | null; epoch: number; expiresAt?: string | number }
  | "unreachable";

/**
 * What the node is to do. ask-lease and renew-lease: send the request to the witness and hand its answer (or
 * "unreachable") to witnessAnswer; there is at most one in flight. activate: keep the epoch in the store, then
 * start acting. step-down: stop deliveries, scripts and device writes, then the runtime, then call steppedDown.
 * epoch-seen: keep the epoch in the store (meta.epoch), so a restart never takes a lower one.
 */
export type ElectionAction =
  | { type: "ask-lease"; request: LeaseRequest }
  | { type: "renew-lease"; request: LeaseRequest }
  | { type: "activate"; epoch: number; reason: string }
  | { type: "step-down"; epoch: number; reason: string }
  | { type: "epoch-seen"; epoch: number };

interface PeerSeen extends NodeState {
  /** When its heartbeat arrived, on this node's clock. */
  at: number;
}

/**
 * Who is active, as a pure state machine (docs/redundancy.md, Election): no I/O, the time passed in with every
 * input (a monotonic clock: performance.now()), actions returned for the caller to carry out.
 *
 * - A node starts as standby, and returns as one: no automatic failback.
 * - The standby's silence clock runs from the latest of its start, its last step-down and the last heartbeat in
 *   which the peer said it was active. Once it has run failoverMs:
 *   - with a witness, the standby asks for the lease (again every renewMs while refused or unanswered) and becomes
 *     active only on a grant to itself, with the grant's epoch;
 *   - without one, it becomes active with the highest epoch seen + 1; except while the peer is alive as a standby
 *     with a name that sorts earlier: that one takes over, so two cold-started nodes do not both activate.
 * - The active with a witness renews every renewMs and steps down when no renewal was granted within the lease's
 *   ttl counted from when it SENT that renewal (the witness counts from when it received it, which is later), less
 *   marginMs; it steps down at once when the witness refuses a renewal.
 * - Any node that sees a higher epoch than its own while active steps down at once. Two actives of the same epoch:
 *   the node whose name sorts later steps down. The highest epoch seen never goes down.
 */
export class Election {
  readonly #node: string;
  readonly #failoverMs: number;
  readonly #witness: boolean;
  readonly #renewMs: number;
  readonly #ttlMs: number;
  readonly #marginMs: number;
  #role: PeerRole = "standby";
  /** This node's activation epoch (active, stepping-down); 0 before any. */
  #epoch = 0;
  #seen: number;
  #quietSince: number;
  #peer: PeerSeen | undefined;
  #pending: { mode: LeaseRequest["mode"]; sentAt: number } | undefined;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  /** The active's own count of its lease: the last granted request's send time + ttl. */
  #leaseUntil = Number.NEGATIVE_INFINITY;
  #lastReason = "started as standby";

  constructor(o: ElectionOptions) {
    if (!(o.failoverMs > 0)) throw new Error("failoverMs must be positive");
    this.#node = o.node;
    this.#failoverMs = o.failoverMs;
    this.#witness = o.witness;
    this.#renewMs = o.renewMs ?? 1_000;
    this.#ttlMs = o.leaseTtlMs ?? Math.floor(o.failoverMs / 2);
    this.#marginMs = o.marginMs ?? 250;
    this.#seen = Math.max(0, Math.floor(o.epoch));
    this.#quietSince = o.now;
  }

  get role(): PeerRole {
    return this.#role;
  }

  /** The activation's epoch while active or stepping down; the highest seen while standby. */
  get epoch(): number {
    return this.#role === "standby" ? this.#seen : this.#epoch;
  }

  get highestSeen(): number {
    return this.#seen;
  }

  get leaseTtlMs(): number {
    return this.#ttlMs;
  }

  /** Why the role is what it is (the last transition). */
  get reason(): string {
    return this.#lastReason;
  }

  /** What this node says of itself on the peer link. */
  state(): NodeState {
    return { node: this.#node, role: this.#role, epoch: this.epoch };
  }

  tick(now: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    if (this.#role === "active") {
      if (!this.#witness) return out;
      if (now >= this.#leaseUntil - this.#marginMs) {
        this.#stepDown(out, `lease not renewed within ${this.#ttlMs} ms of sending the renewal`);
        return out;
      }
      if (this.#canSend(now)) out.push({ type: "renew-lease", request: this.#send("renew", this.#epoch, now) });
      return out;
    }
    if (this.#role !== "standby" || now - this.#quietSince < this.#failoverMs) return out;
    if (this.#witness) {
      if (this.#canSend(now)) out.push({ type: "ask-lease", request: this.#send("acquire", this.#seen, now) });
      return out;
    }
    const p = this.#peer;
    if (p && p.role === "standby" && now - p.at < this.#failoverMs && p.node < this.#node) return out;
    const silent = Math.round(now - this.#quietSince);
    this.#activate(out, this.#seen + 1, `no active heard on the peer link for ${silent} ms (no witness)`);
    return out;
  }

  /** The peer's heartbeat, or its answer to ours (both carry its state). */
  peerHeartbeat(hb: NodeState, now: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    // A peer with this node's own name is a misconfigured pair (peer-auth refuses it too): nothing it says counts.
    if (hb.node === this.#node || !Number.isFinite(hb.epoch)) return out;
    this.#peer = { node: hb.node, role: hb.role, epoch: hb.epoch, at: now };
    if (hb.role === "active") this.#quietSince = Math.max(this.#quietSince, now);
    this.#see(out, hb.epoch, `peer ${hb.node}`);
    if (this.#role === "active" && hb.role === "active" && hb.epoch === this.#epoch && this.#node > hb.node)
      this.#stepDown(out, `both active at epoch ${hb.epoch}: ${this.#node} sorts after ${hb.node}`);
    return out;
  }

  /**
   * The peer's host answered, but nothing listens on its peer link (connection refused, more than once): its
   * process is not running, so it is not active, and the standby need not wait out failoverMs. With a witness the
   * standby asks for the lease now; the witness still grants it only once the dead active's lease has run out.
   */
  peerNotRunning(now: number): ElectionAction[] {
    if (this.#role !== "standby") return [];
    this.#peer = undefined;
    if (this.#witness) {
      this.#quietSince = Math.min(this.#quietSince, now - this.#failoverMs);
      return this.tick(now);
    }
    const out: ElectionAction[] = [];
    this.#activate(out, this.#seen + 1, "the peer's link refuses connections: its process is not running (no witness)");
    return out;
  }

  /** An epoch seen elsewhere (a replication message, the store of a restarted node). */
  epochSeen(epoch: number, _now: number, from = "a message"): ElectionAction[] {
    const out: ElectionAction[] = [];
    this.#see(out, epoch, from);
    return out;
  }

  /** The witness's answer to the request in flight. */
  witnessAnswer(reply: WitnessReply, _now: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    const pending = this.#pending;
    this.#pending = undefined;
    if (reply === "unreachable" || !pending) return out;
    const mine = reply.granted && reply.holder === this.#node;
    if (pending.mode === "acquire" && this.#role === "standby" && mine) {
      // A grant is a new activation only if its epoch is above everything seen meanwhile.
      if (reply.epoch > this.#seen) {
        this.#leaseUntil = pending.sentAt + this.#ttlMs;
        this.#activate(out, reply.epoch, `the witness granted the lease at epoch ${reply.epoch}`);
        return out;
      }
    }
    if (pending.mode === "renew" && this.#role === "active") {
      if (mine && reply.epoch === this.#epoch)
        this.#leaseUntil = Math.max(this.#leaseUntil, pending.sentAt + this.#ttlMs);
      else {
        const by = reply.holder ? `${reply.holder} holds it at epoch ${reply.epoch}` : "it has expired";
        this.#stepDown(out, `the witness refused the renewal: ${by}`);
      }
    }
    this.#see(out, reply.epoch, "the witness");
    return out;
  }

  /** The runtime has stopped: the node is a standby again, its silence clock starting now. */
  steppedDown(now: number): void {
    if (this.#role !== "stepping-down") return;
    this.#role = "standby";
    this.#quietSince = Math.max(this.#quietSince, now);
    this.#lastReason = `stepped down from epoch ${this.#epoch}`;
  }

  #canSend(now: number): boolean {
    // An answer never given (a lost request) stops holding the next one back after a ttl.
    const inFlight = this.#pending !== undefined && now - this.#pending.sentAt < this.#ttlMs;
    return !inFlight && now - this.#lastSentAt >= this.#renewMs;
  }

  #send(mode: LeaseRequest["mode"], epoch: number, now: number): LeaseRequest {
    this.#pending = { mode, sentAt: now };
    this.#lastSentAt = now;
    return { node: this.#node, epoch, ttlMs: this.#ttlMs, mode };
  }

  #see(out: ElectionAction[], epoch: number, from: string): void {
    if (!(epoch > this.#seen)) return;
    this.#seen = Math.floor(epoch);
    out.push({ type: "epoch-seen", epoch: this.#seen });
    if (this.#role === "active" && this.#seen > this.#epoch)
      this.#stepDown(out, `higher epoch seen: ${this.#seen} from ${from} (this node is at ${this.#epoch})`);
  }

  #activate(out: ElectionAction[], epoch: number, reason: string): void {
    this.#role = "active";
    this.#epoch = epoch;
    // activate keeps the epoch in the store itself: no epoch-seen besides.
    this.#seen = Math.max(this.#seen, epoch);
    this.#lastReason = reason;
    out.push({ type: "activate", epoch, reason });
  }

  #stepDown(out: ElectionAction[], reason: string): void {
    this.#role = "stepping-down";
    this.#leaseUntil = Number.NEGATIVE_INFINITY;
    this.#lastReason = reason;
    out.push({ type: "step-down", epoch: this.#epoch, reason });
  }
}
