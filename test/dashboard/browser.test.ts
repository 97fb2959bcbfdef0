import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRepo } from "../../cli/repo-access.js";
import type { Repo } from "../../controller/git/repo.js";
import { InstancePages } from "../../dashboard/instance.js";
import { shortHash } from "../../dashboard/render.js";
import { type Dashboard, startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { launchBrowser, openPage, screenshot, seriousViolations } from "../helpers/browser.js";
import { BIN, localRepo, scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";
import { runGit } from "../helpers/git-server.js";
import { y } from "../helpers/repo.js";

// The fleet dashboard in a real headless browser (Debian's chromium through playwright-core), on real branches: a
// local config repo the built CLI's controller deploys, status branches written by real site reconcilers (without
// devices: --runtime none), the dashboard's server in this process reading them. What a person sees: every site and
// instance, a release moving a revision on screen without a reload, a site going offline, the token off loopback,
// and no serious accessibility violation. Screenshots go to test-artifacts/screenshots/.

const SITES = { "plant-north": ["T1", "T2"], "plant-south": ["T3", "T4"], "plant-east": ["T5"] } as const;
type Site = keyof typeof SITES;
const TOKEN = "ui-token-browser-3f9a61c2d8";
const log = pino({ level: "silent" });

const tank = (setpoint: number) => y`
  kind: Template
  name: Tank
  attributes:
    - { name: Setpoint, dataType: Double, value: ${setpoint} }
    - { name: Capacity, dataType: Double, value: 1000 }
`;

let r: ReturnType<typeof localRepo>;
let browser: Browser;
const dashboards: Dashboard[] = [];
const children: ChildProcess[] = [];
const siteState = new Map<Site, string>();

const controllerOnce = () => {
  const c = scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]);
  expect(c.code, c.stderr).toBe(0);
};

const siteArgs = (site: Site) => [
  "site",
  "--site",
  site,
  "--repo",
  r.dir,
  "--state-dir",
  siteState.get(site)!,
  "--runtime",
  "none",
  "--api-port",
  "off",
  "--log-level",
  "error",
];

/** One reconciler loop of a site: applies what the deploy branch holds and reports on its status branch. */
const siteOnce = (site: Site) => {
  const s = scadalink([...siteArgs(site), "--once"]);
  expect(s.code, s.stderr).toBe(0);
};

/** The revision the deploy branch holds for an instance (what the site applies). */
const deployed = (site: Site, name: string): string =>
  (
    JSON.parse(runGit(r.dir, ["show", `scadalink/deploy:sites/${site}/manifest.json`])) as {
      instances: Record<string, string>;
    }
  ).instances[name]!;

/** The dashboard in this process, reading the repo through its own clone as `scadalink dashboard` does. */
async function dashboard(o: { heartbeatMs?: number; host?: string; token?: string } = {}) {
  const repo: Repo = await openRepo(r.dir, tempDir("dash-state"));
  const heartbeatMs = o.heartbeatMs ?? 60_000;
  const d = await startDashboard({
    read: (now) => readFleet(repo, { heartbeatMs, now }),
    instances: new InstancePages(repo),
    port: 0,
    pollMs: 200,
    log,
    ...(o.host ? { host: o.host } : {}),
    ...(o.token ? { token: o.token } : {}),
  });
  dashboards.push(d);
  return { d, url: `http://127.0.0.1:${d.port}/` };
}

/** A page that counts its live updates and carries a marker a reload would lose. */
async function livePage(url: string): Promise<Page> {
  const page = await openPage(await browser.newContext(), url);
  await page.evaluate(
    "window.__marker = 1; window.__updates = 0; document.addEventListener('scadalink:updated', () => window.__updates++)",
  );
  return page;
}

const stillLoaded = async (page: Page, origin: number) => {
  expect(await page.evaluate("window.__marker")).toBe(1);
  expect(await page.evaluate("performance.timeOrigin")).toBe(origin);
  expect(await page.evaluate("window.__updates")).toBeGreaterThan(0);
};

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN}: run npm run build first`);
  const files: Record<string, string> = {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "templates/tank.yaml": tank(1),
  };
  for (const [site, instances] of Object.entries(SITES)) {
    // No data connection: the sites run without devices, so a connection would only ever show as down.
    files[`sites/${site}.yaml`] = `kind: Site\nname: ${site}\nareas: [{ name: Line1 }]\n`;
    for (const name of instances)
      files[`instances/${name.toLowerCase()}.yaml`] =
        `kind: Instance\nname: ${name}\nsite: ${site}\narea: Line1\ntemplate: Tank\n`;
  }
  r = localRepo(files);
  controllerOnce();
  for (const site of Object.keys(SITES) as Site[]) {
    siteState.set(site, tempDir(`site-${site}`));
    siteOnce(site);
  }
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill("SIGTERM");
  await Promise.all(running.map((c) => new Promise((res) => c.once("exit", res))));
  for (const d of dashboards.splice(0)) await d.stop();
  await browser?.close();
});

describe("the fleet dashboard in a real browser", () => {
  it("shows every site and every instance of the repo, each applied as deployed", async () => {
    const { url } = await dashboard();
    const page = await openPage(await browser.newContext(), url);
    for (const [site, instances] of Object.entries(SITES)) {
      await expect.poll(() => page.locator(`article.site[data-site="${site}"]`).count()).toBe(1);
      for (const name of instances) {
        const row = page.locator(`tr[data-instance="${site}/${name}"]`);
        expect(await row.count(), `${site}/${name}`).toBe(1);
        const hash = shortHash(deployed(site as Site, name));
        expect(await row.locator("td.applied").innerText()).toBe(hash);
      }
    }
    expect(await page.locator("tr[data-instance]").count()).toBe(5);
    expect(await page.locator("article.site.offline").count()).toBe(0);
    await screenshot(page, "fleet");
    await page.context().close();
  });

  it("moves an instance's revision on screen when a release reaches its site, without a reload", async () => {
    const { url } = await dashboard();
    const page = await livePage(url);
    const origin = (await page.evaluate("performance.timeOrigin")) as number;
    const row = page.locator('tr[data-instance="plant-north/T1"]');
    const before = shortHash(deployed("plant-north", "T1"));
    expect(await row.locator("td.applied").innerText()).toBe(before);

    r.commit({ "templates/tank.yaml": tank(2) }, "Setpoint 2");
    controllerOnce();
    const next = shortHash(deployed("plant-north", "T1"));
    expect(next).not.toBe(before);
    // The deploy branch moved first: desired is the new revision, applied still the old one, marked pending.
    await expect.poll(() => row.locator("td").nth(2).innerText(), { timeout: 10_000 }).toBe(next);
    expect(await row.locator("td.applied").innerText()).toBe(before);
    expect(await row.locator("td.applied").getAttribute("class")).toContain("warn");
    await screenshot(page, "release-pending");

    const t0 = Date.now();
    siteOnce("plant-north");
    await expect.poll(() => row.locator("td.applied").innerText(), { timeout: 10_000 }).toBe(next);
    console.log(JSON.stringify({ appliedOnScreenMs: Date.now() - t0 }));
    expect(await row.locator("td.applied").getAttribute("class")).not.toContain("warn");
    await stillLoaded(page, origin);
    await screenshot(page, "release-applied");
    await page.context().close();
  });

  it("marks a site offline live once it has not reported for 3 heartbeat intervals", async () => {
    const HEARTBEAT_MS = 1000;
    // The branches' fetch, the render and the page's swap on a busy CI machine.
    const SLACK_MS = 2000;
    // Two sites running with that heartbeat: one keeps reporting, the other stops.
    const running = (site: Site) => {
      const c = spawnScadalink([...siteArgs(site), "--heartbeat-interval", "1", "--poll-interval", "1"]);
      children.push(c);
      return c;
    };
    const south = running("plant-south");
    running("plant-east");
    const { url } = await dashboard({ heartbeatMs: HEARTBEAT_MS });
    const page = await livePage(url);
    const origin = (await page.evaluate("performance.timeOrigin")) as number;
    const card = (site: Site) => page.locator(`article.site[data-site="${site}"]`);
    // Both report within the heartbeat: online (north, not running, reported last long enough ago: offline).
    await expect.poll(() => card("plant-south").getAttribute("class"), { timeout: 20_000 }).toBe("site");
    await expect.poll(() => card("plant-east").getAttribute("class"), { timeout: 20_000 }).toBe("site");
    await expect.poll(() => card("plant-north").getAttribute("class"), { timeout: 10_000 }).toBe("site offline");

    south.kill("SIGTERM");
    await new Promise((res) => south.once("exit", res));
    const stopped = Date.now();
    // Its last report is at most now: offline within 3 intervals, the poll and the page's update.
    await expect
      .poll(() => card("plant-south").getAttribute("class"), {
        timeout: 3 * HEARTBEAT_MS + 200 + SLACK_MS,
        interval: 50,
      })
      .toBe("site offline");
    const shown = Date.now();
    // Not before 3 intervals without a report either: measured from the report the page names.
    const lastSeen = Date.parse((await card("plant-south").locator("time").getAttribute("datetime")) ?? "");
    console.log(JSON.stringify({ offlineAfterStopMs: shown - stopped, offlineAfterLastReportMs: shown - lastSeen }));
    expect(shown - lastSeen).toBeGreaterThanOrEqual(3 * HEARTBEAT_MS);
    expect(shown - lastSeen).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 200 + SLACK_MS);
    expect(await card("plant-south").locator(".flags").innerText()).toContain("offline");
    expect(await page.locator('tr[data-instance="plant-south/T3"]').getAttribute("class")).toBe("offline");
    // The site still reporting stays online.
    expect(await card("plant-east").getAttribute("class")).toBe("site");
    await stillLoaded(page, origin);
    await screenshot(page, "site-offline");
    await page.context().close();
  });

  it("off loopback, refuses a request without the token and lets the browser in with ?token= (a cookie)", async () => {
    const { d } = await dashboard({ host: "0.0.0.0", token: TOKEN });
    const url = `http://127.0.0.1:${d.port}/`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}api/fleet`)).status).toBe(401);
    const context = await browser.newContext();
    const page = await context.newPage();
    const refused = await page.goto(url);
    expect(refused?.status()).toBe(401);
    expect(await page.locator("tr[data-instance]").count()).toBe(0);
    await screenshot(page, "token-refused");

    const login = await fetch(`${url}?token=${TOKEN}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/");
    const wrong = await fetch(`${url}?token=not-the-token-at-all`, { redirect: "manual" });
    expect(wrong.status).toBe(401);

    const loaded = await page.goto(`${url}?token=${TOKEN}`);
    expect(loaded?.status()).toBe(200);
    expect(page.url()).toBe(url);
    expect(await page.locator("tr[data-instance]").count()).toBe(5);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "scadalink_ui", httpOnly: true, sameSite: "Strict" });
    expect(cookie?.value).not.toContain(TOKEN);
    // The live stream is let in by the cookie too.
    const status = await page.evaluate(
      "fetch('/api/events?page=/').then((r) => { const s = r.status; r.body.cancel(); return s; })",
    );
    expect(status).toBe(200);
    await screenshot(page, "token-accepted");
    await context.close();
  });

  it("has no serious or critical accessibility violation (axe-core) on the fleet, site and instance pages", async () => {
    const { url } = await dashboard();
    const found: Record<string, unknown> = {};
    for (const path of ["", "sites/plant-north", "instances/plant-north/T1"]) {
      const v = await seriousViolations(browser, `${url}${path}`);
      if (v.length) found[`/${path}`] = v;
    }
    expect(found).toEqual({});
  });
});
