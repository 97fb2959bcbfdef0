// Script host stand-ins that misbehave as no real script should be able to make the real one do, for the pool's
// watchdog and respawn paths. The mode comes from the environment: "exit" dies at once, before saying ready;
// "silent" says ready and never answers a run; "io" answers each run with what the site replied to integration
// calls it sends on its I/O pipe (fd 4) as a host that lies would: for an instance it was never given, and twenty
// at once.
import net from "node:net";

const mode = process.env.SCADALINK_FAULTY_HOST;
if (mode === "exit") process.exit(3);
if (mode === "io") {
  const pipe = new net.Socket({ fd: 4, readable: true, writable: true });
  pipe.setEncoding("utf8");
  const waiting = new Map();
  let buf = "";
  pipe.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiting.get(m.id)?.(m);
    }
  });
  let seq = 0;
  const call = (instance) =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      const deadline = Date.now() + 5_000;
      pipe.write(`${JSON.stringify({ id, op: "call", instance, target: "Mes", name: "Get", args: [], deadline })}\n`);
    });
  let loaded = "";
  process.on("message", async (m) => {
    if (m.t === "load") loaded = m.instance;
    if (m.t !== "run") return;
    const foreign = await call("Other");
    const own = await call(loaded);
    const flood = await Promise.all(Array.from({ length: 20 }, () => call(loaded)));
    const value = { foreign, own, flood: flood.map((r) => r.e ?? "answered") };
    process.send?.({ t: "result", id: m.id, result: { ok: true, value }, writes: [], logs: [], dropped: 0 });
  });
} else process.on("message", () => undefined);
process.send?.({ t: "ready" });
setInterval(() => undefined, 1_000);
