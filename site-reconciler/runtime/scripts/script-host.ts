/**
 * A script host process: the site runtime forks it (see pool.ts) and runs scripts here, in the locked-down realm
 * of sandbox.ts, never on its own event loop. Whatever a script does (spin, allocate without end, log without end,
 * leave rejections unhandled) costs at most this process, which the runtime kills and replaces.
 */
import { Worker } from "node:worker_threads";
import { TokenBucket } from "../limits/token-bucket.js";
import { fits } from "../opcua/data-types.js";
import { IoClient } from "./io-client.js";
import type { FromHost, MirrorAttr, RunOutput, ScriptLog, ToHost } from "./protocol.js";
import { type InstanceScripts, Sandbox, type ScriptHost } from "./sandbox.js";

/** Per script: lines a second and burst, bytes a second and burst. Over either, lines are dropped and counted. */
const LOG_LINES_PER_SEC = 20;
const LOG_LINES_BURST = 100;
const LOG_BYTES_PER_SEC = 16 * 1024;
const LOG_BYTES_BURST = 64 * 1024;

interface Mirror {
  instance: string;
  attrs: Map<string, MirrorAttr>;
  values: Map<string, unknown>;
  buckets: Map<string, { lines: TokenBucket; bytes: TokenBucket }>;
}

interface Loaded extends Mirror {
  scripts: InstanceScripts;
}

const send = (m: FromHost) => process.send?.(m);

// No script failure may end this process by accident: an unhandled rejection or exception is dropped. The reason
// is a realm object; it is never looked at, so no getter of a script's runs here.
process.on("unhandledRejection", () => undefined);
process.on("uncaughtException", () => undefined);
// The runtime gone (killed, crashed) means this host must go too, even while a script spins on the main thread:
// a watcher thread checks the parent and ends the process.
watchParent();
// The channel closed: the runtime let go of this host.
process.on("disconnect", () => process.exit(0));

const sandbox = new Sandbox();
const instances = new Map<string, Loaded>();
let current: { writes: [string, unknown][]; logs: ScriptLog[]; dropped: number } | null = null;
/** Made at the first integration call: a host whose scripts never leave the site has no I/O thread. */
let io: IoClient | undefined;

process.on("message", (m: ToHost) => {
  switch (m.t) {
    case "shared":
      sandbox.setShared(m.defs);
      return;
    case "load": {
      instances.get(m.key)?.scripts.dispose();
      const mirror: Mirror = {
        instance: m.instance,
        attrs: new Map(m.attrs.map((a) => [a.path, a])),
        values: new Map(m.values),
        buckets: new Map(),
      };
      // Load errors are the runtime's to report: it ran the same checks before sending the scripts.
      instances.set(m.key, { ...mirror, scripts: sandbox.load(m.instance, m.scripts, hostFor(mirror)).scripts });
      return;
    }
    case "unload":
      instances.get(m.key)?.scripts.dispose();
      instances.delete(m.key);
      return;
    case "run": {
      const l = instances.get(m.key);
      const out: RunOutput = {
        result: { ok: false, error: "the instance is not loaded", timedOut: false },
        writes: [],
        logs: [],
        dropped: 0,
      };
      if (l !== undefined) {
        for (const [path, value] of m.updates) l.values.set(path, value);
        current = out;
        try {
          out.result = m.kind === "eval" ? l.scripts.evaluate(m.path) : l.scripts.run(m.path, m.args);
        } finally {
          current = null;
        }
      }
      send({ t: "result", id: m.id, ...out });
      return;
    }
  }
});
send({ t: "ready" });

/** attributes.get is a read of the mirror; set checks as the runtime will and records the write for it. */
function hostFor(l: Mirror): ScriptHost {
  const attr = (path: string) => {
    const a = l.attrs.get(path);
    if (a === undefined) throw new Error(`${path} is not an attribute of ${l.instance}`);
    return a;
  };
  return {
    get: (path) => {
      attr(path);
      return l.values.get(path) ?? null;
    },
    set: (path, value) => {
      const a = attr(path);
      if (!fits(a.dataType, value)) throw new Error(`${JSON.stringify(value)} is not a ${a.dataType} (${path})`);
      if (a.source === "data" && a.access !== "readWrite") throw new Error(`${path} is a read-only data attribute`);
      // A static value is the script's own: later reads in this run see it. A device value changes when the
      // device reports it.
      if (a.source === "static") l.values.set(path, value);
      current?.writes.push([path, value]);
    },
    io: (op, target, name, args, deadline) => {
      if (current === null) return { e: "no script run is in progress" };
      io ??= new IoClient();
      return io.request({ op, instance: l.instance, target, name, args, deadline });
    },
    log: (level, message, script) => {
      if (current === null) return;
      let b = l.buckets.get(script);
      if (b === undefined) {
        b = {
          lines: new TokenBucket(LOG_LINES_PER_SEC, LOG_LINES_BURST),
          bytes: new TokenBucket(LOG_BYTES_PER_SEC, LOG_BYTES_BURST),
        };
        l.buckets.set(script, b);
      }
      if (b.lines.take() && b.bytes.take(message.length)) current.logs.push({ level, script, message });
      else current.dropped++;
    },
  };
}

function watchParent(): void {
  const parent = process.ppid;
  const w = new Worker(
    `const { workerData } = require("node:worker_threads");
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, "SIGKILL"); }, 500);`,
    { eval: true, workerData: parent, resourceLimits: { maxOldGenerationSizeMb: 8 } },
  );
  w.unref();
}
