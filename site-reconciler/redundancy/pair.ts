import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { PairNodeStatus } from "../../schemas/types.js";
import type { Store } from "../store/store.js";
import { Election, type ElectionAction } from "./election.js";
import { answerIsSigned } from "./json-http.js";
import { HmacPeerAuth } from "./peer-auth.js";
import { type NodeState, type PeerHeartbeat, PeerLinkServer, type PeerRole } from "./peer-link.js";
import { ReplicationSink, ReplicationSource } from "./replication.js";
import { Replicator } from "./replicator.js";
import { WitnessClient } from "./witness-client.js";

export interface PairConfig {
  /** This node's name (--node). */
  node: string;
  /** The other node's peer link, http://host:port (--peer). */
  peer: string;
  /** Where this node's peer link listens (--peer-port, --peer-host). */
  port: number;
  host?: string;
  /** The shared secret's value (read by the name --peer-secret gives). */
  secret: Buffer;
  /** The witness, http://host:port (--witness); without one the rule of docs/redundancy.md applies. */
  witness?: string;
  /** How long the active may be silent before the standby takes over (--failover-seconds × 1000). */
  failoverMs: number;
  standby: "warm" | "cold";
}

export interface PairOptions extends PairConfig {
  site: string;
  store: Store;
  log: Logger;
  /** This node acts from now on, in this epoch (the epoch is in the store already). */
  activate: (epoch: number, reason: string) => Promise<void>;
  /** Stop acting: deliveries, scripts and device writes first, then the runtime. */
  stepDown: (epoch: number, reason: string) => Promise<void>;
  /** A role change or a peer seen or lost: worth a status report soon. */
  changed?: () => void;
  /** How often the election is ticked and heartbeats sent (defaults: 100 ms, failoverMs / 10 within 200–1000 ms). */
  tickMs?: number;
  heartbeatMs?: number;
}

const META_EPOCH = "epoch";
/** Heartbeats refused in a row that mean the peer's process is not running. */
const REFUSED_IS_DEAD = 2;

/** The peer link could not listen where it was told (a port in use, an address not of this host). */
export class PeerListenError extends Error {}

/**
 * One node of a site pair (docs/redundancy.md): the peer link (heartbeats both ways, the active's replication log),
 * the election and the witness, and the replicator while standby. It decides the role and tells the reconciler
 * through activate and stepDown; it never touches the runtime itself.
 */
export class Pair {
  readonly #o: PairOptions;
  readonly #election: Election;
  readonly #auth: HmacPeerAuth;
  readonly #server: PeerLinkServer;
  readonly #source: ReplicationSource;
  readonly #sink: ReplicationSink;
  readonly #replicator: Replicator;
  readonly #witness: WitnessClient | undefined;
  #tick: NodeJS.Timeout | undefined;
  #beat: NodeJS.Timeout | undefined;
  /** Actions are carried out one at a time, in order. */
  #serial: Promise<void> = Promise.resolve();
  #stopped = false;
  #port = 0;
  #peer: (NodeState & { at: number; wall: string }) | undefined;
  #peerHead: number | null = null;
  #lastBeatSent: string | null = null;
  #lagMs: number | null = null;
  #failovers = 0;
  #beating = false;
  #refused = 0;
  /** Activations of this node, counted from its start (registered with the site's metrics once they exist). */
  readonly #activations = new Counter({
    name: "scadalink_site_pair_activations_total",
    help: "Times this node of a site pair became active (each a new epoch) since it started",
    registers: [],
  });

  private constructor(o: PairOptions) {
    this.#o = o;
    const epoch = Number(o.store.meta(META_EPOCH) ?? 0);
    this.#election = new Election({
      node: o.node,
      failoverMs: o.failoverMs,
      witness: o.witness !== undefined,
      epoch,
      now: performance.now(),
    });
    this.#auth = new HmacPeerAuth({ secret: o.secret, node: o.node });
    this.#source = new ReplicationSource(o.store.db);
    this.#sink = new ReplicationSink(o.store.db);
    // A node starts as standby: it captures nothing and keeps the active's values (no reset on a new revision).
    this.#source.setCapture(false);
    o.store.replica = true;
    o.store.setMeta("pairNode", o.node);
    this.#server = new PeerLinkServer({
      host: o.host,
      port: o.port,
      auth: this.#auth,
      state: () => this.#election.state(),
      source: this.#source,
      log: o.log,
      onHeartbeat: (hb) => this.#heard(hb),
      onAck: (_seq, lag) => {
        if (lag !== null) this.#lagMs = lag;
      },
    });
    this.#replicator = new Replicator({
      peer: o.peer,
      auth: this.#auth,
      sink: this.#sink,
      log: o.log,
      onApplied: () => this.#sink.release(),
    });
    this.#witness = o.witness
      ? new WitnessClient({ url: o.witness, site: o.site, auth: this.#auth, log: o.log })
      : undefined;
  }

  /** Listens on the peer link and starts as standby (replicating from the active, if there is one). */
  static async start(o: PairOptions): Promise<Pair> {
    const p = new Pair(o);
    p.#port = await p.#server.start();
    p.#replicator.start();
    const tickMs = o.tickMs ?? 100;
    const beatMs = o.heartbeatMs ?? Math.min(1_000, Math.max(200, o.failoverMs / 10));
    p.#tick = setInterval(() => p.#run(p.#election.tick(performance.now())), tickMs);
    p.#beat = setInterval(() => void p.#heartbeat(), beatMs);
    void p.#heartbeat();
    o.log.info(
      {
        node: o.node,
        peer: o.peer,
        peerPort: p.#port,
        witness: o.witness ?? null,
        failoverSeconds: o.failoverMs / 1000,
        epoch: p.#election.highestSeen,
      },
      "site pair: starting as standby",
    );
    return p;
  }

  get port(): number {
    return this.#port;
  }

  get role(): PeerRole {
    return this.#election.role;
  }

  get epoch(): number {
    return this.#election.epoch;
  }

  get node(): string {
    return this.#o.node;
  }

  /** The activation this node acts in, or null: what device writes and deliveries are fenced with. */
  acting(): { node: string; epoch: number } | null {
    return this.#election.role === "active" ? { node: this.#o.node, epoch: this.#election.epoch } : null;
  }

  get failovers(): number {
    return this.#failovers;
  }

  /** After this node applied packages: replicated static values waiting for them are written. */
  released(): void {
    if (this.#election.role !== "active") this.#sink.release();
  }

  /** Both nodes as status.json reports them: this one first. */
  nodes(): PairNodeStatus[] {
    const me = this.#election.state();
    const active = me.role === "active";
    const backlog = active ? this.#source.backlog().entries : null;
    const own: PairNodeStatus = {
      node: me.node,
      role: me.role,
      epoch: me.epoch,
      lastHeartbeat: this.#lastBeatSent,
      replicationLagMs: active ? null : this.#standbyLag(),
      replicationBacklog: backlog,
    };
    const p = this.#peer;
    const peer: PairNodeStatus = {
      node: p?.node ?? "(peer)",
      role: p && performance.now() - p.at < this.#o.failoverMs ? p.role : "unknown",
      epoch: p?.epoch ?? 0,
      lastHeartbeat: p?.wall ?? null,
      replicationLagMs: active ? this.#lagMs : null,
      replicationBacklog: null,
    };
    return [own, peer];
  }

  /** The standby's own view of its lag: how long ago it last applied a batch, while the active has more. */
  #standbyLag(): number | null {
    const s = this.#replicator.status;
    if (s.lastAppliedAt === null) return null;
    if (this.#peerHead !== null && s.seq !== null && s.seq >= this.#peerHead) return 0;
    return Date.now() - s.lastAppliedAt;
  }

  /** scadalink_site_pair_*: this node's role and epoch, the replication lag and backlog, activations. */
  register(registry: Registry): void {
    registry.registerMetric(this.#activations);
    const roles: PeerRole[] = ["active", "standby", "stepping-down"];
    const node = this.#o.node;
    const election = this.#election;
    new Gauge({
      name: "scadalink_site_pair_role",
      help: "This node's role in the site pair: 1 for the role it has, 0 for the others",
      labelNames: ["node", "role"],
      registers: [registry],
      collect() {
        for (const r of roles) this.set({ node, role: r }, election.role === r ? 1 : 0);
      },
    });
    new Gauge({
      name: "scadalink_site_pair_epoch",
      help: "This node's epoch: its activation's while active, the highest it has seen while standby",
      registers: [registry],
      collect() {
        this.set(election.epoch);
      },
    });
    const self = this;
    new Gauge({
      name: "scadalink_site_pair_replication_lag_seconds",
      help: "From a change's commit on the active to the standby's acknowledgement of it, last measured (on the active), or the standby's time since it last applied while behind",
      registers: [registry],
      collect() {
        const n = self.nodes();
        const lag = self.role === "active" ? n[1]!.replicationLagMs : n[0]!.replicationLagMs;
        if (lag !== null) this.set(lag / 1000);
      },
    });
    new Gauge({
      name: "scadalink_site_pair_replication_backlog",
      help: "Replication log entries the standby has not acknowledged (on the active)",
      registers: [registry],
      collect() {
        this.set(self.role === "active" ? self.#source.backlog().entries : 0);
      },
    });
    new Gauge({
      name: "scadalink_site_pair_peer_seen_seconds",
      help: "Seconds since the peer was last heard from on the peer link (-1: never)",
      registers: [registry],
      collect() {
        this.set(self.#peer ? (performance.now() - self.#peer.at) / 1000 : -1);
      },
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    clearInterval(this.#beat);
    await this.#serial;
    await this.#replicator.stop();
    await this.#server.stop();
  }

  #heard(hb: PeerHeartbeat | (NodeState & { at?: string; head?: number })): void {
    const now = performance.now();
    const was = this.#peer?.role;
    this.#peer = { node: hb.node, role: hb.role, epoch: hb.epoch, at: now, wall: new Date().toISOString() };
    const head = (hb as { head?: unknown }).head;
    if (typeof head === "number") this.#peerHead = head;
    if (was !== hb.role) this.#o.changed?.();
    this.#run(this.#election.peerHeartbeat({ node: hb.node, role: hb.role, epoch: hb.epoch }, now));
  }

  async #heartbeat(): Promise<void> {
    if (this.#stopped || this.#beating) return;
    this.#beating = true;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.max(500, this.#o.failoverMs / 4));
    try {
      const hb: PeerHeartbeat = {
        ...this.#election.state(),
        at: new Date().toISOString(),
        position: this.#sink.position(),
      };
      const body = JSON.stringify(hb);
      const path = "/peer/v1/heartbeat";
      this.#lastBeatSent = hb.at;
      const signed = this.#auth.sign("POST", path, body);
      const res = await fetch(new URL(path, this.#o.peer), {
        method: "POST",
        headers: { ...signed, "content-type": "application/json" },
        body,
        signal: ac.signal,
      });
      const text = await res.text();
      // Only the peer's own answer to this heartbeat counts: a forged "I am active" could hold a takeover back.
      if (!answerIsSigned(this.#auth, signed, res, text)) {
        this.#refused = 0;
        return;
      }
      if (res.status !== 200) return;
      const answer = JSON.parse(text) as NodeState & { head?: number };
      if (typeof answer.node === "string" && typeof answer.epoch === "number") this.#heard(answer);
      this.#refused = 0;
    } catch (e) {
      // The peer is down or the link is cut: its silence is what the election counts. Refused twice in a row: its
      // host is up and its process is not (an active always listens), so the standby need not wait.
      const code = (e as { cause?: { code?: string } }).cause?.code;
      this.#refused = code === "ECONNREFUSED" ? this.#refused + 1 : 0;
      if (this.#refused >= REFUSED_IS_DEAD) this.#run(this.#election.peerNotRunning(performance.now()));
    } finally {
      clearTimeout(timer);
      this.#beating = false;
    }
  }

  /** Queues the election's actions; each is carried out after the previous one finished. */
  #run(actions: ElectionAction[]): void {
    for (const a of actions)
      this.#serial = this.#serial
        .then(() => this.#act(a))
        .catch((e) =>
          this.#o.log.error({ err: e instanceof Error ? e.message : String(e), action: a.type }, "site pair"),
        );
  }

  async #act(a: ElectionAction): Promise<void> {
    if (this.#stopped) return;
    const store = this.#o.store;
    const at = () => new Date().toISOString();
    switch (a.type) {
      case "epoch-seen":
        this.#keepEpoch(a.epoch);
        return;
      case "ask-lease":
      case "renew-lease": {
        const client = this.#witness;
        if (!client) return;
        // Not awaited: the next action need not wait for the witness; the election holds one request at a time.
        void client.lease(a.request).then((reply) => this.#run(this.#election.witnessAnswer(reply, performance.now())));
        return;
      }
      case "activate": {
        // The epoch is in the store before the node acts in it: a restart never takes a lower one.
        this.#keepEpoch(a.epoch);
        await this.#replicator.stop();
        this.#source.setCapture(true);
        store.replica = false;
        this.#failovers++;
        this.#activations.inc();
        store.event(at(), "redundancy", `${this.#o.node} active at epoch ${a.epoch}: ${a.reason}`);
        this.#o.log.warn({ node: this.#o.node, epoch: a.epoch, reason: a.reason }, "site pair: this node is active");
        await this.#o.activate(a.epoch, a.reason);
        this.#o.changed?.();
        return;
      }
      case "step-down": {
        this.#o.log.warn({ node: this.#o.node, epoch: a.epoch, reason: a.reason }, "site pair: stepping down");
        await this.#o.stepDown(a.epoch, a.reason);
        this.#source.setCapture(false);
        store.replica = true;
        store.event(at(), "redundancy", `${this.#o.node} stepped down from epoch ${a.epoch}: ${a.reason}`);
        this.#election.steppedDown(performance.now());
        if (!this.#stopped) this.#replicator.start();
        this.#o.changed?.();
        return;
      }
    }
  }

  #keepEpoch(epoch: number): void {
    const store = this.#o.store;
    if (Number(store.meta(META_EPOCH) ?? 0) < epoch) store.setMeta(META_EPOCH, String(epoch));
  }
}
