import fs from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import git from "isomorphic-git";
import { http } from "./http-transport.js";
import { type Mutex, mutexFor } from "./mutex.js";
import { commitContent, type ObjectType, type Signature, type TreeEntry, treeContent, writeObject } from "./objects.js";

/** One isomorphic-git cache per process: parsed pack indexes are reused by every operation. */
export const gitCache = {};

/**
 * The file system isomorphic-git is given: its writes go to a temporary file renamed into place. isomorphic-git
 * writes packs, indexes and refs in place, so a process killed meanwhile would leave an empty file behind (and a
 * pack fetched again gets the same name).
 */
const atomicFs = {
  ...fs,
  promises: {
    ...fs.promises,
    async writeFile(file: string, data: string | Uint8Array, options?: fs.WriteFileOptions): Promise<void> {
      const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      try {
        await fs.promises.writeFile(tmp, data, options);
        await fs.promises.rename(tmp, file);
      } catch (e) {
        await fs.promises.rm(tmp, { force: true });
        throw e;
      }
    },
  },
};

const ZERO = "0000000000000000000000000000000000000000";
/** A ref lock older than this was left by a killed process (git holds one for milliseconds). */
const STALE_LOCK_MS = 30_000;

export interface FileEntry {
  path: string;
  oid: string;
  mode: string;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  message: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/**
 * A git repository the controller works on: a remote reached over smart HTTP (mirrored into a bare repo in the
 * state directory) or a local repository path (worked on in place). Every operation holds the repository's mutex.
 */
export class Repo {
  readonly mutex: Mutex;
  /** The process's cache, until a repair drops what it holds of this repository's packs. */
  private cache: object = gitCache;

  private constructor(
    /** The git directory objects and refs live in. */
    readonly gitdir: string,
    /** The remote's URL, without credentials; undefined for a local repository. */
    readonly url: string | undefined,
    /** HTTP Basic credentials from the URL's user info, sent with every request and never written to disk. */
    private readonly headers: Record<string, string> = {},
  ) {
    this.mutex = mutexFor(gitdir);
  }

  /** A remote URL (http, https) is mirrored into stateDir; anything else is a local repository path. */
  static async open(spec: string, stateDir: string): Promise<Repo> {
    if (/^https?:\/\//.test(spec)) {
      const gitdir = join(resolve(stateDir), "mirror.git");
      if (!(await exists(join(gitdir, "HEAD")))) {
        await mkdir(gitdir, { recursive: true });
        await git.init({ fs: atomicFs, gitdir, bare: true, defaultBranch: "main" });
      }
      const { url, headers } = splitCredentials(spec);
      // The mirror's config names the remote without credentials (an older mirror's URL with them is replaced).
      if ((await git.getConfig({ fs: atomicFs, gitdir, path: "remote.origin.url" })) !== url) {
        // Also sets the fetch refspec: every branch into refs/remotes/origin/*.
        await git.addRemote({ fs: atomicFs, gitdir, remote: "origin", url, force: true });
      }
      return new Repo(gitdir, url, headers);
    }
    const dir = resolve(spec);
    const gitdir = (await exists(join(dir, ".git", "HEAD"))) ? join(dir, ".git") : dir;
    if (!(await exists(join(gitdir, "HEAD")))) throw new Error(`${spec} is not a git repository`);
    return new Repo(gitdir, undefined);
  }

  /**
   * Forgets every parsed pack of this repository: isomorphic-git caches a pack by file name, so after a damaged
   * pack is deleted or fetched again under the same name only a new cache reads the new file.
   */
  freshCache(): void {
    this.cache = {};
  }

  /**
   * Deletes packs a killed fetch left unusable: an index without the v2 header, a pack whose trailer is not the
   * checksum its name says, or either one without the other. Returns the pack names removed.
   */
  async removeDamagedPacks(): Promise<string[]> {
    const dir = join(this.gitdir, "objects", "pack");
    const names = await readdir(dir).catch(() => [] as string[]);
    const bases = new Set(
      names
        .filter((n) => /^pack-[0-9a-f]{40}\.(pack|idx)$/.test(n))
        .map((n) => n.slice(0, -(n.endsWith(".idx") ? 4 : 5))),
    );
    const removed: string[] = [];
    for (const base of bases) {
      const ok =
        (await packIntact(join(dir, `${base}.pack`), base.slice(5))) && (await indexIntact(join(dir, `${base}.idx`)));
      if (ok) continue;
      await rm(join(dir, `${base}.pack`), { force: true });
      await rm(join(dir, `${base}.idx`), { force: true });
      removed.push(base);
    }
    if (removed.length) this.freshCache();
    return removed;
  }

  get remote(): boolean {
    return this.url !== undefined;
  }

  /** What every isomorphic-git call to the remote takes: the mirror, the process's cache and the URL. */
  private transport() {
    // A copy per call: isomorphic-git adds its own headers (Git-Protocol) to the object it is given.
    return { fs: atomicFs, http, gitdir: this.gitdir, cache: this.cache, url: this.url!, headers: { ...this.headers } };
  }

  /** The full ref name under which a branch of the source repository is seen here. */
  branchRef(branch: string): string {
    return this.url ? `refs/remotes/origin/${branch}` : `refs/heads/${branch}`;
  }

  /**
   * Fetches every branch of the remote (nothing to do for a local repository). The remote's HEAD is never used:
   * a bare repository made by `git init --bare` points HEAD at an unborn `master` while the config lives on
   * `main`, and isomorphic-git's fetch resolves HEAD unless it is named a ref that exists.
   */
  async fetch(): Promise<void> {
    if (!this.url) return;
    const branches = await git.listServerRefs({
      http,
      url: this.url,
      headers: { ...this.headers },
      prefix: "refs/heads/",
    });
    // An empty remote: nothing to fetch, and no remote-tracking ref may outlive its branch.
    if (branches.length === 0) {
      for (const ref of await git.listBranches({ fs: atomicFs, gitdir: this.gitdir, remote: "origin" }))
        await this.deleteRef(`refs/remotes/origin/${ref}`);
      return;
    }
    await git.fetch({
      ...this.transport(),
      remote: "origin",
      remoteRef: branches[0]!.ref,
      singleBranch: false,
      tags: false,
      prune: true,
    });
  }

  /**
   * Fetches one branch of the remote into its remote-tracking ref and returns its commit, or undefined when the
   * remote has no such branch. With depth 1, a first fetch brings only the tip (a site needs no history).
   */
  async fetchBranch(branch: string, opts: { depth?: number } = {}): Promise<string | undefined> {
    if (!this.url) return this.resolve(this.branchRef(branch));
    const remote = await git.listServerRefs({
      http,
      url: this.url,
      headers: { ...this.headers },
      prefix: `refs/heads/${branch}`,
    });
    const found = remote.find((r) => r.ref === `refs/heads/${branch}`);
    if (!found) {
      await this.deleteRef(this.branchRef(branch));
      return undefined;
    }
    const local = await this.resolve(this.branchRef(branch));
    // Already here: nothing to fetch (a no-op poll costs one ref listing).
    if (local === found.oid && (await this.hasObject(found.oid))) return found.oid;
    // depth only while the branch is not here yet: a shallow fetch sends the tip's whole tree again, while a
    // fetch that builds on the commit we have sends only the objects that changed.
    const shallow = opts.depth !== undefined && (local === undefined || !(await this.hasObject(local)));
    const r = await git.fetch({
      ...this.transport(),
      remote: "origin",
      // isomorphic-git takes the commit it tells the server it has from the local ref named by `ref`: the
      // remote-tracking ref, so the server sends only what the new tip adds (`ref: branch` names no local ref,
      // and the whole tree would come again).
      ref: this.branchRef(branch),
      remoteRef: branch,
      singleBranch: true,
      tags: false,
      ...(shallow ? { depth: opts.depth } : {}),
    });
    return r.fetchHead ?? undefined;
  }

  /** Fetches `by` more commits of a branch fetched shallow (a local repository has all of them already). */
  async deepenBranch(branch: string, by: number): Promise<void> {
    if (!this.url) return;
    await git.fetch({
      ...this.transport(),
      remote: "origin",
      ref: this.branchRef(branch),
      remoteRef: branch,
      singleBranch: true,
      tags: false,
      depth: by,
      relative: true,
    });
  }

  /** Removes a ref (no error when it does not exist). */
  async deleteRef(ref: string): Promise<void> {
    await git.deleteRef({ fs: atomicFs, gitdir: this.gitdir, ref }).catch(() => undefined);
  }

  /** true when the object is in the repository (loose or packed). */
  async hasObject(oid: string): Promise<boolean> {
    try {
      await git.readObject({ fs: atomicFs, gitdir: this.gitdir, oid, format: "deflated", cache: this.cache });
      return true;
    } catch {
      return false;
    }
  }

  /** Fetches one ref of the remote (such as refs/pull/7/head) and returns its commit. */
  async fetchRef(ref: string): Promise<string | undefined> {
    if (!this.url) return this.resolve(ref);
    const r = await git.fetch({
      ...this.transport(),
      remote: "origin",
      ref,
      remoteRef: ref,
      singleBranch: true,
      tags: false,
    });
    return r.fetchHead ?? undefined;
  }

  async resolve(ref: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs: atomicFs, gitdir: this.gitdir, ref });
    } catch {
      return undefined;
    }
  }

  /**
   * A revision as git understands the common forms: a ref or branch (local or origin's), a full or abbreviated
   * commit id, each optionally followed by ~N (N-th first-parent ancestor) and ^N (N-th parent).
   */
  async revision(spec: string): Promise<string | undefined> {
    const m = /^(.*?)((?:[~^]\d*)*)$/.exec(spec)!;
    const base = m[1]!;
    let oid =
      (await this.resolve(base)) ??
      (await this.resolve(`refs/heads/${base}`)) ??
      (await this.resolve(`refs/remotes/origin/${base}`)) ??
      (await this.resolve(`refs/tags/${base}`));
    if (!oid && /^[0-9a-f]{4,40}$/.test(base)) {
      oid = await git
        .expandOid({ fs: atomicFs, gitdir: this.gitdir, oid: base, cache: this.cache })
        .catch(() => undefined);
    }
    for (const [, op, digits] of m[2]!.matchAll(/([~^])(\d*)/g)) {
      if (!oid) return undefined;
      const n = digits === "" ? 1 : Number(digits);
      if (op === "~") for (let i = 0; i < n && oid; i++) oid = (await this.readCommit(oid)).parents[0];
      else if (n > 0) oid = (await this.readCommit(oid)).parents[n - 1];
    }
    return oid;
  }

  /** Branch names (without prefix) and commits of the branches whose names start with prefix. */
  async branches(prefix: string): Promise<Map<string, string>> {
    const names = await git.listBranches({
      fs: atomicFs,
      gitdir: this.gitdir,
      ...(this.url ? { remote: "origin" } : {}),
    });
    const out = new Map<string, string>();
    for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
      const oid = await this.resolve(this.branchRef(name));
      if (oid) out.set(name, oid);
    }
    return out;
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const { commit } = await git.readCommit({ fs: atomicFs, gitdir: this.gitdir, oid, cache: this.cache });
    return {
      oid,
      tree: commit.tree,
      parents: commit.parent,
      message: commit.message,
      timestamp: commit.committer.timestamp,
    };
  }

  /** The entries of a tree object (one level). */
  async readTree(oid: string): Promise<{ path: string; oid: string; mode: string; type: string }[]> {
    const { tree } = await git.readTree({ fs: atomicFs, gitdir: this.gitdir, oid, cache: this.cache });
    return tree;
  }

  /** Every file below a tree, with paths relative to it, and every subtree's oid by directory path. */
  async listFiles(treeOid: string): Promise<{ files: Map<string, FileEntry>; dirs: Map<string, string> }> {
    const files = new Map<string, FileEntry>();
    const dirs = new Map<string, string>([["", treeOid]]);
    const walk = async (oid: string, prefix: string) => {
      for (const e of await this.readTree(oid)) {
        const path = prefix ? `${prefix}/${e.path}` : e.path;
        if (e.type === "tree") {
          dirs.set(path, e.oid);
          await walk(e.oid, path);
        } else if (e.type === "blob") files.set(path, { path, oid: e.oid, mode: e.mode });
      }
    };
    await walk(treeOid, "");
    return { files, dirs };
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const { blob } = await git.readBlob({ fs: atomicFs, gitdir: this.gitdir, oid, cache: this.cache });
    return blob;
  }

  async readText(oid: string): Promise<string> {
    return Buffer.from(await this.readBlob(oid)).toString("utf8");
  }

  /** true when ancestor is oid or one of its ancestors. */
  async isAncestor(ancestor: string, oid: string): Promise<boolean> {
    if (ancestor === oid) return true;
    try {
      return await git.isDescendent({ fs: atomicFs, gitdir: this.gitdir, oid, ancestor, depth: -1, cache: this.cache });
    } catch {
      return false;
    }
  }

  /** Writes an object (atomically) unless it exists; created says whether it was new. */
  writeObject(type: ObjectType, content: Uint8Array): Promise<{ oid: string; created: boolean }> {
    return writeObject(this.gitdir, type, content);
  }

  async writeTree(entries: readonly TreeEntry[]): Promise<string> {
    return (await this.writeObject("tree", treeContent(entries))).oid;
  }

  /** Writes a commit; with sign, signed as git signs (the signature of the object without it, in gpgsig). */
  async writeCommit(
    c: { tree: string; parents: string[]; author: Signature; message: string },
    sign?: (payload: Buffer) => string,
  ): Promise<string> {
    const payload = commitContent(c);
    return (await this.writeObject("commit", sign ? commitContent({ ...c, gpgsig: sign(payload) }) : payload)).oid;
  }

  /** A commit object's raw content (what its signature covers, with the signature). */
  async readRawCommit(oid: string): Promise<Buffer> {
    const o = await git.readObject({ fs: atomicFs, gitdir: this.gitdir, oid, format: "content", cache: this.cache });
    if (o.type !== "commit") throw new Error(`${oid} is a ${o.type}, not a commit`);
    return Buffer.from(o.object as Uint8Array);
  }

  /**
   * Moves a branch from expected (undefined: the branch must not exist) to oid, compare-and-swap.
   * Returns false when the branch has moved meanwhile: the caller re-reads and tries again.
   */
  async updateBranch(
    branch: string,
    oid: string,
    expected: string | undefined,
    opts: { force?: boolean } = {},
  ): Promise<boolean> {
    return this.url
      ? this.push(branch, oid, expected, opts.force ?? false)
      : this.swapLocalRef(`refs/heads/${branch}`, oid, expected);
  }

  /** Local compare-and-swap like git's own: an exclusive lock file, checked, then renamed over the ref. */
  private async swapLocalRef(ref: string, oid: string, expected: string | undefined): Promise<boolean> {
    const file = join(this.gitdir, ref);
    const lock = `${file}.lock`;
    await mkdir(dirname(file), { recursive: true });
    const st = await stat(lock).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) await rm(lock, { force: true });
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(lock, "wx");
    } catch {
      return false; // another writer holds the lock
    }
    try {
      const current = await this.resolve(ref);
      if ((current ?? undefined) !== expected) return false;
      await handle.writeFile(`${oid}\n`);
      await handle.sync();
      await handle.close();
      await rename(lock, file);
      return true;
    } finally {
      await handle.close().catch(() => undefined);
      await rm(lock, { force: true });
    }
  }

  /**
   * Remote compare-and-swap: a push that insists on the old value it expects; fast-forward only unless force
   * (a site amending its own heartbeat commit), which is then a push with lease.
   */
  private async push(branch: string, oid: string, expected: string | undefined, force: boolean): Promise<boolean> {
    const local = `refs/heads/${branch}`;
    await git.writeRef({ fs: atomicFs, gitdir: this.gitdir, ref: local, value: oid, force: true });
    try {
      const result = await git.push({
        ...this.transport(),
        ref: local,
        remoteRef: local,
        force,
        // The server checks the old value under its ref lock; this check makes it the value we built on.
        onPrePush: ({ remoteRef }) => remoteRef.oid === (expected ?? ZERO),
      });
      if (!result.ok || (result.refs[local] && !result.refs[local]!.ok)) return false;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Canceled (the remote moved before we pushed), not a fast-forward, or refused by the server under its lock.
      if (
        code === "UserCanceledError" ||
        code === "PushRejectedError" ||
        code === "GitPushError" ||
        code === "NotFoundError"
      )
        return false;
      throw e;
    }
    await git.writeRef({ fs: atomicFs, gitdir: this.gitdir, ref: this.branchRef(branch), value: oid, force: true });
    return true;
  }

  /** Commits from head back along first parents, newest first, stopping before stop (or after max commits). */
  async firstParents(head: string, stop: string | undefined, max: number): Promise<string[]> {
    const out: string[] = [];
    let oid: string | undefined = head;
    while (oid && oid !== stop && out.length < max) {
      out.push(oid);
      oid = (await this.readCommit(oid)).parents[0];
    }
    return out;
  }
}

/** The last 20 bytes of a pack are its SHA-1, which is also its name. */
async function packIntact(file: string, sha: string): Promise<boolean> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    if (size < 32) return false;
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(20);
    await handle.read(head, 0, 4, 0);
    await handle.read(tail, 0, 20, size - 20);
    return head.toString("latin1") === "PACK" && tail.toString("hex") === sha;
  } finally {
    await handle.close();
  }
}

/** A v2 pack index: magic \xfftOc, version 2, and at least its fan-out table. */
async function indexIntact(file: string): Promise<boolean> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    return size >= 8 + 256 * 4 + 40 && head.readUInt32BE(0) === 0xff744f63 && head.readUInt32BE(4) === 2;
  } finally {
    await handle.close();
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Masks the user-info part of every URL in the text. */
/** A URL's user info as an HTTP Basic Authorization header, and the URL without it. */
export function splitCredentials(spec: string): { url: string; headers: Record<string, string> } {
  const u = new URL(spec);
  if (!u.username && !u.password) return { url: spec, headers: {} };
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64");
  u.username = "";
  u.password = "";
  return { url: u.toString(), headers: { Authorization: `Basic ${basic}` } };
}

export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, "$1***@");
}
