import type { PackageAttribute } from "../../../schemas/types.js";
import type { RunResult, ScriptDef, SharedDef } from "./sandbox.js";

/**
 * Messages between the site runtime and a script host process (structured clone over the IPC channel). The host
 * keeps a mirror of each loaded instance's attributes, so attributes.get is a local read there; the runtime sends
 * the changes since the last run with the next run, and gets back the run's outcome, its writes and its logs.
 */

/** What the host needs of an attribute to answer get and to check set as the runtime would. */
export interface MirrorAttr {
  path: string;
  dataType: PackageAttribute["dataType"];
  source: PackageAttribute["source"];
  access: PackageAttribute["access"];
}

export type ToHost =
  | { t: "shared"; defs: SharedDef[] }
  | {
      t: "load";
      key: string;
      instance: string;
      scripts: ScriptDef[];
      attrs: MirrorAttr[];
      values: [string, unknown][];
    }
  | { t: "unload"; key: string }
  | {
      t: "run";
      id: number;
      key: string;
      path: string;
      kind: "run" | "eval";
      args: unknown[];
      /** Attribute values changed since this instance's last run, in the order they changed. */
      updates: [string, unknown][];
    };

export interface ScriptLog {
  level: "info" | "warn" | "error";
  script: string;
  message: string;
}

export interface RunOutput {
  result: RunResult;
  /** attributes.set calls that passed the host's checks, in call order: the runtime applies them. */
  writes: [string, unknown][];
  logs: ScriptLog[];
  /** Log lines over the per-script caps, dropped in the host. */
  dropped: number;
}

export type FromHost = { t: "ready" } | ({ t: "result"; id: number } & RunOutput);

/** The script API calls that leave the sandbox (SPEC 8.2): each one is answered by the site process. */
export type IoOp = "call" | "cachedCall" | "notify" | "query" | "cachedWrite";

/**
 * One such call, as the host sends it to the site over the host's I/O pipe (a line of JSON each way). target is
 * the ExternalSystem, NotificationList or DatabaseConnection; deadline (epoch ms) is where the script's own
 * timeout ends, so nothing the call does outlives the run.
 */
export interface IoRequest {
  op: IoOp;
  instance: string;
  target: string;
  /** call, cachedCall: the method; query, cachedWrite: the SQL; notify: the subject. */
  name: string;
  args: unknown[];
  deadline: number;
}

/** The site's answer: a value, or an error with the words a script may see (and an HTTP status for call). */
export type IoReply = { v: unknown } | { e: string; status?: number | null };
