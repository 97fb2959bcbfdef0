import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type InspectInstance, readApiFile } from "../site-reconciler/api/server.js";

/** The secret's name on both nodes' command lines; its value is in their environment only. */
const PEER_SECRET = "PAIR_SECRET";

export interface DemoPairOptions {
  site: string;
  /** The built CLI (dist/bundle/scadalink.js): the nodes are `scadalink site` processes of it. */
  script: string;
  repo: string;
  /** The demo's temporary directory: state directories under sites/, logs under logs/. */
  dir: string;
  trustedKeysFile: string;
  /** SCADALINK_SECRET_* of the PLC accounts and integrations, as the in-process sites get them. */
  env: NodeJS.ProcessEnv;
  pollMs: number;
  failoverSeconds: number;
  /** Seconds into the demo at which the active is killed (later, if the site has not converged by then). */
  killAtS: number;
  /** Demo start (ms since 1970): times in the narration count from it. */
  started: number;
  /** Whether these instances (an answer of the active's read API) are the site converged, with good values. */
  flowing: (instances: readonly InspectInstance[]) => boolean;
}

/** The last answer of the active node's read API. */
export interface PairAnswer {
  node: string;
  at: number;
  instances: InspectInstance[];
}

interface PairNode {
  name: string;
  peerPort: number;
  stateDir: string;
  log: WriteStream;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** The epoch this process activated with, while it is active (from its log). */
  epoch?: number;
}

type PairEvent =
  | { kind: "standby"; node: PairNode; at: number }
  | { kind: "exit"; node: PairNode; at: number; failed: boolean }
  | { kind: "active" | "step-down"; node: PairNode; at: number; epoch: number; reason: string };

/** A loopback port nothing listens on now (the CLI takes a fixed --peer-port, and each node needs the other's). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", () => res()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/**
 * One site of the demo as an active/standby pair (docs/redundancy.md): two `scadalink site` child processes with
 * their own state directories. Their JSON logs go to files and are read for the pair's own lines (who is active, in
 * which epoch); the table reads the active's instances from its read API. Partway, the active is SIGKILLed: the
 * narration shows the standby taking over, values flowing again from it, and the killed node back as standby.
 */
export class DemoPair {
  readonly nodes: PairNode[];
  #answer: PairAnswer | undefined;
  #polling = false;
  #stopping = false;
  #events: PairEvent[] = [];
  #phase: "starting" | "running" | "killed" | "restarted" | "done" = "starting";
  #victim: PairNode | undefined;
  #killedAt = 0;
  #takeover: { node: PairNode; epoch: number; at: number } | undefined;
  readonly #secret = randomBytes(24).toString("base64url");
  readonly #poll: NodeJS.Timeout;

  private constructor(
    private readonly o: DemoPairOptions,
    nodes: PairNode[],
  ) {
    this.nodes = nodes;
    this.#poll = setInterval(() => void this.refresh(), 1000);
  }

  static async start(o: DemoPairOptions): Promise<DemoPair> {
    mkdirSync(join(o.dir, "logs"), { recursive: true });
    const nodes: PairNode[] = [];
    for (const name of ["a", "b"])
      nodes.push({
        name,
        peerPort: await freePort(),
        stateDir: join(o.dir, "sites", `${o.site}-${name}`),
        log: createWriteStream(join(o.dir, "logs", `${o.site}-${name}.log`), { flags: "a" }),
      });
    const p = new DemoPair(o, nodes);
    for (const n of nodes) p.#spawn(n);
    return p;
  }

  /** The active's instances as last answered, and by which node; undefined before any answer. */
  get answer(): PairAnswer | undefined {
    return this.#answer;
  }

  /** The narration's opening line. */
  intro(): string {
    const [a, b] = this.nodes;
    return `${this.o.site} runs as a pair: node ${a!.name} and node ${b!.name} on 127.0.0.1:${a!.peerPort} and 127.0.0.1:${b!.peerPort} (their peer links; no witness), failover after ${this.o.failoverSeconds} s of silence; the active is killed at ${this.o.killAtS} s`;
  }

  #spawn(n: PairNode): void {
    const peer = this.nodes.find((x) => x !== n)!;
    // None of the user's SCADALINK_* settings: the nodes get exactly the demo's (a stray SCADALINK_WITNESS or
    // SCADALINK_ALLOW_UNSIGNED would change what they do).
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SCADALINK_")));
    const child = spawn(
      process.execPath,
      [
        this.o.script,
        "site",
        "--site",
        this.o.site,
        "--repo",
        this.o.repo,
        "--state-dir",
        n.stateDir,
        "--node",
        n.name,
        "--peer",
        `http://127.0.0.1:${peer.peerPort}`,
        "--peer-port",
        String(n.peerPort),
        "--peer-secret",
        PEER_SECRET,
        "--failover-seconds",
        String(this.o.failoverSeconds),
        "--trusted-keys",
        this.o.trustedKeysFile,
        "--accept-unknown-certificates",
        "--log-level",
        "info",
      ],
      {
        env: {
          ...base,
          ...this.o.env,
          [`SCADALINK_SECRET_${PEER_SECRET}`]: this.#secret,
          SCADALINK_POLL_INTERVAL: String(this.o.pollMs / 1000),
          SCADALINK_API_PORT: "0",
          NO_COLOR: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    n.child = child;
    n.epoch = undefined;
    let partial = "";
    // Output may still come after "exit" (and after stop() ended the log): never write to an ended stream.
    const write = (d: Buffer) => {
      if (!n.log.writableEnded) n.log.write(d);
    };
    child.stdout!.on("data", (d: Buffer) => {
      write(d);
      const lines = (partial + d.toString("utf8")).split("\n");
      partial = lines.pop()!;
      for (const l of lines) this.#line(n, l);
    });
    child.stderr!.on("data", write);
    n.exited = new Promise((res) => {
      // A process that could not be started: nothing to wait for.
      child.once("error", () => res());
      child.once("exit", (code, signal) => {
        if (n.child === child) {
          n.epoch = undefined;
          // A Ctrl-C on a terminal reaches the whole process group: a node stopping with the demo is no news.
          const failed = code !== 0 && signal !== "SIGINT" && signal !== "SIGTERM";
          this.#events.push({ kind: "exit", node: n, at: Date.now(), failed });
        }
        res();
      });
    });
  }

  /** One of a node's pino lines: only the pair's own messages matter here. */
  #line(n: PairNode, line: string): void {
    if (!line.includes("site pair")) return;
    let entry: { msg?: string; epoch?: number; reason?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const at = Date.now();
    const epoch = entry.epoch ?? 0;
    const reason = entry.reason ?? "";
    if (entry.msg === "site pair: starting as standby") this.#events.push({ kind: "standby", node: n, at });
    else if (entry.msg === "site pair: this node is active") {
      n.epoch = epoch;
      this.#events.push({ kind: "active", node: n, at, epoch, reason });
      // The table follows the new active at once, not at the next poll.
      void this.refresh();
    } else if (entry.msg === "site pair: stepping down") {
      n.epoch = undefined;
      this.#events.push({ kind: "step-down", node: n, at, epoch, reason });
    }
  }

  /** Asks the active node's read API for its instances; keeps the last answer when there is no active or no answer. */
  async refresh(): Promise<void> {
    const n = this.nodes.find((x) => x.epoch !== undefined);
    if (!n || this.#polling || this.#stopping) return;
    // api.json of a killed process stays behind: only the file the running process wrote counts.
    const api = readApiFile(n.stateDir);
    if (!api || api.pid !== n.child?.pid) return;
    this.#polling = true;
    try {
      const res = await fetch(`http://127.0.0.1:${api.port}/instances`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return;
      const body = (await res.json()) as { instances: InspectInstance[] };
      // Still the active when the answer came: a standby's empty answer would blank the table.
      if (n.epoch !== undefined) this.#answer = { node: n.name, at: Date.now(), instances: body.instances };
    } catch {
      // Not up yet, or just killed: the last answer stands.
    } finally {
      this.#polling = false;
    }
  }

  /** The pair's narration since the last call: activations, the kill, the takeover, the return. */
  tick(): string[] {
    const out: string[] = [];
    const at = (t: number) => `(${Math.round((t - this.o.started) / 1000)} s)`;
    for (const e of this.#events.splice(0)) {
      if (e.kind === "active") {
        if (this.#phase === "starting") {
          this.#phase = "running";
          const other = this.nodes.find((x) => x !== e.node)!;
          out.push(
            `node ${e.node.name} active (epoch ${e.epoch}: ${e.reason}) ${at(e.at)}; node ${other.name} standby, replicating its store`,
          );
        } else if (this.#phase === "killed" && e.node !== this.#victim && !this.#takeover)
          this.#takeover = { node: e.node, epoch: e.epoch, at: e.at };
        else out.push(`node ${e.node.name} active (epoch ${e.epoch}: ${e.reason}) ${at(e.at)}`);
      } else if (e.kind === "step-down")
        out.push(`node ${e.node.name} stepping down (epoch ${e.epoch}: ${e.reason}) ${at(e.at)}`);
      else if (e.kind === "standby" && e.node === this.#victim && this.#phase === "restarted") {
        this.#phase = "done";
        out.push(`node ${e.node.name} back as standby ${at(e.at)}: it replicates from the new active`);
      } else if (e.kind === "exit" && e.failed && e.node !== this.#victim && !this.#stopping)
        out.push(`node ${e.node.name} exited ${at(e.at)}; see its log`);
    }
    const now = Date.now();
    const active = this.nodes.find((x) => x.epoch !== undefined);
    const answer = this.#answer;
    if (
      this.#phase === "running" &&
      active &&
      now - this.o.started >= this.o.killAtS * 1000 &&
      answer?.node === active.name &&
      this.o.flowing(answer.instances)
    ) {
      this.#phase = "killed";
      this.#victim = active;
      this.#killedAt = now;
      active.child!.kill("SIGKILL");
      // Dead from now on: no poll goes to it while its exit is on its way.
      active.epoch = undefined;
      out.push(`killing node ${active.name} (the active) with SIGKILL ${at(now)}`);
    }
    const t = this.#takeover;
    // Values flow again once the new active's own answer (after its activation) shows the site converged.
    if (
      this.#phase === "killed" &&
      t &&
      answer?.node === t.node.name &&
      answer.at > t.at &&
      this.o.flowing(answer.instances)
    ) {
      const secs = (ms: number) => ((ms - this.#killedAt) / 1000).toFixed(1);
      out.push(
        `node ${t.node.name} active (epoch ${t.epoch}) ${secs(t.at)} s after the kill; values flowing: ${answer.instances.length} instances with good values from node ${t.node.name}, ${secs(answer.at)} s after the kill`,
      );
      const victim = this.#victim!;
      this.#phase = "restarted";
      this.#spawn(victim);
      out.push(`restarting node ${victim.name} ${at(now)}`);
    }
    return out;
  }

  /** SIGTERM to both nodes; waits for them (SIGKILL after 15 s: the demo never hangs on a stuck child). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    await Promise.all(
      this.nodes.map(async (n) => {
        const child = n.child;
        if (child && child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await n.exited;
          clearTimeout(timer);
        }
        await new Promise<void>((res) => n.log.end(() => res()));
      }),
    );
  }
}
