import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as debug from "node-opcua-debug";

export type PlcType = "Boolean" | "Int16" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";

export interface PlcVariable {
  /** String identifier in the PLC's namespace (ns=2): `L1.P1.Speed` is `ns=2;s=L1.P1.Speed`. */
  id: string;
  dataType: PlcType;
  value: unknown;
}

export interface PlcOptions {
  variables: PlcVariable[];
  /** Username → password; with users, anonymous sessions are refused. */
  users?: Record<string, string>;
  port?: number;
  /** PKI folder, reused across restarts so the server certificate is made once. */
  pki?: string;
  /** Told of every write a client makes, with the name of the session that made it (before the value changes). */
  onWrite?: (w: PlcWrite) => void;
}

export interface PlcWrite {
  id: string;
  value: unknown;
  /** The writing session's name, as its client chose it. */
  session: string;
  at: number;
}

export type Opcua = typeof import("node-opcua");

/**
 * A simulated PLC: a real node-opcua OPCUAServer on 127.0.0.1 (never another address) with the variables asked for,
 * in namespace 2. The demo runs one per data connection; the tests use it as the device under the runtime.
 */
export interface Plc {
  port: number;
  endpoint: string;
  set(id: string, value: unknown): void;
  get(id: string): unknown;
  add(v: PlcVariable): void;
  /** Monitored items the server holds over all sessions and subscriptions. */
  monitoredItems(): number;
  /** The variables (ids) monitored now, one entry per monitored item. */
  monitoredIds(): string[];
  /** The names of the sessions open now, as their clients chose them. */
  sessions(): string[];
  stop(): Promise<void>;
  /** A new server on the same port with the same variables (and their current values). */
  restart(): Promise<Plc>;
}

let opcua: Promise<Opcua> | undefined;
/** node-opcua, loaded once, with its console logging silenced. */
export function loadOpcua(): Promise<Opcua> {
  // node-opcua prints warnings to stdout: a simulated PLC keeps quiet.
  debug.setWarningLogger(() => {});
  debug.setErrorLogger(() => {});
  debug.setDebugLogger(() => {});
  opcua ??= import("node-opcua");
  return opcua;
}

/**
 * A node-opcua server on 127.0.0.1 (never another address), not yet initialised: anonymous unless users are given
 * (username → password), its certificates in pki, room for 50 sessions.
 */
export function plcServer(
  m: Opcua,
  o: { port?: number; pki: string; users?: Record<string, string> },
): InstanceType<Opcua["OPCUAServer"]> {
  const users = o.users;
  return new m.OPCUAServer({
    port: o.port ?? 0,
    hostname: "127.0.0.1",
    allowAnonymous: !users,
    serverCertificateManager: new m.OPCUACertificateManager({
      rootFolder: o.pki,
      automaticallyAcceptUnknownCertificate: true,
    }),
    // Without it node-opcua keeps user certificates under ~/.config: tests write only to temp directories.
    userCertificateManager: new m.OPCUACertificateManager({ rootFolder: join(o.pki, "user") }),
    userManager: users ? { isValidUser: (u: string, p: string) => users[u] === p } : undefined,
    serverCapabilities: { maxSessions: 50, operationLimits: { maxMonitoredItemsPerCall: 1000, maxNodesPerRead: 1000 } },
  });
}

export async function startPlc(o: PlcOptions): Promise<Plc> {
  const m = await loadOpcua();
  const pki = o.pki ?? mkdtempSync(join(tmpdir(), "plc-pki-"));
  const server = plcServer(m, { port: o.port, pki, users: o.users });
  await server.initialize();
  const ns = server.engine.addressSpace!.registerNamespace("urn:scadalink:test-plc");
  const objects = server.engine.addressSpace!.rootFolder.objects;
  // The last value set (or made) per variable: a restart starts from these.
  const vars = new Map<string, { dataType: PlcType; node: import("node-opcua").UAVariable; value: unknown }>();
  const variant = (dataType: PlcType, value: unknown) =>
    new m.Variant({
      dataType: m.DataType[dataType],
      value: dataType === "DateTime" ? new Date(value as string) : value,
    });
  const add = (v: PlcVariable) => {
    const node = ns.addVariable({
      organizedBy: objects,
      browseName: v.id,
      nodeId: `s=${v.id}`,
      dataType: v.dataType,
      minimumSamplingInterval: 50,
      accessLevel: "CurrentRead | CurrentWrite",
      userAccessLevel: "CurrentRead | CurrentWrite",
      value: variant(v.dataType, v.value),
    });
    vars.set(v.id, { dataType: v.dataType, node, value: v.value });
    const onWrite = o.onWrite;
    if (onWrite) {
      // Every client write goes through writeValue with the writer's session in its context.
      const write = node.writeValue.bind(node) as (...a: unknown[]) => unknown;
      (node as unknown as { writeValue: (...a: unknown[]) => unknown }).writeValue = (...a: unknown[]) => {
        const context = a[0] as { session?: { sessionName?: string } } | undefined;
        const dataValue = a[1] as { value?: { value?: unknown } } | undefined;
        onWrite({
          id: v.id,
          value: dataValue?.value?.value,
          session: context?.session?.sessionName ?? "",
          at: Date.now(),
        });
        return write(...a);
      };
    }
  };
  for (const v of o.variables) add(v);
  await server.start();
  const port = server.endpoints[0]!.port;
  let stopped = false;
  const plc: Plc = {
    port,
    endpoint: `opc.tcp://127.0.0.1:${port}`,
    set(id, value) {
      const v = vars.get(id);
      if (!v) throw new Error(`no variable ${id}`);
      v.node.setValueFromSource(variant(v.dataType, value));
      v.value = value;
    },
    get(id) {
      const v = vars.get(id);
      if (!v) throw new Error(`no variable ${id}`);
      return v.node.readValue().value.value;
    },
    add,
    monitoredItems() {
      let n = 0;
      for (const s of server.engine.getSessions())
        for (const sub of s.publishEngine.subscriptions) n += sub.monitoredItemCount;
      return n;
    },
    monitoredIds() {
      const ids: string[] = [];
      for (const s of server.engine.getSessions())
        for (const sub of s.publishEngine.subscriptions)
          for (const h of sub.getMonitoredItems().serverHandles) {
            const node = sub.getMonitoredItem(h)?.node;
            const id = node?.nodeId.value;
            if (typeof id === "string") ids.push(id);
          }
      return ids;
    },
    sessions() {
      return server.engine.getSessions().map((s) => s.sessionName ?? "");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.shutdown(0);
    },
    async restart() {
      const variables = [...vars].map(([id, v]) => ({ id, dataType: v.dataType, value: v.value }));
      await plc.stop();
      return startPlc({ ...o, variables, port, pki });
    },
  };
  return plc;
}
