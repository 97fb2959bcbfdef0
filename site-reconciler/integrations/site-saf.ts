import type { Logger } from "pino";
import type {
  ParkedActionReport,
  ParkedMessageReport,
  ParkedReport,
  SiteArtifacts,
  TargetBacklog,
} from "../../schemas/types.js";
import type { SecretLookup } from "../runtime/runtime.js";
import type { ParkedAction, SafRequestResult, Store } from "../store/store.js";
import { PostgresConnections } from "./database/index.js";
import { siteDeliverers } from "./deliverers.js";
import { type OperatorResult, StoreAndForward, targetsFromArtifacts } from "./store-and-forward/index.js";

export interface SiteSafOptions {
  store: Store;
  secrets: SecretLookup;
  log: Logger;
  now?: () => Date;
  /** A node of a site pair: what its deliveries are fenced and stamped with (see DelivererContext). */
  fence?: () => { node: string; epoch: number } | null;
}

/** Parked messages listed on the status branch; the report counts the rest. */
export const PARKED_REPORTED = 100;
/** How often a running site takes the operators' requests and looks for a change worth reporting. */
export const REQUEST_POLL_MS = 500;
/** Finished requests whose asker never collected the result are dropped after this long. */
const REQUEST_KEEP_MS = 86_400_000;

/**
 * The site's store-and-forward: the engine on the site store with every deliverer (deliverers.ts), its targets and
 * caps from each applied site.json, the retries and discards `scadalink site parked` asks of a running site
 * (saf_requests: the engine keeps its counts in memory, so only it may change its messages while it runs), and the
 * ParkedMessages documents of site.json, each revision applied once (saf_parked_actions).
 */
export class SiteStoreAndForward {
  readonly engine: StoreAndForward;
  /** The PostgreSQL pools of the site's DatabaseConnections: the site's to close when it stops. */
  readonly database: PostgresConnections;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #now: () => Date;
  /** The site.json the targets were last taken from. */
  #configured: string | null | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Operator actions run one at a time, in the order asked. */
  #serial: Promise<unknown> = Promise.resolve();

  constructor(o: SiteSafOptions) {
    this.#store = o.store;
    this.#log = o.log;
    this.#now = o.now ?? (() => new Date());
    this.database = new PostgresConnections({ secrets: o.secrets });
    this.engine = new StoreAndForward({
      db: o.store.db,
      deliverers: siteDeliverers({ ...o, database: this.database }),
      log: o.log,
    });
    // Taken by a process that stopped before answering: this one does them (running one again finishes it).
    o.store.releaseUnfinishedSafRequests();
  }

  /** Targets and caps from the applied site.json (its text), when it changed since the last call. */
  configure(siteJson: string | null): void {
    if (siteJson === this.#configured) return;
    this.#configured = siteJson;
    const { targets, caps } = targetsFromArtifacts(siteJson ? (JSON.parse(siteJson) as SiteArtifacts) : null);
    this.engine.setCaps(caps);
    this.engine.setTargets(targets);
  }

  /**
   * Starts delivering, and every REQUEST_POLL_MS takes the operators' requests and calls changed() when the
   * backlog changed in a way worth a status report (digest() says which).
   */
  start(changed: () => void, digest: () => string): void {
    if (this.#timer) return;
    this.engine.start();
    let last = digest();
    const tick = async () => {
      try {
        await this.takeRequests();
        if (!this.#timer) return; // stopped meanwhile: the store may be closing
        const now = digest();
        if (now !== last) {
          last = now;
          changed();
        }
      } catch (e) {
        this.#log.warn({ err: e instanceof Error ? e.message : String(e) }, "store-and-forward requests not read");
      }
      if (this.#timer) this.#timer = setTimeout(tick, REQUEST_POLL_MS);
    };
    this.#timer = setTimeout(tick, REQUEST_POLL_MS);
  }

  /**
   * Stops delivering and taking requests (attempts in flight are aborted at once and stay queued); start() goes on.
   * The standby of a pair is paused: it delivers nothing.
   */
  async pause(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#serial.catch(() => undefined);
    await this.engine.stop();
  }

  /** Stops the requests and the engine (attempts in flight stay queued) and closes the pools; the store stays open. */
  async stop(): Promise<void> {
    await this.pause();
    await this.database.close();
  }

  /** Runs the requests `scadalink site parked retry|discard` left for the running site; returns how many. */
  takeRequests(): Promise<number> {
    return this.#run(async () => {
      const at = this.#now();
      const requests = this.#store.takeSafRequests(at.toISOString());
      for (const r of requests) {
        const result = await this.#act(r.action, r.ids ?? "all");
        this.#store.finishSafRequest(r.id, result, this.#now().toISOString());
        this.#store.event(
          this.#now().toISOString(),
          "parked",
          `${r.action === "retry" ? "retried" : "discarded"} ${result.done.length} parked message(s) (scadalink site parked)`,
        );
      }
      this.#store.pruneSafRequests(new Date(at.getTime() - REQUEST_KEEP_MS).toISOString());
      return requests.length;
    });
  }

  /**
   * Applies the ParkedMessages entries of site.json not applied before (by revision hash, remembered in the store):
   * ids as given, or what the match selects now. Messages that park later are not touched by a revision already
   * applied; a new revision of the document acts again. Returns the revisions applied now.
   */
  applyDocuments(siteJson: string | null, deployCommit: string | null): Promise<ParkedAction[]> {
    return this.#run(async () => {
      const docs = siteJson ? ((JSON.parse(siteJson) as SiteArtifacts).parkedMessages ?? []) : [];
      if (!docs.length) return [];
      const applied = this.#store.parkedActions();
      const out: ParkedAction[] = [];
      for (const d of docs) {
        if (applied.has(d.revisionHash)) continue;
        const ids =
          d.ids ??
          this.engine.matchParked({
            target: d.match?.target,
            label: d.match?.method,
            instance: d.match?.instance,
            parkedBefore: d.match?.parkedBefore,
          });
        const r = await this.#act(d.action, ids);
        const a: ParkedAction = {
          revisionHash: d.revisionHash,
          name: d.name,
          action: d.action,
          appliedAt: this.#now().toISOString(),
          deployCommit,
          selected: ids.length,
          done: r.done.length,
          notParked: r.notParked.length,
          unknown: r.unknown.length,
        };
        this.#store.recordParkedAction(a);
        this.#store.event(
          a.appliedAt,
          "parked",
          `ParkedMessages ${d.name}: ${d.action === "retry" ? "retried" : "discarded"} ${a.done} of ${a.selected} message(s)`,
        );
        this.#log.info({ document: d.name, revisionHash: d.revisionHash, ...counts(r) }, "ParkedMessages applied");
        out.push(a);
      }
      return out;
    });
  }

  /** health.storeAndForward: per target kind/name; undefined when the site has no targets and no messages. */
  health(): Record<string, TargetBacklog> | undefined {
    const status = this.engine.status();
    if (!status.length) return undefined;
    return Object.fromEntries(
      status.map((t) => [
        `${t.kind}/${t.name}`,
        {
          queued: t.queued,
          parked: t.parked,
          oldestQueuedAt: t.oldestQueuedAt,
          bytes: t.bytes,
          configured: t.configured,
        },
      ]),
    );
  }

  /**
   * status.json's parked report: the newest PARKED_REPORTED parked messages (never a payload), the total, and the
   * applied revisions of the site.json's ParkedMessages documents; undefined when there are neither.
   */
  parkedReport(siteJson: string | null): ParkedReport | undefined {
    const withParked = this.engine.status().filter((t) => t.parked > 0);
    const total = withParked.reduce((n, t) => n + t.parked, 0);
    const docs = siteJson ? ((JSON.parse(siteJson) as SiteArtifacts).parkedMessages ?? []) : [];
    const applied = docs.length ? this.#store.parkedActions() : new Map<string, ParkedAction>();
    const actions: ParkedActionReport[] = docs.flatMap((d) => {
      const a = applied.get(d.revisionHash);
      return a ? [{ ...a }] : [];
    });
    if (total === 0 && !actions.length) return undefined;
    const messages = this.#store
      .newestParked(withParked, PARKED_REPORTED)
      .map(({ seq: _, ...m }) => ({ ...m, kind: m.kind as ParkedMessageReport["kind"] }));
    return { total, messages, actions };
  }

  #act(action: "retry" | "discard", ids: readonly string[] | "all"): Promise<OperatorResult> {
    return action === "retry" ? this.engine.retry(ids) : this.engine.discard(ids);
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(fn, fn);
    this.#serial = next.catch(() => undefined);
    return next;
  }
}

const counts = (r: SafRequestResult) => ({
  done: r.done.length,
  notParked: r.notParked.length,
  unknown: r.unknown.length,
});
