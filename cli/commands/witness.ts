import { resolve } from "node:path";
import pino from "pino";
import { HmacPeerAuth, MIN_SECRET_BYTES } from "../../site-reconciler/redundancy/peer-auth.js";
import { WitnessServer } from "../../site-reconciler/redundancy/witness.js";
import { bindAddress, namedSecret, portOption } from "../options.js";
import { stopOnSignal } from "../signals.js";
import { UsageError } from "./validate.js";

export interface WitnessOptions {
  port?: string;
  host: string;
  peerSecret?: string;
  stateDir?: string;
  secretsDir?: string;
  logLevel: string;
}

/** The witness signs nothing; this is the name it refuses in a request. */
const WITNESS_NODE = "witness";

/** `scadalink site witness`: serves the pair's leases until SIGINT/SIGTERM. */
export async function witnessCommand(o: WitnessOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  for (const [flag, value] of [
    ["--port", o.port],
    ["--peer-secret", o.peerSecret],
    ["--state-dir (or SCADALINK_STATE_DIR)", o.stateDir],
  ] as const)
    if (!value) throw new UsageError(`${flag} is required`);
  const listen = portOption(o.port!, "--port");
  bindAddress(o.host, "--host");
  const secret = namedSecret(o.peerSecret!, "--peer-secret", {
    secretsDir: o.secretsDir,
    env,
    minBytes: MIN_SECRET_BYTES,
    what: "secret",
  });
  const log = pino({ level: o.logLevel, base: { component: "witness" } });
  const server = new WitnessServer({
    host: o.host,
    port: listen,
    stateDir: resolve(o.stateDir!),
    auth: new HmacPeerAuth({ secret: Buffer.from(secret, "utf8"), node: WITNESS_NODE }),
    log,
  });
  try {
    await server.start();
  } catch (e) {
    await server.stop().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
      throw new UsageError(`--host ${o.host} --port ${o.port}: ${(e as Error).message}`);
    throw e;
  }
  await stopOnSignal(log, "request", () => server.stop());
  return 0;
}
