import type { Store } from "../../store/store.js";
import { TokenBucket } from "../limits/token-bucket.js";

/** Where the runtime's event log entries and alarm states go. */
export interface EventSink {
  event(kind: string, message: string, instance?: string): void;
  alarm(instance: string, path: string, active: boolean, since: string, message: string): void;
}

export interface EventCaps {
  /** Rows kept in the events table at most; enforced at every flush. */
  maxRows: number;
  /** Rows a second (and burst) one instance may add; site-wide rows count as one more "instance". */
  perInstancePerSec: number;
  perInstanceBurst: number;
  /** Rows a second (and burst) the whole site may add. */
  sitePerSec: number;
  siteBurst: number;
  /** Characters of one message at most. */
  maxMessage: number;
  /** Rows waiting for a flush at most. */
  maxBuffered: number;
}

export const DEFAULT_EVENT_CAPS: EventCaps = {
  maxRows: 100_000,
  perInstancePerSec: 20,
  perInstanceBurst: 200,
  sitePerSec: 200,
  siteBurst: 2_000,
  maxMessage: 4_000,
  maxBuffered: 5_000,
};

/** How often the count of suppressed rows of one instance is written as one summary row. */
const SUMMARY_MS = 10_000;

interface Row {
  at: string;
  kind: string;
  message: string;
  instance: string | undefined;
}

/**
 * Buffers event-log rows and alarm states and writes them in one transaction per flush: with synchronous=FULL
 * every transaction costs an fsync, and a flapping alarm must not turn each value change into one. Rows over an
 * instance's or the site's rate are not written but counted, and the count is written as one `events-suppressed`
 * row per instance now and then; the table never holds more than maxRows. Alarm states are never dropped.
 */
export class BufferedEvents implements EventSink {
  private rows: Row[] = [];
  private readonly states = new Map<string, { instance: string; path: string; active: boolean; since: string }>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly site: TokenBucket;
  private readonly suppressed = new Map<string, { count: number; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly caps: EventCaps;
  /** Rows not written (over a cap) since the runtime started. */
  suppressedTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly flushMs = 250,
    caps: Partial<EventCaps> = {},
  ) {
    this.caps = { ...DEFAULT_EVENT_CAPS, ...caps };
    this.site = new TokenBucket(this.caps.sitePerSec, this.caps.siteBurst, now);
  }

  event(kind: string, message: string, instance?: string): void {
    if (!this.admit(instance)) return;
    this.push({ at: new Date(this.now()).toISOString(), kind, message, instance });
  }

  alarm(instance: string, path: string, active: boolean, since: string, message: string): void {
    this.states.set(`${instance}\u0000${path}`, { instance, path, active, since });
    if (this.admit(instance)) this.push({ at: since, kind: "alarm", message, instance });
    else this.schedule();
  }

  /** Drops the alarm states an instance's old revision left in the buffer: a new revision starts from normal. */
  forget(instance: string): void {
    for (const [k, v] of this.states) if (v.instance === instance) this.states.delete(k);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summaries(false);
    if (!this.rows.length && !this.states.size) return;
    const rows = this.rows;
    const states = [...this.states.values()];
    this.rows = [];
    this.states.clear();
    this.store.db.transaction(() => {
      for (const r of rows) this.store.event(r.at, r.kind, r.message, r.instance);
      for (const s of states) this.store.setAlarmState(s.instance, s.path, s.active, s.since);
      if (rows.length) this.store.capEvents(this.caps.maxRows);
    })();
  }

  /** Writes what is still counted as suppressed (stopping). */
  close(): void {
    this.summaries(true);
    this.flush();
  }

  private admit(instance: string | undefined): boolean {
    const key = instance ?? "";
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(this.caps.perInstancePerSec, this.caps.perInstanceBurst, this.now);
      this.buckets.set(key, b);
    }
    if (b.take() && this.rows.length < this.caps.maxBuffered && this.site.take()) return true;
    this.suppressedTotal++;
    const s = this.suppressed.get(key);
    if (s) s.count++;
    else this.suppressed.set(key, { count: 1, since: this.now() });
    return false;
  }

  private push(r: Row): void {
    const max = this.caps.maxMessage;
    if (r.message.length > max) r.message = `${r.message.slice(0, max)}… (${r.message.length - max} more characters)`;
    this.rows.push(r);
    this.schedule();
  }

  /** One row per instance saying how many rows were not written, at most every SUMMARY_MS (all of them when forced). */
  private summaries(force: boolean): void {
    const now = this.now();
    for (const [key, s] of this.suppressed) {
      if (!force && now - s.since < SUMMARY_MS) continue;
      this.suppressed.delete(key);
      const who = key === "" ? "site-wide" : `of ${key}`;
      const secs = Math.max(1, Math.round((now - s.since) / 1000));
      this.rows.push({
        at: new Date(now).toISOString(),
        kind: "events-suppressed",
        message: `${s.count} event(s) ${who} not logged in ${secs} s: over the event-log rate cap (${this.caps.perInstancePerSec}/s per instance, ${this.caps.sitePerSec}/s per site)`,
        instance: key === "" ? undefined : key,
      });
    }
    if (this.suppressed.size) this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    this.timer.unref();
  }
}
