// A real SMTP server in the test process (smtp-server, the server half of nodemailer) on 127.0.0.1: plain,
// STARTTLS or implicit TLS, PLAIN/LOGIN against users and XOAUTH2 against a set of valid tokens, every message
// kept as received, and faults injected per step of the session (a reply code, a dropped connection, no answer).
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

export type SmtpStep = "connect" | "auth" | "mail" | "rcpt" | "data";
export type SmtpFault = { reply: number; text?: string } | { drop: true } | { hang: true };

export interface ReceivedMail {
  from: string;
  rcpt: string[];
  raw: string;
  /** Header name (lower case) → value, unfolded. */
  headers: Map<string, string>;
  body: string;
  user: string | undefined;
  secure: boolean;
}

export interface SmtpReceiver {
  port: number;
  mails: ReceivedMail[];
  /** The Message-ID of every message whose data arrived, also when a fault refused it after. */
  dataSeen: string[];
  /** Every AUTH attempt: the method, the user, and whether it passed. */
  auths: { method: string; username: string; ok: boolean }[];
  /** Decides a fault per step (undefined: go on normally). */
  behave(f: (step: SmtpStep, session: SMTPServerSession) => SmtpFault | undefined): void;
  close(): Promise<void>;
}

export interface SmtpReceiverOptions {
  mode: "plain" | "starttls" | "tls";
  tls?: { key: string; cert: string };
  /** PLAIN and LOGIN accounts; with neither users nor tokens, no AUTH is needed. */
  users?: Record<string, string>;
  /** XOAUTH2: valid access tokens (shared with the token endpoint, which adds and revokes them). */
  tokens?: Set<string>;
  /** The AUTH mechanisms offered; default PLAIN, LOGIN and XOAUTH2. */
  authMethods?: string[];
  /** A server without AUTH: not advertised, and refused when sent anyway; it takes mail from anyone. */
  noAuth?: boolean;
}

function parse(raw: string): { headers: Map<string, string>; body: string } {
  const cut = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, cut).replace(/\r\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body: raw.slice(cut + 4) };
}

export async function startSmtpReceiver(o: SmtpReceiverOptions): Promise<SmtpReceiver> {
  let fault: (step: SmtpStep, session: SMTPServerSession) => SmtpFault | undefined = () => undefined;
  const mails: ReceivedMail[] = [];
  const dataSeen: string[] = [];
  const auths: SmtpReceiver["auths"] = [];
  const needAuth = o.users !== undefined || o.tokens !== undefined;
  // Returns true when the step was taken over by a fault (the callback called, or never to be).
  const inject = (step: SmtpStep, session: SMTPServerSession, cb: (e?: Error | null) => void): boolean => {
    const f = fault(step, session);
    if (!f) return false;
    if ("hang" in f) return true;
    if ("drop" in f) {
      for (const c of server.connections as Set<{ id: string; _socket: { destroy(): void } }>)
        if (c.id === session.id) c._socket.destroy();
      return true;
    }
    cb(Object.assign(new Error(f.text ?? `injected ${f.reply}`), { responseCode: f.reply }));
    return true;
  };
  const server: SMTPServer & { connections: Set<unknown> } = new SMTPServer({
    secure: o.mode === "tls",
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
    // Hidden from EHLO and refused when sent anyway (500): a server without TLS at all.
    hideSTARTTLS: o.mode === "plain",
    disabledCommands: [...(o.mode === "plain" ? ["STARTTLS"] : []), ...(o.noAuth ? ["AUTH"] : [])],
    authMethods: o.authMethods ?? ["PLAIN", "LOGIN", "XOAUTH2"],
    authOptional: !needAuth || o.noAuth === true,
    allowInsecureAuth: true,
    logger: false,
    onConnect(session, cb) {
      if (!inject("connect", session, cb)) cb();
    },
    onAuth(auth, session, cb) {
      if (inject("auth", session, cb as (e?: Error | null) => void)) return;
      if (auth.method === "XOAUTH2") {
        const ok = o.tokens?.has(auth.accessToken ?? "") ?? false;
        auths.push({ method: auth.method, username: auth.username ?? "", ok });
        if (ok) cb(null, { user: auth.username });
        else cb(null, { data: { status: "401", schemes: "bearer" } } as never);
        return;
      }
      const ok = o.users?.[auth.username ?? ""] === auth.password;
      auths.push({ method: auth.method, username: auth.username ?? "", ok });
      if (ok) cb(null, { user: auth.username });
      else cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onMailFrom(_a, session, cb) {
      if (!inject("mail", session, cb)) cb();
    },
    onRcptTo(_a, session, cb) {
      if (!inject("rcpt", session, cb)) cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (b: Buffer) => chunks.push(b));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        dataSeen.push(parse(raw).headers.get("message-id") ?? "");
        if (inject("data", session, cb)) return;
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parse(raw),
          user: session.user as string | undefined,
          secure: session.secure,
        });
        cb();
      });
    },
  }) as SMTPServer & { connections: Set<unknown> };
  server.on("error", () => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    dataSeen,
    auths,
    behave(f) {
      fault = f;
    },
    async close() {
      for (const c of server.connections as Set<{ _socket: { destroy(): void } }>) c._socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
