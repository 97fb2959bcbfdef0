import picomatch from "picomatch";
import { type Compilation, type CompileOptions, Compiler } from "../compiler/compile.js";
import { REPOSITORY_FILE } from "../contract/api.js";
import type { Repo } from "../git/repo.js";
import { ALWAYS_IGNORED, excludeGlobs, type RepositorySettings, repositorySettings } from "./working-tree.js";

const YAML_FILE = /\.ya?ml$/i;
const SYMLINK = "120000";

/**
 * Compiles commits straight from git objects, no working tree. Keeps one incremental compiler: loading the next
 * commit reads only the blobs whose ids changed, and the result always equals a cold compile of that commit.
 */
export class GitSource {
  readonly compiler = new Compiler();
  /** Blob id of every file the compiler holds. */
  private readonly loaded = new Map<string, string>();
  private excludeFor: { oid: string; exclude: string[] } | undefined;
  /** The commit the compiler holds now. */
  commit: string | undefined;

  constructor(private readonly repo: Repo) {}

  /** Loads a commit's config files into the compiler; returns how many blobs had to be read. */
  async load(commit: string): Promise<number> {
    if (commit === this.commit) return 0;
    const { tree } = await this.repo.readCommit(commit);
    const { files } = await this.repo.listFiles(tree);
    const repoFile = files.get(REPOSITORY_FILE);
    let exclude: string[] = [];
    if (repoFile) {
      if (this.excludeFor?.oid !== repoFile.oid) {
        this.excludeFor = { oid: repoFile.oid, exclude: await excludeGlobs(await this.repo.readText(repoFile.oid)) };
      }
      exclude = this.excludeFor.exclude;
    }
    const ignored = picomatch([...ALWAYS_IGNORED, ...exclude], { dot: true });
    const wanted = new Map<string, string>();
    for (const f of files.values()) {
      if (YAML_FILE.test(f.path) && f.mode !== SYMLINK && !ignored(f.path)) wanted.set(f.path, f.oid);
    }
    let read = 0;
    for (const [path, oid] of wanted) {
      if (this.loaded.get(path) === oid) continue;
      this.compiler.setFile(path, await this.repo.readText(oid));
      this.loaded.set(path, oid);
      read++;
    }
    for (const path of [...this.loaded.keys()]) {
      if (!wanted.has(path)) {
        this.compiler.deleteFile(path);
        this.loaded.delete(path);
      }
    }
    this.commit = commit;
    return read;
  }

  /** The settings of scadalink.yaml at a commit (its root tree only: no compile needed). */
  async settings(commit: string): Promise<RepositorySettings> {
    const { tree } = await this.repo.readCommit(commit);
    const entry = (await this.repo.readTree(tree)).find((e) => e.path === REPOSITORY_FILE && e.type === "blob");
    return repositorySettings(entry ? await this.repo.readText(entry.oid) : undefined);
  }

  /** Loads and compiles a commit. */
  async compile(commit: string, options?: CompileOptions): Promise<Compilation> {
    await this.load(commit);
    return this.compiler.compile(options);
  }
}
