// Email delivery against real parts on 127.0.0.1: an SMTP server in the test process (smtp-server) with PLAIN,
// LOGIN and XOAUTH2, STARTTLS and implicit TLS with a certificate made for this run, a local OAuth2 token endpoint,
// and faults injected per step of the session. Classification per case (SPEC 8.3), the Message-ID across retries,
// the token cache, the trust of certificates, and secrets never in an error or a log line.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactNotificationList, ArtifactSmtp } from "../../schemas/types.js";
import {
  classifySmtpError,
  emailDeliverer,
  messageIdOf,
  TokenCache,
  validateEmail,
} from "../../site-reconciler/integrations/email/index.js";
import type { EnqueueInput, TargetConfig } from "../../site-reconciler/integrations/store-and-forward/index.js";
import { startTokenServer, type TokenServer } from "../helpers/oauth-token-server.js";
import { openSaf, removeSafDirs, type SafFixture, until } from "../helpers/saf-engine.js";
import { makeSelfSignedCert, type TestCert } from "../helpers/smtp-cert.js";
import {
  type SmtpFault,
  type SmtpReceiver,
  type SmtpReceiverOptions,
  type SmtpStep,
  startSmtpReceiver,
} from "../helpers/smtp-receiver.js";

const PASSWORD = "smtp-canary-Pw-81d2";
const CLIENT_SECRET = "oauth-canary-Cs-4be7";
const RECIPIENTS = ["ops@plant.example", "shift@plant.example"];

let cert: TestCert;
let tokenServer: TokenServer;
const receivers: SmtpReceiver[] = [];
const open: SafFixture[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  cert = makeSelfSignedCert();
  tokenServer = await startTokenServer({ clients: { "scada-site": CLIENT_SECRET } });
});
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  for (const r of receivers.splice(0)) await r.close();
  tokenServer.behave(undefined);
  tokenServer.requests.length = 0;
});
afterAll(async () => {
  await tokenServer?.close();
  cert?.remove();
  removeSafDirs();
});

async function receiver(o: Partial<SmtpReceiverOptions> = {}): Promise<SmtpReceiver> {
  const r = await startSmtpReceiver({
    mode: "starttls",
    tls: { key: cert.key, cert: cert.cert },
    users: { scada: PASSWORD },
    tokens: tokenServer.valid,
    ...o,
  });
  receivers.push(r);
  return r;
}

const basic = { type: "basic" as const, username: "scada", passwordSecret: "SMTP_PASSWORD" };
const oauth2 = {
  type: "oauth2" as const,
  username: "scada@plant.example",
  tokenUrl: "",
  clientId: "scada-site",
  clientSecretSecret: "SMTP_CLIENT_SECRET",
  scope: "https://outlook.office365.com/.default",
};

function list(port: number, smtp: Partial<ArtifactSmtp> = {}, maxAttempts = 4): ArtifactNotificationList {
  return {
    name: "Operators",
    recipients: RECIPIENTS,
    smtp: {
      host: "127.0.0.1",
      port,
      tls: "starttls",
      from: "scada@plant.example",
      auth: basic,
      timeoutMs: 1500,
      ...smtp,
    },
    retry: { intervalMs: 30, maxAttempts },
  };
}

function saf(
  l: ArtifactNotificationList,
  o: { caFile?: string | null; tokens?: TokenCache; secrets?: Record<string, string> } = {},
): SafFixture {
  const secrets = new Map(Object.entries(o.secrets ?? { SMTP_PASSWORD: PASSWORD, SMTP_CLIENT_SECRET: CLIENT_SECRET }));
  const caFile = o.caFile === null ? undefined : (o.caFile ?? cert.caFile);
  const deliverer = emailDeliverer({
    secrets: (n) => secrets.get(n),
    ...(caFile ? { caFile } : {}),
    ...(o.tokens ? { tokens: o.tokens } : {}),
  });
  const log = {
    info: (obj: object, msg: string) => logLines.push(`${msg} ${JSON.stringify(obj)}`),
    warn: (obj: object, msg: string) => logLines.push(`${msg} ${JSON.stringify(obj)}`),
  };
  const f = openSaf({ deliverers: { notificationList: deliverer }, log });
  open.push(f);
  const target: TargetConfig = {
    kind: "notificationList",
    name: l.name,
    retry: l.retry,
    timeoutMs: l.smtp.timeoutMs,
    maxPerSecond: 10_000,
    document: l,
  };
  f.engine.setTargets([target]);
  f.engine.start();
  return f;
}

const note = (subject: string, body = "Pump P1 tripped at 06:14."): EnqueueInput => ({
  target: { kind: "notificationList", name: "Operators" },
  label: subject,
  instance: "P1",
  payload: { subject, body },
});
const status = (f: SafFixture) => f.engine.status()[0]!;
const delivered = (f: SafFixture, n = 1) => until(() => f.engine.counters.delivered >= n, 10_000, "delivery");
const parkedOne = async (f: SafFixture) => {
  await until(() => status(f)?.parked === 1, 10_000, "a parked message");
  return f.engine.parked({})[0]!;
};
const lastErrors = (f: SafFixture) =>
  (f.store.db.prepare("SELECT last_error FROM saf_messages").all() as { last_error: string | null }[]).map(
    (r) => r.last_error,
  );

describe("payloads and pure rules", () => {
  it("refuses a payload that could never be sent", () => {
    expect(() => validateEmail({ subject: "s", body: "b" })).not.toThrow();
    expect(() => validateEmail({ subject: "a\r\nBcc: x@evil.example", body: "b" })).toThrow(/one line/);
    expect(() => validateEmail({ subject: "s" })).toThrow(/body/);
    expect(() => validateEmail({ subject: "s", body: "b", to: ["x@y"] })).toThrow(/no field to/);
    expect(() => validateEmail(null)).toThrow(/subject, body/);
  });
  it("the Message-ID is the message id at the sender's domain; a non-atom id is sent hex", () => {
    expect(messageIdOf("0b6f6a86-1c1e-4c55-9e43-0c4b0c7c1a11", "scada@plant.example")).toBe(
      "<0b6f6a86-1c1e-4c55-9e43-0c4b0c7c1a11@plant.example>",
    );
    expect(messageIdOf("run:7", "scada@plant.example")).toBe(
      `<x${Buffer.from("run:7").toString("hex")}@plant.example>`,
    );
  });
  it("SMTP replies: 4xx transient, 5xx (503 too) permanent, no reply transient", () => {
    for (const code of [421, 450, 451, 452, 454])
      expect(classifySmtpError({ responseCode: code }, 1, [])).toMatchObject({ transient: true });
    for (const code of [500, 503, 535, 550, 552, 554])
      expect(classifySmtpError({ responseCode: code }, 1, [])).toMatchObject({ transient: false });
    expect(classifySmtpError({ code: "ECONNECTION" }, 1, [])).toMatchObject({ transient: true });
    // A STARTTLS the server refuses is a TLS failure, not a rejection of the message.
    expect(classifySmtpError({ code: "ETLS", responseCode: 500 }, 1, [])).toMatchObject({ transient: true });
  });
});

describe("delivery over SMTP", () => {
  it("STARTTLS with PLAIN: one message, every recipient as BCC, plain text, Message-ID and Date of the message", async () => {
    const r = await receiver();
    const f = saf(list(r.port));
    const [id] = f.engine.enqueueMany([note("Pump P1 tripped")]);
    const enqueuedAt = (f.store.db.prepare("SELECT enqueued_at FROM saf_messages").get() as { enqueued_at: string })
      .enqueued_at;
    await delivered(f);
    expect(r.mails).toHaveLength(1);
    const m = r.mails[0]!;
    expect(m.secure).toBe(true);
    expect(m.user).toBe("scada");
    expect(r.auths).toEqual([{ method: "PLAIN", username: "scada", ok: true }]);
    expect(m.from).toBe("scada@plant.example");
    expect(m.rcpt).toEqual(RECIPIENTS);
    expect(m.headers.has("bcc")).toBe(false);
    expect(m.raw).not.toContain("shift@plant.example");
    expect(m.headers.get("message-id")).toBe(`<${id}@plant.example>`);
    expect(new Date(m.headers.get("date")!).getTime()).toBe(Math.floor(new Date(enqueuedAt).getTime() / 1000) * 1000);
    expect(m.headers.get("subject")).toBe("Pump P1 tripped");
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(m.body.trim()).toBe("Pump P1 tripped at 06:14.");
  });

  it("LOGIN when the server offers only LOGIN", async () => {
    const r = await receiver({ authMethods: ["LOGIN"] });
    const f = saf(list(r.port));
    f.engine.enqueue(note("login"));
    await delivered(f);
    expect(r.auths).toEqual([{ method: "LOGIN", username: "scada", ok: true }]);
  });

  it("implicit TLS (tls) with the certificate trusted through the CA file", async () => {
    const r = await receiver({ mode: "tls" });
    const f = saf(list(r.port, { tls: "tls" }));
    f.engine.enqueue(note("tls"));
    await delivered(f);
    expect(r.mails[0]!.secure).toBe(true);
  });

  it("tls: none talks plain SMTP, and sends without auth when the list has none", async () => {
    const r = await receiver({ mode: "plain", users: undefined, tokens: undefined });
    const f = saf(list(r.port, { tls: "none", auth: { type: "none" } }));
    f.engine.enqueue(note("plain"));
    await delivered(f);
    expect(r.mails[0]).toMatchObject({ secure: false, user: undefined });
  });

  it("a list with a login never sends without it, even to a server that takes mail without AUTH", async () => {
    const r = await receiver({ noAuth: true });
    const f = saf(list(r.port));
    f.engine.enqueue(note("no auth offered"));
    const p = await parkedOne(f);
    expect(p.lastError).toMatch(/^SMTP 5\d\d/);
    expect(r.mails).toHaveLength(0);
  });

  it("a certificate the site does not trust is a transient failure: nothing is sent, the error says why", async () => {
    const r = await receiver();
    const f = saf(list(r.port, {}, 2), { caFile: null });
    f.engine.enqueue(note("untrusted"));
    const p = await parkedOne(f);
    expect(p.attempts).toBe(2);
    expect(p.lastError).toMatch(/^connection failed: .*self[- ]signed certificate/i);
    expect(r.mails).toHaveLength(0);
    expect(r.auths).toHaveLength(0);
  });

  it("starttls against a server that offers no STARTTLS: never sent in clear, the password never sent", async () => {
    const r = await receiver({ mode: "plain" });
    const f = saf(list(r.port, {}, 2));
    f.engine.enqueue(note("downgrade"));
    const p = await parkedOne(f);
    expect(p.attempts).toBe(2);
    expect(p.lastError).toMatch(/^connection failed: ETLS .*STARTTLS/);
    expect(r.mails).toHaveLength(0);
    expect(r.auths).toHaveLength(0);
  });
});

describe("classification (SPEC 8.3) with faults injected", () => {
  const once = (step: SmtpStep, f: SmtpFault, times = 1) => {
    let n = 0;
    return (s: SmtpStep) => (s === step && n++ < times ? f : undefined);
  };
  // times: the faults injected before the server lets it through (RCPT TO runs once per recipient).
  const transient: [string, SmtpStep, SmtpFault, RegExp, number?][] = [
    ["421 at the greeting", "connect", { reply: 421, text: "too busy" }, /^SMTP 421: too busy/],
    ["451 to MAIL FROM", "mail", { reply: 451, text: "local error" }, /^SMTP 451/],
    ["450 to RCPT TO (greylisting)", "rcpt", { reply: 450, text: "greylisted" }, /^SMTP 450/, 4],
    ["452 after DATA", "data", { reply: 452, text: "insufficient storage" }, /^SMTP 452/],
    ["454 to AUTH", "auth", { reply: 454, text: "temporary auth failure" }, /^SMTP 454/],
    ["a connection dropped at MAIL FROM", "mail", { drop: true }, /^connection failed/],
    ["a connection dropped after DATA", "data", { drop: true }, /^connection failed/],
    ["no answer to DATA", "data", { hang: true }, /^timed out after 1500 ms/],
  ];
  for (const [name, step, fault, error, times = 2] of transient)
    it(`${name} is transient: retried, then delivered with the same Message-ID`, async () => {
      const r = await receiver();
      r.behave(once(step, fault, times));
      const f = saf(list(r.port, {}, 5));
      const id = f.engine.enqueue(note(name));
      await until(() => f.engine.counters.failedAttempts >= 1, 10_000, "a failed attempt");
      expect(lastErrors(f)[0]).toMatch(error);
      await delivered(f);
      expect(f.engine.counters.failedAttempts).toBe(2);
      expect(r.mails.map((m) => m.headers.get("message-id"))).toEqual([`<${id}@plant.example>`]);
      if (step === "data") expect(r.dataSeen).toEqual(Array(3).fill(`<${id}@plant.example>`));
    });

  const permanent: [string, SmtpStep, SmtpFault, RegExp][] = [
    ["550 to RCPT TO", "rcpt", { reply: 550, text: "no such user" }, /^SMTP 550: no such user/],
    ["554 after DATA", "data", { reply: 554, text: "rejected as spam" }, /^SMTP 554/],
    ["553 to MAIL FROM", "mail", { reply: 553, text: "sender not allowed" }, /^SMTP 553/],
    ["503 to MAIL FROM", "mail", { reply: 503, text: "bad sequence" }, /^SMTP 503/],
  ];
  for (const [name, step, fault, error] of permanent)
    it(`${name} is permanent: parked after one attempt`, async () => {
      const r = await receiver();
      r.behave(once(step, fault, 100));
      const f = saf(list(r.port, {}, 5));
      f.engine.enqueue(note(name));
      const p = await parkedOne(f);
      expect(p.attempts).toBe(1);
      expect(p.lastError).toMatch(error);
    });

  it("a wrong password (535) is permanent, as SPEC 8.3 has every 5xx", async () => {
    const r = await receiver();
    const f = saf(list(r.port), { secrets: { SMTP_PASSWORD: "not-the-password" } });
    f.engine.enqueue(note("bad password"));
    const p = await parkedOne(f);
    expect(p.attempts).toBe(1);
    expect(p.lastError).toMatch(/^SMTP 535/);
  });

  it("a closed port is transient", async () => {
    const r = await receiver();
    const port = r.port;
    await r.close();
    receivers.splice(receivers.indexOf(r), 1);
    const f = saf(list(port, {}, 2));
    f.engine.enqueue(note("closed"));
    const p = await parkedOne(f);
    expect(p.attempts).toBe(2);
    expect(p.lastError).toMatch(/^connection failed: ECONNREFUSED/);
  });

  it("a secret that is not provided is transient and named", async () => {
    const r = await receiver();
    const f = saf(list(r.port), { secrets: {} });
    f.engine.enqueue(note("no secret"));
    await until(() => f.engine.counters.failedAttempts >= 1, 10_000, "a failed attempt");
    expect(lastErrors(f)).toEqual(["secret SMTP_PASSWORD is not provided"]);
    expect(status(f)).toMatchObject({ queued: 1, parked: 0 });
  });
});

describe("OAuth2 client credentials and XOAUTH2", () => {
  const withToken = (port: number, maxAttempts = 4) =>
    list(port, { auth: { ...oauth2, tokenUrl: tokenServer.url } }, maxAttempts);

  it("fetches a token with the client-credentials grant and logs in with XOAUTH2; the token is cached", async () => {
    const r = await receiver();
    const f = saf(withToken(r.port));
    f.engine.enqueueMany([note("a"), note("b"), note("c")]);
    await delivered(f, 3);
    expect(r.mails).toHaveLength(3);
    expect(r.auths.map((a) => [a.method, a.username, a.ok])).toEqual(
      Array(3).fill(["XOAUTH2", "scada@plant.example", true]),
    );
    expect(tokenServer.requests).toHaveLength(1);
    expect(Object.fromEntries(tokenServer.requests[0]!)).toEqual({
      grant_type: "client_credentials",
      client_id: "scada-site",
      client_secret: CLIENT_SECRET,
      scope: oauth2.scope,
    });
  });

  it("a cached token is renewed shortly before it expires", async () => {
    const r = await receiver();
    let now = Date.now();
    const tokens = new TokenCache({ now: () => now });
    const f = saf(withToken(r.port), { tokens });
    f.engine.enqueue(note("first"));
    await delivered(f, 1);
    now += 3600_000 - 61_000; // 61 s before the 3600 s token expires: still used
    f.engine.enqueue(note("second"));
    await delivered(f, 2);
    expect(tokenServer.requests).toHaveLength(1);
    now += 2_000; // 59 s before: renewed
    f.engine.enqueue(note("third"));
    await delivered(f, 3);
    expect(tokenServer.requests).toHaveLength(2);
  });

  it("a cached token the server no longer takes is dropped and a new one fetched within the same attempt", async () => {
    const r = await receiver();
    const f = saf(withToken(r.port));
    f.engine.enqueue(note("first"));
    await delivered(f, 1);
    tokenServer.valid.clear(); // revoked
    f.engine.enqueue(note("second"));
    await delivered(f, 2);
    expect(f.engine.counters.failedAttempts).toBe(0);
    expect(tokenServer.requests).toHaveLength(2);
    // The revoked token is refused (nodemailer offers it twice on its connection), then the new one passes.
    expect(r.auths.map((a) => a.ok)).toEqual([true, false, false, true]);
  });

  const endpointFaults: [
    string,
    () => ReturnType<NonNullable<Parameters<TokenServer["behave"]>[0]>>,
    boolean,
    RegExp,
  ][] = [
    ["HTTP 503", () => ({ status: 503, body: "maintenance" }), true, /^token endpoint: HTTP 503: maintenance/],
    ["HTTP 429", () => ({ status: 429 }), true, /^token endpoint: HTTP 429/],
    ["no answer", () => ({ hang: true }), true, /^timed out after 1500 ms/],
    ["a dropped connection", () => ({ drop: true }), true, /^token endpoint: connection failed/],
    [
      "HTTP 400 invalid_client",
      () => ({ status: 400, body: '{"error":"invalid_client"}' }),
      false,
      /HTTP 400: \{"error":"invalid_client"\}/,
    ],
    ["HTTP 200 without a token", () => ({ status: 200, body: "{}" }), false, /without an access_token/],
  ];
  for (const [name, fault, transient, error] of endpointFaults)
    it(`a token endpoint answering ${name} is ${transient ? "transient" : "permanent"}`, async () => {
      const r = await receiver();
      tokenServer.behave(fault);
      const f = saf(withToken(r.port, 2));
      f.engine.enqueue(note(name));
      const p = await parkedOne(f);
      expect(p.attempts).toBe(transient ? 2 : 1);
      expect(p.lastError).toMatch(error);
      expect(r.auths).toHaveLength(0);
    });

  it("a wrong client secret: the endpoint's 401 parks the message at once", async () => {
    const r = await receiver();
    const f = saf(withToken(r.port), { secrets: { SMTP_CLIENT_SECRET: "wrong" } });
    f.engine.enqueue(note("bad client"));
    const p = await parkedOne(f);
    expect(p.attempts).toBe(1);
    expect(p.lastError).toMatch(/^token endpoint: HTTP 401/);
  });
});

describe("secrets never appear in an error or a log line", () => {
  it("a 535 reply that quotes the password has it masked", async () => {
    const r = await receiver();
    r.behave((s) => (s === "auth" ? { reply: 535, text: `password ${PASSWORD} refused` } : undefined));
    const f = saf(list(r.port));
    f.engine.enqueue(note("echo"));
    const p = await parkedOne(f);
    expect(p.lastError).toBe("SMTP 535: password *** refused");
  });

  it("a transient reply that quotes the base64 of the PLAIN credentials has it masked", async () => {
    const r = await receiver();
    const plain = Buffer.from(`\u0000scada\u0000${PASSWORD}`).toString("base64");
    r.behave((s) => (s === "mail" ? { reply: 451, text: `saw ${plain}` } : undefined));
    const f = saf(list(r.port, {}, 2));
    f.engine.enqueue(note("echo64"));
    const p = await parkedOne(f);
    expect(p.lastError).toBe("SMTP 451: saw ***");
  });

  it("a token endpoint that echoes the client secret has it masked", async () => {
    const r = await receiver();
    tokenServer.behave(() => ({ status: 400, body: `bad secret ${CLIENT_SECRET}` }));
    const f = saf(list(r.port, { auth: { ...oauth2, tokenUrl: tokenServer.url } }));
    f.engine.enqueue(note("echo secret"));
    const p = await parkedOne(f);
    expect(p.lastError).toBe("token endpoint: HTTP 400: bad secret ***");
  });

  it("no stored error holds a secret or an access token", async () => {
    const r = await receiver();
    const f = saf(list(r.port, { auth: { ...oauth2, tokenUrl: tokenServer.url } }));
    f.engine.enqueue(note("ok"));
    await delivered(f);
    const token = [...tokenServer.valid].at(-1)!;
    r.behave((s) => (s === "rcpt" ? { reply: 550, text: `token ${token} no` } : undefined));
    f.engine.enqueue(note("refused"));
    const p = await parkedOne(f);
    expect(p.lastError).toBe("SMTP 550: token *** no");
    const rows = f.store.db.prepare("SELECT last_error FROM saf_messages").all() as { last_error: string }[];
    for (const row of rows) for (const s of [PASSWORD, CLIENT_SECRET, token]) expect(row.last_error).not.toContain(s);
  });
});

// Last in the file (tests run in order): every line the engines of this file logged, parked messages included.
describe("the log", () => {
  it("no line of it holds a secret", () => {
    expect(logLines.filter((l) => l.startsWith("message parked")).length).toBeGreaterThan(10);
    const all = logLines.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(CLIENT_SECRET);
    expect(all).not.toContain(Buffer.from(PASSWORD).toString("base64"));
  });
});
