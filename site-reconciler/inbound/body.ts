import type { IncomingMessage } from "node:http";

/** The largest request body read: a method's named parameters, not a file upload. */
export const MAX_BODY_BYTES = 1024 * 1024;

export type BodyText = { ok: true; text: string } | { ok: false; status: 400 | 413; reason: string };

/**
 * Reads a request body of at most `max` bytes as UTF-8. A declared or streamed length beyond it stops the read at
 * once (413), so a large upload is never buffered; bytes that are not UTF-8 are a 400, never replaced silently.
 */
export function readBody(req: IncomingMessage, max = MAX_BODY_BYTES): Promise<BodyText> {
  const tooLarge: BodyText = { ok: false, status: 413, reason: `the body is larger than ${max} bytes` };
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyText) => {
      if (done) return;
      done = true;
      req.off("data", onData);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        return finish(tooLarge);
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      try {
        finish({ ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)) });
      } catch {
        finish({ ok: false, status: 400, reason: "the body is not UTF-8" });
      }
    });
    // A client gone mid-body gets no answer; the caller sees the connection closed.
    req.once("error", () => finish({ ok: false, status: 400, reason: "the body was not received whole" }));
    req.once("close", () => finish({ ok: false, status: 400, reason: "the body was not received whole" }));
  });
}
