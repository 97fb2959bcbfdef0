import { join } from "node:path";
import type { OPCUACertificateManager } from "node-opcua-certificate-manager";
import type { Logger } from "pino";
import type { ArtifactDataConnection, TagCounts } from "../../schemas/types.js";
import type { PostgresConnections } from "../integrations/database/index.js";
import { ScriptIntegrations } from "../integrations/script-api/index.js";
import type { StoreAndForward } from "../integrations/store-and-forward/index.js";
import type { Store } from "../store/store.js";
import type { EvidenceItem, InstanceState } from "../types.js";
import { BufferedEvents, type EventCaps } from "./instance/events.js";
import { type AlarmTransition, InstanceRuntime } from "./instance/instance.js";
import { OpcuaConnection } from "./opcua/connection.js";
import { loadOpcua, type OpcuaModule } from "./opcua/load.js";
import { judge } from "./outcome.js";
import type {
  DesiredRuntime,
  InstanceOutcome,
  Runtime,
  RuntimeReport,
  ScriptCaller,
  ScriptCallResult,
  SecretLookup,
} from "./runtime.js";
import { ScriptPool } from "./scripts/pool.js";
import {
  emptyStats,
  type HealthView,
  type InstanceView,
  type Quality,
  type RuntimeStats,
  type RuntimeView,
} from "./view.js";

export interface LiveRuntimeOptions {
  secrets: SecretLookup;
  store: Store;
  /** The site's store-and-forward engine (the reconciler owns it: starts, configures and stops it). */
  saf?: StoreAndForward;
  /** The site's PostgreSQL pools, for database.query (the reconciler owns and closes them). */
  database?: PostgresConnections;
  /** The reconciler's state directory: the OPC UA client certificate lives in its pki/ folder. */
  stateDir: string;
  log: Logger;
  /** How long converge waits for new connections and instances to come up before it judges them. */
  settleMs?: number;
  /** How often tags that do not resolve are looked up again. */
  retryUnresolvedMs?: number;
  /** OPC UA servers whose certificate is not in pki/trusted are accepted (and their certificate kept) when true. */
  acceptUnknownCertificates?: boolean;
  now?: () => number;
  /** Told of every alarm transition (see AlarmTransition). */
  onAlarm?: (e: AlarmTransition) => void;
  /** Script host processes instances are sharded over (default 2), and each one's heap limit in MB (default 128). */
  scriptHosts?: number;
  scriptMemoryMb?: number;
  /** Event-log caps (rows kept, rates, message length). */
  eventCaps?: Partial<EventCaps>;
  /** A node of a pair: the activation it acts in, null while it does not (see OpcuaConnection's fence). */
  fence?: () => { node: string; epoch: number } | null;
  /** This node's name in a pair (sessions opened while it is not active are named for it). */
  node?: string;
}

interface Loaded {
  revisionHash: string;
  state: InstanceState;
  rt: InstanceRuntime | undefined;
  /** Set when the instance could not be started at all. */
  failure: string | null;
}

const SETTLE_POLL_MS = 50;

/**
 * The site runtime of section 6.4: one OPC UA connection per data connection of site.json, one InstanceRuntime per
 * enabled instance, the site's script sandbox and its event log. converge starts, stops and replaces only what
 * differs (a new revision of one instance never touches another instance's monitored items), waits until what it
 * started has settled, and judges every instance from what really happened.
 */
export class LiveRuntime implements Runtime, RuntimeView, ScriptCaller {
  readonly stats: RuntimeStats = emptyStats();
  readonly events: BufferedEvents;
  private readonly connections = new Map<string, OpcuaConnection>();
  private readonly loadedInstances = new Map<string, Loaded>();
  private readonly scripts: ScriptPool;
  private readonly integrations: ScriptIntegrations;
  private sharedKey: string | undefined;
  private sharedErrors = 0;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private readonly settleMs: number;

  private constructor(
    private readonly o: LiveRuntimeOptions,
    private readonly opcua: OpcuaModule,
    private readonly certificates: OPCUACertificateManager,
  ) {
    this.now = o.now ?? Date.now;
    this.settleMs = o.settleMs ?? 5000;
    this.events = new BufferedEvents(o.store, this.now, undefined, o.eventCaps);
    this.integrations = new ScriptIntegrations({ secrets: o.secrets, saf: o.saf, database: o.database });
    this.scripts = new ScriptPool({
      io: (r) => this.integrations.handle(r),
      log: o.log,
      hosts: o.scriptHosts,
      memoryMb: o.scriptMemoryMb,
      counters: this.stats,
      event: (kind, message, instance) => {
        this.events.event(kind, message, instance);
        // A quarantine changes the instance's result: a change to report.
        if (kind === "script-quarantined") this.notify();
      },
    });
  }

  static async create(o: LiveRuntimeOptions): Promise<LiveRuntime> {
    const opcua = await loadOpcua(o.log);
    const { OPCUACertificateManager } = await import("node-opcua-certificate-manager");
    const certificates = new OPCUACertificateManager({
      rootFolder: join(o.stateDir, "pki"),
      automaticallyAcceptUnknownCertificate: o.acceptUnknownCertificates ?? false,
      disableFileWatchers: true,
    });
    await certificates.initialize();
    return new LiveRuntime(o, opcua, certificates);
  }

  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }

  async converge(desired: DesiredRuntime): Promise<RuntimeReport> {
    this.setShared(desired);
    this.integrations.configure(desired.artifacts);
    const restarted = this.convergeConnections(desired.artifacts?.dataConnections ?? []);
    for (const [name, l] of this.loadedInstances)
      if (!desired.instances.has(name)) {
        l.rt?.stop();
        this.events.forget(name);
        this.loadedInstances.delete(name);
      }
    for (const [name, d] of desired.instances) {
      const cur = this.loadedInstances.get(name);
      const touched = cur?.rt && [...cur.rt.connections].some((c) => restarted.has(c));
      if (cur && cur.revisionHash === d.revisionHash && cur.state === d.state && !touched) continue;
      cur?.rt?.stop();
      const newRevision = cur !== undefined && cur.revisionHash !== d.revisionHash;
      if (newRevision) this.events.forget(name);
      const l: Loaded = {
        revisionHash: d.revisionHash,
        state: d.state,
        rt: undefined,
        failure: null,
      };
      this.loadedInstances.set(name, l);
      if (d.state !== "enabled") continue;
      const rt = new InstanceRuntime({
        pkg: d.package,
        scripts: this.scripts,
        connection: (c) => this.connections.get(c),
        events: this.events,
        written: this.o.store.staticValues(name),
        alarmStates: newRevision ? new Map() : (this.o.store.alarmStates(name).get(name) ?? new Map()),
        persistStatic: (path, value, at) => this.o.store.writeStatic(name, path, value, at),
        stats: this.stats,
        log: this.o.log,
        now: this.now,
        onAlarm: (e) => {
          this.o.onAlarm?.(e);
          // Active alarms are part of the status: a transition is a change to report.
          this.notify();
        },
      });
      l.rt = rt;
      try {
        rt.start();
      } catch (e) {
        rt.stop();
        l.rt = undefined;
        l.failure = e instanceof Error ? e.message : String(e);
        this.o.log.error({ instance: name, err: l.failure }, "instance not started");
      }
    }
    await this.settle();
    this.events.flush();
    return this.report();
  }

  loaded(): ReadonlyMap<string, { revisionHash: string; running: boolean }> {
    return new Map([...this.loadedInstances].map(([n, l]) => [n, { revisionHash: l.revisionHash, running: !!l.rt }]));
  }

  instances(): InstanceView[] {
    return [...this.loadedInstances.keys()].sort().map((n) => this.instance(n)!);
  }

  instance(name: string): InstanceView | undefined {
    const l = this.loadedInstances.get(name);
    if (!l) return undefined;
    const outcome = this.outcome(l);
    return {
      name,
      revisionHash: l.revisionHash,
      state: l.state,
      running: !!l.rt,
      result: outcome.result,
      message: outcome.message,
      attributes: l.rt?.attributes() ?? [],
      alarms: l.rt?.alarmViews() ?? [],
    };
  }

  health(): HealthView {
    return {
      connections: [...this.connections.values()].map((c) => c.health()),
      tags: this.tagCounts(),
      stats: {
        ...this.stats,
        activeAlarms: this.activeAlarms(),
        quality: this.qualityCounts(),
        scriptsQuarantined: this.running().reduce((n, rt) => n + rt.quarantined().size, 0),
        eventsSuppressed: this.events.suppressedTotal,
      },
    };
  }

  /** A call-triggered script of a running instance, for the inbound API; an instance not running says why (503). */
  async callScript(
    instance: string,
    script: string,
    args: Readonly<Record<string, unknown>>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ScriptCallResult> {
    const l = this.loadedInstances.get(instance);
    const unavailable = (message: string): ScriptCallResult => ({ status: "unavailable", message });
    if (!l) return unavailable(`the instance ${instance} is not loaded on this site (not applied, or not yet)`);
    if (l.state !== "enabled") return unavailable(`the instance ${instance} is ${l.state}`);
    if (!l.rt) return unavailable(`the instance ${instance} is not running${l.failure ? `: ${l.failure}` : ""}`);
    return l.rt.call(script, args, opts.signal);
  }

  async evidence(instance: string, item: EvidenceItem): Promise<unknown> {
    const v = this.instance(instance);
    const l = this.loadedInstances.get(instance);
    switch (item) {
      case "values-snapshot":
        return {
          instance,
          revisionHash: v?.revisionHash ?? null,
          takenAt: this.iso(),
          attributes: v?.attributes ?? [],
        };
      case "alarm-states":
        return { instance, takenAt: this.iso(), alarms: v?.alarms ?? [] };
      case "connection-health":
        return {
          instance,
          takenAt: this.iso(),
          running: v?.running ?? false,
          result: v?.result ?? null,
          message: v?.message ?? null,
          connections: [...(l?.rt?.connections ?? [])].map(
            (c) => this.connections.get(c)?.health() ?? { name: c, state: "blocked", error: "unknown data connection" },
          ),
          tags: l?.rt ? this.tagCounts([l.rt]) : { resolved: 0, unresolved: 0, bad: 0 },
        };
      case "event-log":
        this.events.flush();
        return { instance, events: this.o.store.events({ instance, limit: 500 }) };
    }
  }

  async close(): Promise<void> {
    for (const l of this.loadedInstances.values()) l.rt?.stop();
    this.loadedInstances.clear();
    await this.scripts.close();
    await Promise.all([...this.connections.values()].map((c) => c.close()));
    this.connections.clear();
    this.events.close();
    await this.certificates.dispose().catch(() => undefined);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private setShared(desired: DesiredRuntime): void {
    const shared = desired.artifacts?.sharedScripts ?? [];
    const key = JSON.stringify(shared);
    if (key === this.sharedKey) return;
    this.sharedKey = key;
    const errors = this.scripts.setShared(shared);
    this.sharedErrors = errors.length;
    for (const e of errors) this.events.event("script-error", `shared script ${e.script} not loaded: ${e.message}`);
  }

  /** Opens, replaces and closes connections as site.json says; returns the names (re)created. */
  private convergeConnections(wanted: readonly ArtifactDataConnection[]): Set<string> {
    const restarted = new Set<string>();
    const byName = new Map(wanted.map((c) => [c.name, c]));
    for (const [name, c] of this.connections)
      if (byName.get(name) === undefined || JSON.stringify(byName.get(name)) !== c.key) {
        void c.close();
        this.connections.delete(name);
        restarted.add(name);
        this.events.event("connection", `${name} closed (site.json changed)`);
      }
    for (const config of wanted) {
      if (this.connections.has(config.name)) continue;
      let last = "";
      const conn: OpcuaConnection = new OpcuaConnection({
        config,
        secrets: this.o.secrets,
        certificates: this.certificates,
        retryUnresolvedMs: this.o.retryUnresolvedMs ?? 30_000,
        opcua: this.opcua,
        fence: this.o.fence,
        node: this.o.node,
        log: this.o.log,
        changed: () => {
          const now = `${conn.state}\u0000${conn.error ?? ""}`;
          if (now !== last) {
            last = now;
            this.events.event("connection", `${config.name} ${conn.state}${conn.error ? `: ${conn.error}` : ""}`);
          }
          this.notify();
        },
      });
      this.connections.set(config.name, conn);
      restarted.add(config.name);
      conn.start();
    }
    return restarted;
  }

  /** Waits until every connection has settled and every new instance has its first values, or its settle time is up. */
  private async settle(): Promise<void> {
    for (;;) {
      const now = this.now();
      // Once per poll: a connection's answer is the same for every instance on it.
      const settled = new Map<string, boolean>();
      const connectionSettled = (name: string) => {
        let v = settled.get(name);
        if (v === undefined) {
          const c = this.connections.get(name);
          v = !c || c.settled();
          settled.set(name, v);
        }
        return v;
      };
      const waiting = [...this.loadedInstances.values()].some(({ rt }) => {
        if (!rt || now - rt.startedAt >= this.settleMs) return false;
        const conns = [...rt.connections];
        if (!conns.every(connectionSettled)) return true;
        if (!conns.every((c) => this.connections.get(c)?.state === "connected")) return false;
        for (const a of rt.attrs.values())
          if (a.def.source === "data" && a.status === "monitored" && Number.isNaN(a.at)) return true;
        return false;
      });
      if (!waiting) return;
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  private outcome(l: Loaded): InstanceOutcome {
    if (!l.rt) return l.failure ? { result: "runtime-error", message: l.failure } : { result: "pass", message: null };
    return judge({
      rt: l.rt,
      connection: (c) => this.connections.get(c),
      settled: this.now() - l.rt.startedAt >= this.settleMs,
    });
  }

  private report(): RuntimeReport {
    const instances = new Map<string, InstanceOutcome>();
    for (const [name, l] of this.loadedInstances) {
      const o = this.outcome(l);
      instances.set(name, {
        ...o,
        activeAlarms: (l.rt?.alarmViews() ?? [])
          .filter((a) => a.active)
          .map((a) => ({ path: a.path, since: a.since, priority: a.priority })),
      });
    }
    let notLoaded = this.sharedErrors;
    for (const l of this.loadedInstances.values()) notLoaded += l.rt?.loadErrors.length ?? 0;
    return {
      instances,
      connections: [...this.connections.values()].map((c) => c.health()),
      tags: this.tagCounts(),
      quality: this.qualityCounts(),
      alarms: { active: this.activeAlarms() },
      scripts: { errors: this.stats.scriptErrors, timeouts: this.stats.scriptTimeouts, notLoaded },
    };
  }

  private running(): InstanceRuntime[] {
    return [...this.loadedInstances.values()].flatMap((l) => (l.rt ? [l.rt] : []));
  }

  private tagCounts(rts = this.running()): TagCounts {
    const t: TagCounts = { resolved: 0, unresolved: 0, bad: 0 };
    for (const rt of rts)
      for (const a of rt.attrs.values()) {
        if (a.def.source !== "data") continue;
        if (a.status === "unresolved" || a.status === "pending") t.unresolved++;
        else if (a.status === "monitored" && a.quality !== "bad") t.resolved++;
        else t.bad++;
      }
    return t;
  }

  private qualityCounts(): Record<Quality, number> {
    const q: Record<Quality, number> = { good: 0, uncertain: 0, bad: 0 };
    for (const rt of this.running()) for (const a of rt.attrs.values()) if (a.def.source === "data") q[a.quality]++;
    return q;
  }

  private activeAlarms(): number {
    let n = 0;
    for (const rt of this.running()) for (const a of rt.alarms.values()) if (a.active) n++;
    return n;
  }
}
