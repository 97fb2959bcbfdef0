import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const BATCH_STATES = ["waiting", "releasing", "in-progress", "complete", "halted"] as const;
const CONTROLLER_PREFIX = "scadalink_controller_";
/** prom-client's default metrics that are gauges with a counter's suffix. */
const REJECTED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** The controller's Prometheus metrics, on its own registry (several controllers may share a process in tests). */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly compileDuration = new Histogram({
    name: "scadalink_compile_duration_seconds",
    help: "Time to compile one commit of the config repo",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly deployCommits = new Counter({
    name: "scadalink_deploy_commits_total",
    help: "Deploy commits written to the deploy branch",
    registers: [this.registry],
  });
  readonly invalidCommits = new Counter({
    name: "scadalink_invalid_commits_total",
    help: "Commits on main that did not compile: nothing released",
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: "scadalink_deploy_conflicts_total",
    help: "Deploy branch updates lost to a concurrent writer and retried",
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: "scadalink_last_success_timestamp_seconds",
    help: "When a reconcile pass last completed without error",
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "scadalink_reconcile_errors_total",
    help: "Reconcile passes that failed (git unreachable, ...)",
    registers: [this.registry],
  });
  readonly batchState = new Gauge({
    name: "scadalink_batch_state",
    help: "1 for each batch's current state",
    labelNames: ["batch", "state"],
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: "scadalink_webhook_deliveries_total",
    help: "Webhook deliveries by result",
    labelNames: ["result"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: CONTROLLER_PREFIX });
    // Gauges named *_total break Prometheus's naming rules (promtool check metrics, and OpenMetrics parsers read
    // _total as a counter's sample); each is the sum over the per-type gauge of the same name without _total.
    for (const name of REJECTED_DEFAULTS) this.registry.removeSingleMetric(CONTROLLER_PREFIX + name);
  }

  setBatchStates(states: ReadonlyMap<string, string>): void {
    this.batchState.reset();
    for (const [batch, state] of states)
      for (const s of BATCH_STATES) this.batchState.set({ batch, state: s }, s === state ? 1 : 0);
  }
}
