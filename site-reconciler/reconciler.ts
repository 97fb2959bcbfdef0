import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { API_VERSION } from "../controller/contract/api.js";
import { DEFAULT_BRANCHES, DEFAULT_DEPLOY_BRANCH, DEFAULT_STATUS_PREFIX } from "../controller/contract/branches.js";
import { recordPath, toJson } from "../controller/contract/layout.js";
import { validatorFor } from "../controller/contract/schemas.js";
import { objectId } from "../controller/git/objects.js";
import { Repo } from "../controller/git/repo.js";
import type { TrustedKey } from "../controller/git/sshsig.js";
import type {
  ArtifactApiMethod,
  BatchRelease,
  DeploymentPackage,
  EvidenceChecklist,
  ExecutionRecord,
  PairNodeStatus,
  SiteArtifacts,
  SiteManifest,
  SyncState,
} from "../schemas/types.js";
import { type LoopMetrics, loopMetrics, siteMetrics } from "./api/metrics.js";
import { type Api, type ApiHealth, removeApiFile, startApi, writeApiFile } from "./api/server.js";
import { branchDisagreement } from "./apply/branches.js";
import { planApply } from "./apply/plan.js";
import { type Checked, checkManifest, checkPackage, checkSiteArtifacts } from "./apply/verify.js";
import { DeploySource, message, type SiteTree } from "./deploy-source.js";
import { type Inbound, startInbound } from "./inbound/server.js";
import type { PostgresConnections } from "./integrations/database/index.js";
import { SiteStoreAndForward } from "./integrations/site-saf.js";
import type { StoreAndForward } from "./integrations/store-and-forward/index.js";
import { acquireLock, StateDirLockedError } from "./lock.js";
import { checkRelease, NO_KEYS_MESSAGE, type RefusalReason } from "./provenance.js";
import { Pair, type PairConfig, PeerListenError } from "./redundancy/pair.js";
import { LiveRuntime } from "./runtime/live-runtime.js";
import { PackageRuntime } from "./runtime/package-runtime.js";
import type {
  DesiredInstance,
  DesiredRuntime,
  Runtime,
  RuntimeReport,
  ScriptCaller,
  ScriptCallResult,
  SecretLookup,
} from "./runtime/runtime.js";
import { emptyStats, type RuntimeView } from "./runtime/view.js";
import { secretLookup } from "./secrets.js";
import { backlogDigest, statusBody } from "./status/build.js";
import { dueRecords, type ReleaseView } from "./status/records.js";
import { type Published, StatusWriter } from "./status/writer.js";
import { type AppliedRevision, type Refusal, Store } from "./store/store.js";

export interface ReconcilerConfig {
  site: string;
  /** The config repo: a smart-HTTP URL, or a local repository path (development). */
  repo: string;
  stateDir: string;
  secretsDir?: string;
  pollIntervalMs: number;
  /** A status commit that only says "still here" is written at most this often. */
  heartbeatMs?: number;
  /** Event-log retention. */
  eventRetentionDays?: number;
  eventMaxRows?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** How long a loop waits for new connections and instances to come up before judging them (default 5 s). */
  settleMs?: number;
  /** How often tags that do not resolve are looked up again (default 30 s). */
  retryUnresolvedMs?: number;
  /** Accept OPC UA server certificates not in <state-dir>/pki/trusted (default false). */
  acceptUnknownCertificates?: boolean;
  /**
   * Release keys (section 10): only deploy heads signed by one of them and descending from the last applied one
   * are applied. Without keys every new head is refused (the site says what it needs), unless allowUnsigned.
   */
  trustedKeys?: readonly TrustedKey[];
  /** Without trustedKeys: apply heads unchecked (labs, tests). Ignored when keys are given. */
  allowUnsigned?: boolean;
  /** Script host processes (default 2) and each one's heap limit in MB (default 128). */
  scriptHosts?: number;
  scriptMemoryMb?: number;
  /**
   * The deploy branch to read (default scadalink/deploy), and the status branch prefix when the site must not take
   * it from the release (by default each release's site.json names it).
   */
  deployBranch?: string;
  statusBranchPrefix?: string;
  /** The local runtime; the default runs the instances against their OPC UA servers (LiveRuntime). */
  runtime?: (ctx: RuntimeContext) => Runtime | Promise<Runtime>;
  /**
   * The inbound API (section 8.4): POST /api/<method> on this port (0: any free one); off when absent. It binds
   * inboundHost (default 127.0.0.1): unlike the read API it faces other systems, so any address may be given.
   */
  inboundPort?: number;
  inboundHost?: string;
  /** One node of an active/standby pair (SPEC 9, docs/redundancy.md); absent: a single node, always active. */
  pair?: PairConfig;
}

/** What a runtime is made from. */
export interface RuntimeContext {
  secrets: SecretLookup;
  store: Store;
  /** The site's store-and-forward engine, for the script API (cachedCall, notify, cachedWrite). */
  saf: StoreAndForward;
  /** The site's PostgreSQL pools, for database.query; the store-and-forward closes them when the site stops. */
  database: PostgresConnections;
  stateDir: string;
  log: Logger;
}

async function makeRuntime(factory: (ctx: RuntimeContext) => Runtime | Promise<Runtime>, ctx: RuntimeContext) {
  try {
    return await factory(ctx);
  } catch (e) {
    ctx.store.close();
    throw e;
  }
}

/** The runtime of the package lifecycle only (no devices): a site reconciler run as a dry run, and tests of the loop. */
export const packageRuntime = (ctx: RuntimeContext): Runtime => new PackageRuntime(ctx.secrets);

export interface LoopResult {
  /** Deploy-branch head seen (undefined: unreachable or no branch). */
  head: string | undefined;
  sync: SyncState;
  applied: string[];
  removed: string[];
  refused: string[];
  repaired: string[];
  status: Published | "failed";
  durationMs: number;
  /** From the start of the fetch to the last apply transaction committed. */
  applyMs: number;
}

export const DB_FILE = "site.db";

/** How soon a loop follows a change the runtime reports, and how close two such loops may start. */
const KICK_MS = 1000;
const KICK_GAP_MS = 5000;

function isView(r: Runtime): r is Runtime & RuntimeView {
  const v = r as Partial<RuntimeView>;
  return typeof v.instances === "function" && typeof v.instance === "function" && typeof v.health === "function";
}

/** The read API of a runtime that runs no devices: no live values. */
const NO_VIEW: RuntimeView = {
  instances: () => [],
  instance: () => undefined,
  health: () => ({
    connections: [],
    tags: { resolved: 0, unresolved: 0, bad: 0 },
    stats: emptyStats(),
  }),
};

function isCaller(r: Runtime): r is Runtime & ScriptCaller {
  return typeof (r as Partial<ScriptCaller>).callScript === "function";
}

/** A runtime that runs no scripts (one given by a test or an embedder): every call is a 503. */
const NO_CALLER: ScriptCaller = {
  callScript: async (): Promise<ScriptCallResult> => ({
    status: "unavailable",
    message: "this site's runtime runs no scripts",
  }),
};

/** The ApiMethods of the applied site.json, parsed again only when its revision hash changes. */
function apiMethodsOf(store: Store): () => readonly ArtifactApiMethod[] {
  let held: { hash: string | undefined; methods: readonly ArtifactApiMethod[] } | undefined;
  return () => {
    const hash = store.meta("siteRevisionHash") ?? undefined;
    if (!held || held.hash !== hash) {
      const text = store.meta("siteArtifacts");
      held = { hash, methods: text ? ((JSON.parse(text) as SiteArtifacts).apiMethods ?? []) : [] };
    }
    return held.methods;
  };
}

/** The store's applied revisions and refusals, read once per loop after the apply. */
interface Applied {
  applied: Map<string, AppliedRevision>;
  refusals: Map<string, Refusal>;
}

/**
 * The site reconciler (section 6): each loop fetches the deploy branch, applies what the manifest's revision hashes
 * say changed (each instance in one transaction), removes what it no longer lists, checks the stored packages for
 * drift, converges the runtime and reports to the site's status branch.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private lastPoll: Date | null = null;
  /** Parsed packages by blob id: converging does not re-parse unchanged packages. */
  private readonly parsed = new Map<string, { blobOid: string; pkg: DeploymentPackage }>();
  private readonly docs = new Map<string, unknown>();
  /** The manifest last read, by blob id: the drift check compares against it without parsing it again. */
  private manifest: { oid: string; value: SiteManifest } | undefined;
  /** A node of a pair; undefined for a single node. */
  private pair: Pair | undefined;
  /** Runs the runtime, delivers and reports: always for a single node, while active for a node of a pair. */
  private acting = true;
  private suspect = false;

  private constructor(
    readonly config: ReconcilerConfig,
    private readonly log: Logger,
    readonly store: Store,
    private readonly source: DeploySource,
    private readonly writer: StatusWriter,
    private readonly runtime: Runtime,
    private readonly lock: { release(): void },
    private readonly saf: SiteStoreAndForward,
    private readonly inbound: Inbound | undefined,
  ) {}

  static async create(config: ReconcilerConfig, log: Logger): Promise<Reconciler> {
    const stateDir = resolve(config.stateDir);
    mkdirSync(stateDir, { recursive: true });
    const lock = acquireLock(stateDir);
    try {
      const store = Store.open(join(stateDir, DB_FILE));
      const owner = store.meta("site");
      if (owner && owner !== config.site) {
        store.close();
        throw new StateDirLockedError(`the state directory ${stateDir} holds site ${owner}, not ${config.site}`);
      }
      if (!owner) store.setMeta("site", config.site);
      const repo = await Repo.open(config.repo, stateDir);
      const source = new DeploySource(
        repo,
        config.repo,
        stateDir,
        config.site,
        log,
        config.deployBranch ?? DEFAULT_DEPLOY_BRANCH,
      );
      const writer = new StatusWriter(
        source,
        store,
        log,
        {
          heartbeatMs: config.heartbeatMs ?? 60_000,
          author: { name: `scadalink site ${config.site}`, email: `site-${config.site}@scadalink.invalid` },
        },
        // The prefix the last applied release named, so a restart reports where it did before.
        config.statusBranchPrefix ?? store.meta("statusBranchPrefix") ?? DEFAULT_STATUS_PREFIX,
      );
      const secrets = secretLookup(config.env ?? process.env, config.secretsDir);
      // Whatever the runtime: messages stored by an earlier run are delivered, and operators act on parked ones.
      // The pair is made once the reconciler exists (it acts on it); device writes and deliveries ask it whether
      // this node acts, and carry its epoch.
      const pairRef: { pair?: Pair } = {};
      const fence = config.pair ? () => pairRef.pair?.acting() ?? null : undefined;
      const saf = new SiteStoreAndForward({ store, secrets, log, now: config.now, ...(fence ? { fence } : {}) });
      saf.configure(store.meta("siteArtifacts") ?? null);
      const ctx: RuntimeContext = { secrets, store, stateDir, log, saf: saf.engine, database: saf.database };
      if (config.pair) store.replica = true;
      const runtime = await makeRuntime(
        config.runtime ??
          ((c) =>
            LiveRuntime.create({
              ...c,
              settleMs: config.settleMs,
              retryUnresolvedMs: config.retryUnresolvedMs,
              acceptUnknownCertificates: config.acceptUnknownCertificates,
              scriptHosts: config.scriptHosts,
              scriptMemoryMb: config.scriptMemoryMb,
              eventCaps: config.eventMaxRows === undefined ? undefined : { maxRows: config.eventMaxRows },
              fence,
              node: config.pair?.node,
              now: config.now && (() => config.now!().getTime()),
            })),
        ctx,
      );
      // After the runtime, whose scripts answer; stopped before it.
      let inbound: Inbound | undefined;
      if (config.inboundPort !== undefined)
        try {
          inbound = await startInbound({
            port: config.inboundPort,
            host: config.inboundHost,
            methods: apiMethodsOf(store),
            secrets,
            runtime: isCaller(runtime) ? runtime : NO_CALLER,
            log,
          });
        } catch (e) {
          await runtime.close();
          await saf.stop();
          store.close();
          throw e;
        }
      if (config.trustedKeys)
        log.info({ keys: config.trustedKeys.map((k) => k.principals.join(",")) }, "applying only signed releases");
      else if (config.allowUnsigned)
        log.warn(
          "--allow-unsigned: release signatures are not checked, so anyone who can write the deploy branch decides what this site runs; for production give the controller's public key with --trusted-keys FILE (allowed_signers format)",
        );
      else log.error(NO_KEYS_MESSAGE);
      const rec = new Reconciler(config, log, store, source, writer, runtime, lock, saf, inbound);
      if (config.pair) {
        rec.acting = false;
        try {
          rec.pair = pairRef.pair = await Pair.start({
            ...config.pair,
            site: config.site,
            store,
            log,
            activate: (epoch) => rec.activate(epoch),
            stepDown: () => rec.stepDown(),
            changed: () => rec.soon(),
          });
        } catch (e) {
          await inbound?.close();
          await runtime.close();
          await saf.stop();
          store.close();
          throw new PeerListenError(
            `the peer link cannot listen on ${config.pair.host ?? "127.0.0.1"}:${config.pair.port}: ${message(e)}`,
          );
        }
      }
      return rec;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  private now(): Date {
    return this.config.now?.() ?? new Date();
  }

  /** One loop: fetch, apply, drift check, converge, report. Never throws for git or artifact trouble. */
  async once(): Promise<LoopResult> {
    const t0 = performance.now();
    const r: LoopResult = {
      head: undefined,
      sync: { state: "ok", message: null, deployHead: null },
      applied: [],
      removed: [],
      refused: [],
      repaired: [],
      status: "none",
      durationMs: 0,
      applyMs: 0,
    };
    let tree: SiteTree | undefined;
    try {
      this.log.debug({ branch: this.source.branch }, "fetching the deploy branch");
      tree = await this.source.sync({ suspect: this.suspect });
      this.suspect = false;
      this.lastPoll = this.now();
      r.head = tree?.head;
      r.sync.deployHead = tree?.head ?? null;
      if (!tree) {
        if (this.store.applied().size > 0)
          r.sync = {
            state: "refused",
            message: `the deploy branch ${this.source.branch} does not exist: nothing removed`,
            deployHead: null,
          };
        else {
          // Nothing to apply yet, and said: a repo whose scadalink.yaml renames the branch looks just like this.
          r.sync.message = `the deploy branch ${this.source.branch} does not exist (yet): nothing to apply; if scadalink.yaml names another deployBranch, start the site with --deploy-branch NAME`;
          if (!this.missingBranchSaid) this.log.warn({ branch: this.source.branch }, r.sync.message);
          this.missingBranchSaid = true;
        }
      } else if (tree.head !== this.store.meta("deployCommit")) {
        const release = await this.provenance(tree.head);
        if ("refused" in release) r.sync = { state: "refused", message: release.refused, deployHead: tree.head };
        else await this.apply(tree, r, release.signer);
      } else {
        await this.verifiedAtStart(tree.head);
        await this.driftCheck(tree, r);
      }
      r.applyMs = performance.now() - t0;
    } catch (e) {
      // An object the verified trees name but the mirror lacks: the next sync starts by fetching again.
      if ((e as { code?: string }).code === "NotFoundError") this.suspect = true;
      // Git unreachable (or unreadable even after a fresh fetch): nothing is deleted, the last state keeps running.
      r.sync = { state: "unreachable", message: `deploy branch not read: ${message(e)}`, deployHead: r.head ?? null };
      this.log.warn({ err: message(e) }, "cannot read the deploy branch: keeping the applied state");
    }
    if (this.pair && !this.acting) {
      // A standby applies and keeps what it replicated; the runtime, deliveries and the status branch are the active's.
      this.pair.released();
      // Warm: the data connections open (sessions, no subscriptions, no writes), so a takeover skips connecting.
      if (this.config.pair?.standby === "warm") await this.runtime.converge(this.idle());
      return this.finish(r, t0);
    }
    // What the store holds now, once for the steps below (none of them changes it).
    const held: Applied = { applied: this.store.applied(), refusals: this.store.refusals() };
    const siteText = this.store.meta("siteArtifacts") ?? null;
    await this.storeAndForward(siteText);
    const report = await this.converge(held);
    this.inbound?.checkKeys();
    await this.recordExecutions(tree, report, held);
    // Stepped down meanwhile: the report is the new active's to make.
    if (this.acting) await this.report(report, r, held, siteText);
    return this.finish(r, t0);
  }

  private finish(r: LoopResult, t0: number): LoopResult {
    this.prune();
    r.durationMs = performance.now() - t0;
    this.lastLoop = { at: this.now(), sync: r.sync };
    this.loopMetrics?.loopDuration.observe(r.durationMs / 1000);
    if (this.lastPoll) this.loopMetrics?.lastPoll.set(this.lastPoll.getTime() / 1000);
    return r;
  }

  /**
   * This node of the pair is active (its epoch is in the store): store-and-forward takes its counts from what was
   * replicated and delivers, and a loop runs now to start the runtime and report.
   */
  private async activate(_epoch: number): Promise<void> {
    await this.saf.pause();
    this.saf.engine.recount();
    this.acting = true;
    if (this.tick) this.startDelivering();
    this.runNow();
  }

  /**
   * Stops acting: device writes are refused from the moment the election stepped down (the fence), deliveries stop
   * at once (attempts in flight stay queued), then the loop under way ends and the runtime stops every instance.
   */
  private async stepDown(): Promise<void> {
    this.acting = false;
    await this.saf.pause();
    await this.running;
    await this.runtime.converge(this.idle());
  }

  /** What a standby runs: no instance; the data connections of site.json when warm, none when cold. */
  private idle(): DesiredRuntime {
    const siteText = this.config.pair?.standby === "warm" ? this.store.meta("siteArtifacts") : undefined;
    return {
      site: this.config.site,
      artifacts: siteText ? (JSON.parse(siteText) as SiteArtifacts) : null,
      instances: new Map(),
    };
  }

  private startDelivering(): void {
    this.saf.start(
      () => this.soon(),
      () => backlogDigest(this.saf.health(), this.now().getTime()),
    );
  }

  /** Runs the next loop at once (while waiting for the next poll), or right after the one under way. */
  private runNow(): void {
    if (this.stopped || !this.tick) return;
    if (this.running) {
      this.urgent = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.kicked = true;
    this.timer = setTimeout(() => void this.tick?.(), 0);
  }

  /** runNow() was asked for while a loop ran. */
  private urgent = false;

  /**
   * The head's provenance (section 10): the signer to apply it ("" when unchecked: --allow-unsigned), else the
   * refusal. Reported as artifact-mismatch; logged, counted and written to the event log once per refused head.
   */
  private async provenance(head: string): Promise<{ signer: string } | { refused: string }> {
    const keys = this.config.trustedKeys;
    if (!keys && this.config.allowUnsigned) return { signer: "" };
    const repo = this.source.git;
    const check = keys
      ? await checkRelease(repo, head, this.store.meta("deployCommit") ?? undefined, keys, () =>
          repo.mutex.run(() => repo.deepenBranch(this.source.branch, 1_000)),
        )
      : ({ ok: false, reason: "no-trusted-keys", message: NO_KEYS_MESSAGE } as const);
    if (check.ok) {
      this.refusedHead = undefined;
      return { signer: check.signer };
    }
    const message = `artifact-mismatch: release refused (${check.reason}): ${check.message}; the applied release keeps running`;
    if (this.refusedHead !== head) {
      this.refusedHead = head;
      this.log.error({ head, reason: check.reason, err: check.message }, "deploy head refused: not a trusted release");
      this.store.event(this.now().toISOString(), "refused", message);
      this.loopMetrics?.releaseRefusals.inc({ reason: check.reason satisfies RefusalReason });
    }
    return { refused: message };
  }

  /**
   * The release applied before this process started, checked once against today's keys so the verified-release
   * gauge is right after a restart; one that no longer verifies keeps running (it was applied) and is logged.
   */
  private async verifiedAtStart(head: string): Promise<void> {
    const keys = this.config.trustedKeys;
    if (!keys || this.startChecked) return;
    this.startChecked = true;
    const check = await checkRelease(this.source.git, head, head, keys, async () => undefined);
    if (check.ok) return this.setVerified(head, check.signer);
    this.loopMetrics?.verifiedRelease.reset();
    this.log.warn(
      { head, reason: check.reason, err: check.message },
      "the applied release does not verify with the trusted keys: it keeps running, the next release must",
    );
  }

  private startChecked = false;

  /** Records the release applied with the key that signed it ("" when unchecked), for the gauge and after restarts. */
  private setVerified(head: string, signer: string): void {
    this.startChecked = true;
    if (this.store.meta("releaseSigner") !== signer) this.store.setMeta("releaseSigner", signer);
    this.loopMetrics?.verifiedRelease.reset();
    if (signer) this.loopMetrics?.verifiedRelease.set({ commit: head, signer }, 1);
  }

  private refusedHead: string | undefined;
  private missingBranchSaid = false;
  private mismatchReported: string | undefined;

  /** Applies the head's manifest: changed instances, one transaction each, then removals. */
  private async apply(tree: SiteTree, r: LoopResult, signer: string): Promise<void> {
    const site = this.config.site;
    const applied = this.store.applied();
    const at = this.now().toISOString();
    const refuse = (msg: string) => {
      r.sync = { state: "refused", message: msg, deployHead: tree.head };
      this.log.error({ head: tree.head, reason: msg }, "deploy head refused: nothing of it applied");
    };
    if (!tree.manifest) {
      if (applied.size > 0) refuse(`the deploy branch has no manifest for ${site}: nothing removed`);
      return;
    }
    const manifest = await this.readManifest(tree.manifest);
    if (!manifest.ok) return refuse(`manifest.json: ${manifest.message}`);
    const m = manifest.value;
    const siteText = tree.siteArtifacts ? await this.source.text(tree.siteArtifacts) : undefined;
    const artifacts = siteText
      ? checkSiteArtifacts(siteText, site, m.siteRevisionHash)
      : ({ ok: false, message: "site.json is missing" } as const);
    if (!artifacts.ok) return refuse(`artifact-mismatch: ${artifacts.message}`);
    const branches = artifacts.value.branches ?? DEFAULT_BRANCHES;
    const disagreement = branchDisagreement(branches, {
      deployBranch: this.source.branch,
      statusBranchPrefix: this.config.statusBranchPrefix,
    });
    if (disagreement) return refuse(disagreement);
    if (this.store.meta("statusBranchPrefix") !== branches.statusBranchPrefix)
      this.store.setMeta("statusBranchPrefix", branches.statusBranchPrefix);
    this.writer.usePrefix(branches.statusBranchPrefix);
    const plan = planApply(m, applied);
    if ("refused" in plan) return refuse(plan.refused);
    if (this.store.meta("siteRevisionHash") !== m.siteRevisionHash) {
      this.store.setMeta("siteArtifacts", siteText!);
      this.store.setMeta("siteRevisionHash", m.siteRevisionHash);
    }
    if (plan.changed.length || plan.removed.length)
      this.log.debug(
        { head: tree.head, changed: plan.changed.length, removed: plan.removed.length },
        "applying instances",
      );
    for (const name of plan.changed) {
      const hash = m.instances[name]!;
      const blob = tree.packages.get(name);
      const text = blob ? await this.source.text(blob) : undefined;
      const checked =
        text === undefined
          ? ({ ok: false, message: `sites/${site}/instances/${name}.json is missing` } as const)
          : checkPackage(text, site, name, hash);
      if (!checked.ok) {
        this.store.refuse(
          { name, revisionHash: hash, deployCommit: tree.head, result: "artifact-mismatch", message: checked.message },
          at,
        );
        r.refused.push(name);
        this.log.error(
          { instance: name, revision: hash, reason: checked.message },
          "package refused: previous revision kept",
        );
        continue;
      }
      const done = this.store.apply({
        name,
        revisionHash: hash,
        blobOid: blob!,
        packageText: text!,
        state: checked.value.instance.state,
        deployCommit: tree.head,
        at,
      });
      if (done) r.applied.push(name);
    }
    for (const name of plan.removed) if (this.store.remove(name, tree.head, at)) r.removed.push(name);
    this.store.dropRefusals((x) => m.instances[x.name] === x.revisionHash);
    this.store.setMeta("deployCommit", tree.head);
    this.setVerified(tree.head, signer);
    if (r.applied.length || r.removed.length || r.refused.length)
      this.log.info(
        {
          head: tree.head,
          applied: r.applied.length,
          removed: r.removed.length,
          refused: r.refused.length,
          unchanged: plan.unchanged,
        },
        "deploy applied",
      );
  }

  private async readManifest(oid: string): Promise<Checked<SiteManifest>> {
    if (this.manifest?.oid === oid) return { ok: true, value: this.manifest.value };
    const m = checkManifest(await this.source.text(oid), this.config.site);
    if (m.ok) this.manifest = { oid, value: m.value };
    return m;
  }

  /**
   * Proves the applied state untouched ("live untouched") while the deploy branch has not moved: every stored
   * package's bytes must still have the blob id they were applied from, that must be the deploy branch's blob, the
   * stored revisions must be the manifest's (except refused ones) and no instance may be missing or extra. A
   * mismatch is repaired from the deploy branch, verified again, audited as repair and reported.
   */
  private async driftCheck(tree: SiteTree, r: LoopResult): Promise<void> {
    if (!tree.manifest) return;
    const manifest = await this.readManifest(tree.manifest);
    if (!manifest.ok) return;
    const wanted = manifest.value.instances;
    const applied = this.store.applied();
    const refusals = this.store.refusals();
    const drifted = new Set<string>();
    for (const { name, blobOid, text } of this.store.packageTexts()) {
      const want = tree.packages.get(name);
      if (objectId("blob", Buffer.from(text, "utf8")) !== blobOid || (want !== undefined && want !== blobOid))
        drifted.add(name);
    }
    for (const [name, hash] of Object.entries(wanted))
      if (applied.get(name)?.revisionHash !== hash && refusals.get(name)?.revisionHash !== hash) drifted.add(name);
    for (const name of applied.keys()) if (!Object.hasOwn(wanted, name)) drifted.add(name);
    if (!drifted.size) return;
    const at = this.now().toISOString();
    const mismatched: string[] = [];
    for (const name of [...drifted].sort()) {
      const hash = wanted[name];
      const blob = tree.packages.get(name);
      if (!hash) {
        if (this.store.remove(name, tree.head, at)) r.repaired.push(name);
        continue;
      }
      if (!blob) continue;
      const text = await this.source.text(blob);
      const checked = checkPackage(text, this.config.site, name, hash);
      if (!checked.ok) {
        // The branch's copy was edited without its manifest: never applied, and said, not skipped in silence.
        mismatched.push(`${name} (${checked.message})`);
        continue;
      }
      this.store.apply({
        name,
        revisionHash: hash,
        blobOid: blob,
        packageText: text,
        state: checked.value.instance.state,
        deployCommit: applied.get(name)?.deployCommit ?? tree.head,
        at,
        reason: "repair",
      });
      this.parsed.delete(name);
      r.repaired.push(name);
    }
    if (mismatched.length) {
      const message = `artifact-mismatch: package(s) on the deploy branch do not match its manifest, not applied (the applied revisions keep running): ${mismatched.join("; ")}`;
      r.sync = { state: "refused", message, deployHead: tree.head };
      if (this.mismatchReported !== message) {
        this.mismatchReported = message;
        this.log.error({ head: tree.head, instances: mismatched }, "deploy branch packages do not match the manifest");
        this.store.event(at, "refused", message);
      }
    }
    if (r.repaired.length) {
      const repaired = `drift repaired from the deploy branch: ${r.repaired.join(", ")}`;
      r.sync.message = mismatched.length ? `${r.sync.message}; ${repaired}` : repaired;
      this.log.warn({ instances: r.repaired }, "the applied state did not match the deploy branch: repaired");
    }
  }

  /**
   * Store-and-forward after the apply: targets and caps from the applied site.json, its ParkedMessages documents
   * not applied before, and the operators' requests (also those left for a site run with --once).
   */
  private async storeAndForward(siteText: string | null): Promise<void> {
    try {
      this.saf.configure(siteText);
      await this.saf.applyDocuments(siteText, this.store.meta("deployCommit") ?? null);
      await this.saf.takeRequests();
    } catch (e) {
      this.log.warn({ err: message(e) }, "store-and-forward operations not done this loop");
    }
  }

  /** Hands the runtime every applied instance; packages are parsed once per blob. */
  private async converge({ applied }: Applied): Promise<RuntimeReport> {
    const instances = new Map<string, DesiredInstance>();
    for (const name of this.parsed.keys()) if (!applied.has(name)) this.parsed.delete(name);
    for (const [name, a] of applied) {
      let p = this.parsed.get(name);
      if (p?.blobOid !== a.blobOid) {
        p = { blobOid: a.blobOid, pkg: JSON.parse(this.store.packageText(name)!) as DeploymentPackage };
        this.parsed.set(name, p);
      }
      instances.set(name, { name, revisionHash: a.revisionHash, state: a.state, package: p.pkg });
    }
    const siteText = this.store.meta("siteArtifacts");
    const artifacts = siteText ? (JSON.parse(siteText) as SiteArtifacts) : null;
    return this.runtime.converge({ site: this.config.site, artifacts, instances });
  }

  /** Execution records for released batches, with their evidence, stored first and then put on the status branch. */
  private async recordExecutions(tree: SiteTree | undefined, report: RuntimeReport, held: Applied): Promise<void> {
    if (!tree) return;
    const releases: ReleaseView[] = [];
    try {
      for (const [batch, b] of tree.batches) {
        const release = (await this.doc(b.release!, "batch-release.schema.json")) as BatchRelease | undefined;
        if (!release || release.batch !== batch) continue;
        const checklist = b.checklist
          ? ((await this.doc(b.checklist, "evidence-checklist.schema.json")) as EvidenceChecklist | undefined)
          : undefined;
        releases.push({ batch, release, checklist });
      }
    } catch (e) {
      this.log.warn({ err: message(e) }, "batch releases not readable this loop");
      return;
    }
    const existing = new Map<string, ExecutionRecord>();
    for (const [key, text] of this.store.records()) existing.set(key, JSON.parse(text) as ExecutionRecord);
    const due = dueRecords({
      site: this.config.site,
      head: tree.head,
      releases,
      applied: held.applied,
      outcomes: report.instances,
      refusals: held.refusals,
      existing,
    });
    const at = this.now().toISOString();
    for (const d of due) {
      const evidence = [];
      for (const e of d.evidence) {
        const content =
          e.item === "event-log"
            ? this.store
                .events({ instance: d.instance, limit: 500 })
                .map((ev) => JSON.stringify(ev))
                .join("\n")
                .concat("\n")
            : toJson(await this.runtime.evidence(d.instance, e.item));
        evidence.push({ path: e.path, content });
      }
      const record: ExecutionRecord = {
        apiVersion: API_VERSION,
        kind: "ExecutionRecord",
        batch: d.batch,
        site: this.config.site,
        instance: d.instance,
        revisionHash: d.revisionHash,
        deployCommit: d.deployCommit,
        result: d.result,
        message: d.message,
        evidence: d.evidence,
        recordedAt: at,
      };
      this.store.putRecord(d.batch, d.instance, toJson(record), evidence);
      this.store.event(at, "record", `${d.batch}: ${d.result}`, d.instance);
    }
  }

  private async doc(oid: string, schema: string): Promise<unknown> {
    if (!this.docs.has(oid)) {
      let value: unknown;
      try {
        const data = JSON.parse(await this.source.text(oid));
        value = validatorFor(schema)(data) ? data : undefined;
      } catch (e) {
        if ((e as { code?: string }).code === "NotFoundError") throw e;
        value = undefined;
      }
      this.docs.set(oid, value);
    }
    return this.docs.get(oid);
  }

  /** Status.json, the records and their evidence, as the status branch should hold them. */
  private async report(report: RuntimeReport, r: LoopResult, held: Applied, siteText: string | null): Promise<void> {
    const body = statusBody({
      site: this.config.site,
      deployCommit: this.store.meta("deployCommit") ?? null,
      siteRevisionHash: this.store.meta("siteRevisionHash") ?? null,
      applied: held.applied,
      outcomes: report.instances,
      refusals: held.refusals,
      connections: report.connections,
      tags: report.tags,
      sync: r.sync,
      runtime: report,
      storeAndForward: this.saf.health(),
      parked: this.saf.parkedReport(siteText),
      nodes: this.pair?.nodes(),
    });
    const files = new Map<string, string>();
    for (const [key, text] of this.store.records()) {
      const [batch, instance] = [key.slice(0, key.lastIndexOf("/")), key.slice(key.lastIndexOf("/") + 1)];
      files.set(recordPath(batch, instance), text);
    }
    for (const [path, content] of this.store.evidence()) files.set(path, content);
    try {
      r.status = await this.writer.publish(body, files, this.now(), this.lastPoll);
    } catch (e) {
      r.status = "failed";
      this.log.warn({ err: message(e) }, "status not reported this loop");
    }
  }

  private prune(): void {
    const days = this.config.eventRetentionDays ?? 30;
    const cutoff = new Date(this.now().getTime() - days * 86_400_000).toISOString();
    this.store.pruneEvents(cutoff, this.config.eventMaxRows ?? 100_000);
  }

  /** Runs a loop now and then every poll interval until stop(). */
  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.timer = undefined;
      this.kicked = false;
      this.loopStarted = Date.now();
      this.running = this.once().catch((e) => this.log.error({ err: message(e) }, "loop failed"));
      await this.running;
      this.running = undefined;
      if (this.stopped) return;
      // A change seen while the loop ran may have come after its report: one more loop soon.
      const again = this.changedDuringLoop;
      this.changedDuringLoop = false;
      // A takeover asked for during the loop: the next one starts the runtime at once.
      const delay = this.urgent ? 0 : again ? this.kickDelay() : this.config.pollIntervalMs;
      this.urgent = false;
      this.timer = setTimeout(tick, delay);
      this.kicked = again || delay === 0;
    };
    this.tick = tick;
    // A change the runtime sees (a connection lost, an alarm raised) is reported soon, not at the next poll.
    this.runtime.subscribe?.(() => this.soon());
    // Store-and-forward delivers from now on (a standby's, once it is active); messages parked, retried or
    // discarded are reported soon too.
    if (this.acting) this.startDelivering();
    void tick();
  }

  private tick: (() => Promise<void>) | undefined;

  /** Brings the next loop forward to within KICK_MS (only while waiting for the next poll). */
  private soon(): void {
    if (this.stopped || !this.tick) return;
    if (this.running) {
      this.changedDuringLoop = true;
      return;
    }
    if (!this.timer || this.kicked) return;
    this.kicked = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick?.(), this.kickDelay());
  }

  /** KICK_MS, but loops brought forward start at least KICK_GAP_MS apart (a flapping alarm is not a loop a second). */
  private kickDelay(): number {
    return Math.max(KICK_MS, this.loopStarted + KICK_GAP_MS - Date.now());
  }

  private loopStarted = 0;

  /** The next loop is already due within KICK_MS. */
  private kicked = false;
  private changedDuringLoop = false;

  /** The live runtime's view (values, alarms, health), when the runtime runs devices. */
  /** The branch this site reports on: <prefix><site>, the prefix from the last applied release or the flag. */
  get statusBranch(): string {
    return this.writer.branch;
  }

  get view(): RuntimeView | undefined {
    return isView(this.runtime) ? this.runtime : undefined;
  }

  /**
   * Serves the local read API on 127.0.0.1:port (0: any free port) and writes api.json into the state directory so
   * `site inspect` finds it. Returns the port.
   */
  async serve(port: number, host = "127.0.0.1"): Promise<number> {
    const registry = new Registry();
    const view = this.view ?? NO_VIEW;
    siteMetrics(registry, view, this.config.site, this.saf.engine);
    this.inbound?.metrics.register(registry);
    this.pair?.register(registry);
    this.loopMetrics = loopMetrics(registry);
    const [head, signer] = [this.store.meta("deployCommit"), this.store.meta("releaseSigner")];
    if (head && signer && this.config.trustedKeys) this.loopMetrics.verifiedRelease.set({ commit: head, signer }, 1);
    this.api = await startApi({
      port,
      host,
      view,
      site: this.config.site,
      registry,
      log: this.log,
      deployCommit: () => this.store.meta("deployCommit") ?? null,
      healthy: () => this.health(),
    });
    writeApiFile(resolve(this.config.stateDir), this.api.port);
    this.log.info({ port: this.api.port }, "site API listening on loopback");
    return this.api.port;
  }

  private api: Api | undefined;
  private loopMetrics: LoopMetrics | undefined;
  private lastLoop: { at: Date; sync: SyncState } | undefined;

  /** Healthy while loops keep completing: the last one ended within three poll intervals (at least a minute). */
  private health(): ApiHealth {
    const last = this.lastLoop;
    if (!last) return { ok: false, lastLoop: null, message: "no loop completed yet" };
    const age = this.now().getTime() - last.at.getTime();
    const ok = age <= Math.max(3 * this.config.pollIntervalMs, 60_000);
    return {
      ok,
      lastLoop: last.at.toISOString(),
      message: ok ? last.sync.message : `no loop completed for ${Math.round(age / 1000)} s`,
    };
  }

  /** A node of a pair: both nodes as status.json reports them; undefined for a single node. */
  get pairNodes(): PairNodeStatus[] | undefined {
    return this.pair?.nodes();
  }

  /** The port the inbound API listens on; undefined when it is off. */
  get inboundPort(): number | undefined {
    return this.inbound?.port;
  }

  /** The site's store-and-forward engine (the script API enqueues into it). */
  get storeAndForwardEngine(): StoreAndForward {
    return this.saf.engine;
  }

  /** Finishes the loop under way, then closes the API, the runtime, store-and-forward, the store and the lock. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // The peer link first: a stopping node neither takes over nor answers the standby any more.
    await this.pair?.stop();
    await this.running;
    if (this.api) {
      removeApiFile(resolve(this.config.stateDir));
      await this.api.close();
    }
    // Before the runtime: calls still waiting are answered (503), none is left to a runtime that is gone.
    await this.inbound?.close();
    await this.runtime.close();
    // After the runtime (its scripts may still enqueue), before the store: deliveries seen are committed.
    await this.saf.stop();
    this.store.close();
    this.lock.release();
  }
}
