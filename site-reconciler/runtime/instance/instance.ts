import type { Logger } from "pino";
import { analyzeCode } from "../../../controller/contract/script-analysis.js";
import type { DeploymentPackage, PackageAlarm, PackageAttribute, PackageScript } from "../../../schemas/types.js";
import { fitArguments } from "../../inbound/params.js";
import type { BindingStatus, OpcuaConnection, WatchSink } from "../opcua/connection.js";
import { fits } from "../opcua/data-types.js";
import type { ScriptCallResult } from "../runtime.js";
import type { HostRun, ScriptHandle, ScriptPool } from "../scripts/pool.js";
import type { LoadError } from "../scripts/sandbox.js";
import type { AlarmView, AttributeView, Quality, RuntimeStats } from "../view.js";
import { describeTrigger, type Sample, triggerHolds } from "./alarms.js";
import type { EventSink } from "./events.js";

interface Attr {
  def: PackageAttribute;
  value: unknown;
  quality: Quality;
  /** Source time in ms of the current value; NaN before the first. Views format it (not every change). */
  at: number;
  status: BindingStatus | null;
  message: string | null;
}

interface Alarm {
  def: PackageAlarm;
  active: boolean;
  since: string | null;
}

interface Expression {
  path: string;
  /** Attributes it reads (canonical), or null when it reads some by computed name: then every change counts. */
  deps: Set<string> | null;
  last: boolean;
  /** An evaluation is queued and not started: another would read the same values. */
  queued: boolean;
}

/** Script work waiting to run. gen counts the script runs that led to it: 0 for a device value or a timer. */
interface Work {
  path: string;
  kind: "run" | "eval";
  gen: number;
  expression?: Expression;
  interval?: boolean;
  /** A call from outside (the inbound API): its positional arguments, and who waits for its result. */
  args?: unknown[];
  reply?: (r: ScriptCallResult) => void;
}

export interface InstanceDeps {
  pkg: DeploymentPackage;
  scripts: ScriptPool;
  connection: (name: string) => OpcuaConnection | undefined;
  events: EventSink;
  /** Static values written at run time (persisted) and the alarm states last persisted. */
  written: ReadonlyMap<string, { value: unknown }>;
  alarmStates: ReadonlyMap<string, { active: boolean; since: string | null }>;
  persistStatic: (path: string, value: unknown, at: string) => void;
  stats: RuntimeStats;
  log: Logger;
  now: () => number;
  /** Told of every alarm transition with the source time of the value that caused it (latency metrics). */
  onAlarm?: (e: AlarmTransition) => void;
}

export interface AlarmTransition {
  instance: string;
  path: string;
  active: boolean;
  /** When the transition was evaluated, and the source time of the value behind it (ms since epoch). */
  at: number;
  sourceTime: number;
}

/** Runs of scripts one trigger may cause in a row (a script setting an attribute whose onChange script sets…). */
const MAX_CASCADE = 1000;
/** Script runs waiting per instance at most: beyond, new work is dropped and counted (a script cannot keep up). */
const MAX_QUEUE = 1000;

/**
 * One running instance (section 6.4): its attribute table fed by its data connections, its alarms evaluated on
 * every change of the attribute they watch, and its scripts run on their triggers in the site's script hosts
 * (scripts/pool.ts), never on this event loop. Script runs a value change or a script's write causes are queued
 * and run one after another, never inside each other; those of a value change wait until the whole publish it came
 * in has been applied. A run's writes are checked again and applied here when it returns.
 */
export class InstanceRuntime {
  readonly attrs = new Map<string, Attr>();
  readonly alarms = new Map<string, Alarm>();
  readonly loadErrors: LoadError[] = [];
  readonly connections = new Set<string>();
  readonly startedAt: number;
  scriptErrors = 0;
  private readonly alarmsOf = new Map<string, Alarm[]>();
  private readonly onChange = new Map<string, string[]>();
  private readonly expressions: Expression[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private scripts: ScriptHandle | undefined;
  private readonly loaded = new Set<string>();
  private readonly queue: Work[] = [];
  private readonly intervalQueued = new Set<string>();
  private cascadeReported = false;
  private draining = false;
  private stopped = false;

  constructor(private readonly d: InstanceDeps) {
    this.startedAt = d.now();
  }

  get name(): string {
    return this.d.pkg.instance.name;
  }

  start(): void {
    const { pkg } = this.d;
    for (const def of pkg.attributes) {
      const w = this.d.written.get(def.path);
      const isStatic = def.source === "static";
      this.attrs.set(def.path, {
        def,
        value: isStatic ? (w ? w.value : def.value) : null,
        quality: isStatic ? "good" : "bad",
        at: isStatic ? this.startedAt : Number.NaN,
        status: isStatic ? null : "pending",
        message: isStatic ? null : "no value yet",
      });
    }
    for (const def of pkg.alarms) {
      const saved = this.d.alarmStates.get(def.path);
      const a: Alarm = { def, active: saved?.active ?? false, since: saved?.since ?? null };
      this.alarms.set(def.path, a);
      this.alarmsOf.set(def.trigger.attribute, [...(this.alarmsOf.get(def.trigger.attribute) ?? []), a]);
    }
    this.loadScripts(pkg.scripts);
    for (const [conn, tags] of this.bindings()) {
      this.connections.add(conn);
      this.d.connection(conn)?.watch(this.name, tags, this.sink(conn));
    }
    // Static attributes have their values now: alarms and expressions on them are evaluated once at start.
    for (const a of this.attrs.values()) if (a.def.source === "static") this.changed(a.def.path, undefined, true, 0);
    void this.drain();
  }

  /** Scripts the site no longer runs (they kept timing out or crashing their host), and why. */
  quarantined(): ReadonlyMap<string, string> {
    return this.scripts?.quarantined ?? new Map();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const c of this.connections) this.d.connection(c)?.unwatch(this.name);
    this.scripts?.dispose();
    for (const w of this.queue) w.reply?.({ status: "unavailable", message: `the instance ${this.name} stopped` });
    this.queue.length = 0;
  }

  /**
   * Runs a call-triggered script for a caller outside the site (the inbound API): the named arguments fitted to the
   * script's declared parameters, the run queued behind the instance's other script work like any trigger's, and
   * its writes and logs taken in as every run's are. When `signal` aborts before the run starts, the call leaves
   * the queue and never runs; once started, it runs to its end (within the script's own timeout).
   */
  call(path: string, named: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<ScriptCallResult> {
    const unavailable = (message: string) => Promise.resolve<ScriptCallResult>({ status: "unavailable", message });
    if (this.stopped) return unavailable(`the instance ${this.name} is stopped`);
    const def = this.d.pkg.scripts.find((s) => s.path === path);
    if (!def) return unavailable(`the instance ${this.name} has no script ${path} in the revision it runs`);
    if (def.trigger.type !== "call")
      return unavailable(`the script ${path} of ${this.name} runs on ${def.trigger.type}, not when called`);
    const loadError = this.loadErrors.find((e) => e.script === path);
    if (loadError || !this.loaded.has(path))
      return unavailable(
        `the script ${path} of ${this.name} is not loaded${loadError ? `: ${loadError.message}` : ""}`,
      );
    const why = this.scripts?.quarantined.get(path);
    if (why !== undefined) return unavailable(`the script ${path} of ${this.name} is quarantined: ${why}`);
    const fitted = fitArguments(def.parameters, named);
    if (!fitted.ok) return Promise.resolve({ status: "unfit", message: fitted.message });
    if (this.queue.length >= MAX_QUEUE)
      return unavailable(`the instance ${this.name} has ${MAX_QUEUE} script runs waiting: try again later`);
    if (signal?.aborted) return Promise.resolve({ status: "withdrawn" });
    return new Promise((resolve) => {
      const w: Work = { path, kind: "run", gen: 0, args: fitted.args, reply: resolve };
      signal?.addEventListener(
        "abort",
        () => {
          const i = this.queue.indexOf(w);
          if (i === -1) return;
          this.queue.splice(i, 1);
          resolve({ status: "withdrawn" });
        },
        { once: true },
      );
      this.queue.push(w);
      void this.drain();
    });
  }

  attributes(): AttributeView[] {
    return [...this.attrs.values()].map((a) => ({
      path: a.def.path,
      value: a.value,
      quality: a.quality,
      timestamp: Number.isNaN(a.at) ? null : new Date(a.at).toISOString(),
    }));
  }

  alarmViews(): AlarmView[] {
    return [...this.alarms.values()].map((a) => ({
      path: a.def.path,
      active: a.active,
      since: a.since,
      priority: a.def.priority,
    }));
  }

  private bindings(): Map<string, { path: string; tag: string; declared: PackageAttribute["dataType"] }[]> {
    const by = new Map<string, { path: string; tag: string; declared: PackageAttribute["dataType"] }[]>();
    for (const a of this.d.pkg.attributes)
      if (a.source === "data" && a.connection && a.tag)
        by.set(a.connection, [...(by.get(a.connection) ?? []), { path: a.path, tag: a.tag, declared: a.dataType }]);
    return by;
  }

  private sink(connection: string): WatchSink {
    return {
      value: (path, value, quality, sourceTime) => this.onValue(path, value, quality, sourceTime),
      status: (path, status, message) => {
        const a = this.attrs.get(path);
        if (!a) return;
        a.status = status;
        a.message = message;
        if (status !== "monitored") a.quality = "bad";
      },
      lost: (message) => {
        for (const a of this.attrs.values())
          if (a.def.source === "data" && a.def.connection === connection) {
            a.quality = "bad";
            a.message = message;
          }
      },
    };
  }

  private onValue(path: string, value: unknown, quality: Quality, sourceTime: Date): void {
    const a = this.attrs.get(path);
    if (!a || this.stopped) return;
    this.d.stats.valueChanges++;
    const previous: Sample | undefined = a.quality === "bad" ? undefined : { value: a.value, at: a.at };
    const valueChanged = a.value !== value;
    a.value = value;
    a.quality = quality;
    a.at = sourceTime.getTime();
    a.message = null;
    if (valueChanged) this.scripts?.update(path, value);
    if (quality === "bad") return;
    this.changed(path, previous, valueChanged, 0);
    this.drainSoon();
  }

  /**
   * Scripts a value change triggers run once the rest of that publish has been applied too, so a script reading
   * two attributes that changed together (a rate and its setpoint) sees both new values, never one of them.
   */
  private drainSoon(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  private drainScheduled = false;

  /** After an attribute took a new value: its alarms, its onChange scripts, the expressions that read it. */
  private changed(path: string, previous: Sample | undefined, valueChanged: boolean, gen: number): void {
    const a = this.attrs.get(path)!;
    for (const alarm of this.alarmsOf.get(path) ?? [])
      this.evaluate(alarm, { value: a.value, at: a.at }, previous, gen);
    if (!valueChanged) return;
    for (const s of this.onChange.get(path) ?? []) this.enqueue({ path: s, kind: "run", gen });
    for (const e of this.expressions)
      if ((!e.deps || e.deps.has(path)) && !e.queued) {
        e.queued = true;
        this.enqueue({ path: e.path, kind: "eval", gen, expression: e });
      }
  }

  private enqueue(w: Work): void {
    if (this.stopped || !this.loaded.has(w.path) || this.scripts?.quarantined.has(w.path)) {
      if (w.expression) w.expression.queued = false;
      return;
    }
    if (this.queue.length >= MAX_QUEUE) {
      if (w.expression) w.expression.queued = false;
      this.d.stats.scriptRunsDropped++;
      this.d.events.event(
        "script-error",
        `${w.path} not run: ${MAX_QUEUE} script runs are waiting (the scripts cannot keep up with their triggers)`,
        this.name,
      );
      return;
    }
    this.queue.push(w);
  }

  private evaluate(alarm: Alarm, current: Sample, previous: Sample | undefined, gen: number): void {
    this.d.stats.alarmEvaluations++;
    const holds = triggerHolds(alarm.def.trigger, current, previous);
    if (holds === undefined || holds === alarm.active) return;
    alarm.active = holds;
    const now = this.d.now();
    alarm.since = new Date(now).toISOString();
    this.d.onAlarm?.({ instance: this.name, path: alarm.def.path, active: holds, at: now, sourceTime: current.at });
    this.d.stats.alarmTransitions++;
    const words = `${alarm.def.path} ${holds ? "active" : "normal"}: ${describeTrigger(alarm.def.trigger, current.value)}`;
    this.d.events.alarm(this.name, alarm.def.path, holds, alarm.since, words);
    if (holds && alarm.def.onTrigger) this.enqueue({ path: alarm.def.onTrigger, kind: "run", gen });
  }

  private loadScripts(scripts: readonly PackageScript[]): void {
    if (!scripts.length) return;
    const defs = scripts.map((s) => ({
      path: s.path,
      scope: s.scope,
      parameters: s.parameters,
      code: s.code,
      timeoutMs: s.timeoutMs,
      expression: s.trigger.type === "expression" ? s.trigger.expression : null,
    }));
    const errors = this.d.scripts.check(defs);
    this.loadErrors.push(...errors);
    for (const e of errors) this.d.events.event("script-error", `${e.script} not loaded: ${e.message}`, this.name);
    const failed = new Set(errors.map((e) => e.script));
    const ok = defs.filter((d) => !failed.has(d.path));
    if (!ok.length) return;
    this.scripts = this.d.scripts.load(
      this.name,
      ok,
      this.d.pkg.attributes.map((a) => ({ path: a.path, dataType: a.dataType, source: a.source, access: a.access })),
      () => [...this.attrs].map(([path, a]) => [path, a.value]),
    );
    for (const s of scripts) {
      if (failed.has(s.path)) continue;
      this.loaded.add(s.path);
      const t = s.trigger;
      if (t.type === "onChange") this.onChange.set(t.attribute, [...(this.onChange.get(t.attribute) ?? []), s.path]);
      else if (t.type === "interval") {
        const timer = setInterval(
          () => {
            // A run still waiting stands for this tick too: a slow script never piles up its own timer's runs.
            if (this.intervalQueued.has(s.path)) return;
            this.intervalQueued.add(s.path);
            this.enqueue({ path: s.path, kind: "run", gen: 0, interval: true });
            void this.drain();
          },
          Math.max(10, t.everyMs),
        );
        timer.unref();
        this.timers.push(timer);
      } else if (t.type === "expression")
        this.expressions.push({ path: s.path, deps: dependencies(s), last: false, queued: false });
    }
  }

  /**
   * A script's attributes.set, applied when its run returns (the host checked it already; the table may have moved
   * on since): a static value is kept (and persisted), a readWrite data value goes to the device.
   */
  private applyWrite(script: string, path: string, value: unknown, gen: number): void {
    const a = this.attrs.get(path);
    const conn = a?.def.connection ? this.d.connection(a.def.connection) : undefined;
    const refused = !a
      ? `not an attribute of ${this.name}`
      : !fits(a.def.dataType, value)
        ? `not a ${a.def.dataType}`
        : a.def.source === "static"
          ? null
          : a.def.access !== "readWrite"
            ? "a read-only data attribute"
            : !conn
              ? "its data connection is not available"
              : null;
    if (!a || refused !== null) {
      this.d.events.event("write", `${script}: ${path} ← ${JSON.stringify(value)} refused: ${refused}`, this.name);
      return;
    }
    if (a.def.source === "static") {
      const previous: Sample = { value: a.value, at: a.at };
      const changed = a.value !== value;
      const now = this.d.now();
      this.d.persistStatic(path, value, new Date(now).toISOString());
      a.value = value;
      a.at = now;
      if (changed) this.scripts?.update(path, value);
      this.changed(path, previous, changed, gen + 1);
      return;
    }
    this.d.stats.writes++;
    // The table changes when the device reports the new value through the subscription, not before.
    void conn!.write(this.name, path, value).then((err) => {
      if (!err) return;
      this.d.stats.writeFailures++;
      this.d.events.event("write", `${path} ← ${JSON.stringify(value)} failed: ${err}`, this.name);
    });
  }

  /** One queued piece of work: run it in the host, then take in what it did; a call's result goes to its caller. */
  private async execute(w: Work): Promise<void> {
    if (w.interval) this.intervalQueued.delete(w.path);
    if (w.expression) w.expression.queued = false;
    const why = this.scripts?.quarantined.get(w.path);
    if (!this.scripts || why !== undefined) {
      const message = why === undefined ? "not loaded" : `quarantined: ${why}`;
      w.reply?.({ status: "unavailable", message: `the script ${w.path} of ${this.name} is ${message}` });
      return;
    }
    if (w.kind === "run") this.d.stats.scriptRuns++;
    const r = await this.scripts.run(w.path, w.kind, w.args);
    if (this.stopped) {
      w.reply?.({ status: "unavailable", message: `the instance ${this.name} stopped while the script ran` });
      return;
    }
    this.absorb(w.path, r, w.gen);
    if (!r.result.ok) {
      this.scriptFailed(w.kind === "eval" ? `${w.path} (expression)` : w.path, r.result, r.crashed);
      w.reply?.({ status: "failed", message: r.result.error, timedOut: r.result.timedOut });
      return;
    }
    w.reply?.({ status: "ok", value: r.result.value });
    if (w.expression) {
      const now = !!r.result.value;
      const rising = now && !w.expression.last;
      w.expression.last = now;
      if (rising) this.enqueue({ path: w.path, kind: "run", gen: w.gen });
    }
  }

  /** A run's logs and writes, in the order the script made them. */
  private absorb(script: string, r: HostRun, gen: number): void {
    for (const l of r.logs) {
      this.d.log[l.level]({ instance: this.name, script: l.script }, l.message);
      if (l.level !== "info") this.d.events.event("script-log", `${l.script}: ${l.message}`, this.name);
    }
    if (r.dropped > 0) {
      this.d.stats.scriptLogsDropped += r.dropped;
      this.d.events.event(
        "script-log",
        `${script}: ${r.dropped} log line(s) dropped: over the script log caps`,
        this.name,
      );
    }
    for (const [path, value] of r.writes) this.applyWrite(script, path, value, gen);
  }

  private scriptFailed(what: string, r: { error: string; timedOut: boolean }, crashed: boolean): void {
    this.scriptErrors++;
    this.d.stats.scriptErrors++;
    if (r.timedOut) this.d.stats.scriptTimeouts++;
    this.d.log.warn({ instance: this.name, script: what, err: r.error, crashed }, "script failed");
    this.d.events.event("script-error", `${what}: ${r.error}`, this.name);
  }

  /** Runs queued script work one item at a time; a cascade longer than MAX_CASCADE is cut off and logged. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.stopped) {
        const w = this.queue.shift()!;
        if (w.gen > MAX_CASCADE) {
          if (w.expression) w.expression.queued = false;
          if (!this.cascadeReported) {
            this.cascadeReported = true;
            this.d.events.event(
              "script-error",
              `more than ${MAX_CASCADE} script runs from one change: stopped`,
              this.name,
            );
          }
          continue;
        }
        try {
          await this.execute(w);
        } catch (e) {
          // Taking in a run's result failed (the store refused a write): reported, and the queue goes on.
          const error = e instanceof Error ? e.message : String(e);
          this.scriptFailed(w.path, { error, timedOut: false }, false);
          w.reply?.({ status: "failed", message: error, timedOut: false });
        }
      }
    } finally {
      this.draining = false;
      if (this.queue.length === 0) this.cascadeReported = false;
    }
  }
}

/** The attributes an expression trigger reads by literal name, resolved against its scope. */
function dependencies(s: PackageScript): Set<string> | null {
  if (s.trigger.type !== "expression") return null;
  const facts = analyzeCode(s.trigger.expression, [], true);
  const deps = new Set<string>();
  for (const c of facts.calls) {
    if (c.fn !== "attributes.get") continue;
    if (c.target === undefined) return null;
    deps.add(s.scope ? `${s.scope}.${c.target}` : c.target);
  }
  return deps;
}
