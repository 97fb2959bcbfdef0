import type { FaultServer } from "./saf-http-server.mjs";

export interface SafCrashRound {
  round: number;
  delayMs: number;
  killed: boolean;
  code: number | null;
  /** Messages acknowledged (enqueue returned) in this round. */
  acks: number;
  integrity: string;
  /** Rows in saf_messages after the kill. */
  rows: number;
  /** Requests the receiver had seen when the kill was sent. */
  received: number;
}

export interface SafCrashCheck {
  problems: string[];
  /** Distinct messages delivered. */
  delivered: number;
  /** Deliveries of a message already delivered (same key). */
  duplicates: number;
  /** Delivered messages the caller never heard were stored (killed before it returned). */
  unacked: number;
  lost: number;
}

export interface SafCrashRun {
  results: SafCrashRound[];
  acked: Map<string, { target: string; nonce: string }>;
  drain: { code: number | null; signal: string | null; stderr: string; integrity: string; rows: number };
  check: SafCrashCheck;
}

export declare function runSafCrashRounds(opts: {
  dir: string;
  server: FaultServer;
  rounds: number;
  seed: number;
  killWindowMs?: [number, number];
  onRound?: (r: SafCrashRound, stderr: string) => void;
}): Promise<SafCrashRun>;

export declare function check(
  acked: Map<string, { target: string; nonce: string }>,
  requests: FaultServer["requests"],
): SafCrashCheck;

export interface SafChild {
  c: import("node:child_process").ChildProcess;
  /** stdout lines but "ready": `ack <id> <target> <nonce>`, or "drained". */
  lines: string[];
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: string | null }>;
  stderr(): string;
}

export declare function spawnSafChild(file: string, url: string, mode: "produce" | "drain", round: number): SafChild;
export declare function integrity(file: string): { integrity: string; rows: number };
