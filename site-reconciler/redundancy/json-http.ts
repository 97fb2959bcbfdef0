import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { NONCE_HEADER } from "./peer-auth.js";

// The small JSON-over-HTTP pieces the peer link's server and the witness share.

/** Headers that sign an answer's status and body (none: the answer goes unsigned). */
export type AnswerSigner = (status: number, text: string) => Record<string, string>;

const UNSIGNED: AnswerSigner = () => ({});

export function sendJson(res: ServerResponse, status: number, body: unknown, sign: AnswerSigner = UNSIGNED): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...sign(status, text),
  });
  res.end(text);
}

/** The signer of every answer to a verified request: bound to that request's nonce. */
export function answerSigner(
  headers: IncomingHttpHeaders,
  auth: { signAnswer?(requestNonce: string, status: number, body: string): Record<string, string> },
): AnswerSigner {
  const nonce = headers[NONCE_HEADER];
  return typeof nonce === "string" && auth.signAnswer
    ? (status, text) => auth.signAnswer!(nonce, status, text)
    : UNSIGNED;
}

/** The request's body as text; null once it is over max bytes (read no further). */
export async function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Whether an answer is the one the other side signed for this request (its signed headers): an auth that cannot
 * verify answers (a stand-in) takes every answer, one that can takes only a signed one.
 */
export function answerIsSigned(
  auth: { verifyAnswer?(requestNonce: string, status: number, headers: Headers, body: string): boolean },
  requestHeaders: Record<string, string>,
  res: { status: number; headers: Headers },
  text: string,
): boolean {
  if (!auth.verifyAnswer) return true;
  const nonce = requestHeaders[NONCE_HEADER];
  return nonce !== undefined && auth.verifyAnswer(nonce, res.status, res.headers, text);
}
