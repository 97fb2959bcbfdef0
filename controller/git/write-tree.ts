import pMap from "p-map";
import type { Repo } from "./repo.js";
/** path → the file's content, or the oid of a blob already in the repository. */
export type DesiredTree = Map<string, { content: string } | { oid: string }>;

export interface WrittenTree {
  tree: string;
  /** Blobs created because their content is new (unchanged packages reuse their blob). */
  blobsWritten: number;
}

const WRITE_CONCURRENCY = 16;

interface Dir {
  files: Map<string, { oid?: string; content?: string }>;
  dirs: Map<string, Dir>;
}

/**
 * Writes a desired tree bottom-up. Files given by oid and directories whose content did not change are not
 * written again; only new content becomes new objects. Returns the root tree's oid.
 */
export async function writeTree(repo: Repo, desired: DesiredTree): Promise<WrittenTree> {
  const root: Dir = { files: new Map(), dirs: new Map() };
  for (const [path, file] of desired) {
    const parts = path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.dirs.get(part);
      if (!next) dir.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
      dir = next;
    }
    dir.files.set(parts[parts.length - 1]!, file);
  }
  let blobsWritten = 0;
  const write = async (dir: Dir): Promise<string> => {
    const entries: { name: string; mode: "100644" | "040000"; oid: string }[] = [];
    for (const [name, sub] of dir.dirs) entries.push({ name, mode: "040000", oid: await write(sub) });
    // A site directory holds thousands of packages: writing their loose objects a few at a time overlaps the
    // file system's latency (a first deploy of 10,000 instances otherwise spends seconds waiting on it).
    const files = await pMap(
      dir.files,
      async ([name, f]) => {
        if (f.oid !== undefined) return { name, mode: "100644" as const, oid: f.oid };
        const w = await repo.writeObject("blob", Buffer.from(f.content!, "utf8"));
        if (w.created) blobsWritten++;
        return { name, mode: "100644" as const, oid: w.oid };
      },
      { concurrency: WRITE_CONCURRENCY },
    );
    return repo.writeTree([...entries, ...files]);
  };
  return { tree: await write(root), blobsWritten };
}
