import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { packageRoot } from "../../controller/package-root.js";

// A real headless browser for the dashboard's tests: Debian's chromium (.ci/run installs it), driven by
// playwright-core, which brings no browser of its own. Screenshots are kept as test artifacts.

export const CHROMIUM = process.env.SCADALINK_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(packageRoot(), "test-artifacts", "screenshots");

/**
 * Launches the system chromium headless. Chromium refuses its sandbox as root, and a container without user
 * namespaces has none to give: only then is it run without one (the pages are the test's own, on 127.0.0.1).
 */
export async function launchBrowser(): Promise<Browser> {
  const launch = (sandbox: boolean) =>
    chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: sandbox });
  if (process.getuid?.() === 0) return launch(false);
  try {
    return await launch(true);
  } catch {
    return launch(false);
  }
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, "-")}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Opens url in a new page of the context and waits until the page and its script have loaded. */
export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const res = await page.goto(url, { waitUntil: "load" });
  if (!res?.ok()) throw new Error(`${url}: HTTP ${res?.status()}`);
  return page;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

const axeSource = () => createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * Runs axe-core on url and returns the serious and critical violations. The dashboard's CSP (script-src 'self')
 * rightly refuses an injected script, so axe runs in its own context with bypassCSP: the pages under test keep the
 * real policy everywhere else.
 */
export async function seriousViolations(browser: Browser, url: string): Promise<AxeViolation[]> {
  const context = await browser.newContext({ bypassCSP: true });
  try {
    const page = await openPage(context, url);
    await page.addScriptTag({ path: axeSource() });
    const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as {
      testEngine: { name: string };
      passes: unknown[];
      violations: AxeViolation[];
    };
    // Nothing found because nothing ran would pass too: axe must have checked rules on the page.
    if (result.testEngine.name !== "axe-core" || result.passes.length === 0) throw new Error(`${url}: axe did not run`);
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
      }));
  } finally {
    await context.close();
  }
}
