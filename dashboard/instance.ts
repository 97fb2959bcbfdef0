import { DEFAULT_DEPLOY_BRANCH, DEFAULT_MAIN_BRANCH, DEFAULT_STATUS_PREFIX } from "../controller/contract/branches.js";
import { StatusReader } from "../controller/deploy/records.js";
import type { Repo } from "../controller/git/repo.js";
import { type Change, diffPackages } from "../controller/plan/diff.js";
import { type ProvenanceSection, provenance } from "../controller/plan/provenance.js";
import { GitSource } from "../controller/sources/git-tree.js";
import type { DeploymentPackage } from "../schemas/types.js";
import { branchHead } from "./source.js";

/** A revision of an instance as the deploy branch released it. */
export interface Revision {
  deployCommit: string;
  revisionHash: string;
  /** The deploy commit's time (ISO). */
  at: string;
}

export interface InstanceDetail {
  site: string;
  name: string;
  /** Newest first, one per revision the deploy branch released (within the last HISTORY deploy commits). */
  revisions: Revision[];
  /** The two revisions compared: `to` is shown, `from` (the one before it by default) is what it is compared with. */
  to: Revision | undefined;
  from: Revision | undefined;
  pkg: DeploymentPackage | undefined;
  changes: Change[];
  /** Where each field of `to` came from, when main compiles to that same revision; null otherwise. */
  provenance: ProvenanceSection[] | null;
  provenanceFrom: string | null;
  records: {
    batch: string;
    result: string;
    message: string | null;
    recordedAt: string;
    evidence: string[];
    /** The newest entries of the record's event-log evidence, oldest first (none without that evidence). */
    events: { at: string; kind: string; message: string }[];
    /** How many entries that evidence holds. */
    eventCount: number;
  }[];
}

/** Event-log entries shown per record. */
const EVENTS_SHOWN = 20;

/** Deploy commits looked back through for an instance's revisions. */
const HISTORY = 200;

/**
 * An instance's page (SPEC 11): its package with member provenance, the member-level diff between two revisions,
 * and the execution records its site wrote. Read from the clone the dashboard fetches; packages are cached by
 * blob id, compiles of main by commit.
 */
export class InstancePages {
  readonly #repo: Repo;
  readonly #texts = new Map<string, DeploymentPackage>();
  #compiled: { main: string; compile: Awaited<ReturnType<GitSource["compile"]>> } | undefined;

  constructor(repo: Repo) {
    this.#repo = repo;
  }

  async detail(
    site: string,
    name: string,
    o: { from?: string; to?: string } = {},
  ): Promise<InstanceDetail | undefined> {
    const repo = this.#repo;
    const head = (branch: string) => branchHead(repo, branch);
    const main = await head(DEFAULT_MAIN_BRANCH);
    let compile = this.#compiled?.main === main ? this.#compiled.compile : undefined;
    if (main && !compile) {
      compile = await new GitSource(repo).compile(main);
      this.#compiled = { main, compile };
    }
    const settings = main ? await new GitSource(repo).settings(main) : undefined;
    const deploy = await head(settings?.deployBranch ?? DEFAULT_DEPLOY_BRANCH);
    if (!deploy) return undefined;
    const path = ["sites", site, "instances", `${name}.json`];
    const revisions: Revision[] = [];
    let last: string | undefined;
    for (const commit of await repo.firstParents(deploy, undefined, HISTORY)) {
      const info = await repo.readCommit(commit);
      const blob = await this.#blobAt(info.tree, path);
      if (!blob) {
        if (revisions.length === 0 && last === undefined) return undefined; // not deployed now
        break;
      }
      const pkg = await this.#package(blob);
      if (pkg.revisionHash !== last)
        revisions.push({
          deployCommit: commit,
          revisionHash: pkg.revisionHash,
          at: new Date(info.timestamp * 1000).toISOString(),
        });
      last = pkg.revisionHash;
    }
    // Each revision's entry is the newest deploy commit holding it; the walk went newest to oldest.
    const unique = dedupe(revisions);
    const to = (o.to && unique.find((r) => r.deployCommit === o.to)) || unique[0];
    const idx = to ? unique.indexOf(to) : -1;
    const from = (o.from && unique.find((r) => r.deployCommit === o.from)) || unique[idx + 1];
    const pkg = to ? await this.#packageAt(to.deployCommit, path) : undefined;
    const before = from ? await this.#packageAt(from.deployCommit, path) : undefined;
    let sections: ProvenanceSection[] | null = null;
    const resolved = compile?.resolve(`${site}/${name}`);
    if (resolved && pkg) {
      const compiled = compile!.packages([`${site}/${name}`])[0];
      if (compiled?.revisionHash === pkg.revisionHash) sections = provenance(resolved, pkg);
    }
    const reports = await new StatusReader(repo).read(settings?.statusBranchPrefix ?? DEFAULT_STATUS_PREFIX);
    const records: InstanceDetail["records"] = [];
    const report = reports.get(site);
    for (const [batch, byInstance] of report?.records ?? []) {
      const r = byInstance.get(name);
      if (!r) continue;
      const log = r.evidence.find((e) => e.item === "event-log");
      const lines = log && report ? await this.#eventLog(report.head, log.path) : [];
      records.push({
        batch,
        result: r.result,
        message: r.message,
        recordedAt: r.recordedAt,
        evidence: r.evidence.map((e) => e.item),
        events: lines.slice(-EVENTS_SHOWN),
        eventCount: lines.length,
      });
    }
    records.sort((a, b) => (a.recordedAt < b.recordedAt ? 1 : -1));
    return {
      site,
      name,
      revisions: unique,
      to,
      from,
      pkg,
      changes: pkg && before ? diffPackages(before, pkg) : [],
      provenance: sections,
      provenanceFrom: sections ? main : null,
      records,
    };
  }

  /** An event-log evidence file (JSON lines) of a status branch's commit; [] when it cannot be read. */
  async #eventLog(commit: string, path: string): Promise<{ at: string; kind: string; message: string }[]> {
    try {
      const blob = await this.#blobAt((await this.#repo.readCommit(commit)).tree, path.split("/"));
      if (!blob) return [];
      const out: { at: string; kind: string; message: string }[] = [];
      for (const line of (await this.#repo.readText(blob)).split("\n")) {
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { at?: unknown; kind?: unknown; message?: unknown };
        out.push({ at: String(e.at ?? ""), kind: String(e.kind ?? ""), message: String(e.message ?? "") });
      }
      return out;
    } catch {
      return [];
    }
  }

  async #packageAt(commit: string, path: string[]): Promise<DeploymentPackage | undefined> {
    const blob = await this.#blobAt((await this.#repo.readCommit(commit)).tree, path);
    return blob ? this.#package(blob) : undefined;
  }

  async #package(blob: string): Promise<DeploymentPackage> {
    let p = this.#texts.get(blob);
    if (!p) {
      p = JSON.parse(await this.#repo.readText(blob)) as DeploymentPackage;
      if (this.#texts.size > 2_000) this.#texts.clear();
      this.#texts.set(blob, p);
    }
    return p;
  }

  async #blobAt(tree: string, path: string[]): Promise<string | undefined> {
    let oid = tree;
    for (const [i, part] of path.entries()) {
      const e = (await this.#repo.readTree(oid)).find((x) => x.path === part);
      if (!e || (i < path.length - 1 && e.type !== "tree")) return undefined;
      oid = e.oid;
    }
    return oid;
  }
}

/** Keeps the first (newest) entry of each revision hash: a revision released, replaced and released again shows once. */
function dedupe(rs: Revision[]): Revision[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    if (seen.has(r.revisionHash)) return false;
    seen.add(r.revisionHash);
    return true;
  });
}
