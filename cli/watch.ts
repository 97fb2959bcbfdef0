import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { watch } from "chokidar";
import picomatch from "picomatch";
import { Compiler } from "../controller/compiler/compile.js";
import { REPOSITORY_FILE } from "../controller/contract/api.js";
import { packageVersion } from "../controller/package-root.js";
import {
  ALWAYS_IGNORED,
  excludeGlobs,
  readRepositoryFile,
  readWorkingTree,
  toRepoPath,
} from "../controller/sources/working-tree.js";
import { palette } from "./output/color.js";
import { type Format, formatOutcome } from "./output/formats.js";

const YAML_FILE = /\.ya?ml$/i;

/**
 * `validate --watch`: keeps one incremental compiler; each change re-reads only the changed files and
 * re-checks only what they affect. Prints a result per change until interrupted.
 */
export async function watchRepo(root: string, format: Format): Promise<number> {
  const compiler = new Compiler();
  /** Which repo paths are not config files, from scadalink.yaml's exclude globs (re-read when it changes). */
  const excludedPaths = async () =>
    picomatch([...ALWAYS_IGNORED, ...(await excludeGlobs(await readRepositoryFile(root)))], { dot: true });
  let excluded = await excludedPaths();
  compiler.setFiles(await readWorkingTree(root));
  const out = palette(process.stdout);

  const watcher = watch(root, {
    ignoreInitial: true,
    ignored: (p, stats) =>
      /(^|[\\/])(\.git|node_modules)([\\/]|$)/.test(p) || (stats?.isFile() === true && !YAML_FILE.test(p)),
  });
  // The first result is printed once the watcher is ready, so any change made after it is seen.
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));

  const report = () => {
    const t0 = performance.now();
    const c = compiler.compile();
    const outcome = { diagnostics: c.diagnostics, stats: c.stats, durationMs: performance.now() - t0 };
    if (format === "text" && process.stdout.isTTY) process.stdout.write("\u001bc");
    process.stdout.write(formatOutcome(format, outcome, out, packageVersion()));
    if (format === "text") process.stdout.write(out.dim(`watching ${root} for changes (Ctrl-C to stop)\n`));
  };
  report();

  /** Re-reads one file into the compiler; true when that changed what the compiler holds. */
  const refresh = async (path: string): Promise<boolean> => {
    if (excluded(path)) return compiler.deleteFile(path);
    const text = await readFile(join(root, path), "utf8").catch(() => undefined);
    return text === undefined ? compiler.deleteFile(path) : compiler.setFile(path, text);
  };

  const pending = new Map<string, "change" | "unlink">();
  let timer: NodeJS.Timeout | undefined;
  // chokidar drops a second change of one file within 50 ms of the first; re-read changed files after that
  // window so a quick second save is never missed.
  const recheck = new Set<string>();
  let recheckTimer: NodeJS.Timeout | undefined;
  const verify = async () => {
    recheckTimer = undefined;
    const paths = [...recheck];
    recheck.clear();
    let changed = false;
    for (const path of paths) changed = (await refresh(path)) || changed;
    if (changed) report();
  };
  const flush = async () => {
    timer = undefined;
    const batch = [...pending];
    pending.clear();
    if (batch.some(([p]) => p === REPOSITORY_FILE)) {
      // exclude globs may have changed: re-list everything (unchanged files stay parsed).
      excluded = await excludedPaths();
      compiler.setFiles(await readWorkingTree(root));
    } else {
      for (const [path, kind] of batch) {
        if (kind === "unlink") compiler.deleteFile(path);
        else await refresh(path);
      }
    }
    report();
    for (const [path] of batch) recheck.add(path);
    if (!recheckTimer) recheckTimer = setTimeout(() => void verify(), 80);
  };

  watcher.on("all", (event, abs) => {
    const path = toRepoPath(root, abs);
    if (!YAML_FILE.test(path)) return;
    if (event === "add" || event === "change") pending.set(path, "change");
    else if (event === "unlink") pending.set(path, "unlink");
    else return;
    if (!timer) timer = setTimeout(() => void flush(), 25);
  });

  return new Promise<number>((resolveExit) => {
    const stop = () => {
      void watcher.close().then(() => resolveExit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
