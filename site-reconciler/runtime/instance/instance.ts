import type { Logger } from "pino";
import { analyzeCode } from "../../../controller/compiler/scripts/analyze.js";
import type { DeploymentPackage, PackageAlarm, PackageAttribute, PackageScript } from "../../../schemas/types.js";
import type { BindingStatus, OpcuaConnection, WatchSink } from "../opcua/connection.js";
import { fits } from "../opcua/data-types.js";
import type { InstanceScripts, LoadError, RunResult, Sandbox, ScriptHost } from "../scripts/sandbox.js";
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
}

export interface InstanceDeps {
  pkg: DeploymentPackage;
  sandbox: Sandbox;
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

/**
 * One running instance (section 6.4): its attribute table fed by its data connections, its alarms evaluated on
 * every change of the attribute they watch, and its scripts run on their triggers in the site's sandbox. Script runs
 * a value change or a script's write causes are queued and run one after another, never inside each other; those
 * of a value change wait until the whole publish it came in has been applied.
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
  private scripts: InstanceScripts | undefined;
  private readonly queue: (() => void)[] = [];
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
    for (const a of this.attrs.values()) if (a.def.source === "static") this.changed(a.def.path, undefined);
    this.drain();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const c of this.connections) this.d.connection(c)?.unwatch(this.name);
    this.scripts?.dispose();
    this.queue.length = 0;
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
    if (quality === "bad") return;
    this.changed(path, previous, valueChanged);
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
      this.drain();
    });
  }

  private drainScheduled = false;

  /** After an attribute took a new value: its alarms, its onChange scripts, the expressions that read it. */
  private changed(path: string, previous: Sample | undefined, valueChanged = true): void {
    const a = this.attrs.get(path)!;
    for (const alarm of this.alarmsOf.get(path) ?? []) this.evaluate(alarm, { value: a.value, at: a.at }, previous);
    if (!valueChanged) return;
    for (const s of this.onChange.get(path) ?? []) this.queue.push(() => this.runNow(s));
    for (const e of this.expressions)
      if (!e.deps || e.deps.has(path)) this.queue.push(() => this.evaluateExpression(e));
  }

  private evaluate(alarm: Alarm, current: Sample, previous: Sample | undefined): void {
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
    if (holds && alarm.def.onTrigger) {
      const script = alarm.def.onTrigger;
      this.queue.push(() => this.runNow(script));
    }
  }

  private loadScripts(scripts: readonly PackageScript[]): void {
    if (!scripts.length) return;
    const host: ScriptHost = {
      get: (path) => {
        const a = this.attrs.get(path);
        if (!a) throw new Error(`${path} is not an attribute of ${this.name}`);
        return a.value;
      },
      set: (path, value) => this.set(path, value),
      log: (level, message, script) => {
        this.d.log[level]({ instance: this.name, script }, message);
        if (level !== "info") this.d.events.event("script-log", `${script}: ${message}`, this.name);
      },
    };
    const { scripts: loaded, errors } = this.d.sandbox.load(
      this.name,
      scripts.map((s) => ({
        path: s.path,
        scope: s.scope,
        parameters: s.parameters,
        code: s.code,
        timeoutMs: s.timeoutMs,
        expression: s.trigger.type === "expression" ? s.trigger.expression : null,
      })),
      host,
    );
    this.scripts = loaded;
    this.loadErrors.push(...errors);
    for (const e of errors) this.d.events.event("script-error", `${e.script} not loaded: ${e.message}`, this.name);
    for (const s of scripts) {
      if (!loaded.has(s.path)) continue;
      const t = s.trigger;
      if (t.type === "onChange") this.onChange.set(t.attribute, [...(this.onChange.get(t.attribute) ?? []), s.path]);
      else if (t.type === "interval") {
        const timer = setInterval(
          () => {
            this.queue.push(() => this.runNow(s.path));
            this.drain();
          },
          Math.max(10, t.everyMs),
        );
        timer.unref();
        this.timers.push(timer);
      } else if (t.type === "expression") this.expressions.push({ path: s.path, deps: dependencies(s), last: false });
    }
  }

  /** attributes.set from a script: a static value is kept (and persisted), a readWrite data value goes to the device. */
  private set(path: string, value: unknown): void {
    const a = this.attrs.get(path);
    if (!a) throw new Error(`${path} is not an attribute of ${this.name}`);
    if (!fits(a.def.dataType, value)) throw new Error(`${JSON.stringify(value)} is not a ${a.def.dataType} (${path})`);
    if (a.def.source === "static") {
      const previous: Sample = { value: a.value, at: a.at };
      const changed = a.value !== value;
      const now = this.d.now();
      const timestamp = new Date(now).toISOString();
      // Persisted before the table changes: a script stopped by its timeout inside this call leaves both as they were
      // or both written.
      this.d.persistStatic(path, value, timestamp);
      a.value = value;
      a.at = now;
      this.changed(path, previous, changed);
      return;
    }
    if (a.def.access !== "readWrite") throw new Error(`${path} is a read-only data attribute`);
    const conn = a.def.connection ? this.d.connection(a.def.connection) : undefined;
    if (!conn) throw new Error(`${path}: its data connection is not available`);
    this.d.stats.writes++;
    // The table changes when the device reports the new value through the subscription, not before.
    void conn.write(this.name, path, value).then((err) => {
      if (!err) return;
      this.d.stats.writeFailures++;
      this.d.events.event("write", `${path} ← ${JSON.stringify(value)} failed: ${err}`, this.name);
    });
  }

  private runNow(path: string, args: readonly unknown[] = []): RunResult | undefined {
    if (this.stopped || !this.scripts) return undefined;
    this.d.stats.scriptRuns++;
    const r = this.scripts.run(path, args);
    if (!r.ok) this.scriptFailed(path, r);
    return r;
  }

  private evaluateExpression(e: Expression): void {
    if (this.stopped || !this.scripts) return;
    const r = this.scripts.evaluate(e.path);
    if (!r.ok) {
      this.scriptFailed(`${e.path} (expression)`, r);
      return;
    }
    const now = !!r.value;
    const rising = now && !e.last;
    e.last = now;
    if (rising) this.runNow(e.path);
  }

  private scriptFailed(what: string, r: { error: string; timedOut: boolean }): void {
    this.scriptErrors++;
    this.d.stats.scriptErrors++;
    if (r.timedOut) this.d.stats.scriptTimeouts++;
    this.d.log.warn({ instance: this.name, script: what, err: r.error }, "script failed");
    this.d.events.event("script-error", `${what}: ${r.error}`, this.name);
  }

  /** Runs queued script work; a cascade longer than MAX_CASCADE is cut off and logged. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      let n = 0;
      while (this.queue.length && !this.stopped) {
        if (++n > MAX_CASCADE) {
          this.queue.length = 0;
          this.d.events.event(
            "script-error",
            `more than ${MAX_CASCADE} script runs from one change: stopped`,
            this.name,
          );
          break;
        }
        this.queue.shift()!();
      }
    } finally {
      this.draining = false;
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
