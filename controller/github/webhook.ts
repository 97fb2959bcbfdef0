import { createHmac, timingSafeEqual } from "node:crypto";
import { isBranchName } from "../contract/branches.js";

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
  | { type: "ignored"; reason: string }
  /** A signed delivery whose fields cannot be used (answered 400). */
  | { type: "invalid"; reason: string };

/** A commit id as git writes it: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. */
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === "object" ? (v as Json) : {});

/** Reads a (verified) delivery's event name and JSON body. */
export function parseEvent(name: string | undefined, body: unknown): WebhookEvent {
  const b = obj(body);
  if (name === "ping") return { type: "ping" };
  // Every sha and ref from a payload is checked before anything uses it: they become git object paths and refs.
  if (name === "push" && typeof b.ref === "string" && typeof b.after === "string") {
    if (!SHA.test(b.after)) return { type: "invalid", reason: "push: after is not a commit id (40 or 64 hex digits)" };
    if (!b.ref.startsWith("refs/") || !isBranchName(b.ref.slice("refs/".length)))
      return { type: "invalid", reason: "push: ref is not a valid git ref" };
    return { type: "push", ref: b.ref, after: b.after };
  }
  if (name === "pull_request" && b.pull_request && typeof b.number === "number") {
    const pr = obj(b.pull_request);
    const headSha = String(obj(pr.head).sha ?? "");
    const headRef = String(obj(pr.head).ref ?? "");
    const baseRef = String(obj(pr.base).ref ?? "");
    if (!Number.isSafeInteger(b.number) || b.number < 1)
      return { type: "invalid", reason: "pull_request: number is not a pull request number" };
    if (!SHA.test(headSha))
      return { type: "invalid", reason: "pull_request: head.sha is not a commit id (40 or 64 hex digits)" };
    if (!isBranchName(headRef) || !isBranchName(baseRef))
      return { type: "invalid", reason: "pull_request: head.ref or base.ref is not a valid branch name" };
    return { type: "pull_request", action: String(b.action), number: b.number, headSha, headRef, baseRef };
  }
  return { type: "ignored", reason: `event ${name ?? "(none)"}` };
}
