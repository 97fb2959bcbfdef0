// A git smart-HTTP server on loopback for the controller benchmarks: the same worker as the tests'
// test/helpers/git-server.ts (test/helpers/git-http-worker.mjs), started without any TypeScript.
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { MessageChannel, Worker } from "node:worker_threads";

const execFileAsync = promisify(execFile);
const WORKER = new URL("../test/helpers/git-http-worker.mjs", import.meta.url);

/** Every git process ignores the user's config and inherited GIT_* variables, and never prompts. */
export const GIT_ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_"))),
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

const httpBackend = join(
  spawnSync("git", ["--exec-path"], { encoding: "utf8", env: GIT_ENV }).stdout.trim(),
  "git-http-backend",
);

/** Starts the server on an ephemeral port, serving the bare repos below root. */
export async function startGitServer({ root }) {
  // The worker wants a port for its request log; the benchmarks drop the entries (and never wait on the port).
  const log = new MessageChannel();
  log.port1.on("message", () => {});
  log.port1.unref();
  const worker = new Worker(WORKER, {
    workerData: { root, port: 0, backend: httpBackend, env: GIT_ENV, log: log.port2 },
    transferList: [log.port2],
  });
  let exited = false;
  const exit = once(worker, "exit").then(() => {
    exited = true;
  });
  const port = await new Promise((resolve, reject) => {
    worker.on("message", (m) => {
      if (m.type === "listening") resolve(m.port);
      else reject(new Error(`git server: ${m.message}`));
    });
    worker.once("error", reject);
    void exit.then(() => reject(new Error("git server worker exited")));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    root,
    repoUrl: (name) => `${url}/${name}.git`,
    /** Creates <root>/<name>.git (bare, default branch main, pushes allowed) and returns its path. */
    async createBareRepo(name) {
      const path = join(root, `${name}.git`);
      mkdirSync(dirname(path), { recursive: true });
      await execFileAsync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path], { env: GIT_ENV });
      await execFileAsync("git", ["-C", path, "config", "http.receivepack", "true"], { env: GIT_ENV });
      return path;
    },
    /** Closes the server, its connections and running CGI children. */
    async stop() {
      if (!exited) worker.postMessage("stop");
      await exit;
      log.port1.close();
    },
  };
}
