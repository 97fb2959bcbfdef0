import { isIP } from "node:net";
import { resolve } from "node:path";
import pino from "pino";
import { InstancePages } from "../../dashboard/instance.js";
import { DashboardAuthError, isLoopback, startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { secretLookup } from "../../site-reconciler/secrets.js";
import { positive } from "../options.js";
import { openRepo } from "../repo-access.js";
import { stopOnSignal } from "../signals.js";
import { UsageError } from "./validate.js";

export interface DashboardOptions {
  repo: string;
  stateDir?: string;
  secretsDir?: string;
  uiPort: string;
  uiHost: string;
  uiTokenSecret?: string;
  uiAllowedHost?: string[];
  pollInterval: string;
  heartbeatInterval: string;
  logLevel: string;
}

/** `scadalink dashboard`: the fleet dashboard (SPEC 11) from a config repo's deploy and status branches. */
export async function dashboardCommand(o: DashboardOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = Number(o.uiPort);
  if (o.uiPort.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--ui-port ${o.uiPort}: a port (0-65535)`);
  if (isIP(o.uiHost) === 0 && o.uiHost !== "localhost")
    throw new UsageError(`--ui-host ${o.uiHost}: an IP address to bind (127.0.0.1, 0.0.0.0, 10.0.0.5…) or localhost`);
  const token = uiToken(o, env);
  if (!isLoopback(o.uiHost) && token === undefined)
    throw new UsageError(
      `--ui-host ${o.uiHost} is not loopback: give --ui-token-secret NAME (every request then needs that token)`,
    );
  const heartbeatMs = positive(o.heartbeatInterval, "--heartbeat-interval") * 1000;
  const pollMs = positive(o.pollInterval, "--poll-interval") * 1000;
  const log = pino({ level: o.logLevel, base: { component: "dashboard" } });
  const repo = await openRepo(o.repo, o.stateDir);
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  try {
    dashboard = await startDashboard({
      read: (now) => readFleet(repo, { heartbeatMs, now }),
      instances: new InstancePages(repo),
      port,
      host: o.uiHost,
      token,
      allowedHosts: o.uiAllowedHost,
      pollMs,
      log,
    });
  } catch (e) {
    if (e instanceof DashboardAuthError) throw new UsageError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
      throw new UsageError(`--ui-host ${o.uiHost} --ui-port ${o.uiPort}: ${(e as Error).message}`);
    throw e;
  }
  process.stdout.write(`dashboard: ${dashboard.url}\n`);
  await stopOnSignal(log, "dashboard", () => dashboard.stop());
  return 0;
}

/** The token's value, read by its secret's name (never shown); undefined without --ui-token-secret. */
export function uiToken(
  o: { uiTokenSecret?: string; secretsDir?: string },
  env: NodeJS.ProcessEnv,
): string | undefined {
  const name = o.uiTokenSecret;
  if (name === undefined) return undefined;
  const value = secretLookup(env, o.secretsDir ? resolve(o.secretsDir) : undefined)(name);
  if (value === undefined)
    throw new UsageError(
      `--ui-token-secret ${name}: no such secret (SCADALINK_SECRET_${name}, or the file ${name} in --secrets-dir)`,
    );
  if (Buffer.byteLength(value) < 16)
    throw new UsageError(`--ui-token-secret ${name}: the token needs at least 16 bytes`);
  return value;
}
