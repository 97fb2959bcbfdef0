import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { CompileOptions, SourceFile } from "../../controller/compiler/compile.js";
import { packageVersion } from "../../controller/package-root.js";
import {
  readLocalRef,
  readRepositoryFile,
  readWorkingTree,
  repositorySettings,
} from "../../controller/sources/working-tree.js";
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
async function compileRepo(files: SourceFile[], options?: CompileOptions): Promise<CachedResult> {
  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const c = compileFiles(files, options);
  return { diagnostics: c.diagnostics, stats: c.stats };
}

/** The deploy branch's commit in the working tree's repository (origin's copy first), if it has one. */
async function localDeployHead(root: string, branch: string): Promise<string | undefined> {
  return (
    (await readLocalRef(root, `refs/remotes/origin/${branch}`)) ?? (await readLocalRef(root, `refs/heads/${branch}`))
  );
}

/**
 * What validation learns from a local deploy branch: deployed ids (a batch may release a deletion) and released
 * selections (batch-immutable). The repository is opened only when there is one.
 */
async function deployContext(root: string, head: string | undefined): Promise<CompileOptions | undefined> {
  if (!head) return undefined;
  const { Repo } = await import("../../controller/git/repo.js");
  const { readDeployState } = await import("../../controller/deploy/state.js");
  const { deployOptions } = await import("../repo-access.js");
  return deployOptions(await readDeployState(await Repo.open(root, root), head));
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
    let head: string | undefined;
    const cache = await lookup(
      root,
      opts.cacheLocation ? resolve(opts.cacheLocation) : defaultCacheFile(root),
      async (s) => {
        head = await localDeployHead(root, s.deployBranch);
        return `validate\0${head ?? ""}`;
      },
    );
    result = cache.hit ?? (await compileRepo(await cache.files(), await deployContext(root, head)));
    if (!cache.hit) await cache.store(result);
  } else {
    const settings = await repositorySettings(await readRepositoryFile(root));
    const head = await localDeployHead(root, settings.deployBranch);
    result = await compileRepo(await readWorkingTree(root), await deployContext(root, head));
  }
  const outcome: Outcome = { ...result, durationMs: performance.now() - started };
  process.stdout.write(formatOutcome(opts.format, outcome, palette(process.stdout), packageVersion()));
  return result.diagnostics.some((d) => d.severity === "error") ? 1 : 0;
}
