import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { redactUrl } from "../../controller/git/repo.js";
import { StateDirLockedError } from "../../site-reconciler/lock.js";
import { DB_FILE, Reconciler } from "../../site-reconciler/reconciler.js";
import { Store } from "../../site-reconciler/store/store.js";
import { positive } from "../options.js";
import { stopOnSignal } from "../signals.js";
import { UsageError } from "./validate.js";

export interface SiteOptions {
  site?: string;
  repo?: string;
  stateDir?: string;
  secretsDir?: string;
  once?: boolean;
  pollInterval: string;
  heartbeatInterval: string;
  logLevel: string;
}

/** `scadalink site`: runs a site reconciler until SIGINT/SIGTERM (or one loop with --once). */
export async function siteCommand(o: SiteOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  for (const [flag, value] of [
    ["--site (or SCADALINK_SITE)", o.site],
    ["--repo (or SCADALINK_REPO)", o.repo],
    ["--state-dir (or SCADALINK_STATE_DIR)", o.stateDir],
  ] as const)
    if (!value) throw new UsageError(`${flag} is required`);
  const log = pino({ level: o.logLevel, base: { component: "site", site: o.site } });
  let reconciler: Reconciler;
  try {
    reconciler = await Reconciler.create(
      {
        site: o.site!,
        repo: o.repo!,
        stateDir: resolve(o.stateDir!),
        secretsDir: o.secretsDir ? resolve(o.secretsDir) : undefined,
        pollIntervalMs: positive(o.pollInterval, "--poll-interval") * 1000,
        heartbeatMs: positive(o.heartbeatInterval, "--heartbeat-interval") * 1000,
        env,
      },
      log,
    );
  } catch (e) {
    if (e instanceof StateDirLockedError) throw new UsageError(e.message);
    throw e;
  }
  if (o.once) {
    const r = await reconciler.once();
    await reconciler.stop();
    log.info(
      {
        head: r.head,
        sync: r.sync.state,
        applied: r.applied.length,
        removed: r.removed.length,
        refused: r.refused.length,
        repaired: r.repaired.length,
        status: r.status,
        ms: Math.round(r.durationMs),
      },
      "loop done",
    );
    return r.sync.state === "ok" && r.refused.length === 0 ? 0 : 1;
  }
  reconciler.start();
  log.info({ repo: redactUrl(o.repo!), pollSeconds: Number(o.pollInterval) }, "site reconciler started");
  await stopOnSignal(log, "loop", () => reconciler.stop());
  return 0;
}

export interface SiteInspectOptions {
  stateDir?: string;
  instance?: string;
  format: "text" | "json";
  audit: string;
}

/** `scadalink site inspect`: what a site has applied, and its audit trail, read from its state directory. */
export async function siteInspectCommand(o: SiteInspectOptions): Promise<number> {
  if (!o.stateDir) throw new UsageError("--state-dir (or SCADALINK_STATE_DIR) is required");
  const file = join(resolve(o.stateDir), DB_FILE);
  if (!existsSync(file)) throw new UsageError(`${o.stateDir} holds no site state (no ${DB_FILE})`);
  const store = Store.open(file, { readonly: true });
  try {
    const applied = store.applied();
    if (o.instance && !applied.has(o.instance) && !store.refusals().has(o.instance))
      throw new UsageError(`instance ${o.instance} is not applied on this site`);
    const names = [...applied.keys()].filter((n) => !o.instance || n === o.instance);
    const instances = names.map((name) => {
      const a = applied.get(name)!;
      const pkg = JSON.parse(store.packageText(name)!) as {
        attributes: { path: string; source: string; value: unknown }[];
        alarms: { path: string }[];
      };
      const written = store.staticValues(name);
      return {
        name,
        revisionHash: a.revisionHash,
        state: a.state,
        // Persisted values: static attributes (as written at run time, else as configured); live data values come
        // from a running runtime only.
        attributes: pkg.attributes.map((attr) => {
          const w = written.get(attr.path);
          const isStatic = attr.source === "static";
          return {
            path: attr.path,
            value: w ? w.value : isStatic ? attr.value : null,
            quality: isStatic ? "good" : "bad",
            timestamp: w ? w.writtenAt : isStatic ? a.appliedAt : null,
          };
        }),
        alarms: pkg.alarms.map((al) => ({ path: al.path, active: false, since: null })),
      };
    });
    const deployCommit = store.meta("deployCommit") ?? null;
    const site = store.meta("site") ?? null;
    const audit = store.auditTail(Number(o.audit) || 10, o.instance);
    if (o.format === "json") {
      process.stdout.write(`${JSON.stringify({ site, deployCommit, instances }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [`site ${site ?? "?"}  deploy ${deployCommit ? deployCommit.slice(0, 12) : "none"}`];
    const refusals = store.refusals();
    for (const i of instances) {
      const refused = refusals.get(i.name);
      out.push(
        `  ${i.name.padEnd(24)} ${i.revisionHash.slice(0, 19)}  ${i.state}${refused ? `  refused ${refused.revisionHash.slice(0, 19)}: ${refused.message}` : ""}`,
      );
    }
    for (const [name, r] of refusals)
      if (!applied.has(name) && (!o.instance || name === o.instance))
        out.push(`  ${name.padEnd(24)} (none)  refused ${r.revisionHash.slice(0, 19)}: ${r.message}`);
    out.push("", `audit (newest first${o.instance ? `, ${o.instance}` : ""}):`);
    for (const a of audit)
      out.push(
        `  ${a.at}  ${a.action.padEnd(7)} ${a.instance.padEnd(24)} ${a.fromHash?.slice(0, 19) ?? "-"} → ${a.toHash?.slice(0, 19) ?? "-"}${a.message ? `  ${a.message}` : ""}`,
      );
    out.push("", `${instances.length} instance${instances.length === 1 ? "" : "s"} applied`);
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
  } finally {
    store.close();
  }
}
