import type { Store } from "../../store/store.js";

/** Where the runtime's event log entries and alarm states go. */
export interface EventSink {
  event(kind: string, message: string, instance?: string): void;
  alarm(instance: string, path: string, active: boolean, since: string, message: string): void;
}

/**
 * Buffers event-log rows and alarm states and writes them in one transaction per flush: with synchronous=FULL
 * every transaction costs an fsync, and a flapping alarm must not turn each value change into one.
 */
export class BufferedEvents implements EventSink {
  private rows: { at: string; kind: string; message: string; instance: string | undefined }[] = [];
  private readonly states = new Map<string, { instance: string; path: string; active: boolean; since: string }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly flushMs = 250,
  ) {}

  event(kind: string, message: string, instance?: string): void {
    this.rows.push({ at: new Date(this.now()).toISOString(), kind, message, instance });
    this.schedule();
  }

  alarm(instance: string, path: string, active: boolean, since: string, message: string): void {
    this.rows.push({ at: since, kind: "alarm", message, instance });
    this.states.set(`${instance}\u0000${path}`, { instance, path, active, since });
    this.schedule();
  }

  /** Drops the alarm states an instance's old revision left in the buffer: a new revision starts from normal. */
  forget(instance: string): void {
    for (const [k, v] of this.states) if (v.instance === instance) this.states.delete(k);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.rows.length && !this.states.size) return;
    const rows = this.rows;
    const states = [...this.states.values()];
    this.rows = [];
    this.states.clear();
    this.store.db.transaction(() => {
      for (const r of rows) this.store.event(r.at, r.kind, r.message, r.instance);
      for (const s of states) this.store.setAlarmState(s.instance, s.path, s.active, s.since);
    })();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    this.timer.unref();
  }
}
