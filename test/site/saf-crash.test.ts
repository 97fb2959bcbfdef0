// Store-and-forward durability: a child site process (from dist/) enqueues and delivers and is SIGKILLed at random
// moments, then restarted; a last one drains. No acknowledged message is lost, duplicates carry the same key, each
// target's first deliveries keep enqueue order, and the store passes integrity_check after every kill.
// bench/store-and-forward.mjs runs the same harness for 100 rounds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { integrity, runSafCrashRounds, spawnSafChild } from "../helpers/saf-crash.mjs";
import { type FaultServer, OK, startFaultServer } from "../helpers/saf-http-server.mjs";

const ROUNDS = 15;
const SEED = Math.floor(Math.random() * 2 ** 32);

let server: FaultServer;
let dir: string;
beforeAll(async () => {
  server = await startFaultServer();
  dir = mkdtempSync(join(tmpdir(), "scadalink-saf-crash-"));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("store-and-forward under SIGKILL (child site process, loopback receiver)", () => {
  it(`${ROUNDS} kills during enqueue and delivery: nothing acknowledged lost, duplicates only with the same key, integrity ok`, async () => {
    const run = await runSafCrashRounds({
      dir,
      server,
      rounds: ROUNDS,
      seed: SEED,
      onRound: (r, stderr) => {
        const at = `seed ${SEED} round ${r.round} (+${r.delayMs} ms)`;
        expect(r.killed, `${at}: ${stderr}`).toBe(true);
        expect(r.integrity, at).toBe("ok");
        expect(r.acks, `${at}: enqueues acknowledged before the kill`).toBeGreaterThan(0);
      },
    });
    expect(run.drain.code, run.drain.stderr).toBe(0);
    expect(run.drain).toMatchObject({ integrity: "ok", rows: 0 });
    expect(run.check.problems, `seed ${SEED}`).toEqual([]);
    expect(run.check.lost).toBe(0);
    expect(run.acked.size).toBeGreaterThan(ROUNDS * 10);
    // Every acknowledged message arrived; the only others are ones committed just before a kill cut off the answer.
    expect(run.check.delivered).toBe(run.acked.size + run.check.unacked);
    expect(run.check.unacked).toBeLessThanOrEqual(ROUNDS * 10);
  }, 120_000);

  it("a message whose request is in flight when the process is killed is delivered again after the restart, with its key", async () => {
    const own = mkdtempSync(join(tmpdir(), "scadalink-saf-inflight-"));
    try {
      const file = join(own, "site.db");
      server.requests.length = 0;
      server.behave(() => ({ hang: true }));
      const produce = spawnSafChild(file, server.url, "produce", 1);
      await produce.ready;
      const end = Date.now() + 10_000;
      while (server.requests.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(server.requests.length, produce.stderr()).toBeGreaterThan(0);
      produce.c.kill("SIGKILL");
      await produce.exit;
      const inFlight = server.requests.map((r) => r.key);
      const acked = produce.lines.filter((l) => l.startsWith("ack ")).map((l) => l.split(" ")[1]);
      for (const k of inFlight) expect(acked).toContain(k);
      expect(integrity(file).integrity).toBe("ok");
      server.behave(OK);
      const drain = spawnSafChild(file, server.url, "drain", 2);
      expect((await drain.exit).code, drain.stderr()).toBe(0);
      const after = server.requests.slice(inFlight.length).map((r) => r.key);
      for (const k of inFlight) expect(after.filter((a) => a === k)).toHaveLength(1);
      // And every acknowledged message arrived, each once after the restart (beside them, at most the burst that
      // was committed when the kill cut off its acknowledgement).
      expect(new Set(after).size).toBe(after.length);
      for (const k of acked) expect(after).toContain(k);
      expect(after.length - acked.length).toBeLessThanOrEqual(10);
      expect(integrity(file)).toEqual({ integrity: "ok", rows: 0 });
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});
