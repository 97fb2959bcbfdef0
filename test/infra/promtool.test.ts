import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Controller } from "../../controller/controller.js";
import { BASE } from "../helpers/base-repo.js";
import { type GitServer, seedRepo, startGitServer } from "../helpers/git-server.js";
import { fleet, quiet, reconciler, tempDir } from "../site/helpers.js";

// Every /metrics endpoint against Prometheus's own checker: `promtool check metrics` (the Debian package
// prometheus; .ci/run installs it) reads the exposition format and lints names, types and help texts.

const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
// CI installs it (see .ci/run); a developer machine without it skips these tests, CI never does.
const run = hasPromtool || process.env.CI ? it : it.skip;

const SECRET = "promtool-s3cret";
let server: GitServer;

beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

/** promtool's verdict on a scrape: its exit code and everything it printed (lint findings go to stdout). */
function promtool(body: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  if (r.error) throw new Error(`promtool not found (Debian package prometheus): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("promtool check metrics", () => {
  run("fails a gauge named *_total (the checker is live)", () => {
    const bad = promtool("# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n");
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/x_total non-counter metrics should not have "_total" suffix/);
  });

  run("passes the controller's /metrics after a deploy and a refused webhook delivery", async () => {
    const { sha } = await seedRepo(server, "promtool-ctrl", BASE as Record<string, string>);
    const c = await Controller.create(
      {
        repo: server.repoUrl("promtool-ctrl"),
        stateDir: tempDir("ctrl"),
        mainBranch: "main",
        pollIntervalMs: 3_600_000,
        http: { host: "127.0.0.1", port: 0, secret: SECRET },
      },
      quiet,
    );
    try {
      await c.start();
      await c.reconcile();
      const base = `http://127.0.0.1:${c.address!.port}`;
      const unsigned = await fetch(`${base}/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "d-1" },
        body: JSON.stringify({ ref: "refs/heads/main", after: sha }),
      });
      expect(unsigned.status).toBe(401);
      const body = await (await fetch(`${base}/metrics`)).text();
      // Labelled series, histograms and the process metrics are all in the scrape that is checked.
      expect(body).toContain('scadalink_webhook_deliveries_total{result="unauthorized"} 1');
      expect(body).toMatch(/^scadalink_batch_state\{batch="[^"]+",state="waiting"\} [01]$/m);
      expect(body).toMatch(/^scadalink_compile_duration_seconds_count [1-9]/m);
      expect(body).toMatch(/^scadalink_controller_nodejs_active_handles\{type="[^"]+"\} \d+$/m);
      expect(promtool(body)).toEqual({ status: 0, output: "" });
    } finally {
      await c.stop();
    }
  });

  run("passes the site's /metrics after a loop that applied a release", async () => {
    const f = await fleet(server);
    const site = await reconciler(f.url);
    try {
      const port = await site.serve(0);
      expect((await site.once()).applied.length).toBeGreaterThan(0);
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(body).toMatch(/^scadalink_site_info\{site="plant-north"\} 1$/m);
      expect(body).toMatch(/^scadalink_site_loop_duration_seconds_count 1$/m);
      expect(body).toMatch(/^scadalink_site_release_verified_info\{commit="[0-9a-f]{40}",signer="[^"]+"\} 1$/m);
      expect(promtool(body)).toEqual({ status: 0, output: "" });
    } finally {
      await site.stop();
      await f.controller.stop();
    }
  });
});
