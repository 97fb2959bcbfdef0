import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";

/** git for the demo: no prompts, none of the user's configuration, no inherited GIT_* variables. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_"))),
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

const IDENTITY = ["-c", "user.name=ScadaLink demo", "-c", "user.email=demo@scadalink.invalid"];

/** Runs a local git command (no network); throws with its stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", [...IDENTITY, ...args], { cwd, env: GIT_ENV, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Runs git without blocking the event loop: needed for anything that talks to the in-process git server. */
export function gitAsync(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("git", [...IDENTITY, ...args], { cwd, env: GIT_ENV, encoding: "utf8" }, (err, stdout, stderr) =>
      err ? reject(new Error(`git ${args.join(" ")}: ${stderr.trim() || err.message}`)) : resolve(stdout.trim()),
    ),
  );
}

export interface GitServer {
  url(repo: string): string;
  close(): Promise<void>;
}

/**
 * A git smart-HTTP server for the bare repositories below root, on 127.0.0.1 only: node:http in front of git's own
 * `git http-backend` CGI, which does the protocol (clone, fetch, push).
 */
export async function startGitServer(root: string): Promise<GitServer> {
  const backend = join(git(root, "--exec-path"), "git-http-backend");
  const children = new Set<ChildProcess>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => cgi(backend, root, req, res, children));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of children) c.kill("SIGKILL");
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function cgi(backend: string, root: string, req: IncomingMessage, res: ServerResponse, children: Set<ChildProcess>) {
  const u = new URL(req.url ?? "/", "http://127.0.0.1");
  const h = req.headers;
  const env: NodeJS.ProcessEnv = {
    ...GIT_ENV,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    REMOTE_ADDR: "127.0.0.1",
    // receive-pack takes the pusher's identity from REMOTE_USER.
    REMOTE_USER: "scadalink-demo",
  };
  if (h["content-type"]) env.CONTENT_TYPE = h["content-type"];
  if (h["content-length"]) env.CONTENT_LENGTH = h["content-length"];
  if (h["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(h["content-encoding"]);
  if (h["git-protocol"]) env.HTTP_GIT_PROTOCOL = String(h["git-protocol"]);
  const child = spawn(backend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdin.on("error", () => {});
  req.pipe(child.stdin);
  res.on("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const fail = (why: string) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`git http-backend failed: ${why}\n${stderr}`);
  };
  // The CGI answers with headers, a blank line, then the body.
  let head = Buffer.alloc(0);
  let inBody = false;
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const m = /\r?\n\r?\n/.exec(head.toString("latin1"));
    if (!m) return;
    inBody = true;
    child.stdout.off("data", onData);
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, m.index).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
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
    if (!inBody) fail(`exit ${code ?? signal} before headers`);
    else if (code !== 0 && !res.writableEnded) res.destroy();
  });
}
