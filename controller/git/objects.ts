import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

export type ObjectType = "blob" | "tree" | "commit";

/** The git object id (SHA-1) of content of a type, as `git hash-object` computes it. */
export function objectId(type: ObjectType, content: Uint8Array): string {
  return createHash("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex");
}

/**
 * Writes a loose object atomically (temporary file, then rename), so a process killed while writing never
 * leaves a truncated object behind. An object already present is not written again.
 */
export async function writeObject(
  gitdir: string,
  type: ObjectType,
  content: Uint8Array,
): Promise<{ oid: string; created: boolean }> {
  const oid = objectId(type, content);
  const dir = join(gitdir, "objects", oid.slice(0, 2));
  const file = join(dir, oid.slice(2));
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return { oid, created: false };
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `tmp_${randomBytes(6).toString("hex")}`);
  const header = Buffer.from(`${type} ${content.length}\0`);
  await writeFile(tmp, deflateSync(Buffer.concat([header, content])), { mode: 0o444 });
  await rename(tmp, file);
  return { oid, created: true };
}

export interface TreeEntry {
  name: string;
  mode: "100644" | "040000";
  oid: string;
}

/** git orders tree entries by name, comparing a subtree's name as if it ended in "/". */
function sortKey(e: TreeEntry): Buffer {
  return Buffer.from(e.mode === "040000" ? `${e.name}/` : e.name, "utf8");
}

/** The binary content of a tree object. */
export function treeContent(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  return Buffer.concat(
    sorted.flatMap((e) => [
      Buffer.from(`${e.mode === "040000" ? "40000" : e.mode} ${e.name}\0`, "utf8"),
      Buffer.from(e.oid, "hex"),
    ]),
  );
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/** The text of a commit object. */
export function commitContent(c: { tree: string; parents: string[]; author: Signature; message: string }): Buffer {
  const who = (s: Signature) => `${s.name} <${s.email}> ${s.timestamp} +0000`;
  const lines = [
    `tree ${c.tree}`,
    ...c.parents.map((p) => `parent ${p}`),
    `author ${who(c.author)}`,
    `committer ${who(c.author)}`,
    "",
    c.message,
  ];
  return Buffer.from(lines.join("\n"), "utf8");
}
