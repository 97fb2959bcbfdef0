// Store-and-forward metrics: per-target queue and parked state, age of the oldest queued message, caps and
// counters, read from the engine at each scrape; the exposition passes `promtool check metrics`.
import { spawnSync } from "node:child_process";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safMetrics } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { openSaf, post, removeSafDirs, system, until } from "../helpers/saf-engine.js";
import { type FaultServer, startFaultServer } from "../helpers/saf-http-server.mjs";

const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;
// CI installs it (see .ci/run); a machine without it skips that check, CI never does.
const withPromtool = hasPromtool || process.env.CI ? it : it.skip;

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(async () => {
  await server.stop();
  removeSafDirs();
});

async function scrape(): Promise<{ text: string; stop: () => Promise<void> }> {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const f = openSaf({ now: () => new Date(now), caps: { maxMessages: 50 } });
  f.engine.setTargets([system("Mes", { retry: { intervalMs: 10, maxAttempts: 1 } })]);
  server.behave((r) => (r.path === "/bad" ? { status: 400 } : { status: 200 }));
  const m = (name: string, path: string) => ({
    target: { kind: "externalSystem" as const, name },
    label: "Report",
    payload: post(`${server.url}${path}`, { n: 1 }),
  });
  f.engine.enqueueMany([m("Mes", "/bad"), m("Mes", "/ok")]);
  f.engine.enqueue(m("Erp", "/ok")); // not defined: held
  f.engine.start();
  // A delivery leaves the queued count when its deletion is committed (within 20 ms).
  await until(() => f.engine.totals().messages === 2 && f.engine.counters.parked === 1, 5_000, "deliveries");
  const registry = new Registry();
  now += 90_000;
  safMetrics(registry, f.engine, () => now);
  return { text: await registry.metrics(), stop: () => f.close() };
}

describe("store-and-forward metrics", () => {
  it("per target: queued, parked, bytes, oldest queued age, configured; stored against the caps; counters", async () => {
    const { text, stop } = await scrape();
    await stop();
    const line = (l: string) => expect(text.split("\n")).toContain(l);
    line('scadalink_site_saf_messages{kind="externalSystem",target="Mes",state="queued"} 0');
    line('scadalink_site_saf_messages{kind="externalSystem",target="Mes",state="parked"} 1');
    line('scadalink_site_saf_messages{kind="externalSystem",target="Erp",state="queued"} 1');
    line('scadalink_site_saf_oldest_queued_age_seconds{kind="externalSystem",target="Erp"} 90');
    line('scadalink_site_saf_oldest_queued_age_seconds{kind="externalSystem",target="Mes"} 0');
    line('scadalink_site_saf_target_configured{kind="externalSystem",target="Erp"} 0');
    line('scadalink_site_saf_target_configured{kind="externalSystem",target="Mes"} 1');
    line('scadalink_site_saf_stored{unit="messages"} 2');
    line('scadalink_site_saf_capacity{unit="messages"} 50');
    line("scadalink_site_saf_enqueued_total 3");
    line("scadalink_site_saf_delivered_total 1");
    line("scadalink_site_saf_parked_total 1");
    line("scadalink_site_saf_refused_full_total 0");
    expect(text).toMatch(/^scadalink_site_saf_bytes\{kind="externalSystem",target="Mes"\} [1-9]\d*$/m);
  });

  withPromtool("pass promtool check metrics", async () => {
    const { text, stop } = await scrape();
    await stop();
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
  });
});
