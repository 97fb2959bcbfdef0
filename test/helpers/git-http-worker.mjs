// A git smart-HTTP server on loopback, backed by the native `git http-backend` CGI. Runs in a worker thread
// (started by git-http-server.mjs): callers that block their own event loop on spawnSync'd git would deadlock
// a server living on it. Plain JS, since a worker cannot load the TypeScript sources.
// workerData: { root, port, backend (path of git-http-backend), env (for git), log (a MessagePort for request logs) }.
import { spawn } from "node:child_process";
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { root, port, backend, env: gitEnv, log } = workerData;
const sockets = new Set();
const children = new Set();

const server = http.createServer((req, res) => {
  const writeHead = res.writeHead;
  res.writeHead = function (status, ...rest) {
    // Logged before any byte reaches the client, so the entry is there once the client is done.
    log.postMessage({ method: req.method, path: req.url, status });
    return writeHead.call(this, status, ...rest);
  };
  runCgi(req, res);
});
server.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
server.on("error", (e) => parentPort.postMessage({ type: "error", message: String(e.message) }));
server.listen(port, "127.0.0.1", () => parentPort.postMessage({ type: "listening", port: server.address().port }));
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  server.close(() => process.exit(0));
  for (const c of children) c.kill("SIGKILL");
  for (const s of sockets) s.destroy();
});

function runCgi(req, res) {
  const u = new URL(req.url || "/", "http://127.0.0.1");
  const h = req.headers;
  const env = {
    ...gitEnv,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/" + req.httpVersion,
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    REMOTE_ADDR: "127.0.0.1",
    // receive-pack derives the reflog identity from REMOTE_USER
    REMOTE_USER: basicAuthUser(h.authorization) || "scadalink-test",
  };
  if (h["content-type"]) env.CONTENT_TYPE = h["content-type"];
  if (h["content-length"]) env.CONTENT_LENGTH = h["content-length"];
  // clients gzip upload-pack requests; http-backend inflates them when told
  if (h["content-encoding"]) env.HTTP_CONTENT_ENCODING = h["content-encoding"];
  if (h["git-protocol"]) env.HTTP_GIT_PROTOCOL = h["git-protocol"];

  const child = spawn(backend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // the CGI may exit without reading the whole body (errors): ignore EPIPE
  child.stdin.on("error", () => {});
  req.pipe(child.stdin);
  res.on("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  const fail = (why) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(500, { "content-type": "text/plain" });
    res.end("git http-backend failed: " + why + "\n" + stderr);
  };

  let head = Buffer.alloc(0);
  let inBody = false;
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString("latin1"));
    if (!m) return;
    inBody = true;
    child.stdout.off("data", onData);
    let status = 200;
    const headers = {};
    for (const line of head.subarray(0, m.index).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = parseInt(value, 10) || 500;
      else headers[name] = name in headers ? [].concat(headers[name], value) : value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(m.index + m[0].length));
    child.stdout.pipe(res);
  };
  child.stdout.on("data", onData);

  child.on("error", (e) => {
    children.delete(child);
    fail(e.message);
  });
  child.on("close", (code, signal) => {
    children.delete(child);
    if (!inBody) fail("exit " + (code ?? signal) + " before headers");
    else if (code !== 0 && !res.writableEnded) res.destroy();
  });
}

function basicAuthUser(auth) {
  const m = /^Basic\s+(\S+)/i.exec(auth || "");
  return m ? Buffer.from(m[1], "base64").toString().split(":")[0] || undefined : undefined;
}
