import { resolve } from "node:path";
import pino from "pino";
import { Controller, type ControllerConfig } from "../../controller/controller.js";
import { redactUrl } from "../../controller/git/repo.js";
import { parseRepoName } from "../../controller/github/reporter.js";
import { signingKeyFile } from "../keys.js";
import { positive } from "../options.js";
import { defaultStateDir } from "../repo-access.js";
import { stopOnSignal } from "../signals.js";
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
  await controller.start();
  log.info(
    { repo: redactUrl(o.repo), pollSeconds: config.pollIntervalMs / 1000, port: controller.address?.port },
    "controller started",
  );
  await stopOnSignal(log, "pass", () => controller.stop());
  return 0;
}
