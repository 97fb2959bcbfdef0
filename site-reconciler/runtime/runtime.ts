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
