import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RULES } from "../controller/compiler/rules/registry.js";
import { packageRoot } from "../controller/package-root.js";

const read = (p: string) => readFileSync(join(packageRoot(), p), "utf8");

describe("documentation stays in step with the code", () => {
  it("docs/rules.md describes every rule id", () => {
    const doc = read("docs/rules.md");
    for (const id of Object.keys(RULES)) expect(doc, id).toMatch(new RegExp(`^\\| \`${id}\` +\\|`, "m"));
  });

  it("the README's first commands are the install/run command and the test command, and .ci/run calls the latter", () => {
    const block = read("README.md").split("```sh\n")[1]!.split("```")[0]!;
    const [install, test] = block
      .trim()
      .split("\n")
      .map((l) => l.split("#")[0]!.trim());
    expect(install).toBe("npm ci && npm run demo -- --duration 60");
    expect(test).toBe("npm test");
    expect(read(".ci/run")).toMatch(/^npm test$/m);
  });
});
