export declare const DEPLOY_BRANCH: string;
export declare const FETCH_MARKER: string;
export declare const APPLY_MARKER: string;

export type CrashPhase = "fetch" | "apply";

/** What one deploy commit asks of a site. */
export interface DeployState {
  commit: string;
  /** Instance name → revision hash, from sites/<site>/manifest.json. */
  revisions: Map<string, string>;
  /** Instance name → blob id of sites/<site>/instances/<name>.json. */
  blobs: Map<string, string>;
}

export interface StoreSnapshot {
  error?: string;
  integrity?: string;
  rows?: { name: string; revision_hash: string; blob_oid: string; package: string; state: string }[];
  deployCommit?: string | null;
}

export interface CrashRound {
  round: number;
  phase: CrashPhase;
  /** The round's target state had not been gone to before in this run: its objects were not in the mirror. */
  fresh: boolean;
  /** Delay after the phase's marker line before SIGKILL. */
  delayMs: number;
  /** The child ended by SIGKILL (false: it exited on its own before the delay was over). */
  killed: boolean;
  exit: number | string | null;
  /** Where the kill landed, by the markers read before it (null when not killed). */
  landed: "startup" | "fetch" | "apply" | "after" | null;
  /** The killed reconciler's pid is still in reconciler.lock. */
  staleLock?: boolean;
  /** The git mirror as the kill left it (see mirrorState). */
  mirror?: MirrorState;
  /** The store as the kill left it. */
  crashed: { integrity: string | undefined; problems: string[]; atOld: number; atNew: number; rows: number };
  /** The deploy branch went back to the old state while the site was down. */
  revertedWhileDown: boolean;
  /** The restarted loop: its exit, wall time, and what did not match the deploy branch after it. */
  restart: {
    exit: number | string | null;
    ms: number;
    /** The restart found the git mirror unreadable (a fetch cut off) and fetched again. */
    mirrorRepair: boolean;
    integrity: string | undefined;
    problems: string[];
  };
  retry?: { exit: number | string | null; problems: string[] };
}

export interface CrashViolation {
  round: number | string;
  phase?: string;
  delayMs?: number;
  landed?: string | null;
  mirror?: MirrorState;
  revertedWhileDown?: boolean;
  /** "failed": the restart after the round did not converge. */
  restart?: "failed";
  what: string;
  /** The failed restart's warning and error log lines. */
  log?: string[];
  /** A copy of the state directory as the kill left it (with evidenceDir). */
  evidence?: string;
}

export interface CrashSummary {
  seed: number;
  instances: number;
  states: number;
  /** Instances whose revision differs between one state and the next (the least over the cycle). */
  changedPerFlip: number;
  rounds: number;
  kills: number;
  killsFetch: number;
  killsApply: number;
  /** Fetch-phase kills of a fetch that had new objects to download. */
  freshFetchKills: number;
  notKilled: number;
  landed: { startup: number; fetch: number; apply: number; after: number };
  /** Kills that left some instances at the old and some at the new revision. */
  partialApplies: number;
  /** Kills that left the mirror's deploy-branch ref at a commit the mirror lacks (isomorphic-git #894). */
  tornFetches: number;
  /** Kills that left a pack or a pack index in the mirror cut short. */
  damagedPacks: number;
  staleLocks: number;
  revertedWhileDown: number;
  /** Restarts that found the mirror unreadable and repaired it. */
  mirrorRepairs: number;
  integrityOk: number;
  convergedAfter: number;
  violations: CrashViolation[];
  /** A restart did not converge even on a second try; the rounds stopped there. */
  stuck: boolean;
  calibration: { fetchMs: number; applyMs: number };
  medianRestartMs: number | null;
  maxRestartMs: number | null;
}

export interface CrashOptions {
  /** dist/bundle/scadalink.js */
  bin: string;
  /** The config repo's smart-HTTP URL. */
  url: string;
  /** The bare repository behind url (the deploy branch is flipped there). */
  bare: string;
  site: string;
  stateDir: string;
  /** Deploy commits the controller wrote, oldest first (at least two); each round moves the branch to the next. */
  states: string[];
  /** Rounds ending in a SIGKILL to run. */
  kills: number;
  /** Default: 1.5 × kills + 10. */
  maxRounds?: number;
  phase?: CrashPhase | "mixed";
  /** Chance that the deploy branch goes back to the old state while the killed site is down (default 0.2). */
  revertChance?: number;
  seed?: number;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Clean A → B loops timed before the rounds (default 2). */
  calibrationRuns?: number;
  /** Phase durations in ms; default: measured in calibration. */
  calibration?: { fetch: number; apply: number };
  branch?: string;
  /** Keeps a copy of the state directory as each kill left it; a failed restart's copy is kept as round-<n>. */
  evidenceDir?: string;
  onRound?: (r: CrashRound) => void | Promise<void>;
}

/** A rollout-auto config repo with `instances` pumps at one site in one InstanceSet; maxSpeed reaches every package. */
export declare function crashFixture(opts?: {
  instances?: number;
  maxSpeed?: number;
  site?: string;
}): Record<string, string>;
export declare function deployState(bare: string, commit: string, site: string): DeployState;
export type MirrorState = "ok" | "none" | "no-ref" | "unreadable-ref" | "missing-commit" | "damaged-pack";
export declare function mirrorState(stateDir: string, branch?: string): MirrorState;
export declare function readStore(stateDir: string): StoreSnapshot;
export declare function checkCrashed(
  store: StoreSnapshot,
  from: DeployState,
  to: DeployState,
): { problems: string[]; atOld: number; atNew: number; rows: number };
export declare function checkConverged(store: StoreSnapshot, want: DeployState): string[];
export declare function runCrashRounds(opts: CrashOptions): Promise<CrashSummary>;
