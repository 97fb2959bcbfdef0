import { closeSync, copyFileSync, existsSync, openSync, readdirSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, scadalink } from "../helpers/cli.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import {
  type CrashPhase,
  type CrashRound,
  checkConverged,
  checkCrashed,
  crashFixture,
  deployState,
  mirrorState,
  readStore,
  runCrashRounds,
} from "../helpers/site-crash.mjs";
import { DEPLOY, fleet, git, SITE, tempDir } from "./helpers.js";

/** Pumps at the site: every one of them changes between any two deploy states. */
const INSTANCES = 120;
/** Deploy states the branch goes round; fetches to a state not fetched before download its 120 new packages. */
const STATES = 16;
/** SIGKILLs per phase (rounds where the kill did not happen are not counted). */
const KILLS: Record<CrashPhase, number> = { fetch: 30, apply: 30 };

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

// Random kill moments; the seeds are in every failure message, so a run can be replayed (timing aside).
const SEEDS: Record<CrashPhase, number> = {
  fetch: Math.floor(Math.random() * 2 ** 32),
  apply: Math.floor(Math.random() * 2 ** 32),
};

/** The properties every round must show, killed or not. */
function checkRound(r: CrashRound): void {
  const at = `seed ${SEEDS[r.phase]} round ${r.round} (${r.phase}, +${r.delayMs} ms, landed ${r.landed}, mirror ${r.mirror})`;
  if (r.killed) expect(r.staleLock, `${at}: the killed pid is in reconciler.lock`).toBe(true);
  else expect(r.exit, `${at}: not killed, so it ran to the end`).toBe(0);
  // The store the kill left: intact, every instance at its old or its new revision, no row half-written.
  expect(r.crashed.integrity, at).toBe("ok");
  expect(r.crashed.problems, at).toEqual([]);
  expect(r.crashed.rows, at).toBe(INSTANCES);
  expect(r.crashed.atOld + r.crashed.atNew, at).toBe(INSTANCES);
  // The restart (taking over the dead process's lock) converges in one loop.
  expect(r.restart.exit, at).toBe(0);
  expect(r.restart.integrity, at).toBe("ok");
  expect(r.restart.problems, at).toEqual([]);
}

describe("site reconciler crash safety (SIGKILL, real git server, real controller, the built CLI)", () => {
  it(`${KILLS.fetch + KILLS.apply} SIGKILLs (${KILLS.fetch} during fetch, ${KILLS.apply} during apply): each instance at its old or new revision, integrity ok, the next loop converges`, async () => {
    const f = await fleet(server, crashFixture({ instances: INSTANCES }));
    const states = [git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`)];
    // Each next state changes a template value every pump inherits, so all INSTANCES packages change.
    for (let i = 1; i < STATES; i++) {
      const motor = crashFixture({ instances: INSTANCES, maxSpeed: 1500 + 10 * i })["templates/motor.yaml"];
      states.push(await f.change({ "templates/motor.yaml": motor }, `MaxSpeed ${1500 + 10 * i}`));
    }
    expect(new Set(states).size).toBe(STATES);
    const stateDir = tempDir("site-crash");
    const common = { bin: BIN, url: f.url, bare: f.bare, site: SITE, stateDir, states };
    const rounds: CrashRound[] = [];
    const onRound = (r: CrashRound) => {
      checkRound(r);
      rounds.push(r);
    };

    const fetch = await runCrashRounds({ ...common, phase: "fetch", kills: KILLS.fetch, seed: SEEDS.fetch, onRound });
    expect(fetch.changedPerFlip).toBe(INSTANCES);
    const apply = await runCrashRounds({
      ...common,
      phase: "apply",
      kills: KILLS.apply,
      seed: SEEDS.apply,
      calibrationRuns: 0,
      calibration: { fetch: fetch.calibration.fetchMs, apply: fetch.calibration.applyMs },
      onRound,
    });

    for (const [phase, s] of [
      ["fetch", fetch],
      ["apply", apply],
    ] as const) {
      console.log(
        `crash ${phase}: ${s.kills} kills in ${s.rounds} rounds (seed ${s.seed}), landed ${JSON.stringify(s.landed)}, ` +
          `fetches with new objects killed ${s.freshFetchKills}, torn fetches ${s.tornFetches}, damaged packs ${s.damagedPacks}, ` +
          `partial applies ${s.partialApplies}, ` +
          `reverted while down ${s.revertedWhileDown}, mirror repairs ${s.mirrorRepairs}, ` +
          `calibration ${JSON.stringify(s.calibration)}, restart median ${s.medianRestartMs} ms`,
      );
      expect(s.violations, `seed ${s.seed}`).toEqual([]);
      expect(s.kills).toBe(KILLS[phase]);
      expect(s.staleLocks).toBe(s.kills);
      expect(s.integrityOk).toBe(s.rounds);
      expect(s.convergedAfter).toBe(s.rounds);
    }
    expect(fetch.killsFetch).toBe(KILLS.fetch);
    expect(apply.killsApply).toBe(KILLS.apply);
    // The kills really interrupted the phases: fetches cut off before the apply began, applies cut off half way.
    expect(fetch.landed.fetch).toBeGreaterThan(0);
    expect(fetch.freshFetchKills).toBeGreaterThan(0);
    expect(apply.landed.apply).toBeGreaterThan(0);
    expect(apply.partialApplies).toBeGreaterThan(0);
    expect(rounds.some((r) => r.killed && r.revertedWhileDown)).toBe(true);

    // The checks are not vacuous: a copy of the final store, damaged the ways a torn write would, fails them.
    const last = rounds.at(-1)!;
    const at = states.map((c) => deployState(f.bare, c, SITE));
    const now = at.find((s) => s.commit === readStore(stateDir).deployCommit)!;
    const other = at[(at.indexOf(now) + 1) % STATES]!;
    expect(checkConverged(readStore(stateDir), now), `after round ${last.round}`).toEqual([]);
    const copy = tempDir("site-crash-copy");
    const db = new Database(join(stateDir, "site.db"), { readonly: true });
    db.exec(`VACUUM INTO '${join(copy, "site.db")}'`);
    db.close();
    const [first, second, third] = [...now.revisions.keys()];
    const w = new Database(join(copy, "site.db"));
    // A row whose hash moved on without its package; a package cut short; an instance gone.
    w.prepare("UPDATE instances SET revision_hash = ? WHERE name = ?").run(other.revisions.get(first!), first);
    w.prepare("UPDATE instances SET package = substr(package, 1, 200) WHERE name = ?").run(second);
    w.prepare("DELETE FROM instances WHERE name = ?").run(third);
    w.close();
    const damaged = checkCrashed(readStore(copy), now, other).problems.join("\n");
    expect(damaged).toContain(`${first}: row revision`);
    expect(damaged).toContain(`${second}: the stored package is not JSON`);
    expect(damaged).toContain(`${third}: listed by both states but not stored`);
    // Garbage over the instances table's root page: integrity_check (or reading at all) says so.
    const broken = tempDir("site-crash-broken");
    copyFileSync(join(copy, "site.db"), join(broken, "site.db"));
    expect(existsSync(join(copy, "site.db-wal"))).toBe(false);
    const r = new Database(join(broken, "site.db"), { readonly: true });
    const pageSize = r.pragma("page_size", { simple: true }) as number;
    const { rootpage } = r.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'instances'").get() as {
      rootpage: number;
    };
    r.close();
    const fd = openSync(join(broken, "site.db"), "r+");
    writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (rootpage - 1) * pageSize);
    closeSync(fd);
    const snap = readStore(broken);
    expect(snap.error ?? snap.integrity).not.toBe("ok");
  }, 150_000);

  // Found by the rounds above, reproduced here without timing luck: a kill during isomorphic-git's write of a pack
  // or its index once left it empty, and the cache kept the broken file by name through every repair step.
  for (const [what, ext] of [
    ["pack index", ".idx"],
    ["pack", ".pack"],
  ] as const)
    it(`after a kill left an empty ${what} in the mirror, the next loop converges`, async () => {
      const f = await fleet(server, crashFixture({ instances: 20 }));
      const want = deployState(f.bare, git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`), SITE);
      const stateDir = tempDir("site-crash-pack");
      const once = () =>
        scadalink(["site", "--site", SITE, "--repo", f.url, "--state-dir", stateDir, "--once", "--log-level", "warn"]);
      const first = once();
      expect(first.code, first.stderr).toBe(0);
      expect(checkConverged(readStore(stateDir), want)).toEqual([]);
      // The first fetch is a depth-1 fetch of the tip: the same pack every repair step fetches again.
      const packs = join(stateDir, "mirror.git", "objects", "pack");
      const files = readdirSync(packs).filter((n) => n.endsWith(ext));
      expect(files.length).toBe(1);
      truncateSync(join(packs, files[0]!), 0);
      expect(mirrorState(stateDir)).toBe("damaged-pack");
      const restart = once();
      expect(restart.code, restart.stdout).toBe(0);
      expect(checkConverged(readStore(stateDir), want)).toEqual([]);
    });
});
