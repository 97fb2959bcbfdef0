import { type ChildProcess, fork } from "node:child_process";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { IO_FD } from "./io-client.js";
import { hostEntry } from "./locate.js";
import type { FromHost, IoReply, IoRequest, MirrorAttr, RunOutput, ToHost } from "./protocol.js";
import { type LoadError, Sandbox, type ScriptDef, type SharedDef, timeoutOf } from "./sandbox.js";

export interface ScriptPoolOptions {
  log: Logger;
  /** Host processes instances are spread over by a hash of their name. */
  hosts?: number;
  /** V8 old-space limit of each host, in MB. */
  memoryMb?: number;
  /** A run holding its host this long moves the host's other instances to a new host. */
  holdMs?: number;
  /** How long past a script's own timeout its host is killed (the realm's timeout did not stop it). */
  graceMs?: number;
  /** Consecutive timeouts or host crashes of one script that quarantine it. */
  quarantineAfter?: number;
  /** Host processes at most, evacuations included. */
  maxHosts?: number;
  /** The script host's entry file (tests). */
  entry?: string;
  /** Event-log entries: host restarts, quarantines. */
  event: (kind: string, message: string, instance?: string) => void;
  /** Answers the script API calls that leave the sandbox (externalSystem, notify, database); default: refused. */
  io?: (r: IoRequest) => Promise<IoReply>;
  /** Counters the metrics read. */
  counters: { scriptHostRestarts: number; scriptCrashes: number };
}

export interface HostRun extends RunOutput {
  /** The host process died under this run (out of memory, killed by the watchdog, crashed). */
  crashed: boolean;
}

/** One instance's scripts in the pool. */
export interface ScriptHandle {
  run(path: string, kind: "run" | "eval", args?: readonly unknown[]): Promise<HostRun>;
  /** An attribute took a new value: the host's mirror gets it with the instance's next run. */
  update(path: string, value: unknown): void;
  /** Scripts that no longer run, and why. */
  readonly quarantined: ReadonlyMap<string, string>;
  dispose(): void;
}

const DEFAULTS = { hosts: 2, memoryMb: 128, holdMs: 500, graceMs: 2_000, quarantineAfter: 3 };
const WATCHDOG_MS = 100;
/** A host that dies sooner than this after it started makes its replacement wait, doubling up to RESPAWN_MAX_MS. */
const STABLE_MS = 10_000;
const RESPAWN_MAX_MS = 5_000;
const STDERR_KEEP = 4_096;
/** A host runs one script at a time, so one call is in flight; a few more come from runs the watchdog gave up on. */
const IO_MAX_PENDING = 8;
const IO_MAX_LINE = 16 * 2 ** 20;

type Resolved = Required<ScriptPoolOptions>;

interface Member {
  key: string;
  instance: string;
  scripts: ScriptDef[];
  attrs: MirrorAttr[];
  snapshot: () => [string, unknown][];
  timeouts: Map<string, number>;
  pending: Map<string, unknown>;
  host: Host;
  strikes: Map<string, number>;
  quarantined: Map<string, string>;
  disposed: boolean;
}

interface Job {
  id: number;
  member: Member;
  path: string;
  kind: "run" | "eval";
  args: unknown[];
  resolve: (r: HostRun) => void;
  sentAt: number;
}

interface Host {
  child: ChildProcess | null;
  ready: boolean;
  backlog: ToHost[];
  members: Set<Member>;
  queue: Job[];
  inflight: Job | null;
  startedAt: number;
  /** Consecutive short lives: how long the next replacement waits. */
  failures: number;
  stderr: string;
  killedFor: string | null;
  dead: boolean;
}

/**
 * Runs every instance's scripts in a few host processes (script-host.ts), apart from the runtime's event loop.
 * Instances are sharded over `hosts` processes by a hash of their name; each host runs one script at a time. A run
 * that holds its host longer than holdMs moves the host's other instances to a fresh host, so one spinning script
 * delays no other instance beyond that; a run past its timeout plus graceMs has its host killed. A host that dies
 * (out of memory, killed, crashed) fails the run it had, is replaced with its instances reloaded, and a script
 * that times out or kills its host quarantineAfter times in a row is quarantined.
 */
export class ScriptPool {
  readonly #o: Resolved;
  readonly #checker = new Sandbox();
  readonly #hosts = new Set<Host>();
  readonly #shards: (Host | null)[];
  readonly #watchdog: NodeJS.Timeout;
  #shared: SharedDef[] = [];
  #seq = 0;
  #runs = 0;
  #closed = false;

  constructor(o: ScriptPoolOptions) {
    const hosts = Math.max(1, Math.floor(o.hosts ?? DEFAULTS.hosts));
    this.#o = {
      ...o,
      memoryMb: o.memoryMb ?? DEFAULTS.memoryMb,
      holdMs: o.holdMs ?? DEFAULTS.holdMs,
      graceMs: o.graceMs ?? DEFAULTS.graceMs,
      quarantineAfter: o.quarantineAfter ?? DEFAULTS.quarantineAfter,
      hosts,
      entry: o.entry ?? hostEntry(),
      maxHosts: Math.max(hosts, o.maxHosts ?? hosts + 4),
      io: o.io ?? (async () => ({ e: "this runtime does not reach external systems, notifications or databases" })),
    };
    this.#shards = new Array<Host | null>(hosts).fill(null);
    this.#watchdog = setInterval(() => this.#watch(), WATCHDOG_MS);
    this.#watchdog.unref();
  }

  /** Host processes running now (metrics, tests). */
  get hostCount(): number {
    return [...this.#hosts].filter((h) => !h.dead).length;
  }

  /** Process ids of the live hosts (tests). */
  pids(): number[] {
    return [...this.#hosts].flatMap((h) => (h.dead || !h.child?.pid ? [] : [h.child.pid]));
  }

  /** Replaces the site's shared scripts; the load errors come from the runtime's own check. */
  setShared(defs: readonly SharedDef[]): LoadError[] {
    this.#shared = [...defs];
    const errors = this.#checker.setShared(defs);
    for (const h of this.#hosts) this.#post(h, { t: "shared", defs: this.#shared });
    return errors;
  }

  /** Load-time check only, no host involved (the instance is judged from it at once). */
  check(scripts: readonly ScriptDef[]): LoadError[] {
    return this.#checker.check(scripts);
  }

  load(
    instance: string,
    scripts: readonly ScriptDef[],
    attrs: readonly MirrorAttr[],
    snapshot: () => [string, unknown][],
  ): ScriptHandle {
    const m: Member = {
      key: `m${++this.#seq}`,
      instance,
      scripts: [...scripts],
      attrs: [...attrs],
      snapshot,
      timeouts: new Map(scripts.map((s) => [s.path, timeoutOf(s.timeoutMs)])),
      pending: new Map(),
      host: this.#shardHost(shardOf(instance, this.#shards.length)),
      strikes: new Map(),
      quarantined: new Map(),
      disposed: false,
    };
    this.#attach(m, m.host);
    return {
      run: (path, kind, args = []) => this.#run(m, path, kind, [...args]),
      update: (path, value) => {
        // Map order is insertion order: delete first so the host applies changes in the order they happened.
        m.pending.delete(path);
        m.pending.set(path, value);
      },
      quarantined: m.quarantined,
      dispose: () => {
        if (m.disposed) return;
        m.disposed = true;
        const h = m.host;
        h.members.delete(m);
        this.#post(h, { t: "unload", key: m.key });
        if (h.members.size === 0 && !this.#shards.includes(h)) this.#retire(h);
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    for (const h of this.#hosts) this.#retire(h, "the runtime is stopping");
  }

  #run(m: Member, path: string, kind: "run" | "eval", args: unknown[]): Promise<HostRun> {
    const why = m.quarantined.get(path);
    if (m.disposed || this.#closed || why !== undefined)
      return Promise.resolve(
        failedRun(why !== undefined ? `quarantined: ${why}` : `the instance ${m.instance} is no longer loaded`),
      );
    return new Promise((resolve) => {
      m.host.queue.push({ id: ++this.#runs, member: m, path, kind, args, resolve, sentAt: 0 });
      this.#pump(m.host);
    });
  }

  #pump(h: Host): void {
    while (h.ready && !h.dead && h.inflight === null && h.queue.length > 0) {
      const job = h.queue.shift()!;
      if (job.member.disposed) {
        job.resolve(failedRun(`the instance ${job.member.instance} is no longer loaded`));
        continue;
      }
      const updates = [...job.member.pending];
      job.member.pending.clear();
      job.sentAt = Date.now();
      h.inflight = job;
      this.#post(h, {
        t: "run",
        id: job.id,
        key: job.member.key,
        path: job.path,
        kind: job.kind,
        args: job.args,
        updates,
      });
    }
  }

  #onMessage(h: Host, msg: FromHost): void {
    if (msg.t === "ready") {
      h.ready = true;
      for (const m of h.backlog.splice(0)) h.child?.send(m);
      this.#pump(h);
      return;
    }
    const job = h.inflight;
    if (job === null || job.id !== msg.id) return;
    h.inflight = null;
    const { result, writes, logs, dropped } = msg;
    if (!result.ok && result.timedOut) this.#strike(job, `timed out`);
    else job.member.strikes.delete(job.path);
    job.resolve({ result, writes, logs, dropped, crashed: false });
    this.#pump(h);
  }

  #onExit(h: Host, code: number | null, signal: NodeJS.Signals | null): void {
    if (h.dead) return;
    h.dead = true;
    this.#hosts.delete(h);
    if (this.#closed) return;
    const reason =
      h.killedFor ??
      (/heap out of memory|Allocation failed/i.test(h.stderr)
        ? `ran out of memory (limit ${this.#o.memoryMb} MB)`
        : `exited (${signal ?? `code ${code}`})`);
    const job = h.inflight;
    h.inflight = null;
    this.#o.counters.scriptCrashes++;
    const culprit = job ? ` running ${job.path} of ${job.member.instance}` : "";
    this.#o.log.warn(
      { pid: h.child?.pid, reason, script: job?.path, instance: job?.member.instance },
      "script host died",
    );
    this.#o.event("script-host", `script host ${reason}${culprit}: restarted`, job?.member.instance);
    if (job) {
      this.#strike(job, reason);
      job.resolve({ ...failedRun(`the script host ${reason}`, h.killedFor !== null), crashed: true });
    }
    if (h.members.size === 0 && !this.#shards.includes(h)) return;
    // Replace it: same members, same queue, same shard slots; a host that keeps dying young waits longer each time.
    const short = Date.now() - h.startedAt < STABLE_MS;
    const failures = short ? h.failures + 1 : 0;
    const next = this.#spawn(failures);
    next.queue.push(...h.queue.splice(0));
    for (let i = 0; i < this.#shards.length; i++) if (this.#shards[i] === h) this.#shards[i] = next;
    for (const m of [...h.members]) this.#attach(m, next);
    h.members.clear();
    this.#o.counters.scriptHostRestarts++;
  }

  /** A timeout or a host death under a script: quarantined after quarantineAfter in a row. */
  #strike(job: Job, reason: string): void {
    const m = job.member;
    const n = (m.strikes.get(job.path) ?? 0) + 1;
    m.strikes.set(job.path, n);
    if (n < this.#o.quarantineAfter || m.quarantined.has(job.path)) return;
    const why = `${reason} ${n} times in a row`;
    m.quarantined.set(job.path, why);
    this.#o.log.error({ instance: m.instance, script: job.path, reason: why }, "script quarantined");
    this.#o.event(
      "script-quarantined",
      `${job.path} quarantined: ${why}; a new revision of the instance releases it`,
      m.instance,
    );
  }

  #watch(): void {
    const now = Date.now();
    for (const h of [...this.#hosts]) {
      const job = h.inflight;
      if (job === null || h.dead) continue;
      const age = now - job.sentAt;
      const timeout = job.member.timeouts.get(job.path) ?? timeoutOf(Number.NaN);
      if (age > timeout + this.#o.graceMs) {
        h.killedFor = `was killed: ${job.path} of ${job.member.instance} ran ${age} ms, past its ${timeout} ms timeout`;
        h.child?.kill("SIGKILL");
      } else if (age > this.#o.holdMs && h.members.size > 1 && this.hostCount < this.#o.maxHosts) {
        this.#evacuate(h, job.member);
      }
    }
  }

  /** Moves every member but the busy one to a fresh host, which takes over the busy host's shard slots. */
  #evacuate(h: Host, busy: Member): void {
    const next = this.#spawn(0);
    for (let i = 0; i < this.#shards.length; i++) if (this.#shards[i] === h) this.#shards[i] = next;
    for (const m of [...h.members]) {
      if (m === busy) continue;
      h.members.delete(m);
      this.#post(h, { t: "unload", key: m.key });
      this.#attach(m, next);
    }
    const keep: Job[] = [];
    for (const j of h.queue.splice(0)) (j.member === busy ? keep : next.queue).push(j);
    h.queue.push(...keep);
    this.#o.log.info(
      { instance: busy.instance, script: h.inflight?.path },
      "a long script run: other instances moved to a new script host",
    );
  }

  /** Loads a member on a host with a snapshot of its values (pending changes are in it). */
  #attach(m: Member, h: Host): void {
    m.host = h;
    h.members.add(m);
    m.pending.clear();
    this.#post(h, {
      t: "load",
      key: m.key,
      instance: m.instance,
      scripts: m.scripts,
      attrs: m.attrs,
      values: m.snapshot(),
    });
    this.#pump(h);
  }

  #shardHost(i: number): Host {
    const cur = this.#shards[i];
    if (cur && !cur.dead) return cur;
    const h = this.#spawn(0);
    this.#shards[i] = h;
    return h;
  }

  #spawn(failures: number): Host {
    const h: Host = {
      child: null,
      ready: false,
      backlog: [{ t: "shared", defs: this.#shared }],
      members: new Set(),
      queue: [],
      inflight: null,
      startedAt: Date.now(),
      failures,
      stderr: "",
      killedFor: null,
      dead: false,
    };
    this.#hosts.add(h);
    const start = () => {
      if (h.dead || this.#closed) return;
      h.startedAt = Date.now();
      const child = fork(this.#o.entry, [], {
        serialization: "advanced",
        execArgv: [`--max-old-space-size=${this.#o.memoryMb}`],
        // fd 4: the I/O pipe, on which the host's I/O thread sends the scripts' integration calls (io-client.ts).
        stdio: ["ignore", "ignore", "pipe", "ipc", "pipe"],
      });
      h.child = child;
      const pipe = child.stdio[IO_FD] as Duplex | null | undefined;
      if (pipe) this.#serveIo(h, pipe);
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (s: string) => {
        h.stderr = (h.stderr + s).slice(-STDERR_KEEP);
      });
      child.on("message", (msg: FromHost) => this.#onMessage(h, msg));
      child.on("exit", (code, signal) => this.#onExit(h, code, signal));
      child.on("error", (e) => this.#o.log.warn({ err: e.message }, "script host error"));
    };
    const delay = failures === 0 ? 0 : Math.min(RESPAWN_MAX_MS, 250 * 2 ** (failures - 1));
    if (delay === 0) start();
    else setTimeout(start, delay).unref();
    return h;
  }

  /**
   * Answers a host's integration calls, one JSON line each way. The host speaks for its own instances only, and a
   * host that floods the pipe (more than IO_MAX_PENDING calls unanswered, or a line over IO_MAX_LINE) is cut off.
   */
  #serveIo(h: Host, pipe: Duplex): void {
    let buf = "";
    let pending = 0;
    pipe.setEncoding("utf8");
    pipe.on("error", () => undefined);
    const reply = (id: unknown, r: IoReply) => {
      pending--;
      if (!h.dead && pipe.writable) pipe.write(`${JSON.stringify({ id, ...r })}\n`);
    };
    pipe.on("data", (d: string) => {
      buf += d;
      if (buf.length > IO_MAX_LINE && !buf.includes("\n")) {
        this.#o.log.warn("script host sent an integration call over the size limit: its pipe is closed");
        pipe.destroy();
        return;
      }
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m: IoRequest & { id: unknown };
        try {
          m = JSON.parse(line) as IoRequest & { id: unknown };
        } catch {
          continue;
        }
        pending++;
        if (pending > IO_MAX_PENDING) {
          reply(m.id, { e: "too many integration calls at once" });
          continue;
        }
        if (![...h.members].some((x) => x.instance === m.instance && !x.disposed)) {
          reply(m.id, { e: "the instance is not loaded in this script host" });
          continue;
        }
        const r: IoRequest = {
          op: m.op,
          instance: m.instance,
          target: String(m.target),
          name: String(m.name),
          args: Array.isArray(m.args) ? m.args : [],
          deadline: Number(m.deadline),
        };
        this.#o.io(r).then(
          (a) => reply(m.id, a),
          (e: unknown) => reply(m.id, { e: e instanceof Error ? e.message : String(e) }),
        );
      }
    });
  }

  #post(h: Host, m: ToHost): void {
    if (h.dead) return;
    if (h.ready && h.child?.connected) h.child.send(m);
    else h.backlog.push(m);
  }

  #retire(h: Host, why = "the instance is no longer loaded"): void {
    h.dead = true;
    this.#hosts.delete(h);
    h.child?.kill("SIGKILL");
    const jobs = h.inflight ? [h.inflight, ...h.queue] : h.queue;
    for (const j of jobs) j.resolve(failedRun(why));
    h.inflight = null;
    h.queue.length = 0;
  }
}

function failedRun(error: string, timedOut = false): HostRun {
  return { result: { ok: false, error, timedOut }, writes: [], logs: [], dropped: 0, crashed: false };
}

/** FNV-1a of the instance name: the same instance lands on the same shard every time. */
function shardOf(name: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}
