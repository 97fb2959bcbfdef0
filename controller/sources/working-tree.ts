import { lstat, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { glob } from "tinyglobby";
import type { SourceFile } from "../compiler/compile.js";
import { REPOSITORY_FILE } from "../compiler/constants.js";

/** Never read: git's own files and installed packages. */
export const ALWAYS_IGNORED = ["**/.git/**", "**/node_modules/**"];

/** The text of scadalink.yaml, if the repo has one. */
export function readRepositoryFile(root: string): Promise<string | undefined> {
  return readFile(join(root, REPOSITORY_FILE), "utf8").catch(() => undefined);
}

/** The exclude globs of scadalink.yaml's Repository document (none when it is missing or broken). */
export async function excludeGlobs(repositoryText: string | undefined): Promise<string[]> {
  if (repositoryText === undefined) return [];
  // Loaded only here: a cached validate run whose scadalink.yaml did not change never needs the YAML parser.
  const { parseAllDocuments } = await import("yaml");
  try {
    for (const doc of parseAllDocuments(repositoryText)) {
      if (doc.errors.length) continue;
      const data = doc.toJS({ maxAliasCount: 100 }) as { kind?: unknown; exclude?: unknown } | null;
      if (data?.kind !== "Repository") continue;
      const ex = data.exclude;
      return Array.isArray(ex) ? ex.filter((g): g is string => typeof g === "string") : [];
    }
  } catch {
    // A broken scadalink.yaml is reported by validation; without it nothing is excluded.
  }
  return [];
}

/** Paths (relative, '/'-separated, sorted) of the YAML files of a config repo's working tree. */
export async function listConfigFiles(root: string, exclude: readonly string[]): Promise<string[]> {
  const found = await glob(["**/*.yaml", "**/*.yml"], {
    cwd: root,
    dot: true,
    ignore: [...ALWAYS_IGNORED, ...exclude],
    followSymbolicLinks: false,
    onlyFiles: true,
    expandDirectories: false,
  });
  // Symbolic links are skipped, as they are when the controller compiles from git objects.
  const files: string[] = [];
  for (const f of found) {
    const st = await lstat(join(root, f)).catch(() => undefined);
    if (st?.isFile()) files.push(f.split(sep).join("/"));
  }
  return files.sort();
}

/** Reads every config file of a working tree. */
export async function readWorkingTree(root: string): Promise<SourceFile[]> {
  const paths = await listConfigFiles(root, await excludeGlobs(await readRepositoryFile(root)));
  const texts = await Promise.all(paths.map((p) => readFile(join(root, p), "utf8")));
  return paths.map((path, i) => ({ path, text: texts[i]! }));
}

export function toRepoPath(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/");
}
