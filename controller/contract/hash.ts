import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** "sha256:" + hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the document without its revisionHash. */
export function revisionHash(doc: object): string {
  const { revisionHash: _, ...rest } = doc as { revisionHash?: unknown };
  const canonical = canonicalize(rest);
  if (canonical === undefined) throw new Error("document cannot be canonicalized");
  return `sha256:${createHash("sha256").update(canonical, "utf8").digest("hex")}`;
}

/** Returns the document with its revisionHash (computed over everything else) as the last field. */
export function withRevisionHash<T extends object>(doc: T): T & { revisionHash: string } {
  return { ...doc, revisionHash: revisionHash(doc) };
}
