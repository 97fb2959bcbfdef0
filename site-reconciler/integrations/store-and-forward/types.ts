/** The three kinds of store-and-forward target (SPEC 8.3): an ExternalSystem, a NotificationList, a DatabaseConnection. */
export type TargetKind = "externalSystem" | "notificationList" | "databaseConnection";

export const TARGET_KINDS: readonly TargetKind[] = ["externalSystem", "notificationList", "databaseConnection"];

/** A target is named by its kind and its document's name; each one is a FIFO lane of its own. */
export interface TargetRef {
  kind: TargetKind;
  name: string;
}

/** The document's `retry`: a fixed interval between attempts, and the attempts before a message is parked. */
export interface RetryPolicy {
  intervalMs: number;
  maxAttempts: number;
}

/** How an ExternalSystem authenticates; secrets are names (SPEC 6.6), resolved at each delivery. */
export type HttpAuth =
  | { type: "none" }
  | { type: "apiKey"; header: string; secret: string }
  | { type: "basic"; username: string; passwordSecret: string }
  | { type: "bearer"; tokenSecret: string };

/** What the engine needs to know of a target, from its document in site.json. */
export interface TargetConfig extends TargetRef {
  retry: RetryPolicy;
  /** Per attempt (HTTP: the whole exchange, body included). Default 10 s. */
  timeoutMs?: number;
  /** Upper bound of attempts started per second on this target. Default DEFAULT_MAX_PER_SECOND. */
  maxPerSecond?: number;
  /** ExternalSystem only. */
  auth?: HttpAuth;
  /** The target's entry of site.json as it is, for deliverers that need more of it (an SMTP server, a database). */
  document?: unknown;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PER_SECOND = 100;

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * An HTTP request as stored (an ExternalSystem message). headers are plain ones: credentials come from the target's
 * auth at delivery time and are refused here, so no secret is ever stored in a message.
 */
export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON (Content-Type: application/json); absent: no body. */
  body?: unknown;
}

export interface EnqueueInput {
  target: TargetRef;
  /** What listings show of the message: the method, the subject. Never the payload. */
  label: string;
  /** The instance whose script enqueued it, for listings; the message outlives the instance. */
  instance?: string | null;
  /** The delivery's data, JSON; its shape belongs to the target kind's deliverer (HTTP: HttpRequest). */
  payload: unknown;
  /** A caller-chosen stable id (a UUID); default: a new random UUID. */
  id?: string;
}

/** A message as a deliverer sees it. */
export interface Message {
  seq: number;
  id: string;
  kind: TargetKind;
  target: string;
  label: string;
  payload: unknown;
  bytes: number;
  attempts: number;
  enqueuedAt: string;
}

/** The result of one delivery attempt. transient: retried after the interval; otherwise parked at once. */
export type Outcome = { ok: true } | { ok: false; transient: boolean; error: string };

/** A target kind's delivery: validate a payload when it is enqueued, deliver it once. */
export interface Deliverer {
  /** Throws (with words for a script) when a payload cannot be delivered at all. */
  validate(payload: unknown): void;
  /** One attempt. Never throws; signal aborts it when the engine stops (the outcome is then ignored). */
  deliver(message: Message, target: TargetConfig, signal: AbortSignal): Promise<Outcome>;
}

/** Queue and parked state of one target, for status.json (`health.storeAndForward`) and metrics. */
export interface TargetStatus extends TargetRef {
  queued: number;
  parked: number;
  /** enqueuedAt of the oldest queued message (ISO), null when none is queued. */
  oldestQueuedAt: string | null;
  /** Payload bytes of its queued and parked messages. */
  bytes: number;
  /**
   * Whether the site can deliver to it: site.json defines it and its kind has a deliverer. Messages of a target
   * that is not are held, neither sent nor parked.
   */
  configured: boolean;
}

/** A parked message as operators and the status branch see it: never its payload. */
export interface ParkedMessage extends TargetRef {
  id: string;
  label: string;
  instance: string | null;
  attempts: number;
  lastError: string | null;
  enqueuedAt: string;
  lastAttemptAt: string | null;
  parkedAt: string;
}

/**
 * Parked messages by what they are (a ParkedMessages document's `match`): every field given must match. target is a
 * name of any kind; label is the method (or the subject) the message was enqueued with.
 */
export interface ParkedMatch {
  target?: string | null;
  label?: string | null;
  instance?: string | null;
  /** ISO 8601, UTC or with an offset: parked strictly before it. */
  parkedBefore?: string | null;
}

/** Caps per site (Site.storeAndForward); queued and parked messages both count. */
export interface Caps {
  maxMessages: number;
  maxBytes: number;
  /** Largest payload of one message. */
  maxMessageBytes: number;
}

export const DEFAULT_CAPS: Caps = { maxMessages: 100_000, maxBytes: 256 * 2 ** 20, maxMessageBytes: 2 ** 20 };

/** Enqueueing into a full store: the caller's error (a script error), the message is not stored. */
export class StoreFullError extends Error {
  readonly code = "saf-full";
}

/** A message the engine refuses to store (unknown kind, invalid payload, too large, duplicate id). */
export class InvalidMessageError extends Error {
  readonly code = "saf-invalid";
}
