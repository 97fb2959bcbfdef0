import { lstat, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { glob } from "tinyglobby";
import type { SourceFile } from "../compiler/compile.js";
import { REPOSITORY_FILE } from "../contract/api.js";
import { DEFAULT_BRANCHES } from "../contract/branches.js";

/** Never read: git's own files and installed packages. */
export const ALWAYS_IGNORED = ["**/.git/**", "**/node_modules/**"];

/** The text of scadalink.yaml, if the repo has one. */
export function readRepositoryFile(root: string): Promise<string | undefined> {
  return readFile(join(root, REPOSITORY_FILE), "utf8").catch(() => undefined);
}

export interface RepositorySettings {
  exclude: string[];
  deployBranch: string;
  statusBranchPrefix: string;
}

/** Settings of scadalink.yaml's Repository document, with defaults when it is missing or broken. */
export async function repositorySettings(repositoryText: string | undefined): Promise<RepositorySettings> {
  const out: RepositorySettings = {
    exclude: [],
    ...DEFAULT_BRANCHES,
  };
  if (repositoryText === undefined) return out;
  // Loaded only here: a cached validate run whose scadalink.yaml did not change never needs the YAML parser.
  const { parseAllDocuments } = await import("yaml");
  try {
    for (const doc of parseAllDocuments(repositoryText)) {
      if (doc.errors.length) continue;
      const data = doc.toJS({ maxAliasCount: 100 }) as {
        kind?: unknown;
        exclude?: unknown;
        deployBranch?: unknown;
      } | null;
      if (data?.kind !== "Repository") continue;
      if (Array.isArray(data.exclude)) out.exclude = data.exclude.filter((g): g is string => typeof g === "string");
      if (typeof data.deployBranch === "string") out.deployBranch = data.deployBranch;
      break;
    }
  } catch {
    // A broken scadalink.yaml is reported by validation; without it nothing is excluded.
  }
  return out;
}

/** The exclude globs of scadalink.yaml's Repository document (none when it is missing or broken). */
export async function excludeGlobs(repositoryText: string | undefined): Promise<string[]> {
  return (await repositorySettings(repositoryText)).exclude;
}

/**
 * The commit a ref of a working tree's repository points to, read from git's own files (loose ref, then
 * packed-refs): cheap enough for the cached validate path.
 */
export async function readLocalRef(root: string, ref: string): Promise<string | undefined> {
  const gitdir = join(root, ".git");
  const loose = await readFile(join(gitdir, ref), "utf8").catch(() => undefined);
  if (loose && /^[0-9a-f]{40}\s*$/.test(loose)) return loose.trim();
  const packed = await readFile(join(gitdir, "packed-refs"), "utf8").catch(() => "");
  for (const line of packed.split("\n")) {
    const [oid, name] = line.split(" ");
    if (name === ref && oid && /^[0-9a-f]{40}$/.test(oid)) return oid;
  }
  return undefined;
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
