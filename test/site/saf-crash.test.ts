// Store-and-forward durability: a child site process (from dist/) enqueues and delivers and is SIGKILLed at random
// moments, then restarted; a last one drains. No acknowledged message is lost, duplicates carry the same key, each
// target's first deliveries keep enqueue order, and the store passes integrity_check after every kill.
// bench/store-and-forward.mjs runs the same harness for 100 rounds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSafCrashRounds } from "../helpers/saf-crash.mjs";
import { type FaultServer, startFaultServer } from "../helpers/saf-http-server.mjs";

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
});
