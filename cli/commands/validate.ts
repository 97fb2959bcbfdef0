import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { SourceFile } from "../../controller/compiler/compile.js";
import { packageVersion } from "../../controller/package-root.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { palette } from "../output/color.js";
import { type Format, formatOutcome, type Outcome } from "../output/formats.js";
import { type CachedResult, defaultCacheFile, lookup } from "../validate-cache.js";

export interface ValidateOptions {
  repo: string;
  format: Format;
  watch?: boolean;
  cache: boolean;
  cacheLocation?: string;
}

/** A usage problem: reported on stderr with exit code 2. */
export class UsageError extends Error {}

export async function repoRoot(dir: string): Promise<string> {
  const root = resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`--repo ${dir}: not a directory`);
  return root;
}

/** Compiles a repo's files; the compiler (YAML, JSON Schema, JavaScript parsers) loads only when needed. */
async function compileRepo(files: SourceFile[]): Promise<CachedResult> {
  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const c = compileFiles(files);
  return { diagnostics: c.diagnostics, stats: c.stats };
}

/** `scadalink validate`: the whole pipeline of section 3; exit 1 on any error. */
export async function validateCommand(opts: ValidateOptions): Promise<number> {
  const started = performance.now();
  const root = await repoRoot(opts.repo);
  if (opts.watch) {
    const { watchRepo } = await import("../watch.js");
    return watchRepo(root, opts.format);
  }
  let result: CachedResult | undefined;
  if (opts.cache) {
    const cache = await lookup(
      root,
      opts.cacheLocation ? resolve(opts.cacheLocation) : defaultCacheFile(root),
      "validate",
    );
    result = cache.hit ?? (await compileRepo(await cache.files()));
    if (!cache.hit) await cache.store(result);
  } else result = await compileRepo(await readWorkingTree(root));
  const outcome: Outcome = { ...result, durationMs: performance.now() - started };
  process.stdout.write(formatOutcome(opts.format, outcome, palette(process.stdout), packageVersion()));
  return result.diagnostics.some((d) => d.severity === "error") ? 1 : 0;
}
