import type { WebhookEvent } from "../github/webhook.js";

/**
 * The controller's HTTP endpoints run in a worker thread (http-worker.ts), so a compile on the main thread never
 * holds an answer. They share two numbers with the main thread (an Int32Array over a SharedArrayBuffer): whether
 * the controller is ready, and when its main thread last beat (seconds). Everything else is a message.
 */
export const READY = 0;
export const BEAT = 1;

export interface WorkerConfig {
  host: string;
  port: number;
  secret: string | undefined;
  shared: SharedArrayBuffer;
  /** The main thread counts as stalled when it has not beaten for this long: /healthz answers 503. */
  stallSeconds: number;
}

export type FromWorker =
  | { t: "listening"; port: number }
  | { t: "error"; message: string }
  | { t: "event"; event: WebhookEvent; delivery: string | undefined }
  | { t: "delivery"; result: string }
  | { t: "metrics"; id: number }
  | { t: "log"; level: "info" | "warn" | "error"; fields: Record<string, unknown>; msg: string };

export type ToWorker = { t: "metrics"; id: number; type: string; text: string } | { t: "close" };
