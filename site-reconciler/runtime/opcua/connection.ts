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
import { checkDataType, checkVariant, type Declared, fromVariant, int64Words, toWritable } from "./data-types.js";
import type { OpcuaModule } from "./load.js";
import { addressOf } from "./node-ids.js";

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
  /** An attempt not up by then is abandoned (default ATTEMPT_TIMEOUT_MS). */
  attemptTimeoutMs?: number;
  /**
   * A node of a pair: the activation this node acts in, null when it does not (no device write is made then). The
   * session is named for it, so the device's own session diagnostics show which node wrote in which epoch.
   */
  fence?: () => { node: string; epoch: number } | null;
  /** This node's name in a pair: a session opened while it is not active (a warm standby's) is named for it. */
  node?: string;
}

/** Concurrent CreateMonitoredItems calls per connection: enough to overlap round trips, few enough not to flood. */
const MONITOR_CONCURRENCY = 4;
/** Used when a server does not publish its operation limits. */
const DEFAULT_PER_CALL = 1000;
/** The keep-alive period asked of the server: a silent subscription answers a Publish at least this often. */
const KEEPALIVE_TARGET_MS = 2000;
/** Publish answers (data or keep-alive) missed in a row before the connection is taken for dead and rebuilt. */
const KEEPALIVES_MISSED = 3;
/** Sessions and subscriptions are never reused, so a short life on the server frees what a cut link leaves. */
const SESSION_TIMEOUT_MS = 20_000;
/** A request the server does not answer fails after this long (a write on a stalled link, say). */
const REQUEST_TIMEOUT_MS = 10_000;
/** An attempt that has not come up by then (a link that takes the connection but carries nothing) is abandoned. */
const ATTEMPT_TIMEOUT_MS = 20_000;
/** How long a closing client may take (CloseSession on a dead link) before it is left to finish on its own. */
const CLOSE_WAIT_MS = 1000;

const NETWORK =
  /ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNRESET|EPIPE|timeout|timed out|socket|connect/i;
/** The server refused the identity, or offers no token policy for it ("Cannot find ANONYMOUS user token policy"). */
const LOGIN =
  /BadUserAccessDenied|BadIdentityToken|BadUserSignatureInvalid|BadCertificateUntrusted.*user|user token policy/i;

/** The work of one connected session: a session lost means its queue is dropped, not waited for. */
interface Epoch {
  id: number;
  work: Promise<void>;
  busy: number;
}

/**
 * One OPC UA client, session and subscription for one data connection of site.json (section 6.4). node-opcua's own
 * reconnection is never switched on: its repair path (re-activate, transfer, republish until BadMessageNotAvailable)
 * loops or stalls against servers that answer otherwise, and cannot be bounded from outside. Instead every failure,
 * whatever its kind (socket closed, session or subscription gone on the server, no Publish answer for three
 * keep-alive periods), ends this client, and a new client, session and subscription are built from scratch, the
 * tags resolved again (nsu= ids through the new NamespaceArray) and monitored anew. Attempts start at most once per
 * reconnectIntervalMs, so the requests a broken server or link gets are bounded (docs/runtime.md). State is
 * "connected" exactly while a session with a live subscription is up. Tags are resolved (their DataType read, in
 * chunks within the server's operation limits) before they are monitored, so unknown node ids and type mismatches
 * are reported per attribute and retried, never silently monitored or coerced.
 */
export class OpcuaConnection {
  state: ConnectionHealth["state"] = "connecting";
  since = new Date().toISOString();
  error: string | null = null;
  failure: FailureKind | null = null;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private namespaces: string[] = [];
  private limits = { perRead: DEFAULT_PER_CALL, perMonitor: DEFAULT_PER_CALL };
  private readonly watches = new Map<string, Watch>();
  private epoch: Epoch = { id: 0, work: Promise.resolve(), busy: 0 };
  private retryTimer: NodeJS.Timeout | undefined;
  private unresolvedTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private attemptTimer: NodeJS.Timeout | undefined;
  private certs: OPCUACertificateManager | undefined;
  private lastPublish = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private attempts = 0;
  private closing: Promise<void> = Promise.resolve();

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
    if (this.state !== "connected" || this.epoch.busy > 0) return false;
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
    // While down there is nothing to delete: the items went with the session, and a new one will not have them.
    if (this.state === "connected" && groups.length)
      this.enqueue(async () => {
        await Promise.all(groups.map((g) => g.terminate().catch(() => undefined)));
      });
  }

  /** Writes a value to an owner's tag; resolves with an error message when the device did not take it. */
  async write(owner: string, path: string, value: unknown): Promise<string | undefined> {
    const b = this.watches.get(owner)?.bindings.find((x) => x.path === path);
    if (!b) return `${path} is not bound on ${this.name}`;
    // Checked against the variable's own type when known: a lossless wider declaration (Int32 over an Int16 tag)
    // is written as that type, within its range.
    const known = b.serverType !== undefined && b.serverType <= 13 ? b.serverType : undefined;
    const w = toWritable(b.declared, value, known);
    if (!w.ok) return w.message;
    if (this.o.fence && !this.o.fence()) return "this node of the pair is not active: no device write";
    const session = this.session;
    if (this.state !== "connected" || !session || !b.nodeId) return `${this.name} is not connected`;
    const { AttributeIds, DataType, VariantArrayType } = this.o.opcua;
    const dataType = known ?? w.dataType;
    const wide = dataType === DataType.Int64 || dataType === DataType.UInt64;
    try {
      const status = await session.write({
        nodeId: b.nodeId,
        attributeId: AttributeIds.Value,
        value: {
          value: {
            dataType: dataType as (typeof DataType)[keyof typeof DataType],
            // A 64-bit value is an array of two words to node-opcua: it must be told the variant is a scalar.
            arrayType: VariantArrayType.Scalar,
            value: wide ? int64Words(w.value as number) : w.value,
          },
        },
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
    await this.epoch.work.catch(() => undefined);
    this.teardown();
    await this.closing;
    await this.certs?.dispose().catch(() => undefined);
  }

  private setState(state: ConnectionHealth["state"], error: string | null, failure: FailureKind | null): void {
    if (this.state !== state) this.since = new Date().toISOString();
    const changed = this.state !== state || this.error !== error || this.failure !== failure;
    this.state = state;
    this.error = error;
    this.failure = failure;
    if (changed) this.o.changed();
  }

  /** The next attempt, no sooner than reconnectIntervalMs after the last one started: the bound of every retry. */
  private schedule(): void {
    clearTimeout(this.retryTimer);
    if (this.closed) return;
    const wait = Math.max(0, this.lastAttempt + this.o.config.reconnectIntervalMs - Date.now());
    this.retryTimer = setTimeout(() => void this.connect(), wait);
    this.retryTimer.unref();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const { config } = this.o;
    const { OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType } = this.o.opcua;
    this.lastAttempt = Date.now();
    const epoch = this.epoch.id;
    let identity: UserIdentityInfo = { type: UserTokenType.Anonymous };
    if (config.auth.type === "username") {
      const password = this.o.secrets(config.auth.passwordSecret);
      if (password === undefined)
        return this.fail(
          epoch,
          "login",
          `the secret ${config.auth.passwordSecret} of connection ${config.name} is not provided on this site`,
        );
      identity = { type: UserTokenType.UserName, userName: config.auth.username, password };
    }
    // A retry keeps the last failure as the state: flipping to "connecting" on every attempt would be a status
    // change (and a status commit) every reconnectIntervalMs while a PLC is down.
    this.attempts++;
    let certificates: OPCUACertificateManager;
    try {
      certificates = await this.trustList();
    } catch (e) {
      return this.fail(
        epoch,
        "host-bridge",
        `the trust list in ${this.o.certificates.rootDir} could not be read: ${errorText(e)}`,
      );
    }
    if (this.closed || epoch !== this.epoch.id) return;
    const acting = this.o.fence?.();
    const client = OPCUAClient.create({
      applicationName: "ScadaLink site",
      // The session's name (this, and a counter): a node of a pair says which node and which activation it is.
      ...(acting
        ? { clientName: `scadalink ${acting.node} epoch ${acting.epoch} ` }
        : this.o.node
          ? { clientName: `scadalink ${this.o.node} standby ` }
          : {}),
      endpointMustExist: false,
      securityMode: MessageSecurityMode[config.securityMode],
      securityPolicy: SecurityPolicy[config.securityPolicy],
      // No retry and no reconnection inside node-opcua, ever: this class retries, knowing why it failed.
      connectionStrategy: {
        maxRetry: 0,
        initialDelay: config.reconnectIntervalMs,
        maxDelay: config.reconnectIntervalMs,
      },
      keepSessionAlive: false,
      requestedSessionTimeout: SESSION_TIMEOUT_MS,
      defaultTransactionTimeout: REQUEST_TIMEOUT_MS,
      clientCertificateManager: certificates,
    });
    this.client = client;
    // Once up, whatever ends this client (a socket closed under it, a session or subscription the server dropped)
    // ends this epoch; events of older clients find a newer epoch and are ignored. Until then a failure is the
    // rejection of the step under way, which says what kind it is.
    let up = false;
    let broken: string | undefined;
    const lost = (why: string) => {
      if (up) this.lost(epoch, why);
      else broken ??= why;
    };
    const timeout = this.o.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
    const deadline = setTimeout(
      () => this.fail(epoch, "network", `${config.endpoint}: no answer within ${timeout / 1000} s`),
      timeout,
    );
    deadline.unref();
    this.attemptTimer = deadline;
    client.on("close", (err?: Error | null) =>
      lost(
        err ? `connection to ${config.endpoint} lost: ${errorText(err)}` : `connection to ${config.endpoint} closed`,
      ),
    );
    client.on("connection_lost", () => lost(`connection to ${config.endpoint} lost`));
    try {
      await client.connect(config.endpoint);
    } catch (e) {
      return this.fail(
        epoch,
        NETWORK.test(errorText(e)) ? "network" : "host-bridge",
        `${config.endpoint}: ${errorText(e)}`,
      );
    }
    let session: ClientSession;
    try {
      session = await client.createSession(identity);
    } catch (e) {
      const text = errorText(e);
      const login = LOGIN.test(text);
      return this.fail(
        epoch,
        login ? "login" : NETWORK.test(text) ? "network" : "host-bridge",
        `${login ? "the server rejected the identity" : "session refused"}: ${text}`,
      );
    }
    if (epoch !== this.epoch.id) return;
    this.session = session;
    session.on("session_closed", () => lost(`the server closed the session on ${config.endpoint}`));
    let subscription: ClientSubscription;
    try {
      // Read first: a tag's nsu= namespace is looked up in the array of this session's server.
      this.namespaces = await session.readNamespaceArray();
      subscription = await session.createSubscription2({
        requestedPublishingInterval: config.publishingIntervalMs,
        requestedMaxKeepAliveCount: Math.max(
          1,
          Math.min(20, Math.round(KEEPALIVE_TARGET_MS / config.publishingIntervalMs)),
        ),
        requestedLifetimeCount: Math.max(60, Math.ceil((3 * SESSION_TIMEOUT_MS) / config.publishingIntervalMs)),
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      });
    } catch (e) {
      const text = errorText(e);
      return this.fail(epoch, NETWORK.test(text) ? "network" : "host-bridge", `subscription refused: ${text}`);
    }
    if (epoch !== this.epoch.id) return;
    this.subscription = subscription;
    try {
      const l = await this.o.opcua.readOperationLimits(session);
      this.limits = {
        perRead: l.maxNodesPerRead || DEFAULT_PER_CALL,
        perMonitor: l.maxMonitoredItemsPerCall || DEFAULT_PER_CALL,
      };
    } catch {
      // Servers without the OperationLimits object get the defaults.
    }
    if (this.closed || epoch !== this.epoch.id) return;
    // Broken during the steps that may fail quietly (the OperationLimits read): not up after all.
    if (broken) return this.fail(epoch, "network", broken);
    subscription.on("terminated", () => lost(`the server ended the subscription on ${config.endpoint}`));
    subscription.on("internal_error", (e: Error) => lost(`subscription failed on ${config.endpoint}: ${errorText(e)}`));
    this.armWatchdog(epoch, subscription);
    this.o.log.info({ connection: config.name, endpoint: config.endpoint }, "data connection up");
    this.attempts = 0;
    up = true;
    clearTimeout(deadline);
    this.setState("connected", null, null);
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status === "pending") w.sink.status(b.path, "pending", null);
    this.pump();
  }

  /**
   * The trust list is read again before every secure attempt: a certificate an operator moved from pki/rejected to
   * pki/trusted/certs counts from the next attempt on, without a restart. A secure connection reads it into a
   * certificate manager of its own over the same folder: re-reading empties the list for a moment, which must not
   * happen under another connection's handshake.
   */
  private async trustList(): Promise<OPCUACertificateManager> {
    if (this.o.config.securityMode === "None") return this.o.certificates;
    if (this.certs) {
      await this.certs.reloadCertificates();
      return this.certs;
    }
    const { OPCUACertificateManager } = await import("node-opcua-certificate-manager");
    const certs = new OPCUACertificateManager({
      rootFolder: this.o.certificates.rootDir,
      automaticallyAcceptUnknownCertificate: this.o.certificates.automaticallyAcceptUnknownCertificate,
      disableFileWatchers: true,
    });
    await certs.initialize();
    if (this.closed) await certs.dispose();
    else this.certs = certs;
    return certs;
  }

  /**
   * A subscription answers every Publish with data or, when nothing changed, a keep-alive once per keep-alive period.
   * Three periods without either mean the server lost the subscription (and says nothing, or something odd) or the
   * link stalls without closing: the connection is rebuilt.
   */
  private armWatchdog(epoch: number, subscription: ClientSubscription): void {
    const period = subscription.publishingInterval * subscription.maxKeepAliveCount;
    const limit = Math.max(KEEPALIVES_MISSED * period, 3000);
    this.lastPublish = Date.now();
    subscription.on("raw_notification", () => {
      this.lastPublish = Date.now();
    });
    clearInterval(this.watchdog);
    const tick = Math.min(1000, limit / 3);
    let lastTick = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      const late = now - lastTick - tick;
      lastTick = now;
      // Time this process did not run (a long GC, a busy machine) is not the server's silence: its answers may be
      // waiting in the socket, unread.
      if (late > tick) this.lastPublish += late;
      const silent = now - this.lastPublish;
      if (silent > limit)
        this.lost(
          epoch,
          `no answer from ${this.o.config.endpoint} for ${Math.round(silent / 100) / 10} s (subscription lost or link stalled)`,
        );
    }, tick);
    this.watchdog.unref();
  }

  /** The connection of `epoch` broke: every attribute goes bad at once, and a new connection is built. */
  private lost(epoch: number, message: string): void {
    if (this.closed || epoch !== this.epoch.id) return;
    this.o.log.warn({ connection: this.name, err: message }, "data connection lost: rebuilding");
    this.teardown();
    this.setState("disconnected", message, null);
    for (const w of this.watches.values()) w.sink.lost(message);
    this.schedule();
  }

  private fail(epoch: number, kind: FailureKind, message: string): void {
    if (this.closed || epoch !== this.epoch.id) return;
    this.teardown();
    if (this.attempts <= 1 || this.error !== message)
      this.o.log.warn({ connection: this.name, kind, err: message }, "data connection not established: retrying");
    this.setState(kind === "network" ? "disconnected" : "blocked", message, kind);
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status !== "unresolved") w.sink.status(b.path, "pending", message);
    this.schedule();
  }

  /**
   * Ends the current client and starts a new epoch: work still queued for the old session is dropped with it, and
   * every tag will be resolved and monitored again on the next session. The old client is closed in the background,
   * given CLOSE_WAIT_MS before anything waits no longer (CloseSession on a stalled link never returns).
   */
  private teardown(): void {
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    this.subscription = undefined;
    clearInterval(this.watchdog);
    clearTimeout(this.attemptTimer);
    this.epoch = { id: this.epoch.id + 1, work: Promise.resolve(), busy: 0 };
    for (const w of this.watches.values()) {
      w.groups = [];
      for (const b of w.bindings) {
        if (b.status === "monitored" || b.status === "refused") b.status = "pending";
        b.nodeId = undefined;
        b.serverType = undefined;
      }
    }
    if (client) {
      const done = client.disconnect().catch(() => undefined);
      this.closing = Promise.race([done, new Promise<void>((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    }
  }

  private enqueue(job: () => Promise<void>): void {
    const epoch = this.epoch;
    epoch.busy++;
    epoch.work = epoch.work
      .then(() => (epoch === this.epoch ? job() : undefined))
      .catch((e) => {
        if (epoch === this.epoch)
          this.o.log.warn({ connection: this.name, err: errorText(e) }, "data connection step failed");
      })
      .finally(() => {
        epoch.busy--;
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
    const epoch = this.epoch;
    if (!session || !subscription || this.closed) return;
    const pending: { w: Watch; b: Binding }[] = [];
    for (const w of this.watches.values())
      for (const b of w.bindings) if (b.status === "pending") pending.push({ w, b });
    if (!pending.length) return;
    await this.resolve(session, pending, epoch);
    if (epoch !== this.epoch) return;
    const ready = new Map<Watch, Binding[]>();
    for (const { w, b } of pending) if (b.status === "pending" && !w.closed) ready.set(w, [...(ready.get(w) ?? []), b]);
    const jobs: { w: Watch; bindings: Binding[] }[] = [];
    for (const [w, bindings] of ready)
      for (let i = 0; i < bindings.length; i += this.limits.perMonitor)
        jobs.push({ w, bindings: bindings.slice(i, i + this.limits.perMonitor) });
    await pMap(jobs, (j) => this.monitor(subscription, j.w, j.bindings, epoch), { concurrency: MONITOR_CONCURRENCY });
  }

  /** Reads each tag's DataType: unknown node ids and type mismatches are settled here, before any monitoring. */
  private async resolve(session: ClientSession, pending: { w: Watch; b: Binding }[], epoch: Epoch): Promise<void> {
    const { AttributeIds, resolveNodeId } = this.o.opcua;
    const valid: { w: Watch; b: Binding }[] = [];
    for (const p of pending) {
      const address = addressOf(p.b.tag, this.namespaces);
      if (!address.ok) {
        this.setStatus(p.w, p.b, "unresolved", address.message);
        continue;
      }
      try {
        p.b.nodeId = resolveNodeId(address.nodeId);
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
      // An answer for a session already replaced says nothing about the next one.
      if (epoch !== this.epoch) return;
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

  private async monitor(subscription: ClientSubscription, w: Watch, bindings: Binding[], epoch: Epoch): Promise<void> {
    const { AttributeIds, TimestampsToReturn } = this.o.opcua;
    const group = await subscription.monitorItems(
      bindings.map((b) => ({ nodeId: b.nodeId!, attributeId: AttributeIds.Value })),
      { samplingInterval: this.o.config.samplingIntervalMs, discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    );
    if (epoch !== this.epoch) return;
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
      if (b && !w.closed && epoch === this.epoch) this.deliver(w, b, dv);
    });
  }

  private deliver(w: Watch, b: Binding, dv: DataValue): void {
    const v = dv.value;
    const wrong = checkVariant(b.declared, v.dataType, v.arrayType !== 0);
    if (wrong) {
      if (b.status !== "mismatch") this.setStatus(w, b, "mismatch", `${b.tag}: ${wrong}`);
      return;
    }
    const severity = dv.statusCode.value >>> 30;
    const quality: Quality = severity === 0 ? "good" : severity === 1 ? "uncertain" : "bad";
    const at = dv.sourceTimestamp ?? dv.serverTimestamp ?? new Date();
    const value = fromVariant(v.dataType, v.value);
    if (!value.ok) {
      // Not shown as a number it is not: bad, with the reason, until a value that fits arrives.
      w.sink.value(b.path, null, "bad", at);
      this.setStatus(w, b, "mismatch", `${b.tag}: ${value.message}`);
      return;
    }
    if (b.status !== "monitored") this.setStatus(w, b, "monitored", null);
    w.sink.value(b.path, quality === "bad" && v.dataType === 0 ? null : value.value, quality, at);
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
