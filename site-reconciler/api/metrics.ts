import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ConnectionHealth } from "../../schemas/types.js";
import { type StoreAndForward, safMetrics } from "../integrations/store-and-forward/index.js";
import type { HealthView, RuntimeStats, RuntimeView } from "../runtime/view.js";

const CONNECTION_STATES: readonly ConnectionHealth["state"][] = ["connected", "connecting", "disconnected", "blocked"];
const TAG_STATES = ["resolved", "unresolved", "bad"] as const;
const QUALITIES = ["good", "bad", "uncertain"] as const;

/** The runtime's counters, exposed as `scadalink_site_<name>_total`. */
const COUNTERS: readonly [
  name: string,
  stat: Exclude<keyof RuntimeStats, "quality" | "activeAlarms" | "scriptsQuarantined">,
  help: string,
][] = [
  ["value_changes", "valueChanges", "Attribute value changes received"],
  ["alarm_evaluations", "alarmEvaluations", "Alarm condition evaluations"],
  ["alarm_transitions", "alarmTransitions", "Alarm transitions between active and normal"],
  ["script_runs", "scriptRuns", "Script runs"],
  ["script_errors", "scriptErrors", "Script runs that threw"],
  ["script_timeouts", "scriptTimeouts", "Script runs stopped at their timeout"],
  ["script_host_crashes", "scriptCrashes", "Script host processes that died (out of memory, watchdog, crash)"],
  ["script_host_restarts", "scriptHostRestarts", "Script host processes started to replace one that died"],
  ["script_runs_dropped", "scriptRunsDropped", "Script runs not queued because their instance had too many waiting"],
  ["script_log_lines_dropped", "scriptLogsDropped", "Script log lines over the per-script rate and byte caps"],
  ["events_suppressed", "eventsSuppressed", "Event-log rows over the event-log rate caps, not written"],
  ["writes", "writes", "Attribute writes sent to devices"],
  ["write_failures", "writeFailures", "Attribute writes the device refused or that failed"],
];

/**
 * The live runtime's metrics, computed from `view.health()` at each scrape (one read per scrape, whatever the
 * number of metrics), plus `scadalink_site_info{site}`, and the store-and-forward engine's `scadalink_site_saf_*`.
 */
export function siteMetrics(registry: Registry, view: RuntimeView, site: string, saf?: StoreAndForward): void {
  if (saf) safMetrics(registry, saf);
  let cached: HealthView | undefined;
  const health = (): HealthView => {
    if (!cached) {
      cached = view.health();
      // prom-client calls every collect() in one synchronous pass of a scrape; the next scrape reads afresh.
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const registers = [registry];

  new Gauge({
    name: "scadalink_site_info",
    help: "The site this reconciler runs",
    labelNames: ["site"],
    registers,
  }).set({ site }, 1);
  new Gauge({
    name: "scadalink_site_connection_up",
    help: "1 when the data connection is connected, else 0",
    labelNames: ["connection"],
    registers,
    collect() {
      this.reset();
      for (const c of health().connections) this.set({ connection: c.name }, c.state === "connected" ? 1 : 0);
    },
  });
  new Gauge({
    name: "scadalink_site_connection_state",
    help: "1 for each data connection's current state",
    labelNames: ["connection", "state"],
    registers,
    collect() {
      this.reset();
      for (const c of health().connections)
        for (const state of CONNECTION_STATES) this.set({ connection: c.name, state }, c.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: "scadalink_site_tags",
    help: "Tags by resolution state",
    labelNames: ["state"],
    registers,
    collect() {
      const tags = health().tags;
      for (const state of TAG_STATES) this.set({ state }, tags[state]);
    },
  });
  new Gauge({
    name: "scadalink_site_attribute_quality",
    help: "Attributes by the quality of their value",
    labelNames: ["quality"],
    registers,
    collect() {
      const quality = health().stats.quality;
      for (const q of QUALITIES) this.set({ quality: q }, quality[q]);
    },
  });
  new Gauge({
    name: "scadalink_site_scripts_quarantined",
    help: "Scripts quarantined now: they kept timing out or crashing their script host",
    registers,
    collect() {
      this.set(health().stats.scriptsQuarantined);
    },
  });
  new Gauge({
    name: "scadalink_site_alarms_active",
    help: "Alarms active now",
    registers,
    collect() {
      this.set(health().stats.activeAlarms);
    },
  });
  // The runtime owns these counts (monotonic since it started). A Counter keeps `# TYPE counter`, so rate() and
  // reset detection work; prom-client has no Counter.set(), so collect() resets it and adds the absolute value.
  for (const [name, stat, help] of COUNTERS)
    new Counter({
      name: `scadalink_site_${name}_total`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(health().stats[stat]);
      },
    });
}

export interface LoopMetrics {
  loopDuration: Histogram;
  lastPoll: Gauge;
  releaseRefusals: Counter;
  verifiedRelease: Gauge;
}

/** The reconciler loop's metrics: it observes each loop's duration and sets the time of its last poll. */
export function loopMetrics(registry: Registry): LoopMetrics {
  return {
    loopDuration: new Histogram({
      name: "scadalink_site_loop_duration_seconds",
      help: "Time of one reconciler loop: fetch, apply, converge, report",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    releaseRefusals: new Counter({
      name: "scadalink_site_release_refusals_total",
      help: "Deploy heads refused as not a trusted release (unsigned, bad signature, untrusted key, not descending, no key)",
      labelNames: ["reason"],
      registers: [registry],
    }),
    verifiedRelease: new Gauge({
      name: "scadalink_site_release_verified_info",
      help: "The deploy commit applied last whose signature this site verified, and the principal of its key (1)",
      labelNames: ["commit", "signer"],
      registers: [registry],
    }),
    lastPoll: new Gauge({
      name: "scadalink_site_last_poll_timestamp_seconds",
      help: "When the deploy branch was last polled (Unix time)",
      registers: [registry],
    }),
  };
}

export interface InboundMetrics {
  /** By method (only methods the site serves: a made-up name counts as "(none)") and HTTP status code. */
  requests: Counter<"method" | "code">;
  duration: Histogram<"method">;
  /** Puts both into a registry: the inbound API may start before the site API's registry exists. */
  register(registry: Registry): void;
}

/** Label value of requests that name no method of the site: not a method name (those are identifiers). */
export const NO_METHOD = "(none)";

/** The inbound API's metrics (section 8.4): every request counted with its answer, and how long it took. */
export function inboundMetrics(): InboundMetrics {
  const requests = new Counter({
    name: "scadalink_site_inbound_requests_total",
    help: "Inbound API requests by method and HTTP status code",
    labelNames: ["method", "code"] as const,
    registers: [],
  });
  const duration = new Histogram({
    name: "scadalink_site_inbound_request_duration_seconds",
    help: "Time from an inbound API request to its answer, by method",
    labelNames: ["method"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [],
  });
  return {
    requests,
    duration,
    register(registry) {
      registry.registerMetric(requests);
      registry.registerMetric(duration);
    },
  };
}
