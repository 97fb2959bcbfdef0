import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOpcua, plcServer } from "../../demo/plc.js";

/**
 * Fault-injection OPC UA servers for the runtime's tests: a real node-opcua OPCUAServer on 127.0.0.1 that can be made
 * to misbehave like other stacks do (node-opcua's own server never does):
 * - `oddRepublish`: Republish answers Good with an empty NotificationMessage whenever the server has no such message
 *   (an unknown subscription, or a sequence number it does not hold), where node-opcua answers BadMessageNotAvailable
 *   or BadSubscriptionIdInvalid;
 * - `dropSubscriptions()`: every subscription is deleted while sessions and channels stay up (a PLC that lost them);
 * - `restart()`: a new server on the same port, which knows none of the old sessions or subscriptions, optionally with
 *   its namespaces registered in another order;
 * - any built-in variable type (the data-type matrix) and namespaces registered before the PLC's own one, so its
 *   index is not 2.
 * Every request is counted by service name, across restarts, so a test can bound a client's request rate.
 */

export type FixtureType =
  | "Boolean"
  | "SByte"
  | "Byte"
  | "Int16"
  | "UInt16"
  | "Int32"
  | "UInt32"
  | "Int64"
  | "UInt64"
  | "Float"
  | "Double"
  | "String"
  | "DateTime";

export interface FixtureVariable {
  /** String identifier in the fixture's namespace: `P1.Speed` is `nsu=<namespaceUri>;s=P1.Speed`. */
  id: string;
  dataType: FixtureType;
  value: unknown;
}

export interface FixtureOptions {
  variables: FixtureVariable[];
  port?: number;
  pki?: string;
  /** Username → password; with users, anonymous sessions are refused. */
  users?: Record<string, string>;
  oddRepublish?: boolean;
  /** Namespace URIs registered before the fixture's own, which moves its index (2 + this many). */
  namespacesBefore?: string[];
  /** Shared across restarts; a new one when not given. */
  requests?: RequestLog;
}

export const FIXTURE_NAMESPACE = "urn:scadalink:fixture-plc";

/** Times of every request the server received, by service name (ReadRequest, RepublishRequest, …). */
export class RequestLog {
  private readonly at = new Map<string, number[]>();

  record(name: string, t = Date.now()): void {
    let list = this.at.get(name);
    if (!list) this.at.set(name, (list = []));
    list.push(t);
  }

  count(name: string, since = 0): number {
    return (this.at.get(name) ?? []).filter((t) => t >= since).length;
  }

  /** The most requests of that name seen in any window of `windowMs` since `since`. */
  maxPerWindow(name: string, since = 0, windowMs = 1000): number {
    const list = (this.at.get(name) ?? []).filter((t) => t >= since);
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < list.length; hi++) {
      while (list[hi]! - list[lo]! >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  names(): string[] {
    return [...this.at.keys()];
  }
}

export interface FixtureServer {
  port: number;
  endpoint: string;
  /** The fixture namespace's index on this server. */
  namespaceIndex: number;
  requests: RequestLog;
  set(id: string, value: unknown): void;
  /** The variable's value as the server holds it (64-bit integers as [high, low] words, as node-opcua keeps them). */
  get(id: string): unknown;
  /** Subscriptions the server holds over all sessions. */
  subscriptions(): number;
  /** Deletes every subscription on the server, leaving sessions and channels up. */
  dropSubscriptions(): void;
  stop(): Promise<void>;
  restart(o?: Partial<Pick<FixtureOptions, "namespacesBefore" | "oddRepublish">>): Promise<FixtureServer>;
}

/** A 64-bit integer as node-opcua holds it, [high, low] unsigned words (its own coercion asserts on large negatives). */
function words(v: number): [number, number] {
  const x = BigInt.asUintN(64, BigInt(v));
  return [Number(x >> 32n), Number(x & 0xffffffffn)];
}

export async function startFixtureServer(o: FixtureOptions): Promise<FixtureServer> {
  const m = await loadOpcua();
  const pki = o.pki ?? mkdtempSync(join(tmpdir(), "fixture-pki-"));
  const requests = o.requests ?? new RequestLog();
  const server = plcServer(m, { port: o.port, pki, users: o.users });
  await server.initialize();
  const space = server.engine.addressSpace!;
  for (const uri of o.namespacesBefore ?? []) space.registerNamespace(uri);
  const ns = space.registerNamespace(FIXTURE_NAMESPACE);
  const objects = space.rootFolder.objects;
  const vars = new Map<string, { dataType: FixtureType; node: import("node-opcua").UAVariable; value: unknown }>();
  const variant = (dataType: FixtureType, value: unknown) =>
    new m.Variant({
      dataType: m.DataType[dataType],
      arrayType: m.VariantArrayType.Scalar,
      value:
        dataType === "DateTime"
          ? new Date(value as string)
          : (dataType === "Int64" || dataType === "UInt64") && typeof value === "number"
            ? words(value)
            : value,
    });
  for (const v of o.variables) {
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
  }

  server.on("request", (request: { schema: { name: string } }) => requests.record(request.schema.name));
  const sessions = () => server.engine.getSessions();
  const subscriptions = () => sessions().flatMap((s) => s.publishEngine.subscriptions);
  if (o.oddRepublish) {
    // Answers Good with an empty message where node-opcua would say BadMessageNotAvailable or
    // BadSubscriptionIdInvalid: a client that loops "until BadMessageNotAvailable" never stops.
    const s = server as unknown as Record<string, unknown>;
    const original = s._on_RepublishRequest as (message: unknown, channel: unknown) => void;
    s._on_RepublishRequest = function (
      this: unknown,
      message: { request: { subscriptionId: number; retransmitSequenceNumber: number }; session?: unknown },
      channel: { send_response: (kind: string, response: unknown, message: unknown) => void },
    ) {
      const { subscriptionId, retransmitSequenceNumber } = message.request;
      const sub = subscriptions().find((x) => x.id === subscriptionId);
      if (sub?.getMessageForSequenceNumber(retransmitSequenceNumber)) return original.call(this, message, channel);
      const response = new m.RepublishResponse({
        responseHeader: { serviceResult: m.StatusCodes.Good },
        notificationMessage: {
          sequenceNumber: retransmitSequenceNumber,
          publishTime: new Date(),
          notificationData: [],
        },
      });
      channel.send_response("MSG", response, message);
    };
  }
  await server.start();
  const port = server.endpoints[0]!.port;
  let stopped = false;
  const find = (id: string) => {
    const v = vars.get(id);
    if (!v) throw new Error(`no variable ${id}`);
    return v;
  };
  const fixture: FixtureServer = {
    port,
    endpoint: `opc.tcp://127.0.0.1:${port}`,
    namespaceIndex: ns.index,
    requests,
    set(id, value) {
      const v = find(id);
      v.node.setValueFromSource(variant(v.dataType, value));
      v.value = value;
    },
    get(id) {
      return find(id).node.readValue().value.value;
    },
    subscriptions: () => subscriptions().length,
    dropSubscriptions() {
      for (const s of sessions()) for (const sub of [...s.publishEngine.subscriptions]) s.deleteSubscription(sub.id);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.shutdown(0);
    },
    async restart(more = {}) {
      // Current values, clients' writes included.
      const variables = [...vars].map(([id, v]) => ({
        id,
        dataType: v.dataType,
        value: v.node.readValue().value.value,
      }));
      await fixture.stop();
      return startFixtureServer({ ...o, ...more, variables, port, pki, requests });
    },
  };
  return fixture;
}
