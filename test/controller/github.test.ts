import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Controller } from "../../controller/controller.js";
import { annotationRange } from "../../controller/github/reporter.js";
import { BASE } from "../helpers/base-repo.js";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";
import { type GitServer, seedRepo, startGitServer } from "../helpers/git-server.js";
import { AUTO, controllerFor, git, trailers } from "./helpers.js";

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

async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = probe();
    } catch {
      v = undefined; // not there yet (the deploy branch may not exist)
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

/** A seeded repo and a started controller with the HTTP endpoints, the webhook secret and GitHub reporting. */
async function started() {
  const name = `gh${++counter}`;
  const { clone, sha } = await seedRepo(server, name, AUTO as Record<string, string>);
  const c = await controllerFor(server.repoUrl(name), {
    http: { host: "127.0.0.1", port: 0, secret: SECRET },
    github: { owner: "acme", repo: name, token: TOKEN, apiUrl: gh.url, throttle: false },
  });
  running.push(c);
  await c.start();
  const bare = join(server.root, `${name}.git`);
  await until("the first deploy", () => trailers(bare).length > 0);
  const base = `http://127.0.0.1:${c.address!.port}`;
  return { c, clone, sha, bare, base, name };
}

const sign = (body: string, secret = SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
function deliver(base: string, event: string, body: string, signature: string | undefined) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": `d-${Math.random()}`,
  };
  if (signature !== undefined) headers["x-hub-signature-256"] = signature;
  return fetch(`${base}/webhook`, { method: "POST", headers, body });
}

describe("the webhook receiver", () => {
  it("accepts a signed push and deploys the pushed commit", async () => {
    const s = await started();
    s.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1234\n` });
    const sha = s.clone.commit("rated 1234");
    s.clone.push();
    const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
    const res = await deliver(s.base, "push", body, sign(body));
    expect(res.status).toBe(202);
    await until("the deploy of the pushed commit", () => trailers(s.bare)[0]?.sourceCommit === sha);
  });

  /** Pushes a commit that a (wrongly) delivered push event would deploy. */
  const pushed = (s: Awaited<ReturnType<typeof started>>) => {
    s.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1777\n` });
    const sha = s.clone.commit("rated 1777");
    s.clone.push();
    return JSON.stringify({ ref: "refs/heads/main", after: sha });
  };
  const stillAtSeed = async (s: Awaited<ReturnType<typeof started>>) => {
    await new Promise((r) => setTimeout(r, 700)); // a signed delivery deploys well within this
    expect(trailers(s.bare).map((t) => t.sourceCommit)).toEqual([s.sha]);
  };

  it("answers 401 to an unsigned delivery and acts on nothing", async () => {
    const s = await started();
    const body = pushed(s);
    expect((await deliver(s.base, "push", body, undefined)).status).toBe(401);
    await stillAtSeed(s);
  });

  it("answers 401 to a delivery signed with another secret", async () => {
    const s = await started();
    const body = pushed(s);
    expect((await deliver(s.base, "push", body, sign(body, "not-the-secret"))).status).toBe(401);
    expect((await deliver(s.base, "push", body, "sha256=zz")).status).toBe(401);
    expect((await deliver(s.base, "push", body, sign(body).replace("sha256=", "sha1="))).status).toBe(401);
    await stillAtSeed(s);
  });

  it("answers 401 to a signed delivery replayed with a changed body", async () => {
    const s = await started();
    const body = JSON.stringify({ ref: "refs/heads/main", after: s.sha });
    const signature = sign(body);
    expect((await deliver(s.base, "push", body, signature)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 700)); // the pass it triggers finds nothing new
    const tampered = pushed(s);
    expect((await deliver(s.base, "push", tampered, signature)).status).toBe(401);
    await stillAtSeed(s);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/scadalink_webhook_deliveries_total\{result="unauthorized"\} 1/);
    expect(metrics).toMatch(/scadalink_webhook_deliveries_total\{result="accepted"\} 1/);
  });
});

describe("commit statuses on main", () => {
  it("one context per site: pending until the site applies the deploy, then success or the failing instances", async () => {
    const s = await started();
    const deploy = git(s.bare, "rev-parse", "scadalink/deploy");
    const manifest = JSON.parse(git(s.bare, "show", "scadalink/deploy:sites/plant-north/manifest.json"));
    await until("pending", () => gh.statuses(s.sha)[0]?.state === "pending");
    const report = (result: "pass" | "login-blocked") => {
      const work = join(server.root, `${s.name}-site-${result}`);
      const status = {
        apiVersion: "scadalink/v1",
        kind: "SiteStatus",
        site: "plant-north",
        sequence: 1,
        reportedAt: "2026-04-20T10:00:00.000Z",
        deployCommit: deploy,
        siteRevisionHash: manifest.siteRevisionHash,
        instances: Object.fromEntries(
          Object.entries(manifest.instances).map(([name, hash]) => [
            name,
            { revisionHash: hash, state: "enabled", result: name === "Pump08" ? result : "pass", message: null },
          ]),
        ),
        health: { lastPoll: "2026-04-20T10:00:00.000Z", connections: [], tags: { resolved: 1, unresolved: 0, bad: 0 } },
      };
      git(`${work}/.git`, "init", "-q", "-b", "scadalink/status/plant-north", work);
      writeFileSync(join(work, "status.json"), JSON.stringify(status));
      git(`${work}/.git`, "--work-tree", work, "add", "-A");
      git(`${work}/.git`, "--work-tree", work, "commit", "-q", "-m", "status");
      git(
        `${work}/.git`,
        "push",
        "-q",
        "--force",
        server.repoUrl(s.name),
        "HEAD:refs/heads/scadalink/status/plant-north",
      );
    };
    report("pass");
    await s.c.reconcile();
    expect(gh.statuses(s.sha)[0]).toMatchObject({
      context: "scadalink/plant-north",
      state: "success",
      description: `applied by plant-north: deploy ${deploy.slice(0, 7)}, 2 instances`,
    });
    report("login-blocked");
    await s.c.reconcile();
    expect(gh.statuses(s.sha)[0]).toMatchObject({
      state: "failure",
      description: "1 of 2 instances failed on plant-north: Pump08 login-blocked",
    });
  });
});

describe("operations endpoints", () => {
  it("serve /healthz, /readyz and Prometheus metrics", async () => {
    const s = await started();
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    // Ready once a pass has completed (the deploy branch moves just before the pass ends).
    const deadline = Date.now() + 5000;
    while ((await fetch(`${s.base}/readyz`)).status !== 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 40));
    expect((await fetch(`${s.base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    for (const name of [
      "scadalink_compile_duration_seconds_count",
      "scadalink_deploy_commits_total 1",
      "scadalink_last_success_timestamp_seconds",
      "scadalink_controller_process_cpu_seconds_total",
    ]) {
      expect(metrics).toContain(name);
    }
  });

  it("are not ready while the first pass cannot complete, and stop cleanly", async () => {
    const c = await controllerFor("http://127.0.0.1:9/nothing.git", { http: { host: "127.0.0.1", port: 0 } });
    await c.start();
    const base = `http://127.0.0.1:${c.address!.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/webhook`, { method: "POST", body: "{}" })).status).toBe(404); // no secret: no webhook
    await c.stop();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe("pull requests", () => {
  it("get one check run per head and one plan comment, updated in place, listing every affected instance with its member-level diff", async () => {
    const s = await started();
    const pr = 7;
    const change = (threshold: number) => {
      s.clone.git("checkout", "-q", "-B", "faster");
      s.clone.write({
        "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1450 }", `value: ${threshold} }`),
      });
      const sha = s.clone.commit(`over-speed at ${threshold}`);
      s.clone.push("faster");
      git(s.bare, "update-ref", `refs/pull/${pr}/head`, sha); // as GitHub keeps a pull request's head
      return sha;
    };
    const event = (action: string, sha: string) =>
      JSON.stringify({ action, number: pr, pull_request: { head: { sha, ref: "faster" }, base: { ref: "main" } } });

    const first = change(1500);
    let body = event("opened", first);
    expect((await deliver(s.base, "pull_request", body, sign(body))).status).toBe(202);
    const comment = await until("the plan comment", () => gh.comments(pr)[0]);
    expect(comment.body).toContain("<!-- scadalink-plan -->");
    for (const pump of ["Pump07", "Pump08"]) expect(comment.body).toContain(`\`${pump}\``);
    expect(comment.body).toContain("OverSpeed.trigger.value: 1450 → 1500");
    expect(comment.body).toMatch(
      /2 instances change at 1 site \(rollout auto\): 0 added, 2 changed, 0 removed, 0 unchanged/,
    );
    const run = await until("the check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === first));
    expect(run).toMatchObject({ name: "scadalink", status: "completed", conclusion: "success" });

    const second = change(1550);
    body = event("synchronize", second);
    await deliver(s.base, "pull_request", body, sign(body));
    await until("the updated comment", () => gh.comments(pr)[0]?.body.includes("1450 → 1550"));
    expect(gh.comments(pr)).toHaveLength(1);
    expect(gh.requests.filter((r) => r.method === "PATCH" && r.path.includes("/issues/comments/"))).toHaveLength(1);
    await until("the second check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === second));
    // Planning a pull request deploys nothing.
    expect(trailers(s.bare)).toHaveLength(1);
  });

  it("with errors get a failing check run with file/line annotations and a comment saying nothing would be released", async () => {
    const s = await started();
    s.clone.git("checkout", "-q", "-B", "broken");
    s.clone.write({ "instances/more.yaml": AUTO["instances/more.yaml"]!.replace("area: Line2", "area: Line9") });
    const sha = s.clone.commit("wrong area");
    s.clone.push("broken");
    git(s.bare, "update-ref", "refs/pull/8/head", sha);
    const body = JSON.stringify({
      action: "opened",
      number: 8,
      pull_request: { head: { sha, ref: "broken" }, base: { ref: "main" } },
    });
    await deliver(s.base, "pull_request", body, sign(body));
    const run = await until("the check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === sha));
    expect(run.conclusion).toBe("failure");
    expect(run.annotations).toMatchObject([
      // `area: Line9`: the value's range, its last character inclusive as GitHub counts.
      {
        path: "instances/more.yaml",
        start_line: 4,
        end_line: 4,
        start_column: 7,
        end_column: 11,
        annotation_level: "failure",
        title: "unknown-area",
      },
    ]);
    const comment = await until("the comment", () => gh.comments(8)[0]);
    expect(comment.body).toContain("1 error: this commit would release nothing");
  });
});

describe("annotation ranges", () => {
  const d = { rule: "unknown-area", severity: "error", message: "m", file: "f.yaml", line: 3, column: 5 } as const;
  it("a point, a one-line range (end inclusive) and a range over lines (no columns, as GitHub requires)", () => {
    expect(annotationRange(d)).toEqual({ start_line: 3, end_line: 3, start_column: 5, end_column: 5 });
    expect(annotationRange({ ...d, endLine: 3, endColumn: 9 })).toEqual({
      start_line: 3,
      end_line: 3,
      start_column: 5,
      end_column: 8,
    });
    expect(annotationRange({ ...d, endLine: 6, endColumn: 2 })).toEqual({ start_line: 3, end_line: 6 });
  });
});
