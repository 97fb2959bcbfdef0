// A local OAuth2 token endpoint (node:http on 127.0.0.1) for the client-credentials grant: it checks the client's
// id and secret, issues tokens that it adds to a set the SMTP receiver accepts, records every request, and can be
// told to answer otherwise (a status, no answer).
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export type TokenFault = { status: number; body?: string } | { hang: true } | { drop: true };

export interface TokenServer {
  url: string;
  /** Tokens issued and not revoked: what the SMTP receiver accepts. */
  valid: Set<string>;
  requests: URLSearchParams[];
  behave(f: (() => TokenFault | undefined) | undefined): void;
  close(): Promise<void>;
}

export async function startTokenServer(o: {
  clients: Record<string, string>;
  expiresIn?: number;
}): Promise<TokenServer> {
  const valid = new Set<string>();
  const requests: URLSearchParams[] = [];
  let fault: (() => TokenFault | undefined) | undefined;
  let n = 0;
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
  };
  const server = createServer(async (req, res) => {
    const form = await read(req);
    requests.push(form);
    const f = fault?.();
    if (f && "hang" in f) return;
    if (f && "drop" in f) {
      req.socket.destroy();
      return;
    }
    if (f) {
      res.writeHead(f.status, { "content-type": "application/json" }).end(f.body ?? "");
      return;
    }
    const id = form.get("client_id") ?? "";
    if (form.get("grant_type") !== "client_credentials" || o.clients[id] !== form.get("client_secret")) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"invalid_client"}');
      return;
    }
    const token = `tok-${++n}-${Math.random().toString(36).slice(2)}`;
    valid.add(token);
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: o.expiresIn ?? 3600 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`,
    valid,
    requests,
    behave(f) {
      fault = f;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
