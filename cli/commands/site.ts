import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { isBranchName } from "../../controller/contract/branches.js";
import { redactUrl } from "../../controller/git/repo.js";
import { type Dashboard, startDashboard } from "../../dashboard/server.js";
import { sitePages } from "../../dashboard/site-pages.js";
import type { DeploymentPackage } from "../../schemas/types.js";
import {
  type InspectDocument,
  type InspectInstance,
  inspectInstance,
  readApiFile,
} from "../../site-reconciler/api/server.js";
import { InboundListenError } from "../../site-reconciler/inbound/server.js";
import { alive, StateDirLockedError } from "../../site-reconciler/lock.js";
import { DB_FILE, packageRuntime, Reconciler } from "../../site-reconciler/reconciler.js";
import { type PairConfig, PeerListenError } from "../../site-reconciler/redundancy/pair.js";
import { MIN_SECRET_BYTES, NODE_NAME } from "../../site-reconciler/redundancy/peer-auth.js";
import { type EventQuery, Store } from "../../site-reconciler/store/store.js";
import { trustedKeysFile } from "../keys.js";
import { bindAddress, namedSecret, portOption, positive, whole } from "../options.js";
import { palette } from "../output/color.js";
import { printable } from "../output/printable.js";
import { stopOnSignal } from "../signals.js";
import { uiToken } from "./dashboard.js";
import { UsageError } from "./validate.js";

export interface SiteOptions {
  site?: string;
  repo?: string;
  stateDir?: string;
  secretsDir?: string;
  once?: boolean;
  pollInterval: string;
  heartbeatInterval: string;
  runtime: "opcua" | "none";
  apiPort: string;
  /** The inbound API's port (absent or "off": none) and bind address. */
  inboundPort?: string;
  inboundHost: string;
  /** A node of a pair (docs/redundancy.md): all of node, peer, peerPort and peerSecret, or none. */
  node?: string;
  peer?: string;
  peerPort?: string;
  peerHost: string;
  peerSecret?: string;
  witness?: string;
  standby: "cold" | "warm";
  failoverSeconds: string;
  /** The site's own pages (SPEC 11): live values, alarms and events from its runtime. */
  uiPort?: string;
  uiHost: string;
  uiTokenSecret?: string;
  uiAllowedHost?: string[];
  settle: string;
  acceptUnknownCertificates?: boolean;
  trustedKeys?: string;
  allowUnsigned?: boolean;
  deployBranch: string;
  statusBranchPrefix?: string;
  scriptHosts: string;
  scriptMemory: string;
  eventMaxRows: string;
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
  if (o.trustedKeys && o.allowUnsigned)
    throw new UsageError("--trusted-keys and --allow-unsigned exclude each other: give one of them");
  const port = apiPort(o.apiPort);
  const inbound = inboundOptions(o);
  const pair = pairOptions(o, env);
  if (pair && o.once) throw new UsageError("--once runs one loop of a single node: not with --node/--peer");
  const log = pino({ level: o.logLevel, base: { component: "site", site: o.site } });
  // One loop answers no caller: the inbound API runs with the long-running site only, like the read API.
  if (o.once && inbound) log.info("--inbound-port is not served with --once");
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
        settleMs: positive(o.settle, "--settle") * 1000,
        acceptUnknownCertificates: !!o.acceptUnknownCertificates,
        trustedKeys: o.trustedKeys ? trustedKeysFile(o.trustedKeys) : undefined,
        allowUnsigned: !!o.allowUnsigned,
        deployBranch: branchOption(o.deployBranch, "--deploy-branch"),
        statusBranchPrefix:
          o.statusBranchPrefix === undefined ? undefined : prefixOption(o.statusBranchPrefix, "--status-branch-prefix"),
        scriptHosts: whole(o.scriptHosts, "--script-hosts"),
        scriptMemoryMb: whole(o.scriptMemory, "--script-memory"),
        eventMaxRows: whole(o.eventMaxRows, "--event-max-rows"),
        ...(o.runtime === "none" ? { runtime: packageRuntime } : {}),
        ...(o.once ? {} : inbound),
        ...(pair ? { pair } : {}),
        env,
      },
      log,
    );
  } catch (e) {
    if (e instanceof StateDirLockedError) throw new UsageError(e.message);
    if (e instanceof InboundListenError) throw new UsageError(`--inbound-port ${o.inboundPort}: ${e.message}`);
    if (e instanceof PeerListenError) throw new UsageError(`--peer-port ${o.peerPort}: ${e.message}`);
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
  try {
    if (port !== undefined) await reconciler.serve(port);
  } catch (e) {
    await reconciler.stop();
    throw new UsageError(`--api-port ${o.apiPort}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let ui: Dashboard | undefined;
  if (o.uiPort !== undefined) {
    try {
      ui = await startDashboard({
        pages: sitePages({
          site: o.site!,
          view: () => reconciler.view,
          deployCommit: () => reconciler.store.meta("deployCommit") ?? null,
          events: (q) => reconciler.store.events(q),
          nodes: () => reconciler.pairNodes,
        }),
        port: portOption(o.uiPort, "--ui-port"),
        host: o.uiHost,
        token: uiToken(o, env),
        allowedHosts: o.uiAllowedHost,
        pollMs: 1_000,
        log: log.child({ component: "site-ui" }),
      });
    } catch (e) {
      await reconciler.stop();
      throw new UsageError(`--ui-port ${o.uiPort}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  reconciler.start();
  log.info(
    { repo: redactUrl(o.repo!), pollSeconds: Number(o.pollInterval), ...(ui ? { ui: ui.url } : {}) },
    "site reconciler started",
  );
  await stopOnSignal(log, "loop", async () => {
    await ui?.stop();
    await reconciler.stop();
  });
  return 0;
}

function apiPort(value: string): number | undefined {
  if (value === "off") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`--api-port ${value}: a port (0-65535) or off`);
  return n;
}

/** The pair flags as the reconciler's config; undefined for a single node (none of them given). */
export function pairOptions(
  o: Pick<
    SiteOptions,
    "node" | "peer" | "peerPort" | "peerHost" | "peerSecret" | "witness" | "standby" | "failoverSeconds" | "secretsDir"
  >,
  env: NodeJS.ProcessEnv,
): PairConfig | undefined {
  const given = { "--node": o.node, "--peer": o.peer, "--peer-port": o.peerPort, "--peer-secret": o.peerSecret };
  const missing = Object.entries(given).filter(([, v]) => v === undefined);
  if (missing.length === 4) {
    if (o.witness !== undefined)
      throw new UsageError("--witness is for a pair: give --node, --peer, --peer-port and --peer-secret too");
    return undefined;
  }
  if (missing.length)
    throw new UsageError(
      `a pair needs --node, --peer, --peer-port and --peer-secret: ${missing.map(([f]) => f).join(", ")} missing`,
    );
  if (!NODE_NAME.test(o.node!))
    throw new UsageError(
      `--node ${o.node}: letters, digits, '.', '_' or '-', at most 64, starting with a letter or digit`,
    );
  const url = (flag: string, v: string) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new UsageError(`${flag} ${v}: not a URL (http://host:port)`);
    }
    if (u.protocol !== "http:" || u.username || u.password)
      throw new UsageError(`${flag} ${v}: an http://host:port URL without credentials`);
    return u.origin;
  };
  const peer = url("--peer", o.peer!);
  const witness = o.witness === undefined ? undefined : url("--witness", o.witness);
  const listen = portOption(o.peerPort!, "--peer-port");
  const host = bindAddress(o.peerHost ?? "127.0.0.1", "--peer-host");
  const secret = namedSecret(o.peerSecret!, "--peer-secret", {
    secretsDir: o.secretsDir,
    env,
    minBytes: MIN_SECRET_BYTES,
    what: "secret",
  });
  const failover = positive(o.failoverSeconds ?? "10", "--failover-seconds");
  if (failover < 2)
    throw new UsageError(`--failover-seconds ${o.failoverSeconds}: at least 2 (a lease is renewed every second)`);
  return {
    node: o.node!,
    peer,
    port: listen,
    host,
    secret: Buffer.from(secret, "utf8"),
    witness,
    failoverMs: failover * 1000,
    standby: o.standby ?? "cold",
  };
}

/** --inbound-port and --inbound-host as the reconciler's config; undefined when the inbound API is off (the default). */
export function inboundOptions(
  o: Pick<SiteOptions, "inboundPort" | "inboundHost">,
): { inboundPort: number; inboundHost: string } | undefined {
  const host = bindAddress(o.inboundHost ?? "127.0.0.1", "--inbound-host");
  if (o.inboundPort === undefined || o.inboundPort === "off") return undefined;
  return { inboundPort: portOption(o.inboundPort, "--inbound-port", true), inboundHost: host };
}

export interface SiteInspectOptions {
  stateDir?: string;
  instance?: string;
  format: "text" | "json";
  audit: string;
  /** The persisted values even when a reconciler runs. */
  offline?: boolean;
  /** The event log instead of the instances. */
  events?: boolean;
  since?: string;
  until?: string;
  grep?: string;
  kind?: string;
  limit?: string;
}

/**
 * `scadalink site inspect`: what a site has applied with its values and alarms (live from the reconciler running on
 * the state directory, else as persisted) and its audit trail; or, with --events, its event log.
 */
export async function siteInspectCommand(o: SiteInspectOptions): Promise<number> {
  if (!o.stateDir) throw new UsageError("--state-dir (or SCADALINK_STATE_DIR) is required");
  const dir = resolve(o.stateDir);
  const query = eventQuery(o, Date.now());
  const auditRows = count(o.audit, "--audit");
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) throw new UsageError(`${o.stateDir} holds no site state (no ${DB_FILE})`);
  const store = Store.open(file, { readonly: true });
  try {
    if (query) return printEvents(store, query, o.format);
    const live = o.offline ? undefined : await fetchLive(dir, o.instance);
    const doc = live?.doc ?? persisted(store, o.instance);
    if (o.format === "json") {
      const { site, deployCommit, instances } = doc;
      process.stdout.write(`${JSON.stringify({ site, deployCommit, instances }, null, 2)}\n`);
      return 0;
    }
    const source = live ? `live (reconciler pid ${live.pid})` : "persisted";
    process.stdout.write(`${instancesText(store, doc, source, o.instance, auditRows).join("\n")}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** The last persisted state: static values as written at run time (else as configured), alarm states as recorded. */
function persisted(store: Store, instance: string | undefined): InspectDocument {
  const applied = store.applied();
  if (instance && !applied.has(instance) && !store.refusals().has(instance))
    throw new UsageError(`instance ${instance} is not applied on this site`);
  const alarmStates = store.alarmStates(instance);
  const names = [...applied.keys()].filter((n) => !instance || n === instance);
  const instances = names.map((name): InspectInstance => {
    const a = applied.get(name)!;
    const pkg = JSON.parse(store.packageText(name)!) as Pick<DeploymentPackage, "attributes" | "alarms">;
    const written = store.staticValues(name);
    const alarms = alarmStates.get(name);
    return {
      name,
      revisionHash: a.revisionHash,
      state: a.state,
      // Live data values come from a running runtime only.
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
      alarms: pkg.alarms.map((al) => {
        const st = alarms?.get(al.path);
        return { path: al.path, active: st?.active ?? false, since: st?.since ?? null };
      }),
    };
  });
  return { site: store.meta("site") ?? null, deployCommit: store.meta("deployCommit") ?? null, instances };
}

/** The running reconciler's /instances, when its API file names a live process that answers within 2 s. */
async function fetchLive(dir: string, instance?: string): Promise<{ doc: InspectDocument; pid: number } | undefined> {
  const api = readApiFile(dir);
  if (!api || !alive(api.pid)) return undefined;
  const url = `http://127.0.0.1:${api.port}/instances${instance ? `?instance=${encodeURIComponent(instance)}` : ""}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    // 404: the runtime does not hold that instance; the persisted state knows whether it was ever applied.
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as InspectDocument;
    const doc = {
      site: body.site ?? null,
      deployCommit: body.deployCommit ?? null,
      instances: body.instances.map(inspectInstance),
    };
    return { doc, pid: api.pid };
  } catch (e) {
    process.stderr.write(
      `scadalink: the reconciler's API (pid ${api.pid}, port ${api.port}) did not answer (${e instanceof Error ? e.message : String(e)}); showing persisted values\n`,
    );
    return undefined;
  }
}

function instancesText(
  store: Store,
  doc: InspectDocument,
  source: string,
  instance: string | undefined,
  auditRows: number,
): string[] {
  const p = palette(process.stdout);
  // JSON.stringify escapes C0 controls but not C1 ones (\x9b is a CSI) nor bidi controls: printable does.
  const short = (v: unknown) => {
    const text = v === null || v === undefined ? "-" : printable(JSON.stringify(v));
    return text.length > 32 ? `${text.slice(0, 31)}…` : text;
  };
  const out = [
    `site ${printable(doc.site ?? "?")}  deploy ${doc.deployCommit ? printable(doc.deployCommit.slice(0, 12)) : "none"}  ${source}`,
  ];
  const node = store.meta("pairNode");
  if (node) {
    // The store says what this node last was: capturing its changes is what an active does.
    const role = store.meta("replCapture") === "1" ? p.green("active") : "standby";
    const at = store.meta("replPosition");
    const from = at ? (JSON.parse(at) as { origin: { node: string; epoch: number }; seq: number }) : undefined;
    out.push(
      `pair  node ${printable(node)}  ${role}  epoch ${printable(store.meta("epoch") ?? "0")}${
        from ? `  replicated from ${printable(from.origin.node)}@${from.origin.epoch} to ${from.seq}` : ""
      }`,
    );
  }
  const refusals = store.refusals();
  let active = 0;
  for (const i of doc.instances) {
    const refused = refusals.get(i.name);
    out.push(
      `  ${printable(i.name).padEnd(24)} ${printable(i.revisionHash.slice(0, 19))}  ${printable(i.state)}${refused ? `  refused ${printable(refused.revisionHash.slice(0, 19))}: ${printable(refused.message)}` : ""}`,
    );
    for (const a of i.attributes) {
      const quality = printable(a.quality).padEnd(9);
      out.push(
        `    ${printable(a.path).padEnd(28)} ${short(a.value).padEnd(32)} ${a.quality === "good" ? quality : p.yellow(quality)} ${printable(a.timestamp ?? "-")}`,
      );
    }
    for (const a of i.alarms) {
      if (a.active) active++;
      const state = a.active ? p.red("ACTIVE".padEnd(9)) : "normal".padEnd(9);
      out.push(
        `    alarm ${printable(a.path).padEnd(22)} ${state} ${a.since ? `since ${printable(a.since)}` : "not evaluated"}`,
      );
    }
  }
  const applied = new Set(doc.instances.map((i) => i.name));
  for (const [name, r] of refusals)
    if (!applied.has(name) && (!instance || name === instance))
      out.push(
        `  ${printable(name).padEnd(24)} (none)  refused ${printable(r.revisionHash.slice(0, 19))}: ${printable(r.message)}`,
      );
  out.push("", `audit (newest first${instance ? `, ${instance}` : ""}):`);
  for (const a of store.auditTail(auditRows, instance))
    out.push(
      `  ${a.at}  ${a.action.padEnd(7)} ${printable(a.instance).padEnd(24)} ${printable(a.fromHash?.slice(0, 19) ?? "-")} → ${printable(a.toHash?.slice(0, 19) ?? "-")}${a.message ? `  ${printable(a.message)}` : ""}`,
    );
  const n = doc.instances.length;
  out.push("", `${n} instance${n === 1 ? "" : "s"} applied, ${active} alarm${active === 1 ? "" : "s"} active`);
  return out;
}

/** The event query of --events, or undefined without it (its filters alone are a usage error). */
function eventQuery(o: SiteInspectOptions, now: number): EventQuery | undefined {
  if (!o.events) {
    for (const [flag, value] of [
      ["--since", o.since],
      ["--until", o.until],
      ["--grep", o.grep],
      ["--kind", o.kind],
      ["--limit", o.limit],
    ] as const)
      if (value !== undefined) throw new UsageError(`${flag} filters the event log: use it with --events`);
    return undefined;
  }
  const since = o.since === undefined ? undefined : time(o.since, "--since", now);
  const until = o.until === undefined ? undefined : time(o.until, "--until", now);
  if (since && until && since >= until) throw new UsageError(`--since ${o.since} is not before --until ${o.until}`);
  if (o.grep === "") throw new UsageError("--grep needs a keyword");
  return {
    instance: o.instance,
    since,
    until,
    keyword: o.grep,
    kind: o.kind,
    limit: count(o.limit ?? "100", "--limit"),
  };
}

const AGO = /^(\d+(?:\.\d+)?)([smhdw])$/;
const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T.*)?$/;

/** An ISO 8601 time, or how long ago ("15m", "2h", "3d"), as the ISO UTC text the event log's times compare with. */
function time(value: string, flag: string, now: number): string {
  const ago = AGO.exec(value);
  if (ago) return new Date(now - Number(ago[1]) * UNIT_MS[ago[2]!]!).toISOString();
  const date = ISO_DATE.exec(value);
  const t = Date.parse(value);
  // Date.parse rolls 2026-02-30 over into March: the date must read back as given.
  if (date && !Number.isNaN(t)) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d)
      return new Date(t).toISOString();
  }
  throw new UsageError(
    `${flag} ${value}: an ISO 8601 time (2026-05-01, 2026-05-01T08:00:00Z) or how long ago (30s, 15m, 2h, 3d, 1w) is needed`,
  );
}

/** A positive whole number given as a flag's value. */
function count(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} ${value}: a positive whole number is needed`);
  return Number(value);
}

function printEvents(store: Store, q: EventQuery, format: "text" | "json"): number {
  const events = store.queryEvents(q).map(({ at, kind, instance, message }) => ({ at, kind, instance, message }));
  if (format === "json") {
    process.stdout.write(`${JSON.stringify({ site: store.meta("site") ?? null, events }, null, 2)}\n`);
    return 0;
  }
  const out = events.map(
    (e) =>
      `${e.at}  ${printable(e.kind).padEnd(10)}  ${printable(e.instance ?? "-").padEnd(24)}  ${printable(e.message)}`,
  );
  const more = events.length === q.limit ? ` (the newest ${q.limit}; --limit for more)` : "";
  out.push(`${events.length} event${events.length === 1 ? "" : "s"}${more}`);
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}

function branchOption(name: string, flag: string): string {
  if (!isBranchName(name)) throw new UsageError(`${flag} ${JSON.stringify(name)} is not a branch name git accepts`);
  return name;
}

/** A status prefix is a branch name once the site's name is appended. */
function prefixOption(prefix: string, flag: string): string {
  if (!isBranchName(`${prefix}x`))
    throw new UsageError(`${flag} ${JSON.stringify(prefix)} does not make branch names git accepts`);
  return prefix;
}
