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
export function commitContent(c: {
  tree: string;
  parents: string[];
  author: Signature;
  message: string;
  /** An armored signature of the content without it, as git writes it: a gpgsig header after the committer. */
  gpgsig?: string;
}): Buffer {
  const who = (s: Signature) => `${s.name} <${s.email}> ${s.timestamp} +0000`;
  const lines = [
    `tree ${c.tree}`,
    ...c.parents.map((p) => `parent ${p}`),
    `author ${who(c.author)}`,
    `committer ${who(c.author)}`,
    ...(c.gpgsig ? [`gpgsig ${c.gpgsig.trim().split("\n").join("\n ")}`] : []),
    "",
    c.message,
  ];
  return Buffer.from(lines.join("\n"), "utf8");
}

/**
 * A commit object split as `git verify-commit` splits it: the signed payload (the object without its gpgsig
 * header) and the armored signature, if any. Also the parents the payload names.
 */
export function splitCommit(raw: Buffer): { payload: Buffer; signature: string | undefined; parents: string[] } {
  const text = raw.toString("utf8");
  const end = text.indexOf("\n\n");
  const head = (end === -1 ? text : text.slice(0, end)).split("\n");
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of head) {
    if (inSig && line.startsWith(" ")) {
      sig.push(line.slice(1));
      continue;
    }
    inSig = line.startsWith("gpgsig ");
    if (inSig) sig.push(line.slice("gpgsig ".length));
    else kept.push(line);
  }
  const payload = Buffer.from(kept.join("\n") + (end === -1 ? "" : text.slice(end)), "utf8");
  const parents = kept.filter((l) => l.startsWith("parent ")).map((l) => l.slice("parent ".length));
  return { payload, signature: sig.length ? sig.join("\n") : undefined, parents };
}
