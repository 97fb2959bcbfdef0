import type { ConnectionHealth, TagCounts } from "../../schemas/types.js";
import type { InstanceState, ResultState } from "../types.js";

/** OPC UA status classes as the attribute table reports them. */
export type Quality = "good" | "bad" | "uncertain";

export interface AttributeView {
  path: string;
  value: unknown;
  quality: Quality;
  /** Source timestamp of the value (ISO), null before the first value. */
  timestamp: string | null;
}

export interface AlarmView {
  path: string;
  active: boolean;
  /** When the alarm entered its current state (ISO); null if it has not been evaluated yet. */
  since: string | null;
  priority: number;
}

/** One instance as the runtime holds it: `site inspect --format json`'s instance entry, plus how it is doing. */
export interface InstanceView {
  name: string;
  revisionHash: string;
  state: InstanceState;
  running: boolean;
  result: ResultState;
  message: string | null;
  attributes: AttributeView[];
  alarms: AlarmView[];
}

/** Counters since the runtime started; the metrics and the benchmarks read them. */
export interface RuntimeStats {
  valueChanges: number;
  alarmEvaluations: number;
  alarmTransitions: number;
  activeAlarms: number;
  scriptRuns: number;
  scriptErrors: number;
  scriptTimeouts: number;
  /** Script host processes that died (out of memory, killed by the watchdog, crashed) and were replaced. */
  scriptCrashes: number;
  scriptHostRestarts: number;
  /** Script runs not queued: their instance had too many waiting. */
  scriptRunsDropped: number;
  /** Script log lines over the per-script caps. */
  scriptLogsDropped: number;
  /** Scripts quarantined now (a gauge). */
  scriptsQuarantined: number;
  /** Event-log rows over the event-log caps, not written. */
  eventsSuppressed: number;
  writes: number;
  writeFailures: number;
  quality: Record<Quality, number>;
}

/** Counters at zero: a runtime that has not run anything yet. */
export function emptyStats(): RuntimeStats {
  return {
    valueChanges: 0,
    alarmEvaluations: 0,
    alarmTransitions: 0,
    activeAlarms: 0,
    scriptRuns: 0,
    scriptErrors: 0,
    scriptTimeouts: 0,
    scriptCrashes: 0,
    scriptHostRestarts: 0,
    scriptRunsDropped: 0,
    scriptLogsDropped: 0,
    scriptsQuarantined: 0,
    eventsSuppressed: 0,
    writes: 0,
    writeFailures: 0,
    quality: { good: 0, uncertain: 0, bad: 0 },
  };
}

export interface HealthView {
  connections: ConnectionHealth[];
  tags: TagCounts;
  stats: RuntimeStats;
}

/** What the local read API and `site inspect` see of a live runtime. */
export interface RuntimeView {
  instances(): InstanceView[];
  instance(name: string): InstanceView | undefined;
  health(): HealthView;
}
