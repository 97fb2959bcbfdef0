import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a loopback port, to put a network between a client and a server:
 * - `cut()`: every connection through it is reset, and new ones are reset as they arrive (counted in `accepted`);
 *   `cut({ refuse: true })` stops listening instead, so they are refused (the proxy dropped). The server stays up;
 * - `stall()`: connections stay open but nothing passes either way, and new ones are accepted but not forwarded
 *   (a link that silently stops carrying traffic);
 * - `restore()`: traffic flows again: stalled connections carry on where they stopped, new ones are forwarded.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted since the start. */
  accepted: number;
  cut(o?: { refuse?: boolean }): void;
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export async function startTcpProxy(targetPort: number, host = "127.0.0.1"): Promise<TcpProxy> {
  if (!/^127\./.test(host)) throw new Error("the proxy forwards to loopback only");
  let mode: "open" | "cut" | "stall" = "open";
  const pairs = new Set<Pair>();
  const waiting: Pair[] = [];

  const forward = (p: Pair) => {
    const upstream = connect(targetPort, host);
    p.upstream = upstream;
    p.client.pipe(upstream);
    upstream.pipe(p.client);
    const end = () => {
      p.client.destroy();
      upstream.destroy();
      pairs.delete(p);
    };
    upstream.on("error", end);
    upstream.on("close", end);
  };

  const server: Server = createServer((client) => {
    proxy.accepted++;
    const p: Pair = { client, upstream: undefined };
    client.on("error", () => undefined);
    client.on("close", () => {
      p.upstream?.destroy();
      pairs.delete(p);
    });
    if (mode === "cut") {
      client.resetAndDestroy();
      return;
    }
    pairs.add(p);
    if (mode === "stall") {
      client.pause();
      waiting.push(p);
      return;
    }
    forward(p);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));

  const proxy: TcpProxy = {
    port: (server.address() as { port: number }).port,
    accepted: 0,
    cut(o = {}) {
      mode = "cut";
      if (o.refuse && server.listening) server.close();
      for (const p of [...pairs]) {
        p.client.resetAndDestroy();
        p.upstream?.destroy();
      }
      pairs.clear();
      waiting.length = 0;
    },
    stall() {
      mode = "stall";
      for (const p of pairs) {
        if (!p.upstream) continue;
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
      }
    },
    restore() {
      mode = "open";
      if (!server.listening) server.listen(proxy.port, "127.0.0.1");
      for (const p of waiting.splice(0)) if (!p.client.destroyed) forward(p);
      for (const p of pairs) {
        if (!p.upstream || p.client.readableFlowing) continue;
        p.client.pipe(p.upstream);
        p.upstream.pipe(p.client);
      }
    },
    async close() {
      const closed = server.listening ? new Promise((r) => server.close(r)) : Promise.resolve();
      proxy.cut();
      await closed;
    },
  };
  return proxy;
}
