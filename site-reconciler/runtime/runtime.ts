import type {
  ActiveAlarm,
  AlarmCounts,
  ConnectionHealth,
  DeploymentPackage,
  QualityCounts,
  ScriptCounts,
  SiteArtifacts,
  TagCounts,
} from "../../schemas/types.js";
import type { EvidenceItem, InstanceState, ResultState } from "../types.js";

/** One applied instance as the runtime should run it. */
export interface DesiredInstance {
  name: string;
  revisionHash: string;
  state: InstanceState;
  package: DeploymentPackage;
}

/** What the runtime should be running: the site's artifacts (data connections) and every applied instance. */
export interface DesiredRuntime {
  site: string;
  artifacts: SiteArtifacts | null;
  instances: ReadonlyMap<string, DesiredInstance>;
}

export interface InstanceOutcome {
  result: ResultState;
  /** Words for a failed result; never a credential value. */
  message: string | null;
  /** Active alarms of a running instance (a runtime that evaluates alarms reports them, even when none). */
  activeAlarms?: ActiveAlarm[];
}

export interface RuntimeReport {
  /** Every desired instance's outcome. */
  instances: Map<string, InstanceOutcome>;
  connections: ConnectionHealth[];
  tags: TagCounts;
  /** Reported by a runtime that runs devices, alarms and scripts. */
  quality?: QualityCounts;
  alarms?: AlarmCounts;
  scripts?: ScriptCounts;
}

/** Resolves a named secret on the site (section 6.6); undefined when the site does not provide it. */
export type SecretLookup = (name: string) => string | undefined;

/**
 * The local runtime as the reconciler drives it. converge is idempotent: it starts, stops and replaces what differs
 * from desired and reports how each instance is doing. Implementations add protocols (OPC UA), alarms and scripts
 * behind this same interface.
 */
export interface Runtime {
  converge(desired: DesiredRuntime): Promise<RuntimeReport>;
  /** The revision each instance is running (enabled) or holding stopped (disabled): the drift check compares it. */
  loaded(): ReadonlyMap<string, { revisionHash: string; running: boolean }>;
  /** An evidence item of one instance, as the JSON document the execution record references. */
  evidence(instance: string, item: EvidenceItem): Promise<unknown>;
  close(): Promise<void>;
  /** Tells the listener when what converge would report may have changed (a connection lost, an alarm raised). */
  subscribe?(listener: () => void): void;
}

/**
 * What a call of an instance's call-triggered script by an external system (section 8.4) came to: its return value,
 * arguments that do not fit its parameters, the instance or script not able to run it now, the script's own failure
 * (it threw, or ran past its own timeout), or withdrawn: the caller gave up before the run started, so it never ran.
 * Messages are words for the caller and the log; they never carry an argument's value.
 */
export type ScriptCallResult =
  | { status: "ok"; value: unknown }
  | { status: "unfit"; message: string }
  | { status: "unavailable"; message: string }
  | { status: "failed"; message: string; timedOut: boolean }
  | { status: "withdrawn" };

/** A runtime that can run a call-triggered script on request: the inbound API calls it. */
export interface ScriptCaller {
  /**
   * Runs `script` (its canonical path in the package) of `instance` with named arguments fitted to its declared
   * parameters, queued behind the instance's other script work. Aborting `signal` withdraws a call not started yet.
   */
  callScript(
    instance: string,
    script: string,
    args: Readonly<Record<string, unknown>>,
    opts?: { signal?: AbortSignal },
  ): Promise<ScriptCallResult>;
}
