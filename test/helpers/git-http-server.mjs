// Starts the git smart-HTTP server of git-http-worker.mjs in a worker thread. Plain JS, shared by the tests'
// git-server.ts and the controller benchmarks, which run without any TypeScript.
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";

const execFileAsync = promisify(execFile);
const WORKER = new URL("./git-http-worker.mjs", import.meta.url);

/**
 * Environment for every git process: no prompts, the user's global/system config is ignored (so
 * commit.gpgsign or url.*.insteadOf cannot leak in), and inherited GIT_* variables are dropped (a
 * pre-commit hook running the tests sets GIT_DIR and GIT_INDEX_FILE).
 */
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

/**
 * Serves the bare repos below root on 127.0.0.1:port (0: an ephemeral port). A worker thread, since callers
 * that block their event loop on spawnSync'd git would deadlock a server living on it.
 */
export async function startGitHttpServer({ root, port = 0 }) {
  const log = new MessageChannel();
  const worker = new Worker(WORKER, {
    workerData: { root, port, backend: httpBackend, env: GIT_ENV, log: log.port2 },
    transferList: [log.port2],
  });
  let exited = false;
  const exit = once(worker, "exit").then(() => {
    exited = true;
  });
  const bound = await new Promise((resolve, reject) => {
    worker.on("message", (m) => {
      if (m.type === "listening") resolve(m.port);
      else reject(new Error(`git server: ${m.message}`));
    });
    worker.once("error", reject);
    void exit.then(() => reject(new Error("git server worker exited")));
  });
  const url = `http://127.0.0.1:${bound}`;
  // Read synchronously, so entries are there right after a spawnSync'd git command returns.
  const drainLog = () => {
    const out = [];
    for (let m = receiveMessageOnPort(log.port1); m; m = receiveMessageOnPort(log.port1)) out.push(m.message);
    return out;
  };
  return {
    url,
    root,
    port: bound,
    repoUrl: (name) => `${url}/${name}.git`,
    async createBareRepo(name) {
      const path = join(root, `${name}.git`);
      mkdirSync(dirname(path), { recursive: true });
      await execFileAsync("git", ["init", "--quiet", "--bare", "--initial-branch=main", path], { env: GIT_ENV });
      await execFileAsync("git", ["-C", path, "config", "http.receivepack", "true"], { env: GIT_ENV });
      return path;
    },
    drainLog,
    async stop() {
      if (!exited) worker.postMessage("stop");
      await exit;
      log.port1.close();
    },
  };
}
