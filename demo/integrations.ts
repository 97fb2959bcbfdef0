import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { type Document, isMap, isSeq, parseAllDocuments, type YAMLMap } from "yaml";

/** What the demo's MES keeps of one delivered count. */
export interface MesCount {
  line: string;
  count: number;
  /** The Idempotency-Key the site sent: one per message, the same on every redelivery. */
  key: string;
}

/**
 * The demo's "MES": a node:http server on 127.0.0.1 (never another address) taking POST /api/lines/<line>/counts
 * with the API key, keeping each count by its Idempotency-Key. While down it answers 503, as a service in
 * maintenance does: the site's store-and-forward holds the messages and retries them.
 */
export interface Mes {
  port: number;
  baseUrl: string;
  /** Distinct messages by Idempotency-Key, in arrival order. */
  counts: Map<string, MesCount>;
  /** Deliveries of a key already recorded (at least once allows them). */
  duplicates: number;
  /** Requests answered 503 while down. */
  refused: number;
  readonly isDown: boolean;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

const COUNT_PATH = /^\/api\/lines\/([^/]+)\/counts$/;

export async function startMes(apiKey: string): Promise<Mes> {
  let down = false;
  const mes: Omit<Mes, "port" | "baseUrl" | "isDown" | "close"> = {
    counts: new Map(),
    duplicates: 0,
    refused: 0,
    down: () => {
      down = true;
    },
    up: () => {
      down = false;
    },
  };
  const answer = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    if (down) {
      mes.refused++;
      return answer(res, 503, { error: "MES in maintenance" });
    }
    const m = COUNT_PATH.exec(new URL(req.url ?? "/", "http://mes").pathname);
    if (!m || req.method !== "POST") return answer(res, 404, { error: "no such method" });
    if (req.headers["x-api-key"] !== apiKey) return answer(res, 401, { error: "API key required" });
    const key = req.headers["idempotency-key"];
    let count: unknown;
    try {
      count = (JSON.parse(text) as { count?: unknown }).count;
    } catch {
      count = undefined;
    }
    if (typeof key !== "string" || typeof count !== "number") return answer(res, 400, { error: "bad request" });
    if (mes.counts.has(key)) mes.duplicates++;
    else mes.counts.set(key, { line: decodeURIComponent(m[1]!), count, key });
    answer(res, 200, true);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return Object.assign(mes, {
    port,
    baseUrl: `http://127.0.0.1:${port}/api`,
    get isDown() {
      return down;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The site's fetch keeps connections alive: without this, close would wait for them to time out.
        server.closeAllConnections();
      }),
  });
}

/** A message the demo's SMTP server accepted. */
export interface Mail {
  subject: string;
  /** The envelope's recipients: a notification list sends every one as BCC, so no header names them. */
  to: string[];
  messageId: string;
}

export interface Smtp {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/**
 * The demo's SMTP server (smtp-server) on 127.0.0.1: plain SMTP, AUTH PLAIN/LOGIN for one account, every message
 * accepted kept. Plain text is acceptable only because nothing leaves the loopback interface.
 */
export async function startSmtp(username: string, password: string): Promise<Smtp> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    hideSTARTTLS: true,
    disabledCommands: ["STARTTLS"],
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(auth, _session, cb) {
      if (auth.username === username && auth.password === password) cb(null, { user: username });
      else cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (b: Buffer) => chunks.push(b));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const head = raw.slice(0, raw.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
        const header = (name: string) =>
          head
            .split("\r\n")
            .find((l) => l.toLowerCase().startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim() ?? "";
        mails.push({
          subject: header("subject"),
          to: session.envelope.rcptTo.map((r) => r.address),
          messageId: header("message-id"),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Where the demo's integrations live and how the site finds their secrets (by name only). */
export interface DemoIntegrations {
  mesUrl: string;
  smtpPort: number;
  smtpUser: string;
  /** The instance (of the booster-pumps set) that reports counts, and its MES line. */
  reporter: { set: string; instance: string; line: string };
}

export const MES_KEY_SECRET = "MES_API_KEY";
export const SMTP_PASSWORD_SECRET = "SMTP_PASSWORD";
export const RECIPIENT = "ops@plant.example";
/** cachedCall and notify retry this often in the demo, so that the backlog drains within a second of MES's return. */
export const RETRY_MS = 1000;
export const REPORT_EVERY_MS = 1000;

/** The ExternalSystem and NotificationList documents of the demo's config repo. */
export function integrationDocuments(o: DemoIntegrations): string {
  return `# The demo's integrations: an MES and an SMTP server on 127.0.0.1, started by \`scadalink demo\`.
kind: ExternalSystem
name: Mes
description: Production reporting.
baseUrl: ${o.mesUrl}
auth: { type: apiKey, header: X-Api-Key, secret: ${MES_KEY_SECRET} }
timeoutMs: 2000
retry: { intervalMs: ${RETRY_MS}, maxAttempts: 600 }
methods:
  - name: ReportCount
    http: POST
    path: /lines/{line}/counts
    parameters: [{ name: line, type: String }, { name: count, type: Int32 }]
    returns: Boolean
---
kind: NotificationList
name: Operators
description: The control room.
recipients: [${RECIPIENT}]
smtp:
  host: 127.0.0.1
  port: ${o.smtpPort}
  tls: none
  from: scada@plant.example
  auth: { type: basic, username: ${o.smtpUser}, passwordSecret: ${SMTP_PASSWORD_SECRET} }
  timeoutMs: 5000
retry: { intervalMs: ${RETRY_MS}, maxAttempts: 600 }
`;
}

/** The onTrigger script of the Valve's OverTravel alarm: the alarm the demo makes fire emails the Operators. */
const ALERT_SCRIPT = `const pos = Math.round(attributes.get("Position"));
notify("Operators", \`Over travel: valve at \${pos} %\`, \`Position \${pos} % is over 100 %: check the valve and its end stops.\`);
`;

/** The Pump's interval script: a running production count, reported to the MES through store-and-forward. */
const REPORT_SCRIPT = `const line = attributes.get("MesLine");
if (line === "") return;
const n = attributes.get("ProductionCount") + 1;
externalSystem.cachedCall("Mes", "ReportCount", line, n);
attributes.set("ProductionCount", n);
`;

/**
 * The demo's changes to its copy of the template repo's documents (YAML text in, text out; comments kept):
 * templates/valve.yaml, templates/equipment.yaml and instances/ps-hilltop/station.yaml. Throws when a document it
 * expects is not there, so a changed template fails loudly instead of giving a demo without integrations.
 */
export function patchValve(text: string): string {
  return edit(text, "Template", "Valve", (doc, valve) => {
    const alarm = item(valve, "alarms", "OverTravel");
    alarm.set("onTrigger", "AlertOperators");
    seq(valve, "scripts").add(
      doc.createNode({ name: "AlertOperators", trigger: flow(doc, { type: "call" }), code: ALERT_SCRIPT }),
    );
  });
}

export function patchPump(text: string): string {
  return edit(text, "Template", "Pump", (doc, pump) => {
    const attrs = seq(pump, "attributes");
    attrs.add(
      doc.createNode({
        name: "MesLine",
        description: "The MES line this pump reports its production count to (empty: none).",
        dataType: "String",
        value: "",
      }),
    );
    attrs.add(doc.createNode({ name: "ProductionCount", dataType: "Int32", value: 0 }));
    seq(pump, "scripts").add(
      doc.createNode({
        name: "ReportProduction",
        trigger: flow(doc, { type: "interval", everyMs: REPORT_EVERY_MS }),
        code: REPORT_SCRIPT,
      }),
    );
  });
}

export function patchReporter(text: string, r: DemoIntegrations["reporter"]): string {
  return edit(text, "InstanceSet", r.set, (doc, set) => {
    const entry = item(set, "instances", r.instance);
    const overrides = entry.get("overrides");
    if (isMap(overrides)) overrides.set("MesLine", r.line);
    else entry.set("overrides", doc.createNode({ MesLine: r.line }));
  });
}

function edit(text: string, kind: string, name: string, fn: (doc: Document, map: YAMLMap) => void): string {
  const docs = [...parseAllDocuments(text)];
  const doc = docs.find((d) => d.get("kind") === kind && d.get("name") === name);
  if (!doc || doc.errors.length || !isMap(doc.contents)) throw new Error(`no ${kind} ${name}`);
  fn(doc, doc.contents);
  // lineWidth 0: the documents' long lines and one-line entries stay as they were written.
  return docs.map((d) => d.toString({ lineWidth: 0 })).join("");
}

/** A mapping written on one line, as the template's triggers are. */
function flow(doc: Document, value: object) {
  const node = doc.createNode(value);
  node.flow = true;
  return node;
}

function seq(map: YAMLMap, key: string) {
  const s = map.get(key);
  if (!isSeq(s)) throw new Error(`no ${key} list`);
  return s;
}

function item(map: YAMLMap, key: string, name: string): YAMLMap {
  const found = seq(map, key).items.find((i) => isMap(i) && i.get("name") === name);
  if (!isMap(found)) throw new Error(`no ${key} entry ${name}`);
  return found;
}

export interface NarratorOptions {
  mes: Mes;
  smtp: Smtp;
  /** Messages to Mes the sites hold (queued, not parked), read from their store-and-forward. */
  backlog(): { queued: number; parked: number };
  /** The reporter's ProductionCount: the counts its script has enqueued so far (undefined before it runs). */
  sent(): number | undefined;
  /** MES goes down this many seconds into the demo (at the earliest: 3 s after its first count), for outageS. */
  outageFromS: number;
  outageS: number;
}

/** Counts shown one by one as they arrive; the later ones are summed up. */
const SHOWN_COUNTS = 3;
/** While MES is down, the growing backlog is shown at most this often. */
const BACKLOG_EVERY_S = 2;

/**
 * Drives the MES outage and says what the integrations do: the emails the SMTP server received, the counts MES
 * received, the store-and-forward backlog growing while MES is down and draining once it is back, and at the end
 * whether MES has every count the script enqueued (distinct Idempotency-Keys: redeliveries are allowed).
 */
export class IntegrationsNarrator {
  #phase: "before" | "down" | "draining" | "done" = "before";
  #mails = 0;
  #shown = 0;
  #firstCountAt: number | undefined;
  #downAt = 0;
  #upAt = 0;
  #said = { queued: -1, at: 0 };
  #peak = 0;

  constructor(private readonly o: NarratorOptions) {}

  /** One step at s seconds into the demo; returns the lines to say. */
  tick(s: number): string[] {
    const { mes, smtp } = this.o;
    const out: string[] = [];
    const at = `(${Math.round(s)} s)`;
    for (; this.#mails < smtp.mails.length; this.#mails++) {
      const m = smtp.mails[this.#mails]!;
      out.push(`email received by the embedded SMTP server: "${m.subject}" to ${m.to.join(", ")} ${at}`);
    }
    if (this.#shown < SHOWN_COUNTS)
      for (const c of [...mes.counts.values()].slice(this.#shown, SHOWN_COUNTS)) {
        this.#firstCountAt ??= s;
        out.push(`MES received count ${c.count} from line ${c.line} (cachedCall, through store-and-forward) ${at}`);
        this.#shown++;
      }
    const { queued } = this.o.backlog();
    this.#peak = Math.max(this.#peak, queued);
    const backlogLine = () => {
      this.#said = { queued, at: s };
      return `store-and-forward backlog to Mes: ${queued} queued ${at}`;
    };
    switch (this.#phase) {
      case "before":
        if (this.#firstCountAt !== undefined && s >= Math.max(this.o.outageFromS, this.#firstCountAt + 3)) {
          mes.down();
          this.#phase = "down";
          this.#downAt = s;
          this.#said = { queued, at: s };
          out.push(
            `MES down for ${this.o.outageS} s ${at}: it answers 503 now, with ${mes.counts.size} counts received; the script goes on enqueueing`,
          );
        }
        break;
      case "down":
        if (s >= this.#downAt + this.o.outageS) {
          mes.up();
          this.#phase = "draining";
          this.#upAt = s;
          out.push(`MES back ${at}: ${queued} queued, ${mes.refused} attempts refused while it was down`);
          this.#said = { queued, at: s };
        } else if (queued !== this.#said.queued && s - this.#said.at >= BACKLOG_EVERY_S) out.push(backlogLine());
        break;
      case "draining": {
        // The count first, then the backlog: a count read is enqueued, and with nothing queued, delivered.
        const sent = this.o.sent();
        const now = this.o.backlog();
        if (now.queued > 0 || sent === undefined) {
          if (queued !== this.#said.queued) out.push(backlogLine());
          break;
        }
        this.#phase = "done";
        out.push(
          `store-and-forward backlog to Mes: 0 queued ${at}, drained ${(s - this.#upAt).toFixed(1)} s after MES came back (at most ${this.#peak} queued)`,
        );
        const got = [...mes.counts.values()].filter((c) => c.count <= sent);
        const counts = new Set(got.map((c) => c.count));
        const lost = sent - counts.size;
        const dup = mes.duplicates ? ` (${mes.duplicates} redelivered, dropped by Idempotency-Key)` : "";
        out.push(
          lost === 0
            ? `MES received every count: sent ${sent}, received ${got.length} distinct, 0 lost${dup}`
            : `MES is missing counts: sent ${sent}, received ${got.length} distinct, ${lost} lost, ${now.parked} parked${dup}`,
        );
        break;
      }
      case "done":
        break;
    }
    return out;
  }
}
