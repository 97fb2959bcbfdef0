import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { packageRoot } from "../../controller/package-root.js";
import { tempDir } from "./cli.js";

export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 600_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/**
 * Installing the package compiles better-sqlite3 where users download its prebuilt binary: this machine has no
 * route to GitHub. The binary `npm ci` built is offered as the local prebuild prebuild-install looks for first,
 * under the name it would download.
 */
export function localPrebuild(): string {
  const pkg = join(packageRoot(), "node_modules", "better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { version: string };
  const dir = tempDir("prebuilds");
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tar = sh("tar", ["-czf", join(dir, name), "-C", pkg, "build/Release/better_sqlite3.node"], pkg);
  expect(tar.code, tar.out).toBe(0);
  return dir;
}
