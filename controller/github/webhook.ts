import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Verifies GitHub's X-Hub-Signature-256 header: "sha256=" + hex HMAC-SHA256 of the raw body with the shared
 * secret, compared in constant time. Anything unsigned, malformed or wrongly signed is false.
 */
export function verifySignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith("sha256=") || !secret) return false;
  const given = Buffer.from(header.slice("sha256=".length), "hex");
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The part of a webhook delivery the controller acts on. */
export type WebhookEvent =
  | { type: "push"; ref: string; after: string }
  | { type: "pull_request"; action: string; number: number; headSha: string; headRef: string; baseRef: string }
  | { type: "ping" }
  | { type: "ignored"; reason: string };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" ? (v as Json) : {});

/** Reads a (verified) delivery's event name and JSON body. */
export function parseEvent(name: string | undefined, body: unknown): WebhookEvent {
  const b = obj(body);
  if (name === "ping") return { type: "ping" };
  if (name === "push" && typeof b.ref === "string" && typeof b.after === "string")
    return { type: "push", ref: b.ref, after: b.after };
  if (name === "pull_request" && b.pull_request && typeof b.number === "number") {
    const pr = obj(b.pull_request);
    return {
      type: "pull_request",
      action: String(b.action),
      number: b.number,
      headSha: String(obj(pr.head).sha ?? ""),
      headRef: String(obj(pr.head).ref ?? ""),
      baseRef: String(obj(pr.base).ref ?? ""),
    };
  }
  return { type: "ignored", reason: `event ${name ?? "(none)"}` };
}
