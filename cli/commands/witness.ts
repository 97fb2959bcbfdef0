import { isIP } from "node:net";
import { resolve } from "node:path";
import pino from "pino";
import { HmacPeerAuth, MIN_SECRET_BYTES } from "../../site-reconciler/redundancy/peer-auth.js";
import { WitnessServer } from "../../site-reconciler/redundancy/witness.js";
import { secretLookup } from "../../site-reconciler/secrets.js";
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
  const port = Number(o.port);
  if (o.port!.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port ${o.port}: a port (0-65535)`);
  if (isIP(o.host) === 0 && o.host !== "localhost")
    throw new UsageError(`--host ${o.host}: an IP address to bind (127.0.0.1, 0.0.0.0, ::, 10.0.0.5…) or localhost`);
  const name = o.peerSecret!;
  const secret = secretLookup(env, o.secretsDir ? resolve(o.secretsDir) : undefined)(name);
  // Only the name is ever shown.
  if (secret === undefined)
    throw new UsageError(
      `--peer-secret ${name}: no such secret (SCADALINK_SECRET_${name}, or the file ${name} in --secrets-dir)`,
    );
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES)
    throw new UsageError(`--peer-secret ${name}: the secret needs at least ${MIN_SECRET_BYTES} bytes`);
  const log = pino({ level: o.logLevel, base: { component: "witness" } });
  const server = new WitnessServer({
    host: o.host,
    port,
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
