import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { ArtifactDataConnection } from "../../schemas/types.js";
import type { Reconciler, ReconcilerConfig } from "../../site-reconciler/reconciler.js";
import { LiveRuntime } from "../../site-reconciler/runtime/live-runtime.js";
import {
  type ConnectionOptions,
  OpcuaConnection,
  type WatchSink,
} from "../../site-reconciler/runtime/opcua/connection.js";
import { loadOpcua } from "../../site-reconciler/runtime/opcua/load.js";
import type { InstanceView, Quality } from "../../site-reconciler/runtime/view.js";
import type { GitServer } from "../helpers/git-server.js";
import type { Files } from "../helpers/repo.js";
import { y } from "../helpers/repo.js";
import { type Fleet, fleet, reconciler } from "./helpers.js";

/** The site, with one data connection to `endpoint`; fast intervals so tests see changes quickly. */
export function siteYaml(endpoint: string, auth = "{ type: anonymous }", name = "plant-north"): string {
  return y`
    kind: Site
    name: ${name}
    areas: [{ name: Line1 }]
    dataConnections:
      - name: plc
        endpoint: "${endpoint}"
        auth: ${auth}
        samplingIntervalMs: 50
        publishingIntervalMs: 100
        reconnectIntervalMs: 500
  `;
}

/** A pump with data attributes, every alarm trigger type and every script trigger type. */
export const PUMP = y`
  kind: Template
  name: Pump
  attributes:
    - { name: Speed, dataType: Double, source: data, tag: "ns=2;s={{instance}}.Speed" }
    - { name: Level, dataType: Double, source: data, tag: "ns=2;s={{instance}}.Level" }
    - { name: Running, dataType: Boolean, source: data, tag: "ns=2;s={{instance}}.Running" }
    - { name: Flow, dataType: Double, source: data, tag: "ns=2;s={{instance}}.Flow" }
    - { name: Request, dataType: Double, source: data, tag: "ns=2;s={{instance}}.Request" }
    - { name: Setpoint, dataType: Double, source: data, access: readWrite, tag: "ns=2;s={{instance}}.Setpoint" }
    - { name: Trips, dataType: Int32, value: 0 }
    - { name: LastSpeed, dataType: Double, value: 0 }
    - { name: Ticks, dataType: Int32, value: 0 }
    - { name: HighSeen, dataType: Int32, value: 0 }
  alarms:
    - name: OverSpeed
      trigger: { type: threshold, attribute: Speed, op: ">", value: 1450 }
      priority: 700
      onTrigger: CountTrip
    - { name: LevelBand, trigger: { type: range, attribute: Level, low: 1, high: 9 }, priority: 500 }
    - { name: Stopped, trigger: { type: match, attribute: Running, value: false }, priority: 300 }
    - { name: Surge, trigger: { type: rateOfChange, attribute: Flow, perSecond: 50 }, priority: 600 }
  scripts:
    - name: CountTrip
      trigger: { type: call }
      code: attributes.set("Trips", attributes.get("Trips") + callScript("One", 1));
    - name: One
      trigger: { type: call }
      parameters: [{ name: n, type: Int32 }]
      returns: Int32
      code: return n;
    - name: TrackSpeed
      trigger: { type: onChange, attribute: Speed }
      code: attributes.set("LastSpeed", attributes.get("Speed"));
    - name: Tick
      trigger: { type: interval, everyMs: 100 }
      code: attributes.set("Ticks", attributes.get("Ticks") + 1);
    - name: High
      trigger: { type: expression, expression: 'attributes.get("Level") > 8' }
      code: attributes.set("HighSeen", attributes.get("HighSeen") + 1);
    - name: Forward
      trigger: { type: onChange, attribute: Request }
      code: attributes.set("Setpoint", attributes.get("Request") * 2);
`;

export function instanceYaml(name: string, extra = ""): string {
  return `kind: Instance\nname: ${name}\nsite: plant-north\narea: Line1\ntemplate: Pump\nconnection: plc\n${extra}`;
}

/** The PLC variables an instance of PUMP binds, with healthy starting values. */
export function pumpVariables(name: string) {
  return [
    { id: `${name}.Speed`, dataType: "Double" as const, value: 1000 },
    { id: `${name}.Level`, dataType: "Double" as const, value: 5 },
    { id: `${name}.Running`, dataType: "Boolean" as const, value: true },
    { id: `${name}.Flow`, dataType: "Double" as const, value: 10 },
    { id: `${name}.Request`, dataType: "Double" as const, value: 0 },
    { id: `${name}.Setpoint`, dataType: "Double" as const, value: 0 },
  ];
}

export function pumpRepo(endpoint: string, instances: string[] = ["P1"], auth?: string): Files {
  const files: Files = {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": siteYaml(endpoint, auth),
    "templates/pump.yaml": PUMP,
  };
  for (const n of instances) files[`instances/${n.toLowerCase()}.yaml`] = instanceYaml(n);
  return files;
}

export interface LiveSite {
  fleet: Fleet;
  site: Reconciler;
  live: LiveRuntime;
  stateDir: string;
}

/** A reconciler with the OPC UA runtime, short settle and retry times. */
export async function liveReconciler(
  url: string,
  extra: Partial<ReconcilerConfig> = {},
  log?: Logger,
): Promise<{ site: Reconciler; live: () => LiveRuntime }> {
  let live: LiveRuntime | undefined;
  const site = await reconciler(
    url,
    {
      runtime: async (ctx) => {
        live = await LiveRuntime.create({
          ...ctx,
          settleMs: 3000,
          retryUnresolvedMs: 500,
          acceptUnknownCertificates: extra.acceptUnknownCertificates,
        });
        return live;
      },
      ...extra,
    },
    log,
  );
  return { site, live: () => live! };
}

export async function liveSite(server: GitServer, files: Files, extra: Partial<ReconcilerConfig> = {}, log?: Logger) {
  const f = await fleet(server, files);
  const { site, live } = await liveReconciler(f.url, extra, log);
  return { fleet: f, site, live: live() };
}

/** Polls until `check` returns a value other than undefined/false, or fails after `ms`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function attr(v: InstanceView | undefined, path: string) {
  return v?.attributes.find((a) => a.path === path);
}

export function alarm(v: InstanceView | undefined, path: string) {
  return v?.alarms.find((a) => a.path === path);
}

/** One OpcuaConnection on its own (no reconciler), recording what it tells its watcher. */
export async function directConnection(
  endpoint: string,
  more: Partial<Omit<ConnectionOptions, "config">> & { config?: Partial<ArtifactDataConnection> } = {},
) {
  const log = pino({ level: "silent" });
  const opcua = await loadOpcua(log);
  const { OPCUACertificateManager } = await import("node-opcua-certificate-manager");
  const certificates = new OPCUACertificateManager({
    rootFolder: join(mkdtempSync(join(tmpdir(), "connection-pki-")), "pki"),
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  await certificates.initialize();
  const conn = new OpcuaConnection({
    secrets: () => undefined,
    certificates,
    retryUnresolvedMs: 500,
    opcua,
    log,
    changed: () => {},
    ...more,
    config: {
      name: "plc",
      protocol: "opcua",
      endpoint,
      securityMode: "None",
      securityPolicy: "None",
      auth: { type: "anonymous" },
      samplingIntervalMs: 50,
      publishingIntervalMs: 100,
      reconnectIntervalMs: 500,
      ...more.config,
    },
  });
  const seen = new Map<string, { value: unknown; quality: Quality }>();
  const statuses = new Map<string, { status: string; message: string | null }>();
  const sink: WatchSink = {
    value: (path, value, quality) => seen.set(path, { value, quality }),
    status: (path, status, message) => statuses.set(path, { status, message }),
    lost: () => {
      for (const [path, v] of seen) seen.set(path, { ...v, quality: "bad" });
    },
  };
  return {
    conn,
    seen,
    statuses,
    sink,
    async close() {
      await conn.close();
      await certificates.dispose();
    },
  };
}
