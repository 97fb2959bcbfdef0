import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { WebhookEvent } from "../github/webhook.js";
import type { ControllerMetrics } from "../metrics.js";
import { BEAT, type FromWorker, READY, type ToWorker, type WorkerConfig } from "./protocol.js";

export interface ServerOptions {
  host: string;
  port: number;
  /** Webhook secret; without one, /webhook answers 404. */
  secret: string | undefined;
  metrics: ControllerMetrics;
  ready: () => boolean;
  onEvent: (event: WebhookEvent, delivery: string | undefined) => void;
  log: Logger;
  /** /healthz turns 503 when the main thread has not beaten for this long (default 60 s). */
  stallSeconds?: number;
}

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

const BEAT_MS = 500;

/**
 * The controller's HTTP endpoints (/healthz, /readyz, /metrics and the GitHub webhook receiver) in a worker thread,
 * so they answer within milliseconds during any compile. The main thread beats every 500 ms and publishes whether
 * it is ready; /healthz says 503 once it has been silent for stallSeconds (a compile that never ends).
 */
export async function startServer(o: ServerOptions): Promise<HttpServer> {
  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const beat = () => {
    Atomics.store(flags, READY, o.ready() ? 1 : 0);
    Atomics.store(flags, BEAT, Math.floor(Date.now() / 1000));
  };
  beat();
  const timer = setInterval(beat, BEAT_MS);
  timer.unref();
  const data: WorkerConfig = {
    host: o.host,
    port: o.port,
    secret: o.secret,
    shared,
    stallSeconds: o.stallSeconds ?? 60,
  };
  const worker = new Worker(workerEntry(), { workerData: data });
  const send = (m: ToWorker) => worker.postMessage(m);
  const port = await new Promise<number>((resolve, reject) => {
    worker.on("message", async (m: FromWorker) => {
      switch (m.t) {
        case "listening":
          return resolve(m.port);
        case "error":
          return reject(new Error(`the HTTP endpoints cannot listen on ${o.host}:${o.port}: ${m.message}`));
        case "event":
          return o.onEvent(m.event, m.delivery);
        case "delivery":
          o.metrics.webhookDeliveries.inc({ result: m.result });
          return;
        case "metrics":
          try {
            const text = await o.metrics.registry.metrics();
            send({ t: "metrics", id: m.id, type: o.metrics.registry.contentType, text });
          } catch (e) {
            // The worker answers 503 when no reply comes; the reason is logged here.
            o.log.error({ err: e instanceof Error ? e.message : String(e) }, "metrics not collected");
          }
          return;
        case "log":
          o.log[m.level](m.fields, m.msg);
          return;
      }
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the HTTP endpoints stopped (exit ${code})`)));
  });
  worker.on("error", (e) => o.log.error({ err: e.message }, "the HTTP endpoints failed"));
  return {
    port,
    close: async () => {
      clearInterval(timer);
      const exited = new Promise((r) => worker.once("exit", r));
      send({ t: "close" });
      // Keep-alive connections would hold a graceful close open; the worker goes within a second in any case.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1_000))]);
      await worker.terminate();
    },
  };
}

/** http-worker.js beside this module (the bundle, tsc's output), or the built one when running from source. */
function workerEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, "http-worker.js");
  if (existsSync(sibling)) return sibling;
  const built = join(here, "..", "..", "dist", "controller", "http", "http-worker.js");
  if (existsSync(built)) return built;
  throw new Error(`the controller's HTTP worker is not built (no http-worker.js beside ${here}): run npm run build`);
}
