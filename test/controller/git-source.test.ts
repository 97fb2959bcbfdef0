import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Compilation, compileFiles } from "../../controller/compiler/compile.js";
import { Repo } from "../../controller/git/repo.js";
import { GitSource } from "../../controller/sources/git-tree.js";
import { runGit } from "../helpers/git-server.js";
import { templateFiles } from "../helpers/template-repo.js";
import { tempDir } from "./helpers.js";

const observable = (c: Compilation) => ({
  diagnostics: c.diagnostics,
  stats: c.stats,
  packages: c.errorCount ? [] : c.packages(),
});

describe("compiling straight from git objects", () => {
  it("re-reads only blobs whose ids changed and always equals a cold compile of the same commit", async () => {
    const dir = tempDir("gitsrc");
    runGit(dir, ["init", "-q", "-b", "main"]);
    const files = new Map((await templateFiles()).map((f) => [f.path, f.text]));
    const write = (changes: Record<string, string | undefined>) => {
      for (const [p, t] of Object.entries(changes)) {
        if (t === undefined) {
          rmSync(join(dir, p), { force: true });
          files.delete(p);
        } else {
          mkdirSync(dirname(join(dir, p)), { recursive: true });
          writeFileSync(join(dir, p), t);
          files.set(p, t);
        }
      }
      runGit(dir, ["add", "-A"]);
      runGit(dir, ["commit", "-q", "--allow-empty", "-m", "change"]);
      return runGit(dir, ["rev-parse", "HEAD"]);
    };
    const first = write(Object.fromEntries(files));
    // Files git keeps but the compiler must not read: excluded paths and a symbolic link.
    writeFileSync(join(dir, ".pre-commit-config.yaml"), "repos: []\n");
    const { symlinkSync } = await import("node:fs");
    symlinkSync("sites/ps-hilltop.yaml", join(dir, "link.yaml"));
    const withExtras = write({ "docs/notes.yaml": "not: a document\n" });
    files.delete(".pre-commit-config.yaml");
    files.delete("docs/notes.yaml");

    const source = new GitSource(await Repo.open(dir, dir));
    const cold = () => compileFiles([...files].map(([path, text]) => ({ path, text })));
    expect(await source.load(first)).toBe(files.size);
    expect(observable(await source.compile(withExtras))).toEqual(observable(cold()));

    const valve = files.get("templates/valve.yaml")!;
    const steps: Record<string, string | undefined>[] = [
      { "templates/valve.yaml": valve.replace("value: 100", "value: 97") },
      {
        "instances/ps-hilltop/station.yaml": files
          .get("instances/ps-hilltop/station.yaml")!
          .replace("Diameter: 22", "Diameter: 23"),
        "batches/x.yaml": "kind: Batch\nname: x\nselect: { instances: [ps-hilltop/R1] }\n",
      },
      {
        "templates/valve.yaml": valve.replace(
          "kind: Template\nname: Actuator",
          "kind: Template\nname: Actuator\nbroken: [",
        ),
      },
      { "templates/valve.yaml": valve, "batches/x.yaml": undefined },
    ];
    for (const step of steps) {
      const commit = write(step);
      expect(await source.load(commit)).toBe(Object.values(step).filter((t) => t !== undefined).length);
      expect(observable(source.compiler.compile())).toEqual(observable(cold()));
    }
    expect(await source.load(runGit(dir, ["rev-parse", "HEAD"]))).toBe(0);
  });
});
