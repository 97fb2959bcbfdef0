import type { OPCUACertificateManager } from "node-opcua-certificate-manager";
import type {
  ClientMonitoredItemGroup,
  ClientSession,
  ClientSubscription,
  DataValue,
  NodeId,
  OPCUAClient,
  UserIdentityInfo,
} from "node-opcua-client";
import pMap from "p-map";
import type { Logger } from "pino";
import type { ArtifactDataConnection, ConnectionHealth } from "../../../schemas/types.js";
import type { SecretLookup } from "../runtime.js";
import type { Quality } from "../view.js";
import { checkDataType, checkVariant, type Declared, fromVariant, toWritable } from "./data-types.js";
import type { OpcuaModule } from "./load.js";

/** Why a connection does not run: the result states of section 2.9 it maps to. */
export type FailureKind = "network" | "login" | "host-bridge";

/** Where one bound attribute stands on its connection. */
export type BindingStatus = "pending" | "unresolved" | "mismatch" | "monitored" | "refused";

export interface TagBinding {
  path: string;
  tag: string;
  declared: Declared;
}

/** What a connection tells the instance that watches tags through it. */
export interface WatchSink {
  value(path: string, value: unknown, quality: Quality, sourceTime: Date): void;
  status(path: string, status: BindingStatus, message: string | null): void;
  /** The connection is gone: every attribute of it is bad from now until values arrive again. */
  lost(message: string): void;
}

interface Binding extends TagBinding {
  status: BindingStatus;
  message: string | null;
  nodeId: NodeId | undefined;
  /** The server variable's built-in type, once resolved: writes use it. */
  serverType: number | undefined;
}

interface Watch {
  owner: string;
  bindings: Binding[];
  sink: WatchSink;
  groups: ClientMonitoredItemGroup[];
  closed: boolean;
}

export interface ConnectionOptions {
  config: ArtifactDataConnection;
  secrets: SecretLookup;
  certificates: OPCUACertificateManager;
  /** How often tags that did not resolve are looked up again. */
  retryUnresolvedMs: number;
  opcua: OpcuaModule;
  log: Logger;
  /** Called whenever the health or a tag's status changes. */
  changed: () => void;
}

/** Concurrent CreateMonitoredItems calls per connection: enough to overlap round trips, few enough not to flood. */
const MONITOR_CONCURRENCY = 4;
/** Used when a server does not publish its operation limits. */
const DEFAULT_PER_CALL = 1000;

const NETWORK =
  /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNRESET|EPIPE|timeout|timed out|socket|connect/i;
const LOGIN = /BadUserAccessDenied|BadIdentityToken|BadUserSignatureInvalid|BadCertificateUntrusted.*user/i;

/**
 * One OPC UA client, session and subscription for one data connection of site.json (section 6.4). It connects with
 * node-opcua's retries off, so a refusal is classified (network, login, host bridge) and retried here every
 * reconnectIntervalMs; once connected, node-opcua's own reconnection is switched on, which re-activates the session
 * and transfers or re-creates the subscription and its monitored items transparently. Tags are resolved (their
 * DataType read, in chunks within the server's operation limits) before they are monitored, so unknown node ids
 * and type mismatches are reported per attribute and retried, never silently monitored or coerced.
 */
export class OpcuaConnection {
  state: ConnectionHealth["state"] = "connecting";
  since = new Date().toISOString();
  error: string | null = null;
  failure: FailureKind | null = null;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private limits = { perRead: DEFAULT_PER_CALL, perMonitor: DEFAULT_PER_CALL };
  private readonly watches = new Map<string, Watch>();
  /** Groups of owners that stopped watching while the connection was down. */
  private orphans: ClientMonitoredItemGroup[] = [];
  private work: Promise<void> = Promise.resolve();
  private busy = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private unresolvedTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private attempts = 0;

  constructor(private readonly o: ConnectionOptions) {}

  get name(): string {
    return this.o.config.name;
  }

  /** The settings this connection was made with: a changed site.json entry means a new connection. */
  get key(): string {
    return JSON.stringify(this.o.config);
  }

  start(): void {
    void this.connect();
    this.unresolvedTimer = setInterval(() => this.retryUnresolved(), this.o.retryUnresolvedMs);
    this.unresolvedTimer.unref();
  }

  health(): ConnectionHealth {
    return { name: this.name, state: this.state, since: this.since, error: this.error };
  }

  /** True once the connection has either failed or finished resolving and monitoring every tag asked for. */
  settled(): boolean {
    if (this.failure) return true;
    if (this.state !== "connected" || this.busy > 0) return false;
    for (const w of this.watches.values()) if (w.bindings.some((b) => b.status === "pending")) return false;
    return true;
  }

  /** Starts monitoring an owner's tags (replacing what it watched before). */
  watch(owner: string, tags: readonly TagBinding[], sink: WatchSink): void {
    this.unwatch(owner);
    const w: Watch = {
      owner,
      sink,
      groups: [],
      closed: false,
      bindings: tags.map((t) => ({ ...t, status: "pending", message: null, nodeId: undefined, serverType: undefined })),
    };
    this.watches.set(owner, w);
    if (this.state !== "connected") for (const b of w.bindings) sink.status(b.path, "pending", this.error);
    this.pump();
  }

  /** Stops an owner's monitored items (deleted on the server) and forgets its tags. */
  unwatch(owner: string): void {
    const w = this.watches.get(owner);
    if (!w) return;
    w.closed = true;
    this.watches.delete(owner);
    const groups = w.groups.splice(0);
    // While node-opcua reconnects, the groups would be re-created on the server with the subscription: they are
    // deleted once the connection is back.
    if (this.state === "connected") this.terminate(groups);
    else this.orphans.push(...groups);
  }

  private terminate(groups: ClientMonitoredItemGroup[]): void {
    if (!groups.length) return;
    this.enqueue(async () => {
      await Promise.all(groups.map((g) => g.terminate().catch(() => undefined)));
    });
  }

  /** Writes a value to an owner's tag; resolves with an error message when the device did not take it. */
  async write(owner: string, path: string, value: unknown): Promise<string | undefined> {
    const b = this.watches.get(owner)?.bindings.find((x) => x.path === path);
    if (!b) return `${path} is not bound on ${this.name}`;
    const w = toWritable(b.declared, value);
    if (!w.ok) return w.message;
    if (this.state !== "connected" || !this.session || !b.nodeId) return `${this.name} is not connected`;
    const { DataType, AttributeIds } = this.o.opcua;
    // A lossless wider declaration (Int32 over an Int16 tag) is written as the variable's own type.
    const dataType = b.serverType && b.serverType <= 13 ? b.serverType : w.dataType;
    try {
      const status = await this.session.write({
        nodeId: b.nodeId,
        attributeId: AttributeIds.Value,
        value: { value: { dataType: dataType as (typeof DataType)[keyof typeof DataType], value: w.value } },
      });
      return status.isGood() ? undefined : `the device refused the write: ${status.name}`;
    } catch (e) {
      return `write failed: ${errorText(e)}`;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.unresolvedTimer);
    for (const w of this.watches.values()) w.closed = true;
    this.watches.clear();
    await this.work.catch(() => undefined);
    await this.teardown();
  }

  private setState(state: ConnectionHealth["state"], error: string | null, failure: FailureKind | null): void {
    if (this.state !== state) this.since = new Date().toISOString();
    const changed = this.state !== state || this.error !== error || this.failure !== failure;
    this.state = state;
    this.error = error;
    this.failure = failure;
    if (changed) this.o.changed();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const { config } = this.o;
    const { OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType } = this.o.opcua;
    let identity: UserIdentityInfo = { type: UserTokenType.Anonymous };
    if (config.auth.type === "username") {
      const password = this.o.secrets(config.auth.passwordSecret);
      if (password === undefined)
        return this.fail(
          "login",
          `the secret ${config.auth.passwordSecret} of connection ${config.name} is not provided on this site`,
        );
      identity = { type: UserTokenType.UserName, userName: config.auth.username, password };
    }
    // A retry keeps the last failure as the state: flipping to "connecting" on every attempt would be a status
    // change (and a status commit) every reconnectIntervalMs while a PLC is down.
    this.attempts++;
    const client = OPCUAClient.create({
      applicationName: "ScadaLink site",
      endpointMustExist: false,
      securityMode: MessageSecurityMode[config.securityMode],
      securityPolicy: SecurityPolicy[config.securityPolicy],
      // Explicit: no retry while connecting (this class retries, knowing why it failed); see below for after.
      connectionStrategy: {
        maxRetry: 0,
        initialDelay: config.reconnectIntervalMs,
        maxDelay: config.reconnectIntervalMs + 1,
        randomisationFactor: 0,
      },
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
      clientCertificateManager: this.o.certificates,
    });
    this.client = client;
    try {
      await client.connect(config.endpoint);
    } catch (e) {
      return this.fail(NETWORK.test(errorText(e)) ? "network" : "host-bridge", `${config.endpoint}: ${errorText(e)}`);
    }
    try {
      this.session = await client.createSession(identity);
    } catch (e) {
      const text = errorText(e);
      return this.fail(
        LOGIN.test(text) ? "login" : "host-bridge",
        `${LOGIN.test(text) ? "the server rejected the identity" : "session refused"}: ${text}`,
      );
    }
    try {
      this.subscription = await this.session.createSubscription2({
        requestedPublishingInterval: config.publishingIntervalMs,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      });
    } catch (e) {
      return this.fail("host-bridge", `subscription refused: ${errorText(e)}`);
    }
    try {
      const l = await this.o.opcua.readOperationLimits(this.session);
      this.limits = {
        perRead: l.maxNodesPerRead || DEFAULT_PER_CALL,
        perMonitor: l.maxMonitoredItemsPerCall || DEFAULT_PER_CALL,
      };
    } catch {
      // Servers without the OperationLimits object get the defaults.
    }
    if (this.closed) return this.teardown();
    // Connected: from now on a broken connection is node-opcua's to repair (session re-activated or re-created,
    // subscription transferred or re-created with its monitored items), retrying at reconnectIntervalMs forever.
    (client.connectionStrategy as { maxRetry: number }).maxRetry = -1;
    client.on("connection_lost", () => {
      const msg = `connection to ${config.endpoint} lost`;
      this.setState("disconnected", msg, null);
      for (const w of this.watches.values()) w.sink.lost(msg);
    });
    client.on("connection_reestablished", () => {
      this.setState("connected", null, null);
      this.terminate(this.orphans.splice(0));
      // Work cut short by the loss (a resolve or monitor call under way) is picked up again.
      this.pump();
    });
    this.o.log.info({ connection: config.name, endpoint: config.endpoint }, "data connection up");
    this.attempts = 0;
    this.setState("connected", null, null);
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status === "pending") w.sink.status(b.path, "pending", null);
    this.pump();
  }

  private async fail(kind: FailureKind, message: string): Promise<void> {
    await this.teardown();
    if (this.closed) return;
    if (this.attempts <= 1 || this.error !== message)
      this.o.log.warn({ connection: this.name, kind, err: message }, "data connection not established: retrying");
    this.setState(kind === "network" ? "disconnected" : "blocked", message, kind);
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status !== "unresolved") w.sink.status(b.path, "pending", message);
    this.retryTimer = setTimeout(() => void this.connect(), this.o.config.reconnectIntervalMs);
    this.retryTimer.unref();
  }

  private async teardown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    this.subscription = undefined;
    this.orphans = [];
    for (const w of this.watches.values()) {
      w.groups = [];
      for (const b of w.bindings) if (b.status === "monitored" || b.status === "refused") b.status = "pending";
    }
    if (client) await client.disconnect().catch(() => undefined);
  }

  private enqueue(job: () => Promise<void>): void {
    this.busy++;
    this.work = this.work
      .then(job)
      .catch((e) => this.o.log.warn({ connection: this.name, err: errorText(e) }, "data connection step failed"))
      .finally(() => {
        this.busy--;
        this.o.changed();
      });
  }

  /** Resolves and monitors whatever is pending, once the session is up. */
  private pump(): void {
    if (this.state === "connected") this.enqueue(() => this.process());
  }

  private retryUnresolved(): void {
    if (this.state !== "connected") return;
    let any = false;
    for (const w of this.watches.values())
      for (const b of w.bindings)
        if (b.status === "unresolved" || b.status === "mismatch") {
          b.status = "pending";
          any = true;
        }
    if (any) this.pump();
  }

  private async process(): Promise<void> {
    const session = this.session;
    const subscription = this.subscription;
    if (!session || !subscription || this.closed) return;
    const pending: { w: Watch; b: Binding }[] = [];
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status === "pending") pending.push({ w, b });
    if (!pending.length) return;
    await this.resolve(session, pending);
    const ready = new Map<Watch, Binding[]>();
    for (const { w, b } of pending) if (b.status === "pending" && !w.closed) ready.set(w, [...(ready.get(w) ?? []), b]);
    const jobs: { w: Watch; bindings: Binding[] }[] = [];
    for (const [w, bindings] of ready)
      for (let i = 0; i < bindings.length; i += this.limits.perMonitor)
        jobs.push({ w, bindings: bindings.slice(i, i + this.limits.perMonitor) });
    await pMap(jobs, (j) => this.monitor(subscription, j.w, j.bindings), { concurrency: MONITOR_CONCURRENCY });
  }

  /** Reads each tag's DataType: unknown node ids and type mismatches are settled here, before any monitoring. */
  private async resolve(session: ClientSession, pending: { w: Watch; b: Binding }[]): Promise<void> {
    const { AttributeIds, resolveNodeId } = this.o.opcua;
    const valid: { w: Watch; b: Binding }[] = [];
    for (const p of pending) {
      try {
        p.b.nodeId = resolveNodeId(p.b.tag);
        valid.push(p);
      } catch {
        this.setStatus(p.w, p.b, "unresolved", `${p.b.tag} is not an OPC UA node id`);
      }
    }
    for (let i = 0; i < valid.length; i += this.limits.perRead) {
      const chunk = valid.slice(i, i + this.limits.perRead);
      const values = await session.read(
        chunk.map((p) => ({ nodeId: p.b.nodeId!, attributeId: AttributeIds.DataType })),
      );
      chunk.forEach(({ w, b }, k) => {
        const dv = values[k]!;
        if (!dv.statusCode.isGood()) {
          this.setStatus(w, b, "unresolved", `${b.tag}: ${dv.statusCode.name}`);
          return;
        }
        const typeId = dv.value.value as NodeId;
        const ns = typeId.namespace;
        const id = Number(typeId.value);
        const mismatch = checkDataType(b.declared, ns, id);
        if (mismatch) this.setStatus(w, b, "mismatch", `${b.tag}: ${mismatch}`);
        else b.serverType = ns === 0 ? id : undefined;
      });
    }
  }

  private async monitor(subscription: ClientSubscription, w: Watch, bindings: Binding[]): Promise<void> {
    const { AttributeIds, TimestampsToReturn } = this.o.opcua;
    const group = await subscription.monitorItems(
      bindings.map((b) => ({ nodeId: b.nodeId!, attributeId: AttributeIds.Value })),
      { samplingInterval: this.o.config.samplingIntervalMs, discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    );
    if (w.closed) {
      await group.terminate().catch(() => undefined);
      return;
    }
    w.groups.push(group);
    group.monitoredItems.forEach((item, i) => {
      const b = bindings[i]!;
      const code = item.statusCode;
      if (!code || code.isGood()) this.setStatus(w, b, "monitored", null);
      else if (/BadNodeId/.test(code.name)) this.setStatus(w, b, "unresolved", `${b.tag}: ${code.name}`);
      else this.setStatus(w, b, "refused", `${b.tag}: monitored item refused: ${code.name}`);
    });
    group.on("changed", (_item, dv, i) => {
      const b = bindings[i];
      if (b && !w.closed) this.deliver(w, b, dv);
    });
  }

  private deliver(w: Watch, b: Binding, dv: DataValue): void {
    const v = dv.value;
    const wrong = checkVariant(b.declared, v.dataType, v.arrayType !== 0);
    if (wrong) {
      if (b.status !== "mismatch") this.setStatus(w, b, "mismatch", `${b.tag}: ${wrong}`);
      return;
    }
    if (b.status !== "monitored") this.setStatus(w, b, "monitored", null);
    const severity = dv.statusCode.value >>> 30;
    const quality: Quality = severity === 0 ? "good" : severity === 1 ? "uncertain" : "bad";
    const at = dv.sourceTimestamp ?? dv.serverTimestamp ?? new Date();
    w.sink.value(b.path, quality === "bad" && v.dataType === 0 ? null : fromVariant(v.value), quality, at);
  }

  private setStatus(w: Watch, b: Binding, status: BindingStatus, message: string | null): void {
    b.status = status;
    b.message = message;
    w.sink.status(b.path, status, message);
  }
}

export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // node-opcua wraps causes in multi-line messages; the first meaningful lines are enough for an operator.
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 2)
    .join(" ")
    .slice(0, 300);
}
