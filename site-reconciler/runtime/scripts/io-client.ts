import { existsSync } from "node:fs";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { IoReply, IoRequest } from "./protocol.js";

/** The file descriptor of the I/O pipe the pool gives each host (stdio index 4 of its fork). */
export const IO_FD = 4;

/**
 * The I/O thread: relays requests from the host's main thread to the site over the pipe and answers back. It is
 * its own event loop, so the main thread can block on a script's synchronous call while the pipe is read.
 */
const IO_WORKER = `
const { workerData } = require("node:worker_threads");
const net = require("node:net");
const { flag, port, fd } = workerData;
const sock = new net.Socket({ fd, readable: true, writable: true });
sock.setEncoding("utf8");
let buf = "";
const answer = (m) => { port.postMessage(m); Atomics.add(flag, 0, 1); Atomics.notify(flag, 0); };
sock.on("data", (d) => {
  buf += d;
  for (let i = buf.indexOf("\\n"); i >= 0; i = buf.indexOf("\\n")) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    try { answer(JSON.parse(line)); } catch {}
  }
});
sock.on("error", () => {});
sock.on("close", () => answer({ closed: true }));
port.on("message", (m) => sock.write(m + "\\n"));
`;

/**
 * The script host's side of the synchronous script API calls (externalSystem.call, database.query, and the cached
 * ones, which wait for the site's commit). request() blocks the calling thread until the site answers or the
 * deadline passes, whichever is first; an answer that comes later is dropped by its id.
 */
export class IoClient {
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  readonly #port: MessageChannel["port1"] | null;
  #seq = 0;
  #closed = false;

  constructor(fd = IO_FD) {
    // No pipe (a sandbox outside a pool host): calls fail at once rather than wait for a thread that cannot start.
    if (process.platform === "linux" && !existsSync(`/proc/self/fd/${fd}`)) {
      this.#port = null;
      return;
    }
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(IO_WORKER, {
      eval: true,
      workerData: { flag: this.#flag, port: port2, fd },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    w.unref();
    w.on("error", () => {
      this.#closed = true;
    });
    port1.unref();
    this.#port = port1;
  }

  request(r: IoRequest): IoReply {
    const port = this.#port;
    if (port === null || this.#closed) return { e: "the site cannot be reached from this script host" };
    const id = ++this.#seq;
    let text: string;
    try {
      text = JSON.stringify({ id, ...r });
    } catch {
      return { e: "the arguments are not JSON data" };
    }
    port.postMessage(text);
    for (;;) {
      const seen = Atomics.load(this.#flag, 0);
      const got = receiveMessageOnPort(port);
      if (got !== undefined) {
        const m = got.message as ({ id: number } & IoReply) | { closed: true };
        if ("closed" in m) {
          this.#closed = true;
          return { e: "the site closed the connection to this script host" };
        }
        if (m.id !== id) continue; // the answer to a call that timed out earlier
        const { id: _, ...reply } = m;
        return reply;
      }
      const left = r.deadline - Date.now();
      if (left <= 0) return { e: `no answer before the script's timeout` };
      Atomics.wait(this.#flag, 0, seen, left);
    }
  }
}
