import { splitCommit } from "../controller/git/objects.js";
import type { Repo } from "../controller/git/repo.js";
import { type TrustedKey, verifyMessage } from "../controller/git/sshsig.js";

/** Why a deploy head is not applied (section 10); each is reported as artifact-mismatch. */
export type RefusalReason = "unsigned" | "bad-signature" | "untrusted-key" | "not-descending" | "no-trusted-keys";

/** What a site with no release key says, at start and for every head it therefore refuses. */
export const NO_KEYS_MESSAGE =
  "this site has no trusted release keys, so it applies no release: give it the controller's public key with --trusted-keys FILE (git allowed_signers format; `scadalink init` shows how to make it), or start it with --allow-unsigned to apply unsigned releases (labs and tests only)";

export type ReleaseCheck = { ok: true; signer: string } | { ok: false; reason: RefusalReason; message: string };

/** Commits walked back from a head looking for the last applied one: deploys between two polls are far fewer. */
const MAX_WALK = 10_000;

/**
 * Whether a deploy head is a release this site may apply: its commit signed (git's SSH signature over the commit
 * object, which names the tree, so every manifest, package and site.json, and the parent) by a trusted key, and
 * descending from the deploy commit the site applied last, so an old release cannot come back by moving the
 * branch. `deepen` fetches more history when the walk reaches the mirror's shallow end.
 */
export async function checkRelease(
  repo: Repo,
  head: string,
  lastApplied: string | undefined,
  keys: readonly TrustedKey[],
  deepen: () => Promise<void>,
): Promise<ReleaseCheck> {
  const short = head.slice(0, 12);
  const { payload, signature } = splitCommit(await repo.readRawCommit(head));
  if (signature === undefined)
    return {
      ok: false,
      reason: "unsigned",
      message: `deploy commit ${short} is not signed: this site applies only releases signed by a trusted key`,
    };
  const v = verifyMessage(signature, payload, keys);
  if (!v.ok) return { ok: false, reason: v.reason, message: `deploy commit ${short}: ${v.message}` };
  const signer = v.key.principals.join(",");
  if (lastApplied === undefined || lastApplied === head) return { ok: true, signer };
  for (let attempt = 0; attempt < 2; attempt++) {
    const walk = await descends(repo, head, lastApplied);
    if (walk === "yes") return { ok: true, signer };
    if (walk === "no") break;
    await deepen(); // the walk reached a commit the shallow mirror does not hold
  }
  return {
    ok: false,
    reason: "not-descending",
    message: `deploy commit ${short} does not descend from ${lastApplied.slice(0, 12)}, the last release this site applied: a rollback is a new release made from a git revert on main`,
  };
}

async function descends(repo: Repo, head: string, target: string): Promise<"yes" | "no" | "incomplete"> {
  const seen = new Set<string>([head]);
  const queue = [head];
  while (queue.length && seen.size <= MAX_WALK) {
    const oid = queue.shift()!;
    let parents: string[];
    try {
      parents = (await repo.readCommit(oid)).parents;
    } catch {
      return "incomplete";
    }
    for (const p of parents) {
      if (p === target) return "yes";
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return queue.length ? "incomplete" : "no";
}
