import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_FILE_BYTES } from "../../controller/compiler/load/parse-file.js";
import { Controller } from "../../controller/controller.js";
import { tempDir } from "../helpers/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";
import { type GitServer, seedRepo, startGitServer } from "../helpers/git-server.js";
import { AUTO, git, trailers } from "./helpers.js";

// The controller's HTTP endpoints against what stalled or misled them: a compile of a large file on the main
// thread, a replayed delivery, shas that are paths, connections that break off.

const SECRET = "webhook-s3cret";
const TOKEN = "gh-t0ken";
let server: GitServer;
let gh: FakeGitHub;
let counter = 0;
const running: Controller[] = [];

beforeAll(async () => {
  server = await startGitServer();
  gh = await startFakeGitHub({ token: TOKEN });
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});
afterAll(async () => {
  await gh.stop();
  await server.stop();
});

async function until<T>(what: string, probe: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = probe();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

/** A controller (with a log this test reads) on a seeded repo, after its first deploy. */
async function started() {
  const name = `http${++counter}`;
  const { clone, sha } = await seedRepo(server, name, AUTO as Record<string, string>);
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
  const c = await Controller.create(
    {
      repo: server.repoUrl(name),
      stateDir: tempDir("ctrl"),
      mainBranch: "main",
      pollIntervalMs: 3_600_000,
      http: { host: "127.0.0.1", port: 0, secret: SECRET },
      github: { owner: "acme", repo: name, token: TOKEN, apiUrl: gh.url, throttle: false },
    },
    log,
  );
  running.push(c);
  await c.start();
  const bare = join(server.root, `${name}.git`);
  await until("the first deploy", () => trailers(bare).length > 0);
  return { c, clone, sha, bare, base: `http://127.0.0.1:${c.address!.port}`, lines };
}

const sign = (body: string) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
function deliver(base: string, event: string, body: string, id = `d-${Math.random()}`) {
  return fetch(`${base}/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": id,
      "x-hub-signature-256": sign(body),
    },
    body,
  });
}

/** An instance file of 4 MiB, a labels map of about 300,000 short keys: valid, deploys, and the largest compile. */
const bigInstance = (value = "v") => {
  const lines: string[] = [];
  for (let i = 0, size = 200; size < MAX_FILE_BYTES - 300; i++)
    size += lines[lines.push(`  k${i}: ${value}`) - 1]!.length + 1;
  return `${AUTO["instances/more.yaml"]}labels:\n${lines.join("\n")}\n`;
};

const PROBER = fileURLToPath(new URL("../helpers/http-prober.mjs", import.meta.url));

interface Probe {
  name: string;
  /** Date.now() when sent. */
  at: number;
  ms: number;
  status: number;
}

/**
 * Probes /healthz, /readyz and /webhook from another process until stopped (in this process the probes would wait
 * for the controller's main thread like everything else); returns each probe.
 */
async function probe(base: string) {
  const child = spawn(process.execPath, [PROBER, base, SECRET], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const exited = new Promise((r) => child.on("exit", r));
  await new Promise((r) => setTimeout(r, 300)); // running before the compile starts
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 200)); // and after it
      child.stdin.end("stop\n");
      await exited;
      const { bad, probes } = JSON.parse(out) as { bad: number[]; probes: Probe[] };
      expect(bad).toEqual([]);
      return probes;
    },
  };
}

/** The probes sent while a compile ran (from, to: Date.now()); no probe may exceed the bound. */
function during(probes: Probe[], from: number, to: number): Probe[] {
  const all = probes.map((p) => `${p.name}:${Math.round(p.ms)}`).join(" ");
  // A bound that holds on a loaded machine; npm run bench reports the figure (target 100 ms).
  expect(Math.max(...probes.map((p) => p.ms)), all).toBeLessThan(500);
  return probes.filter((p) => p.at >= from && p.at <= to);
}

describe("the controller's HTTP endpoints", () => {
  it("answer within a bound while the controller compiles a 4 MiB file from main and from a pull request", async () => {
    const s = await started();
    s.clone.write({ "instances/more.yaml": bigInstance() });
    const sha = s.clone.commit("300,000 labels");
    s.clone.push();
    const p = await probe(s.base);
    const t0 = Date.now();
    await s.c.reconcile();
    const t1 = Date.now();
    const duringMain = during(await p.stop(), t0, t1);
    expect(trailers(s.bare)[0]?.sourceCommit).toBe(sha);
    // The pass took long enough for many probes to fall inside it.
    expect(t1 - t0).toBeGreaterThan(500);
    expect(duringMain.length).toBeGreaterThan(6);

    s.clone.git("checkout", "-q", "-B", "bigger");
    s.clone.write({ "instances/more.yaml": bigInstance("w") });
    const head = s.clone.commit("every label changed");
    s.clone.push("bigger");
    git(s.bare, "update-ref", "refs/pull/5/head", head);
    const body = JSON.stringify({
      action: "opened",
      number: 5,
      pull_request: { head: { sha: head, ref: "bigger" }, base: { ref: "main" } },
    });
    const q = await probe(s.base);
    const t2 = Date.now();
    expect((await deliver(s.base, "pull_request", body)).status).toBe(202);
    const run = await until(
      "the completed check run",
      () => [...gh.checkRuns.values()].find((r) => r.head_sha === head && r.status === "completed"),
      120_000,
    );
    const t3 = Date.now();
    const duringPr = during(await q.stop(), t2, t3);
    expect(run.conclusion).toBe("success");
    expect(t3 - t2).toBeGreaterThan(500);
    expect(duringPr.length).toBeGreaterThan(6);
  });

  it("a replayed delivery (same X-GitHub-Delivery) does nothing", async () => {
    const s = await started();
    s.clone.git("checkout", "-q", "-B", "feature");
    s.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}description: changed\n` });
    const head = s.clone.commit("described");
    s.clone.push("feature");
    git(s.bare, "update-ref", "refs/pull/9/head", head);
    const body = JSON.stringify({
      action: "opened",
      number: 9,
      pull_request: { head: { sha: head, ref: "feature" }, base: { ref: "main" } },
    });
    const checkRuns = () => gh.requests.filter((r) => r.method === "POST" && r.path.endsWith("/check-runs")).length;
    const before = checkRuns();
    expect((await deliver(s.base, "pull_request", body, "delivery-1")).status).toBe(202);
    await until("the check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === head));
    const replay = await deliver(s.base, "pull_request", body, "delivery-1");
    expect(replay.status).toBe(200);
    expect(await replay.text()).toMatch(/delivery delivery-1 already received: ignored/);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(checkRuns() - before).toBe(1);
    // Another delivery of the same event is a new one (GitHub's "redeliver" keeps the id: that is the replay).
    expect((await deliver(s.base, "pull_request", body, "delivery-2")).status).toBe(202);
    await until("a second check run", () => checkRuns() - before === 2);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/scadalink_webhook_deliveries_total\{result="duplicate"\} 1/);
  });

  it("refuses shas and refs that are not commit ids or branch names, before using them", async () => {
    const s = await started();
    const checkRuns = () => gh.requests.filter((r) => r.method === "POST" && r.path.endsWith("/check-runs")).length;
    const before = checkRuns();
    const pr = (sha: string, ref = "feature") =>
      JSON.stringify({ action: "opened", number: 3, pull_request: { head: { sha, ref }, base: { ref: "main" } } });
    for (const [body, why] of [
      [pr("../../../../../etc/passwd"), /head\.sha is not a commit id/],
      [pr("HEAD~1"), /head\.sha is not a commit id/],
      [pr("A".repeat(40)), /head\.sha is not a commit id/],
      [pr(s.sha, "../../x"), /head\.ref or base\.ref is not a valid branch name/],
      [pr(s.sha, "a\u001bb"), /not a valid branch name/],
    ] as const) {
      const res = await deliver(s.base, "pull_request", body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(why);
    }
    const push = await deliver(s.base, "push", JSON.stringify({ ref: "refs/heads/main", after: "../objects/x" }));
    expect(push.status).toBe(400);
    await new Promise((r) => setTimeout(r, 500));
    // Nothing was planned or deployed.
    expect(checkRuns()).toBe(before);
    expect(trailers(s.bare).map((t) => t.sourceCommit)).toEqual([s.sha]);
  });

  it.each([
    [
      "in its body",
      "POST /webhook HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    ],
    ["in its headers", "POST /webhook HTTP/1.1\r\nHost: x\r\ncontent-ty"],
  ])("a connection that breaks off %s is one log line, without a stack", async (_, half) => {
    const s = await started();
    s.lines.length = 0;
    await new Promise<void>((resolve, reject) => {
      const sock = connect(s.c.address!.port, "127.0.0.1", () => {
        sock.write(half);
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100);
      });
      sock.on("error", reject);
    });
    const aborted = await until("the log line", () => {
      const l = s.lines.filter((x) => /aborted|closed before/.test(x));
      return l.length ? l : false;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(
      s.lines.filter((x) => /aborted|closed before/.test(x)),
      s.lines.join(""),
    ).toHaveLength(1);
    expect(aborted[0]).toMatch(/connection closed before a complete request|request aborted by the client/);
    expect(s.lines.join("")).not.toMatch(/"stack"|\\n\s+at /);
    // The endpoints go on.
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
  });
});
