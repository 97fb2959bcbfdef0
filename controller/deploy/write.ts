import type { Repo } from "../git/repo.js";
import type { DesiredTree } from "./next.js";

export interface WrittenTree {
  tree: string;
  /** Blobs created because their content is new (unchanged packages reuse their blob). */
  blobsWritten: number;
}

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
    for (const [name, f] of dir.files) {
      let oid = f.oid;
      if (oid === undefined) {
        const w = await repo.writeObject("blob", Buffer.from(f.content!, "utf8"));
        oid = w.oid;
        if (w.created) blobsWritten++;
      }
      entries.push({ name, mode: "100644", oid });
    }
    return repo.writeTree(entries);
  };
  return { tree: await write(root), blobsWritten };
}
