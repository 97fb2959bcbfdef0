// Store-and-forward test fixture: a real site store (SQLite file, migrations, WAL, synchronous = FULL) in a temp
// directory, the engine with HTTP delivery, and a helper that waits for a condition.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EngineOptions,
  type HttpRequest,
  httpDeliverer,
  StoreAndForward,
  type TargetConfig,
} from "../../site-reconciler/integrations/store-and-forward/index.js";
import { Store } from "../../site-reconciler/store/store.js";

export interface SafFixture {
  dir: string;
  file: string;
  store: Store;
  engine: StoreAndForward;
  secrets: Map<string, string>;
  /** Stops the engine, closes the store and opens both again on the same file (a restart). */
  restart(opts?: Partial<EngineOptions>): Promise<void>;
  close(): Promise<void>;
}

const dirs: string[] = [];

export function removeSafDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function openSaf(opts: Partial<EngineOptions> = {}, dir?: string): SafFixture {
  const d = dir ?? mkdtempSync(join(tmpdir(), "scadalink-saf-"));
  if (!dir) dirs.push(d);
  const file = join(d, "site.db");
  const secrets = new Map<string, string>();
  const make = (o: Partial<EngineOptions>) => {
    const store = Store.open(file);
    const engine = new StoreAndForward({
      db: store.db,
      deliverers: { externalSystem: httpDeliverer({ secrets: (n) => secrets.get(n) }) },
      ...o,
    });
    return { store, engine };
  };
  let cur = make(opts);
  const f: SafFixture = {
    dir: d,
    file,
    secrets,
    get store() {
      return cur.store;
    },
    get engine() {
      return cur.engine;
    },
    async restart(o = opts) {
      await cur.engine.stop();
      cur.store.close();
      cur = make(o);
    },
    async close() {
      await cur.engine.stop();
      cur.store.close();
    },
  };
  return f;
}

/** An ExternalSystem target with quick retries. */
export function system(name: string, extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    kind: "externalSystem",
    name,
    retry: { intervalMs: 20, maxAttempts: 5 },
    timeoutMs: 1000,
    maxPerSecond: 10_000,
    ...extra,
  };
}

/** A POST of body to url. */
export function post(url: string, body: unknown, headers?: Record<string, string>): HttpRequest {
  return { method: "POST", url, body, ...(headers ? { headers } : {}) };
}

export async function until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
