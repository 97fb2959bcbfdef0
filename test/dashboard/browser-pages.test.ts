import { existsSync } from "node:fs";
import pino from "pino";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRepo } from "../../cli/repo-access.js";
import { InstancePages } from "../../dashboard/instance.js";
import { type Dashboard, startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { BASE } from "../helpers/base-repo.js";
import { launchBrowser, openPage, screenshot, seriousViolations } from "../helpers/browser.js";
import { BIN, localRepo, runningScadalink, scadalink, tempDir } from "../helpers/cli.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { siteYaml, until } from "../site/runtime-helpers.js";

// More of the dashboard in a real browser (Debian chromium, playwright-core), on real branches and a real PLC: a
// batch page showing its progress as the site's record comes in, an instance page showing the member-level diff of
// a release, and a site's own page (`scadalink site --ui-port`) whose values change live as the PLC's do.

const log = pino({ level: "silent" });
let browser: Browser;
const dashboards: Dashboard[] = [];

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN}: run npm run build first`);
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const d of dashboards.splice(0)) await d.stop();
  await browser?.close();
});

async function dashboardOf(dir: string) {
  const repo = await openRepo(dir, tempDir("dash-pages"));
  const d = await startDashboard({
    read: (now) => readFleet(repo, { heartbeatMs: 60_000, now }),
    instances: new InstancePages(repo),
    port: 0,
    pollMs: 200,
    log,
  });
  dashboards.push(d);
  return `http://127.0.0.1:${d.port}/`;
}

describe("the dashboard's pages in a real browser", () => {
  it("a batch page shows its progress, and moves it when the site's execution record comes in", async () => {
    // The base repo rolls out by batch: its batch pilot releases plant-north/Pump07.
    const r = localRepo(BASE as Record<string, string>);
    const controller = () =>
      expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    controller();
    const url = await dashboardOf(r.dir);
    const page = await openPage(await browser.newContext(), `${url}batches/pilot`);
    const progress = page.locator("progress#progress");
    expect(await progress.getAttribute("max")).toBe("1");
    expect(await progress.getAttribute("value")).toBe("0");
    expect(await page.locator("td.warn", { hasText: "pending" }).count()).toBe(1);
    await screenshot(page, "batch-pending");
    await page.evaluate("window.__marker = 1");
    // The site applies it and records its execution; the controller's next pass counts the record.
    const site = scadalink([
      "site",
      "--site",
      "plant-north",
      "--repo",
      r.dir,
      "--state-dir",
      tempDir("batch-site"),
      "--runtime",
      "none",
      "--once",
      "--log-level",
      "error",
    ]);
    expect(site.code, site.stderr).toBe(0);
    controller();
    await expect.poll(() => progress.getAttribute("value"), { timeout: 15_000 }).toBe("1");
    expect(await page.locator("main").innerText()).toMatch(/1 passed, 0 failed, 0 pending of 1/);
    expect(await page.evaluate("window.__marker")).toBe(1);
    await screenshot(page, "batch-complete");
    await page.context().close();
    // The batch page has no serious or critical accessibility violation either (axe-core).
    expect(await seriousViolations(browser, `${url}batches/pilot`)).toEqual([]);
  });

  it("an instance page shows the member-level diff of a release, field by field", async () => {
    const files = { ...(BASE as Record<string, string>), "scadalink.yaml": "kind: Repository\nrollout: auto\n" };
    const r = localRepo(files);
    const controller = () =>
      expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    controller();
    r.commit(
      { "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1500", "value: 1600") },
      "MaxSpeed 1600",
    );
    controller();
    const url = await dashboardOf(r.dir);
    const page = await openPage(await browser.newContext(), `${url}instances/plant-north/Pump07`);
    expect(await page.locator("ol.revisions li").count()).toBe(2);
    const rows = await page.locator("table.diff tbody tr").allInnerTexts();
    expect(rows).toEqual([expect.stringMatching(/^MaxSpeed\.value\s+changed\s+1500\s+1600$/)]);
    // Where each value came from: the Motor template's line for MaxSpeed, the instance's file for its overrides.
    const provenance = await page.locator("table.provenance").allInnerTexts();
    expect(provenance.join("\n")).toMatch(/templates\/motor\.yaml:\d+:\d+/);
    expect(provenance.join("\n")).toMatch(/instances\/north\.yaml:\d+:\d+/);
    await screenshot(page, "instance-diff");
    // Comparing the older revision with itself is not offered; showing it, there is nothing older to compare with.
    await page.locator("ol.revisions li").nth(1).locator("a").first().click();
    await expect
      .poll(() => page.locator("main").innerText())
      .toMatch(/the first revision released: nothing to compare with/);
    await page.context().close();
  });

  it("works from the keyboard: / reaches the filter, typing filters rows and cards, Esc clears, links take Tab and Enter", async () => {
    const r = localRepo({ ...(BASE as Record<string, string>), "scadalink.yaml": "kind: Repository\nrollout: auto\n" });
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const url = await dashboardOf(r.dir);
    const page = await openPage(await browser.newContext(), url);
    const row = page.locator('tr[data-instance="plant-north/Pump07"]');
    await page.keyboard.press("/");
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("filter");
    await page.keyboard.type("nothing-matches-this");
    expect(await row.isVisible()).toBe(false);
    expect(await page.locator('article.site[data-site="plant-north"]').isVisible()).toBe(false);
    await page.keyboard.press("Escape");
    expect(await row.isVisible()).toBe(true);
    await page.keyboard.press("/");
    await page.keyboard.type("pump07");
    expect(await row.isVisible()).toBe(true);
    // Tab from the filter reaches the links; Enter on the instance's link opens its page (a deep link).
    const link = row.locator('a[href="/instances/plant-north/Pump07"]');
    await link.focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(`${url}instances/plant-north/Pump07`);
    expect(await page.locator("h1").innerText()).toBe("plant-north/Pump07");
    // The fleet's filter stays on the fleet: nothing of the instance page is hidden by it.
    expect(await page.locator("#filter").inputValue()).toBe("");
    expect(await page.locator("table.provenance tr[hidden]").count()).toBe(0);
    await page.context().close();
  });

  it("a site's own page shows live values that change on screen as the PLC's do, without a reload", async () => {
    const plc: Plc = await startPlc({ variables: [{ id: "T1.Level", dataType: "Double", value: 12.5 }] });
    const r = localRepo({
      "scadalink.yaml": "kind: Repository\nrollout: auto\n",
      "sites/north.yaml": siteYaml(plc.endpoint),
      "templates/tank.yaml": y`
        kind: Template
        name: Tank
        attributes:
          - { name: Level, dataType: Double, source: data, tag: "ns=2;s=T1.Level" }
      `,
      "instances/t1.yaml":
        "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
    });
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const { child, exited, output } = runningScadalink(
      [
        "site",
        "--site",
        "plant-north",
        "--repo",
        r.dir,
        "--state-dir",
        tempDir("ui-site"),
        "--ui-port",
        "0",
        "--log-level",
        "info",
      ],
      { SCADALINK_POLL_INTERVAL: "1" },
    );
    try {
      const url = await until("the site's UI", () => /"ui":"(http:[^"]+)"/.exec(output())?.[1], 30_000);
      const page = await openPage(await browser.newContext(), url);
      const value = page.locator('tr[data-attribute="T1/Level"] td.value');
      await expect.poll(() => value.innerText(), { timeout: 20_000 }).toBe("12.5");
      await page.evaluate("window.__marker = 1");
      const origin = await page.evaluate("performance.timeOrigin");
      for (const v of [33.25, 47.5]) {
        plc.set("T1.Level", v);
        await expect.poll(() => value.innerText(), { timeout: 10_000 }).toBe(String(v));
      }
      expect(await page.evaluate("window.__marker")).toBe(1);
      expect(await page.evaluate("performance.timeOrigin")).toBe(origin);
      await screenshot(page, "site-live-values");
      await page.context().close();
    } finally {
      child.kill("SIGTERM");
      await exited;
      await plc.stop();
    }
  });
});
