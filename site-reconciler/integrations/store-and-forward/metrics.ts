import { Counter, Gauge, type Registry } from "prom-client";
import type { SafCounters, StoreAndForward } from "./engine.js";
import type { TargetStatus } from "./types.js";

/** The engine's counters, exposed as `scadalink_site_saf_<name>_total`. */
const COUNTERS: readonly [name: string, counter: keyof SafCounters, help: string][] = [
  ["enqueued", "enqueued", "Store-and-forward messages stored"],
  ["delivered", "delivered", "Store-and-forward messages delivered"],
  [
    "failed_attempts",
    "failedAttempts",
    "Store-and-forward delivery attempts that failed transiently and will be retried",
  ],
  ["parked", "parked", "Store-and-forward messages parked (permanent failure or maxAttempts)"],
  ["retried", "retried", "Parked store-and-forward messages an operator queued again"],
  ["discarded", "discarded", "Parked store-and-forward messages an operator discarded"],
  ["refused_full", "refusedFull", "Store-and-forward messages refused because the store was full"],
  ["store_errors", "storeErrors", "Store-and-forward writes of delivery state that failed and were retried"],
];

/**
 * Store-and-forward metrics from `engine.status()` at each scrape (one read per scrape; the counts are in memory, the
 * oldest message of each target with queued ones is one indexed lookup). Labels: kind and target, never payloads.
 */
export function safMetrics(registry: Registry, engine: StoreAndForward, now: () => number = Date.now): void {
  let cached: TargetStatus[] | undefined;
  const status = (): TargetStatus[] => {
    if (!cached) {
      cached = engine.status();
      // prom-client calls every collect() in one synchronous pass of a scrape; the next scrape reads afresh.
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const registers = [registry];
  new Gauge({
    name: "scadalink_site_saf_messages",
    help: "Store-and-forward messages per target, queued or parked",
    labelNames: ["kind", "target", "state"],
    registers,
    collect() {
      this.reset();
      for (const t of status()) {
        this.set({ kind: t.kind, target: t.name, state: "queued" }, t.queued);
        this.set({ kind: t.kind, target: t.name, state: "parked" }, t.parked);
      }
    },
  });
  new Gauge({
    name: "scadalink_site_saf_bytes",
    help: "Payload bytes of the store-and-forward messages stored per target",
    labelNames: ["kind", "target"],
    registers,
    collect() {
      this.reset();
      for (const t of status()) this.set({ kind: t.kind, target: t.name }, t.bytes);
    },
  });
  new Gauge({
    name: "scadalink_site_saf_oldest_queued_age_seconds",
    help: "Age of the oldest queued store-and-forward message per target (0 when none is queued)",
    labelNames: ["kind", "target"],
    registers,
    collect() {
      this.reset();
      for (const t of status()) {
        const at = t.oldestQueuedAt ? Date.parse(t.oldestQueuedAt) : null;
        this.set({ kind: t.kind, target: t.name }, at === null ? 0 : Math.max(0, (now() - at) / 1000));
      }
    },
  });
  new Gauge({
    name: "scadalink_site_saf_target_configured",
    help: "1 when the site can deliver to the target; 0 when its messages are held (not defined in site.json, or no delivery for its kind)",
    labelNames: ["kind", "target"],
    registers,
    collect() {
      this.reset();
      for (const t of status()) this.set({ kind: t.kind, target: t.name }, t.configured ? 1 : 0);
    },
  });
  new Gauge({
    name: "scadalink_site_saf_stored",
    help: "What the store-and-forward store holds, in messages and in payload bytes",
    labelNames: ["unit"],
    registers,
    collect() {
      const t = engine.totals();
      this.set({ unit: "messages" }, t.messages);
      this.set({ unit: "bytes" }, t.bytes);
    },
  });
  new Gauge({
    name: "scadalink_site_saf_capacity",
    help: "The store-and-forward caps of the site, in messages and in payload bytes",
    labelNames: ["unit"],
    registers,
    collect() {
      const { caps } = engine.totals();
      this.set({ unit: "messages" }, caps.maxMessages);
      this.set({ unit: "bytes" }, caps.maxBytes);
    },
  });
  for (const [name, counter, help] of COUNTERS)
    new Counter({
      name: `scadalink_site_saf_${name}_total`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(engine.counters[counter]);
      },
    });
}
