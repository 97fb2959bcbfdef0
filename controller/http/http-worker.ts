/**
 * The controller's HTTP endpoints (/healthz, /readyz, /metrics, /webhook), in a worker thread started by server.ts:
 * they answer while the main thread compiles. Webhook deliveries are verified, parsed, checked and deduplicated
 * here; only accepted events cross to the main thread.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { parseEvent, verifySignature } from "../github/webhook.js";
import { RecentIds } from "./dedupe.js";
import { BEAT, type FromWorker, READY, type ToWorker, type WorkerConfig } from "./protocol.js";

/** GitHub's largest webhook payload. */
const MAX_BODY = 25 * 1024 * 1024;
/** Delivery ids remembered for deduplication (GitHub redelivers within hours; a replay after more is a new pass). */
const RECENT_DELIVERIES = 10_000;
/** How long /metrics waits for the main thread before it says the metrics are not available now. */
const METRICS_WAIT_MS = 5_000;

const config = workerData as WorkerConfig;
const shared = new Int32Array(config.shared);
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const log = (level: "info" | "warn" | "error", fields: Record<string, unknown>, msg: string) =>
  post({ t: "log", level, fields, msg });
const recent = new RecentIds(RECENT_DELIVERIES);

let metricsSeq = 0;
const waiting = new Map<number, (m: { type: string; text: string } | undefined) => void>();
port.on("message", (m: ToWorker) => {
  if (m.t === "metrics") waiting.get(m.id)?.(m);
  else if (m.t === "close") {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  }
});

function metrics(): Promise<{ type: string; text: string } | undefined> {
  const id = ++metricsSeq;
  post({ t: "metrics", id });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), METRICS_WAIT_MS);
    waiting.set(id, (m) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(m);
    });
  });
}

/** A body of at most MAX_BODY bytes; undefined when larger. Rejects when the client goes away. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** An aborted or reset connection: the client went away. One line, no stack. */
function clientGone(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") return String(code);
  return (e as { message?: unknown })?.message === "aborted" ? "aborted" : undefined;
}

/** Sockets whose breaking off was logged already: Node reports one both as a client error and to the request. */
const reported = new WeakSet<object>();
const once = (socket: object) => !reported.has(socket) && !!reported.add(socket);

const send = (res: ServerResponse, status: number, body: string, type = "text/plain") => {
  res.writeHead(status, { "content-type": type }).end(body);
};

async function webhook(req: IncomingMessage, res: ServerResponse, secret: string): Promise<void> {
  if (req.method !== "POST") return send(res, 405, "POST only\n");
  const delivery = req.headers["x-github-delivery"];
  const id = typeof delivery === "string" ? delivery : undefined;
  const body = await readBody(req);
  const result = (r: string) => post({ t: "delivery", result: r });
  if (!body) {
    result("too-large");
    return send(res, 413, "payload too large\n");
  }
  const signature = req.headers["x-hub-signature-256"];
  if (!verifySignature(body, typeof signature === "string" ? signature : undefined, secret)) {
    result("unauthorized");
    log("warn", { delivery: id }, "webhook delivery with a missing or wrong signature");
    return send(res, 401, "bad signature\n");
  }
  // Only a signed delivery's id is remembered: an unsigned request cannot block a real one.
  if (id !== undefined && !recent.first(id)) {
    result("duplicate");
    log("info", { delivery: id }, "webhook delivery already received: ignored");
    return send(res, 200, `delivery ${id} already received: ignored\n`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    result("bad-request");
    return send(res, 400, "not JSON\n");
  }
  const event = parseEvent(req.headers["x-github-event"] as string | undefined, json);
  if (event.type === "invalid") {
    result("bad-request");
    log("warn", { delivery: id, reason: event.reason }, "webhook delivery refused");
    return send(res, 400, `${event.reason}\n`);
  }
  result(event.type === "ignored" ? "ignored" : "accepted");
  send(res, 202, "accepted\n");
  if (event.type !== "ignored") post({ t: "event", event, delivery: id });
}

const server = createServer(async (req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  try {
    if (req.method === "GET" && path === "/healthz") {
      const silent = Math.floor(Date.now() / 1000) - Atomics.load(shared, BEAT);
      return silent <= config.stallSeconds
        ? send(res, 200, "ok\n")
        : send(res, 503, `the controller's main thread has not answered for ${silent} s\n`);
    }
    if (req.method === "GET" && path === "/readyz")
      return Atomics.load(shared, READY) === 1 ? send(res, 200, "ready\n") : send(res, 503, "not ready\n");
    if (req.method === "GET" && path === "/metrics") {
      const m = await metrics();
      return m ? send(res, 200, m.text, m.type) : send(res, 503, "metrics not available: the controller is busy\n");
    }
    if (path === "/webhook" && config.secret) return await webhook(req, res, config.secret);
    send(res, 404, "not found\n");
  } catch (e) {
    const gone = clientGone(e);
    if (gone) {
      if (once(req.socket)) log("warn", { path, reason: gone }, "request aborted by the client");
    } else log("error", { path, err: e instanceof Error ? e.message : String(e) }, "http handler failed");
    if (!res.headersSent && !res.destroyed) send(res, 500, "error\n");
  }
});
// A connection that breaks before a request is complete: one line, and the socket goes.
server.on("clientError", (e: Error & { code?: string }, socket) => {
  if (once(socket)) log("warn", { reason: e.code ?? e.message }, "connection closed before a complete request");
  socket.destroy();
});
server.once("error", (e) => post({ t: "error", message: e.message }));
server.listen(config.port, config.host, () => {
  const a = server.address();
  post({ t: "listening", port: typeof a === "object" && a ? a.port : config.port });
});
