import pino from "pino";
import { InstancePages } from "../../dashboard/instance.js";
import { DashboardAuthError, isLoopback, startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { bindAddress, namedSecret, portOption, positive } from "../options.js";
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
  const listen = portOption(o.uiPort, "--ui-port");
  bindAddress(o.uiHost, "--ui-host");
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
      port: listen,
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
  return namedSecret(name, "--ui-token-secret", { secretsDir: o.secretsDir, env, minBytes: 16, what: "token" });
}
