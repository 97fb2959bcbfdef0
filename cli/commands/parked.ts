import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type OperatorResult, StoreAndForward } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { acquireLock, StateDirLockedError } from "../../site-reconciler/lock.js";
import { DB_FILE } from "../../site-reconciler/reconciler.js";
import { Store } from "../../site-reconciler/store/store.js";
import { positive } from "../options.js";
import { printable } from "../output/printable.js";
import { UsageError } from "./validate.js";

export interface ParkedListOptions {
  stateDir?: string;
  format: "text" | "json";
  limit: string;
}

export interface ParkedActOptions {
  stateDir?: string;
  all?: boolean;
  format: "text" | "json";
  /** Seconds to wait for a running site to take and finish the request. */
  wait: string;
}

/** How often the command looks whether the running site has answered its request. */
const POLL_MS = 100;

function stateFile(stateDir: string | undefined): { dir: string; file: string } {
  if (!stateDir) throw new UsageError("--state-dir (or SCADALINK_STATE_DIR) is required");
  const dir = resolve(stateDir);
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) throw new UsageError(`${stateDir} holds no site state (no ${DB_FILE})`);
  return { dir, file };
}

/**
 * `scadalink site parked`: the parked store-and-forward messages of a site, oldest first, with the backlog per
 * target; read from the store, so also while the site runs (never a payload).
 */
export async function parkedListCommand(o: ParkedListOptions): Promise<number> {
  const { file } = stateFile(o.stateDir);
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit ${o.limit}: a positive whole number is needed`);
  const store = Store.open(file, { readonly: true });
  try {
    // Not started and without deliverers: it only reads (counts, the oldest queued, the parked listing).
    const engine = new StoreAndForward({ db: store.db, deliverers: {} });
    const targets = engine.status().map(({ kind, name, queued, parked, oldestQueuedAt, bytes }) => ({
      kind,
      target: name,
      queued,
      parked,
      oldestQueuedAt,
      bytes,
    }));
    const total = targets.reduce((n, t) => n + t.parked, 0);
    const messages = engine.parked({ limit }).map(({ name, ...m }) => ({
      id: m.id,
      kind: m.kind,
      target: name,
      label: m.label,
      instance: m.instance,
      attempts: m.attempts,
      lastError: m.lastError,
      enqueuedAt: m.enqueuedAt,
      lastAttemptAt: m.lastAttemptAt,
      parkedAt: m.parkedAt,
    }));
    if (o.format === "json") {
      const doc = { site: store.meta("site") ?? null, total, targets, messages };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [];
    for (const t of targets)
      out.push(
        `${printable(`${t.kind}/${t.target}`).padEnd(40)} ${String(t.queued).padStart(7)} queued  ${String(t.parked).padStart(7)} parked  ${t.oldestQueuedAt ? `oldest queued ${t.oldestQueuedAt}` : ""}`.trimEnd(),
      );
    if (messages.length) out.push("");
    for (const m of messages)
      out.push(
        `${printable(m.id)}  ${printable(`${m.kind}/${m.target}`)}  ${printable(m.label)}${m.instance ? `  (${printable(m.instance)})` : ""}`,
        `    parked ${m.parkedAt} after ${m.attempts} attempt${m.attempts === 1 ? "" : "s"}: ${printable(m.lastError ?? "-")}`,
      );
    const more = messages.length < total ? ` (the oldest ${messages.length} shown; --limit for more)` : "";
    out.push(`${out.length ? "\n" : ""}${total} parked message${total === 1 ? "" : "s"}${more}`);
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/**
 * `scadalink site parked retry|discard`: acts on parked messages. With no site running on the state directory it
 * takes the site's lock and acts on the store itself; with one running it asks that site (its engine holds the
 * counts) through the store and waits for the answer.
 */
export async function parkedActCommand(
  action: "retry" | "discard",
  ids: string[],
  o: ParkedActOptions,
): Promise<number> {
  if (o.all && ids.length) throw new UsageError("give message ids or --all, not both");
  if (!o.all && !ids.length)
    throw new UsageError(`give the ids of the messages to ${action}${action === "retry" ? " (or --all)" : ""}`);
  const waitMs = positive(o.wait, "--wait") * 1000;
  const { dir, file } = stateFile(o.stateDir);
  const asked: readonly string[] | "all" = o.all ? "all" : ids;
  let lock: { release(): void } | undefined;
  try {
    lock = acquireLock(dir);
  } catch (e) {
    if (!(e instanceof StateDirLockedError)) throw e;
  }
  let result: OperatorResult;
  let by: string;
  if (lock) {
    try {
      const store = Store.open(file);
      try {
        const engine = new StoreAndForward({ db: store.db, deliverers: {} });
        result = action === "retry" ? await engine.retry(asked) : await engine.discard(asked);
        store.event(
          new Date().toISOString(),
          "parked",
          `${action === "retry" ? "retried" : "discarded"} ${result.done.length} parked message(s) (scadalink site parked)`,
        );
      } finally {
        store.close();
      }
    } finally {
      lock.release();
    }
    by = "in the store (no site running)";
  } else {
    const pid = lockOwner(dir);
    const answer = await askRunningSite(file, action, asked, waitMs);
    if ("failed" in answer) {
      process.stderr.write(`scadalink: the site running on ${o.stateDir} (pid ${pid ?? "?"}) ${answer.failed}\n`);
      return 1;
    }
    result = answer;
    by = `by the running site (pid ${pid ?? "?"})`;
  }
  if (o.format === "json") {
    process.stdout.write(`${JSON.stringify({ action, ...result }, null, 2)}\n`);
  } else {
    const verb = action === "retry" ? "retried" : "discarded";
    const out = [`${verb} ${result.done.length} parked message${result.done.length === 1 ? "" : "s"} ${by}`];
    for (const id of result.notParked) out.push(`  not parked (queued, left as it is): ${printable(id)}`);
    for (const id of result.unknown) out.push(`  unknown (delivered, discarded or never stored): ${printable(id)}`);
    process.stdout.write(`${out.join("\n")}\n`);
  }
  return result.notParked.length || result.unknown.length ? 1 : 0;
}

/**
 * Leaves the request in the store for the running site and waits for its result; a request the site has not
 * taken by the deadline is withdrawn, so nothing happens later behind the operator's back.
 */
async function askRunningSite(
  file: string,
  action: "retry" | "discard",
  ids: readonly string[] | "all",
  waitMs: number,
): Promise<OperatorResult | { failed: string }> {
  const store = Store.open(file);
  try {
    const id = store.requestSaf(action, ids === "all" ? null : ids, new Date().toISOString());
    const deadline = Date.now() + waitMs;
    for (;;) {
      const r = store.safRequest(id);
      if (r?.result) {
        store.deleteSafRequest(id);
        return r.result;
      }
      if (Date.now() >= deadline) {
        const s = waitMs / 1000;
        if (store.cancelSafRequest(id)) return { failed: `did not take the request within ${s} s: nothing was done` };
        return {
          failed: `took the request but had not finished it after ${s} s; it goes on: scadalink site parked shows what is parked`,
        };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    store.close();
  }
}

function lockOwner(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, "reconciler.lock"), "utf8"), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
