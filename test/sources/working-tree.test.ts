import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { writeRepo } from "../helpers/cli.js";

describe("reading a config repo's working tree", () => {
  it("reads every .yaml/.yml file, dot-directories included, except exclude globs, .git and node_modules", async () => {
    const dir = writeRepo({
      "scadalink.yaml": 'kind: Repository\nexclude: ["docs/**", "*.draft.yaml"]\n',
      "a.yaml": "kind: Site\nname: a\n",
      "b/c.yml": "kind: Site\nname: c\n",
      ".hidden/d.yaml": "kind: Site\nname: d\n",
      "docs/e.yaml": "not: scadalink\n",
      "f.draft.yaml": "kind: Site\nname: f\n",
      ".git/g.yaml": "x: 1\n",
      "node_modules/pkg/h.yaml": "x: 1\n",
      "sub/node_modules/i.yaml": "x: 1\n",
      "notes.txt": "x",
    });
    symlinkSync(join(dir, "a.yaml"), join(dir, "link.yaml"));
    const files = await readWorkingTree(dir);
    expect(files.map((f) => f.path)).toEqual([".hidden/d.yaml", "a.yaml", "b/c.yml", "scadalink.yaml"]);
    expect(files.find((f) => f.path === "a.yaml")!.text).toBe("kind: Site\nname: a\n");
  });

  it("excludes nothing when scadalink.yaml is missing or broken", async () => {
    const dir = writeRepo({ "scadalink.yaml": "kind: Repository\nexclude: [\n", "docs/e.yaml": "x: 1\n" });
    expect((await readWorkingTree(dir)).map((f) => f.path)).toEqual(["docs/e.yaml", "scadalink.yaml"]);
  });
});
