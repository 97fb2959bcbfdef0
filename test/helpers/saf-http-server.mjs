// An HTTP receiver on 127.0.0.1 with fault injection, for the store-and-forward tests and bench: every request is
// recorded (method, path, headers, JSON body, Idempotency-Key), and a behaviour function decides each answer: a
// status, a delay, a connection reset, no answer at all, or a body dripped slowly. stop() closes the port (attempts
// are refused) and start() opens the same port again. Plain JS, shared by test/site/saf-*.test.ts and bench/.
import { createServer } from "node:http";

/** Answers 200 {"ok":true} to everything. */
export const OK = () => ({ status: 200 });

export async function startFaultServer({ port = 0, record = true } = {}) {
  const sockets = new Set();
  const requests = [];
  let behave = OK;
  let count = 0;
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const r = {
        n: ++count,
        method: req.method,
        path: req.url,
        headers: req.headers,
        key: req.headers["idempotency-key"] ?? null,
        body,
        at: Date.now(),
      };
      const f = behave(r) ?? { status: 200 };
      if (record && !f.unrecorded) requests.push(r);
      answer(req, res, f);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (p) =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(server.address().port);
      });
    });
  const actualPort = await listen(port);
  let up = true;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    requests,
    /** Sets how the next requests are answered: fn(request) → { status, body, delayMs, reset, hang, slowBody }. */
    behave(fn) {
      behave = fn;
    },
    /** Closes the port and every connection: new attempts are refused until start(). */
    async stop() {
      if (!up) return;
      up = false;
      const closed = new Promise((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async start() {
      if (up) return;
      await listen(actualPort);
      up = true;
    },
    get up() {
      return up;
    },
  };
}

function answer(req, res, f) {
  const send = () => {
    if (f.reset) {
      req.socket.destroy();
      return;
    }
    if (f.hang) return; // no answer: the client's timeout ends it (stop() closes the socket)
    const status = f.status ?? 200;
    const body = f.body ?? (status < 300 ? '{"ok":true}' : `{"error":"status ${status}"}`);
    if (f.slowBody) {
      // Headers at once, then one chunk per interval: a body that outlasts the client's timeout.
      res.writeHead(status, { "content-type": "application/json" });
      const { chunks = 50, intervalMs = 100 } = f.slowBody;
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i++ >= chunks) {
          clearInterval(t);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(" ");
      }, intervalMs);
      res.on("close", () => clearInterval(t));
      return;
    }
    res.writeHead(status, { "content-type": "application/json", ...(f.headers ?? {}) });
    res.end(body);
  };
  if (f.delayMs) setTimeout(send, f.delayMs);
  else send();
}
