import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { Compilation } from "./compiler/compile.js";
import type { Diagnostic } from "./compiler/diagnostics.js";
import type { Records } from "./deploy/batches.js";
import { nextDeploy } from "./deploy/next.js";
import { recordsOf, type SiteReport, StatusReader } from "./deploy/records.js";
import { type DeployState, deployedIds, readDeployState } from "./deploy/state.js";
import { Repo } from "./git/repo.js";
import { publicKeyLine, type SigningKey, signMessage } from "./git/sshsig.js";
import { withTrailers } from "./git/trailers.js";
import { writeTree } from "./git/write-tree.js";
import { type GitHubOptions, GitHubReporter } from "./github/reporter.js";
import type { WebhookEvent } from "./github/webhook.js";
import { type HttpServer, startServer } from "./http/server.js";
import { ControllerMetrics } from "./metrics.js";
import { buildPlan, type Plan } from "./plan/plan.js";
import { renderPlanMarkdown } from "./plan/render.js";
import { GitSource } from "./sources/git-tree.js";

export interface ControllerConfig {
  /** The config repo: a smart-HTTP URL, or a local repository path. */
  repo: string;
  /** Where a remote repo is mirrored. */
  stateDir: string;
  mainBranch: string;
  pollIntervalMs: number;
  github?: GitHubOptions;
  /** HTTP endpoints (/healthz, /readyz, /metrics, /webhook); webhook needs the secret. */
  http?: { host: string; port: number; secret?: string };
  /** Watch a local repository's refs and reconcile on every change (development). */
  watch?: boolean;
  author?: { name: string; email: string };
  /** Most main commits one pass processes one by one (older ones are skipped). */
  maxCommitsPerPass?: number;
  /** The key deploy commits are signed with (section 10); without one they are unsigned. */
  signingKey?: SigningKey;
  now?: () => Date;
}

export interface Settings {
  deployBranch: string;
  statusPrefix: string;
}

export interface PassResult {
  head: string;
  /** Main commits compiled this pass, oldest first. */
  processed: { commit: string; errors: number }[];
  /** Deploy commits written (and pushed), oldest first. */
  deployCommits: string[];
  conflicts: number;
}

const MAX_ATTEMPTS = 5;

/**
 * The controller (section 5): each pass fetches main, compiles every new commit straight from git objects,
 * writes one deploy commit per commit that changes the deploy tree, evaluates batches against the sites'
 * status branches, and moves the deploy branch with a compare-and-swap, retrying when another writer won.
 */
export class Controller {
  readonly metrics = new ControllerMetrics();
  private readonly main: GitSource;
  private readonly prs: GitSource;
  private readonly status: StatusReader;
  private readonly reporter: GitHubReporter | undefined;
  private readonly reported = new Set<string>();
  /**
   * How far main has been processed by this process, and its last valid commit. The deploy branch's
   * Source-Commit only moves with a deploy commit, so without this every pass would compile again the commits
   * that changed nothing.
   */
  private progress: { head: string; lastValid: string | undefined } | undefined;
  private ready = false;
  private server: HttpServer | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private watcher: { close(): Promise<void> } | undefined;

  private constructor(
    readonly config: ControllerConfig,
    readonly repo: Repo,
    readonly log: Logger,
  ) {
    this.main = new GitSource(repo);
    this.prs = new GitSource(repo);
    this.status = new StatusReader(repo);
    this.reporter = config.github ? new GitHubReporter(config.github) : undefined;
  }

  static async create(config: ControllerConfig, log: Logger): Promise<Controller> {
    if (config.signingKey)
      log.info({ key: publicKeyLine(config.signingKey) }, "deploy commits are signed (SSH signature, namespace git)");
    else log.warn("deploy commits are not signed: sites that trust a release key refuse them (--signing-key FILE)");
    return new Controller(config, await Repo.open(config.repo, config.stateDir), log);
  }

  private now(): Date {
    return this.config.now?.() ?? new Date();
  }

  /** The deploy branch and status prefix, from scadalink.yaml at a commit. */
  private async settingsAt(source: GitSource, commit: string): Promise<Settings> {
    const s = await source.settings(commit);
    return { deployBranch: s.deployBranch, statusPrefix: s.statusBranchPrefix };
  }

  private async compile(source: GitSource, commit: string, state: DeployState): Promise<Compilation> {
    const t0 = performance.now();
    const released = new Map([...state.releases].filter(([, r]) => r.released).map(([name, r]) => [name, r.select]));
    const c = await source.compile(commit, { deployed: deployedIds(state), released });
    this.metrics.compileDuration.observe((performance.now() - t0) / 1000);
    return c;
  }

  /** New main commits since the one the deploy branch was built from, oldest first. */
  private async newCommits(since: string | undefined, head: string): Promise<string[]> {
    if (since === head) return [];
    // A first deploy, or main rewritten (force-push): only its head counts.
    if (!since || !(await this.repo.isAncestor(since, head))) return [head];
    const chain = await this.repo.firstParents(head, since, this.config.maxCommitsPerPass ?? 100);
    return chain.reverse();
  }

  /** One reconcile pass. Throws when git cannot be reached (the deploy branch is then left as it was). */
  reconcile(): Promise<PassResult> {
    return this.repo.mutex.run(async () => {
      await this.repo.fetch();
      const head = await this.repo.resolve(this.repo.branchRef(this.config.mainBranch));
      if (!head) throw new Error(`the config repo has no branch ${this.config.mainBranch}`);
      const result: PassResult = { head, processed: [], deployCommits: [], conflicts: 0 };
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const settings = await this.settingsAt(this.main, head);
        const deployHead = await this.repo.resolve(this.repo.branchRef(settings.deployBranch));
        const start = await readDeployState(this.repo, deployHead);
        const reports = await this.status.read(settings.statusPrefix);
        const records = recordsOf(reports);
        const deployed = start.trailers.sourceCommit;
        const mine =
          this.progress && (!deployed || (await this.repo.isAncestor(deployed, this.progress.head)))
            ? this.progress
            : undefined;
        const commits = await this.newCommits(mine ? mine.head : deployed, head);
        // Without new commits, the last valid commit is evaluated again: batches move with the sites' records.
        const again = mine?.lastValid ?? deployed;
        const todo = commits.length ? commits : again ? [again] : [];
        let lastValid = mine?.lastValid ?? deployed;
        let state = start;
        const written: string[] = [];
        /** Reported once the deploy branch has moved: never a deploy that lost the race. */
        const invalid: [string, Compilation][] = [];
        const valid: string[] = [];
        result.processed = [];
        for (const commit of todo) {
          const c = await this.compile(this.main, commit, state);
          if (commits.length) result.processed.push({ commit, errors: c.errorCount });
          if (c.errorCount > 0) {
            this.metrics.invalidCommits.inc();
            this.log.warn(
              { commit, errors: c.errorCount, first: firstError(c.diagnostics) },
              "commit does not compile: nothing released",
            );
            invalid.push([commit, c]);
            continue;
          }
          lastValid = commit;
          valid.push(commit);
          const next = nextDeploy({ commit, compilation: c, previous: state, records, now: this.now() });
          this.metrics.setBatchStates(new Map([...next.statuses].map(([b, s]) => [b, s.state])));
          const { tree, blobsWritten } = await writeTree(this.repo, next.files);
          if (tree === state.commit?.tree) continue;
          const message = withTrailers(await this.subject(commit, state, next.released), [], {
            sourceCommit: commit,
            batches: next.released,
          });
          const author = {
            ...(this.config.author ?? { name: "ScadaLink Controller", email: "controller@scadalink.invalid" }),
            timestamp: Math.floor(this.now().getTime() / 1000),
          };
          const key = this.config.signingKey;
          const oid = await this.repo.writeCommit(
            { tree, parents: state.head ? [state.head] : [], author, message },
            key && ((payload) => signMessage(key, payload)),
          );
          this.log.info({ commit, deploy: oid, blobsWritten, released: next.released }, "deploy commit written");
          state = await readDeployState(this.repo, oid);
          written.push(oid);
        }
        if (!written.length) {
          this.progress = { head, lastValid };
          await this.report(invalid, valid, state, reports);
          break;
        }
        // Failpoint for the crash tests: die with the objects written and the branch not yet moved.
        if (process.env.SCADALINK_FAILPOINT === "before-branch-update") process.kill(process.pid, "SIGKILL");
        if (await this.repo.updateBranch(settings.deployBranch, state.head!, start.head)) {
          this.progress = { head, lastValid };
          result.deployCommits = written;
          this.metrics.deployCommits.inc(written.length);
          await this.report(invalid, valid, state, reports);
          break;
        }
        // Another controller moved the deploy branch: start again from what it wrote.
        result.conflicts++;
        this.metrics.conflicts.inc();
        this.log.info({ attempt }, "deploy branch moved meanwhile: retrying from its new head");
        if (attempt === MAX_ATTEMPTS)
          throw new Error(`deploy branch kept moving: gave up after ${MAX_ATTEMPTS} attempts`);
        await this.repo.fetch();
      }
      this.ready = true;
      this.metrics.lastSuccess.setToCurrentTime();
      return result;
    });
  }

  private async subject(commit: string, before: DeployState, released: string[]): Promise<string> {
    const info = await this.repo.readCommit(commit);
    const title = info.message.split("\n")[0]!.slice(0, 60);
    const batches = released.length ? ` (releases ${released.join(", ")})` : "";
    return `Deploy ${commit.slice(0, 7)}: ${title}${batches}${before.head ? "" : " [first deploy]"}`;
  }

  /**
   * Per-site commit statuses on main, one context per site (only when reporting to GitHub). An invalid commit
   * fails with its first error. A valid one is pending while its site has not applied the current deploy,
   * then succeeds, or fails with the instances the site reports failing.
   */
  private async report(
    invalid: [string, Compilation][],
    valid: string[],
    deploy: DeployState,
    reports: Map<string, SiteReport>,
  ): Promise<void> {
    if (!this.reporter) return;
    for (const [commit, c] of invalid) {
      const first = firstError(c.diagnostics);
      const description = `not deployed: ${c.errorCount} error${c.errorCount === 1 ? "" : "s"}${first ? `; ${first}` : ""}`;
      for (const site of new Set([...c.index.sites.keys(), ...deploy.manifests.keys()]))
        await this.post(commit, site, "failure", description);
    }
    // Commits evaluated again (no new ones) get their statuses updated as the sites report.
    const commits = valid.length ? valid : this.progress?.lastValid ? [this.progress.lastValid] : [];
    const short = deploy.head?.slice(0, 7) ?? "none";
    for (const [site, manifest] of deploy.manifests) {
      const count = Object.keys(manifest.instances).length;
      const status = reports.get(site)?.status;
      let state: "pending" | "success" | "failure" = "pending";
      let description = `deploy ${short}: ${count} instances; waiting for ${site} to apply it`;
      if (status && status.deployCommit === deploy.head) {
        const failed = Object.entries(status.instances)
          .filter(([, i]) => i && i.result !== "pass")
          .map(([n, i]) => `${n} ${i!.result}`);
        state = failed.length ? "failure" : "success";
        description = failed.length
          ? `${failed.length} of ${count} instances failed on ${site}: ${failed.join(", ")}`
          : `applied by ${site}: deploy ${short}, ${count} instances`;
      }
      for (const commit of commits) await this.post(commit, site, state, description);
    }
  }

  private async post(
    commit: string,
    site: string,
    state: "pending" | "success" | "failure",
    description: string,
  ): Promise<void> {
    const key = `${commit} ${site} ${state} ${description}`;
    if (this.reported.has(key) || !this.reporter) return;
    try {
      await this.reporter.commitStatus(commit, `scadalink/${site}`, state, description);
      if (this.reported.size > 10_000) this.reported.clear();
      this.reported.add(key);
    } catch (e) {
      this.log.error(
        { err: e instanceof Error ? e.message : String(e), commit, site },
        "cannot post the commit status to GitHub",
      );
    }
  }

  /** Plans a pull request's head against the deploy branch: one check run and one (updated) plan comment. */
  planPullRequest(pr: { number: number; headSha: string; headRef: string }): Promise<Plan> {
    return this.repo.mutex.run(async () => {
      await this.repo.fetch();
      let head: string | undefined;
      try {
        head = await this.repo.fetchRef(`refs/pull/${pr.number}/head`);
      } catch {
        head = undefined;
      }
      head ??= await this.repo.resolve(this.repo.branchRef(pr.headRef));
      if (pr.headSha && head !== pr.headSha) head = pr.headSha;
      if (!head) throw new Error(`pull request ${pr.number}: head commit not found`);
      const settings = await this.settingsAt(this.prs, head);
      const previous = await readDeployState(
        this.repo,
        await this.repo.resolve(this.repo.branchRef(settings.deployBranch)),
      );
      const records: Records = recordsOf(await this.status.read(settings.statusPrefix));
      const c = await this.compile(this.prs, head, previous);
      const plan = await buildPlan({
        commit: head,
        compilation: c,
        previous,
        records,
        now: this.now(),
        blob: (oid) => this.repo.readText(oid),
      });
      if (this.reporter) {
        const title = plan.ok
          ? `${plan.totals.added + plan.totals.changed + plan.totals.removed} instances change`
          : `${plan.errorCount} errors: nothing would be released`;
        const markdown = renderPlanMarkdown(plan);
        // A check run's summary holds at most 65,535 characters; the comment carries the whole plan.
        await this.reporter.checkRun(head, title, markdown.slice(0, 60_000), c.diagnostics);
        await this.reporter.upsertPlanComment(pr.number, markdown);
      }
      this.log.info({ pr: pr.number, head, ok: plan.ok, totals: plan.totals }, "pull request planned");
      return plan;
    });
  }

  /** Runs a pass now, or right after the one under way (passes never overlap; requests coalesce). */
  kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcile()
      .then(
        (r) => {
          if (r.deployCommits.length || r.processed.length)
            this.log.info(
              { head: r.head, deployCommits: r.deployCommits.length, conflicts: r.conflicts },
              "reconciled",
            );
        },
        (e) => {
          this.metrics.reconcileErrors.inc();
          this.log.error(
            { err: e instanceof Error ? e.message : String(e) },
            "reconcile failed: the deploy branch is left as it was",
          );
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private handle(event: WebhookEvent, delivery: string | undefined): void {
    if (event.type === "push") {
      if (event.ref === `refs/heads/${this.config.mainBranch}`) this.kick();
    } else if (event.type === "pull_request" && ["opened", "synchronize", "reopened"].includes(event.action)) {
      this.planPullRequest(event).catch((e) =>
        this.log.error(
          { err: e instanceof Error ? e.message : String(e), delivery },
          "planning the pull request failed",
        ),
      );
    }
  }

  /** Starts polling, the HTTP endpoints and (for a local repository, on request) ref watching. */
  async start(): Promise<void> {
    if (this.config.http) {
      this.server = await startServer({
        ...this.config.http,
        secret: this.config.http.secret,
        metrics: this.metrics,
        ready: () => this.ready,
        onEvent: (e, d) => this.handle(e, d),
        log: this.log,
      });
    }
    if (this.config.watch && !this.repo.remote) {
      const { watch } = await import("chokidar");
      const w = watch([join(this.repo.gitdir, "refs", "heads"), join(this.repo.gitdir, "packed-refs")], {
        ignoreInitial: true,
      });
      w.on("all", () => this.kick());
      this.watcher = w;
    }
    const poll = () => {
      this.kick();
      if (!this.stopping) this.timer = setTimeout(poll, this.config.pollIntervalMs);
    };
    poll();
  }

  /** Graceful shutdown: no new passes, the one under way finishes, endpoints close. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    await this.server?.close();
    await this.running;
  }

  get address(): { port: number } | undefined {
    return this.server ? { port: this.server.port } : undefined;
  }
}

function firstError(diagnostics: Diagnostic[]): string | undefined {
  const d = diagnostics.find((x) => x.severity === "error");
  return d ? `${d.file}:${d.line} ${d.rule}` : undefined;
}
