import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../controller/package-root.js";
import { tempDir } from "./helpers/cli.js";
import { localPrebuild, sh } from "./helpers/npm.js";

const COMMANDS = [
  ["init"],
  ["validate"],
  ["flatten"],
  ["plan"],
  ["diff"],
  ["batch", "prepare"],
  ["controller"],
  ["site"],
  ["site", "inspect"],
  ["status"],
  ["demo"],
];

describe("the npm package", () => {
  it("packs into a tarball that installs in a clean directory; its scadalink bin validates, has --version and --help everywhere", () => {
    const out = tempDir("pack");
    const pack = sh("npm", ["pack", "--pack-destination", out, "--ignore-scripts"], packageRoot());
    expect(pack.code, pack.out).toBe(0);
    const tarball = readdirSync(out).find((f) => f.endsWith(".tgz"))!;
    expect(tarball).toMatch(/^scadalink-\d+\.\d+\.\d+\.tgz$/);
    // Only what the package declares: no sources, tests or state.
    const listing = sh("tar", ["-tzf", join(out, tarball)], out).out.split("\n");
    expect(listing).toContain("package/dist/bundle/scadalink.js");
    expect(listing).toContain("package/config-repo-template/scadalink.yaml");
    expect(listing.some((f) => f.startsWith("package/test/") || f.startsWith("package/site-reconciler/"))).toBe(false);

    const app = tempDir("app");
    const install = sh("npm", ["install", "--no-audit", "--no-fund", join(out, tarball)], app, {
      npm_config_better_sqlite3_local_prebuilds: localPrebuild(),
    });
    expect(install.code, install.out).toBe(0);
    const bin = join(app, "node_modules", ".bin", "scadalink");
    const run = (...args: string[]) => {
      const r = spawnSync(bin, args, { cwd: app, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const version = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version as string;
    expect(run("--version").stdout.trim()).toBe(version);
    const template = join(app, "node_modules", "scadalink", "config-repo-template");
    const validate = run("validate", "--repo", template);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toMatch(/no problems · 45 instances, 12 templates, 3 sites/);
    for (const c of COMMANDS) {
      const help = run(...c, "--help");
      expect(help.code, `${c.join(" ")} --help`).toBe(0);
      expect(help.stdout, c.join(" ")).toMatch(/^Usage: scadalink /);
    }
  }, 600_000);
});
