import { describe, expect, it } from "vitest";
import { BASE } from "../helpers/base-repo.js";
import { localRepo, runningScadalink, scadalink } from "../helpers/cli.js";
import { until } from "../site/runtime-helpers.js";

// The dashboard through the built CLI: `scadalink dashboard --repo` and `scadalink controller --ui-port`, against a
// local config repo the controller deployed.

function serve(args: string[], url: RegExp, env: NodeJS.ProcessEnv = {}) {
  const p = runningScadalink(args, env);
  return { ...p, url: () => url.exec(p.output())?.[1] };
}

describe("scadalink dashboard and controller --ui-port (built CLI)", () => {
  it("scadalink dashboard serves the deployed fleet on loopback and stops on SIGTERM", async () => {
    const r = localRepo(BASE as Record<string, string>);
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const d = serve(["dashboard", "--repo", r.dir, "--ui-port", "0", "--log-level", "error"], /dashboard: (http:\S+)/);
    try {
      const url = await until("the dashboard's URL", () => d.url(), 20_000);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const html = await (await fetch(url)).text();
      expect(html).toContain('data-instance="plant-north/Pump07"');
    } finally {
      d.child.kill("SIGTERM");
      expect(await d.exited).toBe(0);
    }
  });

  it("scadalink dashboard refuses a non-loopback bind without a token, naming the flag", () => {
    const r = scadalink(["dashboard", "--repo", ".", "--ui-host", "0.0.0.0", "--ui-port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ui-host 0\.0\.0\.0 is not loopback: give --ui-token-secret NAME/);
  });

  it("controller --ui-port serves the same pages next to its loop", async () => {
    const r = localRepo(BASE as Record<string, string>);
    const c = serve(
      ["controller", "--repo", r.dir, "--ui-port", "0", "--poll-interval", "1", "--log-level", "info"],
      /"dashboard":"(http:[^"]+)"/,
    );
    try {
      const url = await until("the controller's dashboard URL", () => c.url(), 20_000);
      // The controller deploys on its first pass; the page shows the instance once the deploy branch has it.
      await until(
        "Pump07 on the page",
        async () => (await (await fetch(url)).text()).includes('data-instance="plant-north/Pump07"'),
        20_000,
      );
    } finally {
      c.child.kill("SIGTERM");
      expect(await c.exited).toBe(0);
    }
  });
});
