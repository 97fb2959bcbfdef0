import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runGit } from "../helpers/git-server.js";
import { AUTO, controllerFor, tempDir, trailers } from "./helpers.js";

describe("local development trigger", () => {
  it("--watch reconciles a local repository when its branch moves, with no poll due", async () => {
    const dir = tempDir("watch");
    runGit(dir, ["init", "-q", "-b", "main"]);
    for (const [p, t] of Object.entries(AUTO)) {
      if (t === undefined) continue;
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), t);
    }
    runGit(dir, ["add", "-A"]);
    runGit(dir, ["commit", "-q", "-m", "seed"]);
    const c = await controllerFor(dir, { watch: true, pollIntervalMs: 3_600_000 });
    await c.start();
    try {
      const gitdir = join(dir, ".git");
      const wait = async (sha: string) => {
        const end = Date.now() + 10_000;
        while (Date.now() < end) {
          try {
            if (trailers(gitdir)[0]?.sourceCommit === sha) return;
          } catch {}
          await new Promise((r) => setTimeout(r, 40));
        }
        throw new Error(`no deploy of ${sha}`);
      };
      await wait(runGit(dir, ["rev-parse", "HEAD"]));
      writeFileSync(join(dir, "instances/more.yaml"), `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 999\n`);
      runGit(dir, ["commit", "-qam", "rated 999"]);
      const sha = runGit(dir, ["rev-parse", "HEAD"]);
      await wait(sha);
      expect(trailers(gitdir).map((t) => t.sourceCommit)).toEqual([sha, runGit(dir, ["rev-parse", "HEAD~1"])]);
    } finally {
      await c.stop();
    }
  });
});
