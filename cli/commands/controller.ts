import { resolve } from "node:path";
import pino from "pino";
import { Controller, type ControllerConfig } from "../../controller/controller.js";
import { redactUrl } from "../../controller/git/repo.js";
import { parseRepoName } from "../../controller/github/reporter.js";
import { InstancePages } from "../../dashboard/instance.js";
import { type Dashboard, isLoopback, startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { signingKeyFile } from "../keys.js";
import { portOption, positive } from "../options.js";
import { defaultStateDir } from "../repo-access.js";
import { stopOnSignal } from "../signals.js";
import { uiToken } from "./dashboard.js";
import { UsageError } from "./validate.js";

export interface ControllerOptions {
  repo?: string;
  once?: boolean;
  pollInterval: string;
  webhookPort?: string;
  githubRepo?: string;
  stateDir?: string;
  mainBranch: string;
  host: string;
  watch?: boolean;
  signingKey?: string;
  logLevel: string;
  /** The fleet dashboard served by the controller too (SPEC 11). */
  uiPort?: string;
  uiHost: string;
  uiTokenSecret?: string;
  uiAllowedHost?: string[];
  secretsDir?: string;
  heartbeatInterval: string;
}

/** `scadalink controller`: runs the controller until SIGINT/SIGTERM (or one pass with --once). */
export async function controllerCommand(o: ControllerOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!o.repo)
    throw new UsageError("--repo (or SCADALINK_REPO) is required: a smart-HTTP URL or a local repository path");
  const secret = env.SCADALINK_WEBHOOK_SECRET || undefined;
  const token = env.SCADALINK_GITHUB_TOKEN || undefined;
  const github = o.githubRepo ? parseRepoName(o.githubRepo) : undefined;
  if (github && !token) throw new UsageError("--github-repo needs a token in SCADALINK_GITHUB_TOKEN");
  const config: ControllerConfig = {
    repo: o.repo,
    stateDir: resolve(o.stateDir ?? defaultStateDir(o.repo, env)),
    mainBranch: o.mainBranch,
    pollIntervalMs: positive(o.pollInterval, "--poll-interval") * 1000,
    github:
      github && token
        ? { ...github, token, apiUrl: env.SCADALINK_GITHUB_API_URL || "https://api.github.com" }
        : undefined,
    http: o.webhookPort !== undefined ? { host: o.host, port: Number(o.webhookPort), secret } : undefined,
    watch: o.watch,
    signingKey: o.signingKey ? signingKeyFile(o.signingKey) : undefined,
  };
  const log = pino({ level: o.logLevel, base: { component: "controller" } });
  const controller = await Controller.create(config, log);
  if (o.once) {
    const r = await controller.reconcile();
    log.info(
      { head: r.head, processed: r.processed.length, deployCommits: r.deployCommits, conflicts: r.conflicts },
      "pass done",
    );
    return r.processed.some((p) => p.commit === r.head && p.errors > 0) ? 1 : 0;
  }
  const ui = o.uiPort === undefined ? undefined : uiOptions(o, env);
  await controller.start();
  let dashboard: Dashboard | undefined;
  if (ui) {
    try {
      dashboard = await startDashboard({
        read: (now) => readFleet(controller.repo, { heartbeatMs: ui.heartbeatMs, now }),
        instances: new InstancePages(controller.repo),
        port: ui.port,
        host: o.uiHost,
        token: ui.token,
        allowedHosts: o.uiAllowedHost,
        log: log.child({ component: "dashboard" }),
      });
    } catch (e) {
      await controller.stop();
      throw new UsageError(`--ui-port ${o.uiPort}: ${(e as Error).message}`);
    }
  }
  log.info(
    {
      repo: redactUrl(o.repo),
      pollSeconds: config.pollIntervalMs / 1000,
      port: controller.address?.port,
      ...(dashboard ? { dashboard: dashboard.url } : {}),
    },
    "controller started",
  );
  await stopOnSignal(log, "pass", async () => {
    await dashboard?.stop();
    await controller.stop();
  });
  return 0;
}

function uiOptions(o: ControllerOptions, env: NodeJS.ProcessEnv) {
  const listen = portOption(o.uiPort!, "--ui-port");
  const token = uiToken(o, env);
  if (!isLoopback(o.uiHost) && token === undefined)
    throw new UsageError(`--ui-host ${o.uiHost} is not loopback: give --ui-token-secret NAME`);
  return { port: listen, token, heartbeatMs: positive(o.heartbeatInterval, "--heartbeat-interval") * 1000 };
}
