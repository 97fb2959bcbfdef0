import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { DEFAULT_DEPLOY_BRANCH } from "../controller/contract/branches.js";
import { Repo, redactUrl } from "../controller/git/repo.js";

/** Packs in the mirror beyond which it is re-created from the tip (one pack per deploy fetched). */
export const MAX_PACKS = 64;

/** The deploy branch's files a site reads: its own directory and the batch release records. */
export interface SiteTree {
  head: string;
  manifest: string | undefined;
  siteArtifacts: string | undefined;
  /** Instance name → blob id of sites/<site>/instances/<name>.json. */
  packages: Map<string, string>;
  /** Batch name → blob ids of its release.json and evidence-checklist.json. */
  batches: Map<string, { release?: string; checklist?: string }>;
}

/**
 * The deploy branch as a site sees it: fetched alone, only its tip (depth 1). isomorphic-git moves the ref before
 * the pack is on disk, so an interrupted fetch can leave the ref at a missing commit (isomorphic-git #894): every
 * sync verifies the commit and the trees the site reads, and on any failure drops the ref and fetches again, and
 * as a last resort re-creates the mirror. The mirror is a cache; the SQLite store is the site's truth.
 */
export class DeploySource {
  constructor(
    private repo: Repo,
    private readonly spec: string,
    private readonly stateDir: string,
    readonly site: string,
    private readonly log: Logger,
    readonly branch = DEFAULT_DEPLOY_BRANCH,
  ) {}

  get git(): Repo {
    return this.repo;
  }

  /** Fetches the branch and returns its verified tip (undefined: the branch does not exist). */
  async sync(opts: { suspect?: boolean } = {}): Promise<SiteTree | undefined> {
    const attempts: (() => Promise<void>)[] = [
      async () => {},
      async () => {
        this.log.warn({ branch: this.branch }, "deploy branch unreadable after fetch: fetching it again");
        // Only the mirror's remote-tracking ref: a local repository's own branch is never dropped.
        if (!this.repo.remote) return;
        const removed = await this.repo.mutex.run(() => this.repo.removeDamagedPacks());
        if (removed.length) this.log.warn({ packs: removed }, "damaged packs removed from the mirror");
        this.repo.freshCache();
        await this.repo.deleteRef(this.repo.branchRef(this.branch));
      },
      async () => {
        this.log.warn({ gitdir: this.repo.gitdir }, "mirror still unreadable: re-creating it");
        await this.recreate();
      },
    ];
    if (this.repo.remote && (await packCount(this.repo.gitdir)) > MAX_PACKS) {
      // Every deploy fetched adds a small pack, and isomorphic-git searches them all: start again from the tip.
      this.log.info({ gitdir: this.repo.gitdir, max: MAX_PACKS }, "compacting the mirror: fetching the tip afresh");
      await this.recreate();
    }
    let last: unknown;
    // Suspect: the last loop found an object missing that the verified trees named; start by fetching again.
    for (const before of attempts.slice(opts.suspect ? 1 : 0)) {
      await before();
      // Network errors are not corruption: they go straight to the caller, and nothing is repaired.
      const head = await this.repo.mutex.run(() => this.repo.fetchBranch(this.branch, { depth: 1 }));
      if (head === undefined) return undefined;
      try {
        return await this.read(head);
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`deploy branch ${this.branch} cannot be read after fetching it again: ${message(last)}`);
  }

  /** Incremented whenever the mirror is re-created: what was read from the old one must be read again. */
  generation = 0;

  private async recreate(): Promise<void> {
    if (!this.repo.remote) return;
    await this.repo.mutex.run(() => rm(this.repo.gitdir, { recursive: true, force: true }));
    this.repo = await Repo.open(this.spec, this.stateDir);
    // The process's cache still holds the old mirror's packs under the same file names.
    this.repo.freshCache();
    this.generation++;
  }

  /** Lists the site's directory and the batches, reading no package. Throws when an object is missing. */
  async read(head: string): Promise<SiteTree> {
    const { tree } = await this.repo.readCommit(head);
    const out: SiteTree = {
      head,
      manifest: undefined,
      siteArtifacts: undefined,
      packages: new Map(),
      batches: new Map(),
    };
    const root = await this.repo.readTree(tree);
    const dir = async (entries: { path: string; oid: string; type: string }[], name: string) => {
      const e = entries.find((x) => x.path === name && x.type === "tree");
      return e ? this.repo.readTree(e.oid) : [];
    };
    const siteDir = await dir(await dir(root, "sites"), this.site);
    for (const e of siteDir) {
      if (e.path === "manifest.json" && e.type === "blob") out.manifest = e.oid;
      if (e.path === "site.json" && e.type === "blob") out.siteArtifacts = e.oid;
    }
    for (const e of await dir(siteDir, "instances"))
      if (e.type === "blob" && e.path.endsWith(".json")) out.packages.set(e.path.slice(0, -".json".length), e.oid);
    for (const b of await dir(root, "batches")) {
      if (b.type !== "tree") continue;
      const files = await this.repo.readTree(b.oid);
      const release = files.find((f) => f.path === "release.json")?.oid;
      if (!release) continue;
      out.batches.set(b.path, { release, checklist: files.find((f) => f.path === "evidence-checklist.json")?.oid });
    }
    // The documents the site decides on must be here too, not only named by the trees.
    for (const oid of [out.manifest, out.siteArtifacts]) if (oid) await this.repo.readBlob(oid);
    return out;
  }

  async text(oid: string): Promise<string> {
    return this.repo.readText(oid);
  }
}

async function packCount(gitdir: string): Promise<number> {
  const names = await readdir(join(gitdir, "objects", "pack")).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(".pack")).length;
}

/** An error's words for logs and status, with any credentials in a URL (https://user:token@host) masked. */
export function message(e: unknown): string {
  return redactUrl(e instanceof Error ? e.message : String(e));
}
