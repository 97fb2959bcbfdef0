import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ScriptPool, type ScriptPoolOptions } from "../../site-reconciler/runtime/scripts/pool.js";
import type { MirrorAttr } from "../../site-reconciler/runtime/scripts/protocol.js";
import type { ScriptDef } from "../../site-reconciler/runtime/scripts/sandbox.js";
import { until } from "./runtime-helpers.js";

// The script pool with the real script host processes (from dist/), and with stand-ins that misbehave.
const FAULTY = fileURLToPath(new URL("../helpers/script-host-faulty.mjs", import.meta.url));
const ATTRS: MirrorAttr[] = [
  { path: "Count", dataType: "Int32", source: "static", access: "read" },
  { path: "Speed", dataType: "Double", source: "data", access: "read" },
  { path: "Setpoint", dataType: "Double", source: "data", access: "readWrite" },
];
const script = (path: string, code: string, timeoutMs = 1_000): ScriptDef => ({
  path,
  scope: "",
  parameters: [],
  code,
  timeoutMs,
  expression: null,
});

const pools: ScriptPool[] = [];
function pool(o: Partial<ScriptPoolOptions> = {}) {
  const events: { kind: string; message: string; instance?: string }[] = [];
  const counters = { scriptHostRestarts: 0, scriptCrashes: 0 };
  const p = new ScriptPool({
    log: pino({ level: "silent" }),
    counters,
    event: (kind, message, instance) => events.push({ kind, message, instance }),
    ...o,
  });
  pools.push(p);
  return { p, events, counters };
}
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

describe("script pool", () => {
  it("reads are local to the host: changes arrive with the next run, in order; writes come back checked", async () => {
    const { p } = pool();
    const values = new Map<string, unknown>([
      ["Count", 1],
      ["Speed", 10],
      ["Setpoint", 0],
    ]);
    const h = p.load(
      "P1",
      [
        script("Read", 'return [attributes.get("Count"), attributes.get("Speed")];'),
        script(
          "Write",
          'attributes.set("Count", attributes.get("Count") + 1); attributes.set("Setpoint", 2.5); return attributes.get("Count");',
        ),
        script("Bad", 'attributes.set("Speed", 1);'),
        script("Wrong", 'attributes.set("Count", "many");'),
      ],
      ATTRS,
      () => [...values],
    );
    expect((await h.run("Read", "run")).result).toEqual({ ok: true, value: [1, 10] });
    h.update("Speed", 11);
    h.update("Count", 5);
    h.update("Speed", 12);
    expect((await h.run("Read", "run")).result).toEqual({ ok: true, value: [5, 12] });
    const w = await h.run("Write", "run");
    // The static write is seen by the script at once; the device write is only requested.
    expect(w.result).toEqual({ ok: true, value: 6 });
    expect(w.writes).toEqual([
      ["Count", 6],
      ["Setpoint", 2.5],
    ]);
    expect((await h.run("Bad", "run")).result).toMatchObject({
      ok: false,
      error: expect.stringMatching(/read-only data attribute/),
    });
    const wrong = await h.run("Wrong", "run");
    expect(wrong.result).toMatchObject({ ok: false, error: expect.stringMatching(/"many" is not a Int32/) });
    expect(wrong.writes).toEqual([]);
  });

  it("a run holding its host moves the host's other instances to a new host: they go on within the hold budget", async () => {
    const { p } = pool({ hosts: 1, holdMs: 300 });
    const spin = p.load("Spinner", [script("Spin", "for (;;) {}", 600_000)], ATTRS, () => []);
    const other = p.load("Other", [script("Quick", "return 42;")], ATTRS, () => []);
    expect((await other.run("Quick", "run")).result).toEqual({ ok: true, value: 42 });
    const spinning = spin.run("Spin", "run");
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    expect((await other.run("Quick", "run")).result).toEqual({ ok: true, value: 42 });
    // Hold budget, a new host's start and one run: well under a second, not the spinner's 600 s.
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(p.hostCount).toBe(2);
    spin.dispose();
    expect((await spinning).result.ok).toBe(false);
  });

  it("a host that stops answering is killed at the script's timeout plus grace; the run fails, a new host takes over", async () => {
    const { p, counters, events } = pool({ entry: FAULTY, graceMs: 200 });
    process.env.SCADALINK_FAULTY_HOST = "silent";
    try {
      const h = p.load("P1", [script("Any", "return 1;", 300)], ATTRS, () => []);
      const t0 = Date.now();
      const r = await h.run("Any", "run");
      const took = Date.now() - t0;
      expect(r.crashed).toBe(true);
      expect(r.result).toMatchObject({
        ok: false,
        timedOut: true,
        error: expect.stringMatching(/was killed: Any of P1 ran \d+ ms, past its 300 ms timeout/),
      });
      expect(took).toBeGreaterThanOrEqual(500);
      expect(took).toBeLessThan(2_000);
      expect(counters.scriptCrashes).toBe(1);
      expect(counters.scriptHostRestarts).toBe(1);
      expect(events.map((e) => e.kind)).toContain("script-host");
    } finally {
      delete process.env.SCADALINK_FAULTY_HOST;
    }
  });

  it("the site answers a host's integration calls only for instances loaded in it, and only a few at a time", async () => {
    const asked: string[] = [];
    const { p } = pool({
      entry: FAULTY,
      io: async (r) => {
        asked.push(r.instance);
        await new Promise((res) => setTimeout(res, 100));
        return { v: "ok" };
      },
    });
    process.env.SCADALINK_FAULTY_HOST = "io";
    try {
      const h = p.load("P1", [script("Any", "return 1;", 5_000)], ATTRS, () => []);
      const r = await h.run("Any", "run");
      const v = (r.result as { value: { foreign: unknown; own: unknown; flood: string[] } }).value;
      expect(v.foreign).toMatchObject({ e: "the instance is not loaded in this script host" });
      expect(v.own).toMatchObject({ v: "ok" });
      // Eight in flight at most; the rest are refused at once, not queued without bound.
      expect(v.flood.filter((x) => x === "answered")).toHaveLength(8);
      expect(v.flood.filter((x) => x === "too many integration calls at once")).toHaveLength(12);
      expect(asked).not.toContain("Other");
    } finally {
      delete process.env.SCADALINK_FAULTY_HOST;
    }
  });

  it("three timeouts in a row quarantine a script; its instance's other scripts and a new load are not affected", async () => {
    const { p, events } = pool();
    const h = p.load("P1", [script("Spin", "for (;;) {}", 50), script("Fine", "return 1;")], ATTRS, () => []);
    for (let i = 0; i < 3; i++) expect((await h.run("Spin", "run")).result).toMatchObject({ timedOut: true });
    expect([...h.quarantined]).toEqual([["Spin", "timed out 3 times in a row"]]);
    const q = await h.run("Spin", "run");
    expect(q.result).toMatchObject({ ok: false, error: "quarantined: timed out 3 times in a row" });
    expect((await h.run("Fine", "run")).result).toEqual({ ok: true, value: 1 });
    expect(events.filter((e) => e.kind === "script-quarantined")).toHaveLength(1);
    // A new revision is a new load: it starts with a clean record.
    h.dispose();
    const again = p.load("P1", [script("Spin", "return 2;", 50)], ATTRS, () => []);
    expect((await again.run("Spin", "run")).result).toEqual({ ok: true, value: 2 });
  });

  it("a host that dies at every start is restarted at a bounded rate, not in a loop", async () => {
    process.env.SCADALINK_FAULTY_HOST = "exit";
    try {
      const { p, counters } = pool({ entry: FAULTY });
      const h = p.load("P1", [script("Any", "return 1;")], ATTRS, () => []);
      const run = h.run("Any", "run");
      await new Promise((r) => setTimeout(r, 6_000));
      // Waits of 250, 500, 1000, 2000, 4000 ms between starts: at most 6 starts in 6 s.
      expect(counters.scriptHostRestarts).toBeGreaterThanOrEqual(3);
      expect(counters.scriptHostRestarts).toBeLessThanOrEqual(6);
      await p.close();
      expect((await run).result.ok).toBe(false);
    } finally {
      delete process.env.SCADALINK_FAULTY_HOST;
    }
  });

  it("close ends every host process at once, spinning or not", async () => {
    const { p } = pool({ hosts: 2 });
    const a = p.load("A", [script("Spin", "for (;;) {}", 600_000)], ATTRS, () => []);
    const b = p.load("B", [script("Spin", "for (;;) {}", 600_000)], ATTRS, () => []);
    const runs = [a.run("Spin", "run"), b.run("Spin", "run")];
    await until("hosts started", () => p.pids().length >= 1);
    const pids = p.pids();
    await p.close();
    await Promise.all(runs);
    await until(
      "hosts gone",
      () =>
        pids.every((pid) => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        }),
      2_000,
    );
  });
});
