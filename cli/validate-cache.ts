import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceFile, Stats } from "../controller/compiler/compile.js";
import type { Diagnostic } from "../controller/compiler/diagnostics.js";
import { packageVersion } from "../controller/package-root.js";
import {
  listConfigFiles,
  type RepositorySettings,
  readRepositoryFile,
  repositorySettings,
} from "../controller/sources/working-tree.js";

/**
 * A content-hash cache of `validate` results (like eslint --cache). The key covers the tool's version and
 * build, every file's path and content hash, and the options; a hit skips parsing and checking entirely.
 * File metadata (size, mtime) only saves re-reading a file whose content hash is already known.
 */
export interface CachedResult {
  diagnostics: Diagnostic[];
  stats: Stats;
}

interface Digest {
  size: number;
  mtimeMs: number;
  sha1: string;
}

interface CacheFile {
  version: number;
  key: string;
  result: CachedResult;
  files: Record<string, Digest>;
  /** settings of a scadalink.yaml, by its content hash */
  repository: { sha1: string; settings: RepositorySettings };
}

const FORMAT_VERSION = 3;

/** Where the cache of a repo lives: $SCADALINK_CACHE_DIR, else $XDG_CACHE_HOME/scadalink, else ~/.cache/scadalink. */
export function defaultCacheFile(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.SCADALINK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "scadalink");
  const id = createHash("sha256").update(root).digest("hex").slice(0, 24);
  return join(dir, `validate-${id}.json`);
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** Identifies this build of the tool (every build rewrites its files), so it never trusts an older build's results. */
async function buildStamp(): Promise<string> {
  const st = await stat(fileURLToPath(import.meta.url)).catch(() => undefined);
  return `${packageVersion()}:${FORMAT_VERSION}:${st ? `${st.mtimeMs}:${st.size}` : "unknown"}`;
}

async function loadCache(file: string): Promise<CacheFile | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8")) as CacheFile;
    return data?.version === FORMAT_VERSION && typeof data.key === "string" ? data : undefined;
  } catch {
    return undefined;
  }
}

export interface Lookup {
  /** scadalink.yaml's settings. */
  settings: RepositorySettings;
  /** The cached result when nothing changed. */
  hit: CachedResult | undefined;
  /** On a miss: every config file, read. */
  files(): Promise<SourceFile[]>;
  /** On a miss: remember this result. Best effort (a cache that cannot be written only costs speed). */
  store(result: CachedResult): Promise<void>;
}

/**
 * Looks up a repo's validate result, reading only files whose size or mtime changed since they were hashed.
 * keyOf adds what else the result depends on (the options, the deploy branch's commit).
 */
export async function lookup(
  root: string,
  cacheFile: string,
  keyOf: (s: RepositorySettings) => Promise<string>,
): Promise<Lookup> {
  const cached = await loadCache(cacheFile);
  const repoText = await readRepositoryFile(root);
  const repoSha1 = repoText === undefined ? "" : sha1(repoText);
  const settings =
    cached?.repository.sha1 === repoSha1 ? cached.repository.settings : await repositorySettings(repoText);
  const paths = await listConfigFiles(root, settings.exclude);
  const options = await keyOf(settings);

  const texts = new Map<string, string>();
  const digests: Record<string, Digest> = {};
  await Promise.all(
    paths.map(async (path) => {
      const full = join(root, path);
      const st = await stat(full);
      const known = cached?.files[path];
      if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) digests[path] = known;
      else {
        const text = await readFile(full, "utf8");
        texts.set(path, text);
        digests[path] = { size: st.size, mtimeMs: st.mtimeMs, sha1: sha1(text) };
      }
    }),
  );
  const h = createHash("sha256")
    .update(await buildStamp())
    .update("\0")
    .update(options)
    .update("\0");
  for (const path of paths) h.update(path).update("\0").update(digests[path]!.sha1).update("\0");
  const key = h.digest("hex");

  return {
    settings,
    hit: cached?.key === key ? cached.result : undefined,
    async files() {
      return Promise.all(
        paths.map(async (path) => ({ path, text: texts.get(path) ?? (await readFile(join(root, path), "utf8")) })),
      );
    },
    async store(result) {
      const data: CacheFile = {
        version: FORMAT_VERSION,
        key,
        result,
        files: digests,
        repository: { sha1: repoSha1, settings },
      };
      try {
        await mkdir(dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(data));
        await rename(tmp, cacheFile);
      } catch {
        // ignore
      }
    },
  };
}
