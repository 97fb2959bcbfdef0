import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { launchBrowser, openPage, screenshot } from "../helpers/browser.js";
import { spawnScadalink, tempDir } from "../helpers/cli.js";
import { runGit } from "../helpers/git-server.js";

/** Runs `scadalink demo` with args; resolves with its exit code and output. Sends SIGINT once `interruptOn` shows. */
function demo(args: string[], interruptOn?: RegExp, env: NodeJS.ProcessEnv = {}, onOutput?: (stdout: string) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawnScadalink(["demo", ...args], env);
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (d) => {
      stdout += d;
      onOutput?.(stdout);
      if (interruptOn && !sent && interruptOn.test(stdout)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** True when something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const ports = (out: string) => [...out.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

describe("scadalink demo", () => {
  it("deploys the template to every site against simulated PLCs, rolls out a new batch, and stops after --duration", async () => {
    // The dashboard it prints serves the fleet while the demo runs.
    // The dashboard it prints shows the whole fleet in a real browser while the demo runs.
    let seen: Promise<{ sites: string[]; rows: number; p1: string }> | undefined;
    const r = await demo(["--duration", "45"], undefined, {}, (out) => {
      const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/) /.exec(out)?.[1];
      if (url && !seen && /first deploy: the canary batch releases ps-hilltop: done/.test(out))
        seen = (async () => {
          const browser = await launchBrowser();
          try {
            const page = await openPage(await browser.newContext(), url);
            // The other sites' instances come in live as the new batch reaches them (no reload).
            const end = Date.now() + 25_000;
            while ((await page.locator("tr[data-instance]").count()) < 45 && Date.now() < end)
              await new Promise((res) => setTimeout(res, 250));
            await screenshot(page, "demo-fleet");
            return {
              sites: await page
                .locator("article.site")
                .evaluateAll((els) => els.map((e) => e.getAttribute("data-site") ?? "")),
              rows: await page.locator("tr[data-instance]").count(),
              p1: await page.locator('tr[data-instance="ps-hilltop/P1"] td.applied').innerText(),
            };
          } finally {
            await browser.close();
          }
        })();
    });
    expect(r.code, r.stderr).toBe(0);
    expect(seen, "the dashboard line and the first deploy").toBeDefined();
    const shown = await seen!;
    expect(shown.sites).toEqual(["ps-hilltop", "res-northfield", "wtp-riverside"]);
    expect(shown.rows).toBe(45);
    expect(shown.p1).toMatch(/^[0-9a-f]{10}$/);
    expect(r.stdout).toMatch(
      /45 instances at 3 sites \(ps-hilltop, res-northfield, wtp-riverside\), all on 127\.0\.0\.1/,
    );
    expect(r.stdout).toMatch(/first deploy: the canary batch releases ps-hilltop: done/);
    expect(r.stdout).toMatch(/merged batch demo-wave-2 on main: releasing res-northfield, wtp-riverside/);
    expect(r.stdout).toMatch(/batch demo-wave-2: the change flows to the sites: done/);
    // Every site converged with live values; the demo's alarm fired.
    for (const line of [
      "ps-hilltop  7/7 at the desired revision",
      "res-northfield  5/5 at the desired revision",
      "wtp-riverside  33/33 at the desired revision",
    ])
      expect(r.stdout).toContain(line);
    expect(r.stdout).toMatch(/^alarm ps-hilltop\/P1 Inlet\.OverTravel active \(\d+ s\)$/m);
    // The integrations: the alarm's onTrigger script emailed Operators through the embedded SMTP server (login by a
    // named secret), and P1's counts reached the embedded MES through cachedCall, across an outage, none lost.
    expect(r.stdout).toMatch(
      /^email received by the embedded SMTP server: "Over travel: valve at \d+ %" to ops@plant\.example \(\d+ s\)$/m,
    );
    expect(r.stdout).toMatch(/^MES received count 1 from line HT-P-1 /m);
    expect(r.stdout).toMatch(/^MES down for 10 s \(\d+ s\): it answers 503/m);
    // The backlog grew while MES was down: read from the site's store-and-forward at each step.
    const down = r.stdout.slice(r.stdout.indexOf("MES down for"), r.stdout.indexOf("MES back"));
    const queued = [...down.matchAll(/^store-and-forward backlog to Mes: (\d+) queued/gm)].map((m) => Number(m[1]));
    expect(queued.length, r.stdout).toBeGreaterThan(0);
    expect(Math.max(...queued)).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^MES back \(\d+ s\): [1-9]\d* queued/m);
    expect(r.stdout).toMatch(
      /^store-and-forward backlog to Mes: 0 queued \(\d+ s\), drained [\d.]+ s after MES came back/m,
    );
    const final = /^MES received every count: sent (\d+), received (\d+) distinct, 0 lost/m.exec(r.stdout);
    expect(final, r.stdout).not.toBeNull();
    expect(Number(final![1])).toBeGreaterThan(10);
    expect(final![2]).toBe(final![1]);
    // In that order: counts, outage, backlog, return, drain, the tally.
    const order = [/MES received count 1 /, /MES down for/, /MES back/, /drained/, /MES received every count/].map(
      (re) => r.stdout.search(re),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Everything it started is gone: the PLCs, the git server, the SMTP server and MES no longer listen.
    const used = ports(r.stdout);
    expect(used.length).toBeGreaterThanOrEqual(8);
    for (const port of used) expect(await listening(port)).toBe(false);
  }, 120_000);

  it("with --pair runs res-northfield as two site processes, SIGKILLs the active and shows the standby take over", async () => {
    const dir = join(tempDir("demo-pair"), "demo");
    const r = await demo(["--duration", "60", "--pair", "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(
      /^ {2}res-northfield runs as a pair: node a and node b on 127\.0\.0\.1:\d+ and 127\.0\.0\.1:\d+ /m,
    );
    const activated = /^node ([ab]) active \(epoch (\d+): [^\n]*\) \(\d+ s\); node ([ab]) standby/m;
    const first = activated.exec(out);
    expect(first, out).not.toBeNull();
    const [, x, epoch, y] = first!;
    expect(y).not.toBe(x);
    const kill = new RegExp(`^killing node ${x} \\(the active\\) with SIGKILL \\(\\d+ s\\)$`, "m");
    const takeover = new RegExp(`^node ${y} active \\(epoch (\\d+)\\) ([\\d.]+) s after the kill; values flowing`, "m");
    const t = takeover.exec(out);
    expect(t, out).not.toBeNull();
    expect(Number(t![1])).toBeGreaterThan(Number(epoch));
    // Within failoverSeconds (3), with a margin for a loaded machine.
    expect(Number(t![2])).toBeLessThan(3 + 2);
    const back = new RegExp(`^node ${x} back as standby`, "m");
    const restarted = new RegExp(`^restarting node ${x}`, "m");
    const order = [/runs as a pair/, activated, kill, takeover, restarted, back].map((re) => out.search(re));
    expect(Math.min(...order), out).toBeGreaterThanOrEqual(0);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // The pair site converged as in a demo without --pair, and the table shows it so again after the takeover.
    expect(out).toMatch(/batch demo-wave-2: the change flows to the sites: done/);
    expect(out).toContain("res-northfield  5/5 at the desired revision");
    expect(out.slice(out.search(takeover))).toContain("res-northfield  5/5 at the desired revision");
    // The nodes logged to files, not to the demo's output: both nodes' activations are there.
    expect(out).not.toMatch(/"msg":/);
    const logs = ["a", "b"].map((n) => readFileSync(join(dir, "logs", `res-northfield-${n}.log`), "utf8")).join("\n");
    expect(logs.match(/"msg":"site pair: this node is active"/g)?.length).toBe(2);
    // Both nodes are gone: their peer links (and every other port the demo used) no longer listen.
    for (const port of ports(out)) expect(await listening(port)).toBe(false);
  }, 150_000);

  it("stops cleanly on Ctrl-C", async () => {
    const t0 = Date.now();
    const r = await demo([], /first deploy: the canary batch releases ps-hilltop: done/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stopping: sites, controller, git server, simulated PLCs, SMTP server, MES/);
    expect(Date.now() - t0).toBeLessThan(60_000);
    for (const port of ports(r.stdout)) expect(await listening(port)).toBe(false);
  }, 90_000);

  it("writes no PLC password anywhere: output, debug logs, git objects of every branch, state directories", async () => {
    const canary = "CANARY-demo-plc-5f1e2d";
    const dir = join(tempDir("demo-dir"), "demo");
    const r = await demo(["--duration", "20", "--dir", dir, "--log-level", "debug"], undefined, {
      SCADALINK_DEMO_PLC_PASSWORD: canary,
    });
    expect(r.code, r.stderr).toBe(0);
    // The password was in use: the Sign + username sites converged.
    expect(r.stdout).toMatch(/first deploy: the canary batch releases ps-hilltop: done/);
    const bare = join(dir, "git", "plant.git");
    const everything = [
      r.stdout,
      r.stderr,
      runGit(bare, ["cat-file", "--batch-all-objects", "--batch"]),
      runGit(bare, ["log", "-p", "--all"]),
      ...readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => readFileSync(join(d.parentPath, d.name)).toString("latin1")),
    ];
    expect(everything.join("\n").length).toBeGreaterThan(100_000);
    expect(runGit(bare, ["branch", "--list"])).toMatch(/scadalink\/status\/ps-hilltop/);
    for (const text of everything) expect(text).not.toContain(canary);
  }, 120_000);
});
