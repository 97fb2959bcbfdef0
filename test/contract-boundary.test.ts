import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../controller/package-root.js";

// The site reconciler shares with central only the contract (controller/contract/: branch names, deploy-branch
// layout, record paths, revision hash, API version, script policy, schema validators), the generated schemas
// and the git client (controller/git/). Everything else of the controller is its own business: a site that
// imported the compiler would run whatever the compiler became.
const ROOT = packageRoot();
const SHARED = ["controller/contract/", "controller/git/", "schemas/"];
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The project files a module imports (relative specifiers only; packages are not the boundary's concern). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith(".")) continue;
    const target = relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replace(/\.js$/, ".ts");
    out.push(existsSync(join(ROOT, target)) ? target : target.replace(/\.ts$/, ".mts"));
  }
  return out;
}

/** Every project module reachable from the given ones, with the first path that reaches it. */
function reachable(from: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>(from.map((f) => [f, [f]]));
  const queue = [...from];
  while (queue.length) {
    const f = queue.shift()!;
    for (const t of importsOf(f)) {
      if (seen.has(t)) continue;
      seen.set(t, [...seen.get(f)!, t]);
      queue.push(t);
    }
  }
  return seen;
}

describe("the contract boundary", () => {
  it("finds imports: the checker itself sees a site module's imports of the contract", () => {
    expect(importsOf("site-reconciler/reconciler.ts")).toContain("controller/contract/branches.ts");
    expect(importsOf("site-reconciler/runtime/scripts/sandbox.ts")).toContain("controller/contract/script-policy.ts");
    // …and follows chains: the CLI's validate reaches the compiler through the commands it loads.
    expect([...reachable(["cli/main.ts"]).keys()].some((f) => f.startsWith("controller/compiler/"))).toBe(true);
  });

  it("the site reconciler reaches nothing of the controller but the contract and the git client", () => {
    const outside = [...reachable(sources("site-reconciler"))].filter(
      ([f]) => !f.startsWith("site-reconciler/") && !SHARED.some((s) => f.startsWith(s)),
    );
    expect(outside.map(([, path]) => path.join(" → "))).toEqual([]);
  });

  it("the contract and the git client depend on nothing else of the project", () => {
    const shared = [...sources("controller/contract"), ...sources("controller/git")];
    const outside = [...reachable(shared)].filter(([f]) => !SHARED.some((s) => f.startsWith(s)));
    expect(outside.map(([, path]) => path.join(" → "))).toEqual([]);
  });

  it("the controller never imports the site reconciler", () => {
    const intoSite = [...reachable(sources("controller"))].filter(([f]) => f.startsWith("site-reconciler/"));
    expect(intoSite.map(([, path]) => path.join(" → "))).toEqual([]);
  });

  it("the branch defaults are written once, in the contract", () => {
    const files = [...sources("controller"), ...sources("site-reconciler"), ...sources("cli")];
    const defining = files.filter(
      (f) =>
        f !== "controller/contract/branches.ts" &&
        /["']scadalink\/(deploy|status\/)["']/.test(readFileSync(join(ROOT, f), "utf8")),
    );
    expect(defining).toEqual([]);
  });
});
