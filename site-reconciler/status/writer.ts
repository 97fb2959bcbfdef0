import type { Logger } from "pino";
import { DEFAULT_STATUS_PREFIX, statusBranch } from "../../controller/contract/branches.js";
import { toJson } from "../../controller/contract/layout.js";
import type { Signature } from "../../controller/git/objects.js";
import { writeTree } from "../../controller/git/write-tree.js";
import type { SiteStatus } from "../../schemas/types.js";
import type { DeploySource } from "../deploy-source.js";
import type { Store } from "../store/store.js";
import { fingerprint, type statusBody } from "./build.js";

const HEARTBEAT_TRAILER = "Status-Heartbeat: true";
const MAX_ATTEMPTS = 5;

export type Published = "change" | "heartbeat" | "none";

/**
 * Writes the site's status branch (section 6.5): a commit when what the status says changes, and otherwise, every
 * heartbeat interval, a heartbeat commit that replaces the previous heartbeat-only commit (a push with lease), so
 * the branch's history holds only real changes. A push that loses to another writer is retried on the new head.
 */
export class StatusWriter {
  private current: string;
  private head: string | undefined | null = null; // null: not fetched yet in this process
  /** The mirror generation head was read from: a re-created mirror no longer holds it. */
  private generation = -1;

  constructor(
    private readonly source: DeploySource,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: { heartbeatMs: number; author: Omit<Signature, "timestamp"> },
    prefix: string = DEFAULT_STATUS_PREFIX,
  ) {
    this.current = statusBranch(prefix, source.site);
  }

  get branch(): string {
    return this.current;
  }

  /** Reports go to <prefix><site> from now on (the release named another prefix); the new branch is read first. */
  usePrefix(prefix: string): void {
    const next = statusBranch(prefix, this.source.site);
    if (next === this.current) return;
    this.log.info({ from: this.current, to: next }, "status branch renamed by the release: reporting on the new one");
    this.current = next;
    this.head = null;
    // What the old branch holds says nothing of the new one: the next publish writes a full report there.
    this.store.setMeta("status.fingerprint", "");
  }

  async publish(
    body: ReturnType<typeof statusBody>,
    files: ReadonlyMap<string, string>,
    now: Date,
    lastPoll: Date | null,
  ): Promise<Published> {
    const print = fingerprint(body, files, now.getTime());
    const lastAt = this.store.meta("status.reportedAt");
    const changed = print !== this.store.meta("status.fingerprint");
    if (!changed && lastAt && now.getTime() - Date.parse(lastAt) < this.opts.heartbeatMs) return "none";
    const sequence = Number(this.store.meta("status.sequence") ?? "0") + 1;
    // The sequence is spent before the push, so no two reports ever carry the same number.
    this.store.setMeta("status.sequence", String(sequence));
    const { apiVersion, kind, site, ...rest } = body;
    const status: SiteStatus = {
      apiVersion,
      kind,
      site,
      sequence,
      reportedAt: now.toISOString(),
      ...rest,
      health: { ...rest.health, lastPoll: lastPoll?.toISOString() ?? null },
    };
    const tree = new Map<string, { content: string }>([["status.json", { content: toJson(status) }]]);
    for (const [path, content] of files) tree.set(path, { content });
    const repo = this.source.git;
    await repo.mutex.run(async () => {
      try {
        await this.push(repo, tree, changed, status, now);
      } catch (e) {
        this.head = null; // the push may or may not have landed: read the branch again next time
        throw e;
      }
    });
    this.store.setMeta("status.fingerprint", print);
    this.store.setMeta("status.reportedAt", status.reportedAt);
    return changed ? "change" : "heartbeat";
  }

  private async push(
    repo: DeploySource["git"],
    tree: Map<string, { content: string }>,
    changed: boolean,
    status: SiteStatus,
    now: Date,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.generation !== this.source.generation) this.head = null;
      if (this.head === null) {
        this.head = await repo.fetchBranch(this.branch, { depth: 1 });
        this.generation = this.source.generation;
        // The other node of a pair may have reported since this one last did: numbers go on from the branch's.
        const theirs = this.head === undefined ? 0 : await branchSequence(repo, this.head);
        if (theirs >= status.sequence) {
          status.sequence = theirs + 1;
          this.store.setMeta("status.sequence", String(status.sequence));
          tree.set("status.json", { content: toJson(status) });
        }
      }
      const head = this.head;
      const amend = !changed && head !== undefined && (await repo.readCommit(head)).message.includes(HEARTBEAT_TRAILER);
      const parents = head === undefined ? [] : amend ? (await repo.readCommit(head)).parents : [head];
      const { tree: treeOid } = await writeTree(repo, tree);
      const commit = await repo.writeCommit({
        tree: treeOid,
        parents,
        author: { ...this.opts.author, timestamp: Math.floor(now.getTime() / 1000) },
        message: changed
          ? `status: ${describe(status)}\n`
          : `heartbeat: ${status.site} #${status.sequence}\n\n${HEARTBEAT_TRAILER}\n`,
      });
      if (await repo.updateBranch(this.branch, commit, head, { force: amend })) {
        this.head = commit;
        break;
      }
      this.head = null;
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`status branch ${this.branch}: ${attempt} pushes lost to other writers`);
      this.log.warn({ branch: this.branch, attempt }, "status branch moved meanwhile: retrying on its new head");
    }
  }
}

function describe(s: SiteStatus): string {
  const all = Object.values(s.instances);
  const failing = all.filter((i) => i && i.result !== "pass").length;
  const deploy = s.deployCommit ? s.deployCommit.slice(0, 7) : "none";
  const active = s.nodes?.find((n) => n.role === "active");
  return `${s.site} at deploy ${deploy}, ${all.length} instances, ${failing} failing${
    s.health.sync && s.health.sync.state !== "ok" ? `, sync ${s.health.sync.state}` : ""
  }${active ? `, active ${active.node} epoch ${active.epoch}` : ""}`;
}

/** The sequence of the status.json a status commit holds (0 when it has none or it cannot be read). */
async function branchSequence(repo: DeploySource["git"], commit: string): Promise<number> {
  try {
    const { tree } = await repo.readCommit(commit);
    const entry = (await repo.readTree(tree)).find((e) => e.path === "status.json");
    if (!entry) return 0;
    const seq = (JSON.parse(await repo.readText(entry.oid)) as { sequence?: unknown }).sequence;
    return typeof seq === "number" && Number.isSafeInteger(seq) ? seq : 0;
  } catch {
    return 0;
  }
}
