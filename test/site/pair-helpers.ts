import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { freePort, spawnScadalink, tempDir } from "../helpers/cli.js";

// Two `scadalink site` nodes of one site pair, run as the built CLI (docs/redundancy.md).

export const PAIR_SECRET = "pair-secret-CANARY-7f3e9a1c0b";

export interface PairNode {
  name: string;
  state: string;
  peerPort: number;
  child?: ReturnType<typeof spawnScadalink>;
  /** stdout and stderr of the current process. */
  out: string;
  exited?: Promise<number | null>;
}

export interface PairSetup {
  repo: string;
  failoverSeconds: number;
  witness?: string;
  /** Extra environment (secrets) for both nodes. */
  env?: NodeJS.ProcessEnv;
  /** Where each node reaches the other (default: straight to its peer port); a proxy in between cuts the link. */
  peerUrl?: (peer: PairNode) => string;
  /** More flags for both nodes. */
  args?: string[];
}

export async function pairNodes(names = ["a", "b"]): Promise<PairNode[]> {
  const nodes: PairNode[] = [];
  for (const name of names) nodes.push({ name, state: tempDir(`pair-${name}`), peerPort: await freePort(), out: "" });
  return nodes;
}

/** Starts (or restarts) one node of the pair. */
export function startNode(n: PairNode, nodes: PairNode[], o: PairSetup): void {
  const peer = nodes.find((x) => x !== n)!;
  n.out = "";
  n.child = spawnScadalink(
    [
      "site",
      "--site",
      "plant-north",
      "--repo",
      o.repo,
      "--state-dir",
      n.state,
      "--node",
      n.name,
      "--peer",
      o.peerUrl?.(peer) ?? `http://127.0.0.1:${peer.peerPort}`,
      "--peer-port",
      String(n.peerPort),
      "--peer-secret",
      "PAIR_SECRET",
      "--failover-seconds",
      String(o.failoverSeconds),
      ...(o.witness ? ["--witness", o.witness] : []),
      ...(o.args ?? []),
      "--log-level",
      "info",
    ],
    {
      SCADALINK_SECRET_PAIR_SECRET: PAIR_SECRET,
      SCADALINK_POLL_INTERVAL: "1",
      SCADALINK_HEARTBEAT_INTERVAL: "1",
      ...o.env,
    },
  );
  n.child.stdout.on("data", (d) => {
    n.out += d;
  });
  n.child.stderr.on("data", (d) => {
    n.out += d;
  });
  n.exited = new Promise((res) => n.child!.on("exit", (code) => res(code)));
}

/** Activations this process of the node logged, in order (their epochs). */
export function activations(n: PairNode): number[] {
  return [...n.out.matchAll(/"epoch":(\d+)[^\n]*"msg":"site pair: this node is active"/g)].map((m) => Number(m[1]));
}

export const isActive = (n: PairNode) => {
  const up = n.out.lastIndexOf("site pair: this node is active");
  return up >= 0 && up > n.out.lastIndexOf("site pair: stepping down");
};

/** A static attribute of T1 as the node's store holds it (-1: none yet). */
export function staticOf(state: string, path: string, instance = "T1"): number {
  if (!existsSync(join(state, "site.db"))) return -1;
  const db = new Database(join(state, "site.db"), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT value FROM static_values WHERE instance = ? AND path = ?").get(instance, path) as
      | { value: string }
      | undefined;
    return row ? Number(JSON.parse(row.value)) : -1;
  } catch {
    return -1;
  } finally {
    db.close();
  }
}

/** The node's read API port (api.json), once it is up. */
export function apiPortOf(n: PairNode): number | undefined {
  const file = join(n.state, "api.json");
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { port: number }).port;
  } catch {
    return undefined;
  }
}

export async function stopAll(nodes: PairNode[]): Promise<void> {
  for (const n of nodes) {
    n.child?.kill("SIGTERM");
    await n.exited;
  }
}
