import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { SourceFile, Stats } from "../controller/compiler/compile.js";
import type { Diagnostic } from "../controller/compiler/diagnostics.js";
import { packageVersion } from "../controller/package-root.js";

/**
 * A content-hash cache of `validate` results (like eslint --cache): the key covers the tool's version and build,
 * every file's path and content hash, and the options. A hit skips parsing and checking entirely.
 */
export interface CachedResult {
  diagnostics: Diagnostic[];
  stats: Stats;
}

const FORMAT_VERSION = 1;

/** Where the cache of a repo lives: $SCADALINK_CACHE_DIR, else $XDG_CACHE_HOME/scadalink, else ~/.cache/scadalink. */
export function defaultCacheFile(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.SCADALINK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "scadalink");
  const id = createHash("sha256").update(root).digest("hex").slice(0, 24);
  return join(dir, `validate-${id}.json`);
}

/** Identifies this build of the compiler, so a rebuilt tool never trusts an older tool's results. */
async function buildStamp(): Promise<string> {
  const compiler = new URL("../controller/compiler/compile.js", import.meta.url);
  const st = await stat(compiler).catch(() =>
    stat(new URL("../controller/compiler/compile.ts", import.meta.url)).catch(() => undefined),
  );
  return `${packageVersion()}:${FORMAT_VERSION}:${st ? `${st.mtimeMs}:${st.size}` : "source"}`;
}

export async function cacheKey(files: readonly SourceFile[], options: string): Promise<string> {
  const h = createHash("sha256");
  h.update(await buildStamp())
    .update("\0")
    .update(options)
    .update("\0");
  for (const f of files) {
    h.update(f.path).update("\0");
    h.update(createHash("sha1").update(f.text).digest()).update("\0");
  }
  return h.digest("hex");
}

export async function readCache(file: string, key: string): Promise<CachedResult | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8"));
    return data?.key === key ? (data.result as CachedResult) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written only costs speed. Written atomically (temp file + rename). */
export async function writeCache(file: string, key: string, result: CachedResult): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ key, result }));
    await rename(tmp, file);
  } catch {
    // ignore
  }
}
