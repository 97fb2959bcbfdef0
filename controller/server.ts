import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { parseEvent, verifySignature, type WebhookEvent } from "./github/webhook.js";
import type { ControllerMetrics } from "./metrics.js";

/** GitHub's largest webhook payload. */
const MAX_BODY = 25 * 1024 * 1024;

export interface ServerOptions {
  host: string;
  port: number;
  /** Webhook secret; without one, /webhook answers 404. */
  secret: string | undefined;
  metrics: ControllerMetrics;
  ready: () => boolean;
  onEvent: (event: WebhookEvent, delivery: string | undefined) => void;
  log: Logger;
}

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

/** The controller's HTTP endpoints: /healthz, /readyz, /metrics and the GitHub webhook receiver (/webhook). */
export async function startServer(o: ServerOptions): Promise<Server> {
  const send = (res: ServerResponse, status: number, body: string, type = "text/plain") => {
    res.writeHead(status, { "content-type": type }).end(body);
  };
  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/healthz") return send(res, 200, "ok\n");
      if (req.method === "GET" && path === "/readyz")
        return o.ready() ? send(res, 200, "ready\n") : send(res, 503, "not ready\n");
      if (req.method === "GET" && path === "/metrics")
        return send(res, 200, await o.metrics.registry.metrics(), o.metrics.registry.contentType);
      if (path === "/webhook" && o.secret) {
        if (req.method !== "POST") return send(res, 405, "POST only\n");
        const body = await readBody(req);
        if (!body) {
          o.metrics.webhookDeliveries.inc({ result: "too-large" });
          return send(res, 413, "payload too large\n");
        }
        const signature = req.headers["x-hub-signature-256"];
        if (!verifySignature(body, typeof signature === "string" ? signature : undefined, o.secret)) {
          o.metrics.webhookDeliveries.inc({ result: "unauthorized" });
          o.log.warn(
            { delivery: req.headers["x-github-delivery"] },
            "webhook delivery with a missing or wrong signature",
          );
          return send(res, 401, "bad signature\n");
        }
        let json: unknown;
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          o.metrics.webhookDeliveries.inc({ result: "bad-request" });
          return send(res, 400, "not JSON\n");
        }
        const event = parseEvent(req.headers["x-github-event"] as string | undefined, json);
        o.metrics.webhookDeliveries.inc({ result: event.type === "ignored" ? "ignored" : "accepted" });
        send(res, 202, "accepted\n");
        o.onEvent(event, req.headers["x-github-delivery"] as string | undefined);
        return;
      }
      send(res, 404, "not found\n");
    } catch (e) {
      o.log.error({ err: e }, "http handler failed");
      if (!res.headersSent) send(res, 500, "error\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return server;
}
