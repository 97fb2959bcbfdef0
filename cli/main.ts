import { Command, CommanderError, Option } from "commander";
import { DEFAULT_DEPLOY_BRANCH, DEFAULT_MAIN_BRANCH } from "../controller/contract/branches.js";
import { packageVersion } from "../controller/package-root.js";
import { flattenCommand } from "./commands/flatten.js";
import { initCommand } from "./commands/init.js";
import { UsageError, validateCommand } from "./commands/validate.js";
import { errorReport, wantsDebug } from "./errors.js";
import { FORMATS, type Format } from "./output/formats.js";

const collect = (value: string, previous: string[]) => [...previous, value];

function program(run: (p: Promise<number>) => void): Command {
  const cmd = new Command("scadalink")
    .description("GitOps for SCADA configuration: validate, flatten and deploy ScadaLink config repos")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    // `site inspect --state-dir` belongs to inspect, not to `site` (which has the same option).
    .enablePositionalOptions()
    .exitOverride();

  cmd
    .command("init")
    .description(
      "create a new config repo from the bundled template (a water-treatment plant); it validates out of the box",
    )
    .argument("[dir]", "where to create it", ".")
    .action((dir: string) => run(initCommand(dir)));

  cmd
    .command("validate")
    .description("run every validation rule over a config repo (always the whole repo: the rules cross files)")
    .option("--repo <dir>", "config repo root", ".")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS as string[]).default("text"))
    .option("--watch", "re-validate on every change, re-checking only what the change affects")
    .option("--no-cache", "ignore and do not write the result cache")
    .option("--cache-location <file>", "cache file (default: $SCADALINK_CACHE_DIR or ~/.cache/scadalink)")
    .addHelpText(
      "after",
      "\nExit codes: 0 no errors (warnings allowed), 1 validation errors, 2 usage or internal error.\nNO_COLOR disables colours.",
    )
    .action((o: { repo: string; format: Format; watch?: boolean; cache: boolean; cacheLocation?: string }) =>
      run(validateCommand(o)),
    );

  cmd
    .command("flatten")
    .description("print or write the deployment packages of instances (JSON), or explain where each field came from")
    .option("--repo <dir>", "config repo root", ".")
    .option("--instance <site/name>", "only this instance (repeatable)", collect, [])
    .option("--out <dir>", "write <dir>/<site>/<name>.json instead of printing")
    .option("--explain", "show, for every field, the file, line and layer its value came from")
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 the repo has validation errors (no package is produced), 2 usage error.",
    )
    .action((o: { repo: string; instance: string[]; out?: string; explain?: boolean }) => run(flattenCommand(o)));

  cmd
    .command("plan")
    .description(
      "what deploying the working tree would change against the deploy branch (or REF): per site, added, changed and removed instances with member-level diffs, batches, stale instances",
    )
    .option("--repo <dir>", "config repo (a git working tree)", ".")
    .option("--against <ref>", "compare with this deploy commit instead of the deploy branch")
    .addOption(
      new Option("--format <format>", "output format (markdown is what the pull-request comment shows)")
        .choices(["text", "json", "markdown"])
        .default("text"),
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 plan made, 1 the repo has validation errors (nothing would be released), 2 usage error.",
    )
    .action((o: { repo: string; against?: string; format: "text" | "json" | "markdown" }) =>
      run(import("./commands/plan.js").then((m) => m.planCommand(o))),
    );

  cmd
    .command("diff")
    .description(
      'member-level difference of the compiled state of two commits, e.g. Pump07 Speed.tag: "ns=2;s=A" → "ns=2;s=B"',
    )
    .argument("<ref-a>", "commit, branch or tag")
    .argument("<ref-b>", "commit, branch or tag")
    .option("--repo <dir>", "config repo (a git repository)", ".")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .addHelpText(
      "after",
      "\nExit codes: 0 no difference, 1 differences found (or a commit does not compile), 2 usage error.",
    )
    .action((a: string, b: string, o: { repo: string; format: "text" | "json" }) =>
      run(import("./commands/diff.js").then((m) => m.diffCommand(a, b, o))),
    );

  cmd
    .command("batch")
    .description("batch tools")
    .command("prepare")
    .description(
      "write a batch's preparation artifacts (handoff, evidence checklist, execution record template, report) from the working tree",
    )
    .argument("<name>", "batch name")
    .option("--repo <dir>", "config repo root", ".")
    .option("--out <dir>", "write the four files here (default: print the report)")
    .action((name: string, o: { repo: string; out?: string }) =>
      run(import("./commands/batch.js").then((m) => m.batchPrepareCommand(name, o))),
    );

  cmd
    .command("demo")
    .description(
      "the whole system on loopback: a git server with a config repo from the template, the controller, a site reconciler per site, simulated PLCs, and an SMTP server and an MES for the integrations (an email on an alarm; counts through store-and-forward across an MES outage)",
    )
    .option("--duration <seconds>", "stop by itself after this long (default: run until Ctrl-C)")
    .option("--dir <dir>", "keep the demo's repos and state directories here (default: a temporary directory, removed)")
    .option(
      "--pair",
      "run res-northfield as an active/standby pair of two site processes and SIGKILL its active partway (docs/redundancy.md)",
    )
    .addHelpText(
      "after",
      "\nThe simulated PLCs' accounts get a random password per run, or SCADALINK_DEMO_PLC_PASSWORD; the SMTP server's password and the MES's key are random per run. Needs git.",
    )
    .addOption(new Option("--log-level <level>", "log level of the components' JSON logs on stderr").default("error"))
    .action((o) => run(import("./commands/demo.js").then((m) => m.demoCommand(o))));

  cmd
    .command("status")
    .description(
      "fleet view from the deploy and status branches: sites × instances, desired vs applied revision, stale instances, batch states, last seen",
    )
    .option("--repo <url|dir>", "config repo: a smart-HTTP URL or a local repository", ".")
    .option("--state-dir <dir>", "where a remote repo is mirrored")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action((o: { repo: string; format: "text" | "json"; stateDir?: string }) =>
      run(import("./commands/status.js").then((m) => m.statusCommand(o))),
    );

  cmd
    .command("dashboard")
    .description(
      "serve the fleet dashboard (read-only web pages, live) from a config repo's deploy and status branches; loopback unless given a token",
    )
    .option("--repo <url|dir>", "config repo: a smart-HTTP URL or a local repository", ".")
    .option("--state-dir <dir>", "where a remote repo is mirrored")
    .addOption(new Option("--secrets-dir <dir>", "secrets by name, one file each").env("SCADALINK_SECRETS_DIR"))
    .addOption(
      new Option("--ui-port <port>", "the dashboard's port (0: any free one)").default("8080").env("SCADALINK_UI_PORT"),
    )
    .addOption(
      new Option("--ui-host <address>", "the address it binds: loopback, or any other with --ui-token-secret")
        .default("127.0.0.1")
        .env("SCADALINK_UI_HOST"),
    )
    .addOption(
      new Option("--ui-token-secret <name>", "a bearer token, by secret name: required off loopback").env(
        "SCADALINK_UI_TOKEN_SECRET",
      ),
    )
    .option("--ui-allowed-host <host:port...>", "Host header values to accept besides the bind address and localhost")
    .addOption(new Option("--poll-interval <seconds>", "how often the branches are read").default("5"))
    .addOption(
      new Option(
        "--heartbeat-interval <seconds>",
        "the sites' heartbeat interval: 3 of them without a report is offline",
      )
        .default("60")
        .env("SCADALINK_HEARTBEAT_INTERVAL"),
    )
    .addOption(new Option("--log-level <level>", "log level").default("info").env("SCADALINK_LOG_LEVEL"))
    .action((o) => run(import("./commands/dashboard.js").then((m) => m.dashboardCommand(o))));

  const site = cmd
    .command("site")
    .description(
      "run a site reconciler: pull the deploy branch, apply changed instances atomically, converge the runtime, report to the site's status branch",
    )
    .addOption(new Option("--site <name>", "the site this reconciler runs").env("SCADALINK_SITE"))
    .addOption(
      new Option("--repo <url|dir>", "config repo: a smart-HTTP URL or a local repository path").env("SCADALINK_REPO"),
    )
    .addOption(
      new Option("--state-dir <dir>", "SQLite store, git mirror and lock file (one reconciler per directory)").env(
        "SCADALINK_STATE_DIR",
      ),
    )
    .addOption(
      new Option("--secrets-dir <dir>", "directory of secret files, one per secret name").env("SCADALINK_SECRETS_DIR"),
    )
    .addOption(new Option("--once", "run one loop (fetch, apply, converge, report) and exit").env("SCADALINK_ONCE"))
    .addOption(
      new Option("--poll-interval <seconds>", "how often to poll the deploy branch")
        .default("15")
        .env("SCADALINK_POLL_INTERVAL"),
    )
    .addOption(
      new Option("--heartbeat-interval <seconds>", "how often an unchanged status is re-reported")
        .default("60")
        .env("SCADALINK_HEARTBEAT_INTERVAL"),
    )
    .addOption(
      new Option(
        "--runtime <kind>",
        "opcua: run the instances against their OPC UA servers; none: apply and report packages without devices",
      )
        .choices(["opcua", "none"])
        .default("opcua")
        .env("SCADALINK_RUNTIME"),
    )
    .addOption(
      new Option(
        "--api-port <port>",
        "serve instances, /health, /healthz and /metrics on 127.0.0.1 (0: any free port, written to api.json; off: none)",
      )
        .default("0")
        .env("SCADALINK_API_PORT"),
    )
    .addOption(
      new Option(
        "--inbound-port <port>",
        "serve the site's ApiMethods at POST /api/<method> on this port (0: any free port; off by default)",
      ).env("SCADALINK_INBOUND_PORT"),
    )
    .addOption(
      new Option(
        "--inbound-host <address>",
        "the address the inbound API binds (other systems call it: 0.0.0.0 or one interface's address)",
      )
        .default("127.0.0.1")
        .env("SCADALINK_INBOUND_HOST"),
    )
    .addOption(
      new Option(
        "--ui-port <port>",
        "serve the site's own pages: live values, alarms and events (0: any free port)",
      ).env("SCADALINK_UI_PORT"),
    )
    .addOption(
      new Option("--ui-host <address>", "the pages' bind address: loopback, or any other with --ui-token-secret")
        .default("127.0.0.1")
        .env("SCADALINK_UI_HOST"),
    )
    .addOption(
      new Option("--ui-token-secret <name>", "the pages' bearer token, by secret name").env(
        "SCADALINK_UI_TOKEN_SECRET",
      ),
    )
    .option("--ui-allowed-host <host:port...>", "Host header values the pages accept besides their bind address")
    .addOption(
      new Option("--node <name>", "this node's name, for a site run as a pair (docs/redundancy.md)").env(
        "SCADALINK_NODE",
      ),
    )
    .addOption(
      new Option("--peer <url>", "the other node's peer link, http://host:port (a pair)").env("SCADALINK_PEER"),
    )
    .addOption(
      new Option("--peer-port <port>", "where this node's peer link listens (a pair)").env("SCADALINK_PEER_PORT"),
    )
    .addOption(
      new Option("--peer-host <address>", "the address this node's peer link binds")
        .default("127.0.0.1")
        .env("SCADALINK_PEER_HOST"),
    )
    .addOption(
      new Option("--peer-secret <name>", "the pair's shared secret, by name (both nodes and the witness hold it)").env(
        "SCADALINK_PEER_SECRET",
      ),
    )
    .addOption(
      new Option("--witness <url>", "the witness that decides which node of the pair is active, http://host:port").env(
        "SCADALINK_WITNESS",
      ),
    )
    .addOption(
      new Option("--standby <mode>", "what a standby keeps open: cold (nothing) or warm")
        .choices(["cold", "warm"])
        .default("cold")
        .env("SCADALINK_STANDBY"),
    )
    .addOption(
      new Option("--failover-seconds <n>", "how long the active may be silent before the standby takes over")
        .default("10")
        .env("SCADALINK_FAILOVER_SECONDS"),
    )
    .addOption(
      new Option("--settle <seconds>", "how long a new instance may take to connect and get values before it is judged")
        .default("5")
        .env("SCADALINK_SETTLE"),
    )
    .addOption(
      new Option(
        "--accept-unknown-certificates",
        "trust OPC UA server certificates not in <state-dir>/pki/trusted (keeps them there)",
      ).env("SCADALINK_ACCEPT_UNKNOWN_CERTIFICATES"),
    )
    .addOption(
      new Option(
        "--trusted-keys <file>",
        "apply only deploy commits signed by one of these keys (git allowed_signers format; several lines: rotation)",
      ).env("SCADALINK_TRUSTED_KEYS"),
    )
    .addOption(
      new Option("--deploy-branch <name>", "the deploy branch to read (scadalink.yaml's deployBranch)")
        .default(DEFAULT_DEPLOY_BRANCH)
        .env("SCADALINK_DEPLOY_BRANCH"),
    )
    .addOption(
      new Option(
        "--status-branch-prefix <prefix>",
        "report on <prefix><site> (default: the prefix each release names, scadalink.yaml's statusBranchPrefix); a release that names another is refused",
      ).env("SCADALINK_STATUS_BRANCH_PREFIX"),
    )
    .addOption(
      new Option(
        "--allow-unsigned",
        "without --trusted-keys, apply deploy commits unchecked (labs and tests; by default such a site applies none)",
      ).env("SCADALINK_ALLOW_UNSIGNED"),
    )
    .addOption(
      new Option(
        "--script-hosts <n>",
        "script host processes the instances' scripts are spread over (each runs one script at a time)",
      )
        .default("2")
        .env("SCADALINK_SCRIPT_HOSTS"),
    )
    .addOption(
      new Option("--script-memory <mb>", "heap limit of each script host process, in MB")
        .default("128")
        .env("SCADALINK_SCRIPT_MEMORY"),
    )
    .addOption(
      new Option("--event-max-rows <n>", "event-log rows kept at most (older ones are deleted as new ones come)")
        .default("100000")
        .env("SCADALINK_EVENT_MAX_ROWS"),
    )
    .addOption(
      new Option("--log-level <level>", "log level (JSON logs on stdout)").default("info").env("SCADALINK_LOG_LEVEL"),
    )
    .addHelpText(
      "after",
      [
        "",
        "Secrets: a connection's passwordSecret NAME is read from SCADALINK_SECRET_NAME, else from the file NAME in",
        "--secrets-dir. Their values never appear in logs, status or records.",
        "",
        "Inbound API (--inbound-port): callers send one of the method's key secrets as X-API-Key; plain HTTP, so put",
        "TLS in front with a reverse proxy when it leaves the host. Not served with --once. See docs/inbound-api.md.",
        "",
        "Parked store-and-forward messages: scadalink site parked --state-dir DIR lists them; scadalink site parked",
        "retry ID…|--all and scadalink site parked discard ID… act on them, also while the site runs.",
        "",
        "Exit codes (--once): 0 converged, 1 not converged (a package or the manifest refused, or git unreachable),",
        "2 usage error, the state directory in use by another reconciler, or internal error.",
      ].join("\n"),
    )
    .enablePositionalOptions()
    .action((o) => run(import("./commands/site.js").then((m) => m.siteCommand(o))));

  site
    .command("inspect")
    .description(
      "what a site has applied (revision, lifecycle state, values, alarms) and its audit trail, live from the reconciler running on the state directory (else as last persisted); or its event log",
    )
    .addOption(new Option("--state-dir <dir>", "the reconciler's state directory").env("SCADALINK_STATE_DIR"))
    .option("--instance <name>", "only this instance (with --events: only its events, not the site-wide ones)")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--audit <n>", "audit rows shown in text output", "10")
    .option("--offline", "the persisted values and alarm states, even when a reconciler is running")
    .option("--events", "print the event log (deploys, alarm transitions, script errors, connection changes)")
    .option("--since <time>", "events at or after TIME: ISO 8601 (2026-05-01T08:00:00Z) or how long ago (15m, 2h, 3d)")
    .option("--until <time>", "events before TIME (same forms)")
    .option("--grep <keyword>", "events whose message or kind contains KEYWORD (case-insensitive)")
    .option("--kind <kind>", "events of this kind (deploy, refused, ...)")
    .option("--limit <n>", "the newest N matching events (default 100)")
    .addHelpText(
      "after",
      [
        "",
        "--format json prints { site, deployCommit, instances: [ { name, revisionHash, state, attributes, alarms } ] };",
        "with --events, { site, events: [ { at, kind, instance, message } ] }.",
        "",
        "Exit codes: 0 success, 2 usage error (no site state, an unknown instance, a bad time or number).",
      ].join("\n"),
    )
    .action((o) => run(import("./commands/site.js").then((m) => m.siteInspectCommand(o))));

  const stateDirOption = () =>
    new Option("--state-dir <dir>", "the reconciler's state directory").env("SCADALINK_STATE_DIR");
  const parked = site
    .command("parked")
    .description(
      "the site's parked store-and-forward messages (oldest first, never a payload) and its backlog per target, also while the site runs",
    )
    .addOption(stateDirOption())
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--limit <n>", "parked messages listed at most", "1000")
    .addHelpText(
      "after",
      [
        "",
        "--format json prints { site, total, targets: [ { kind, target, queued, parked, oldestQueuedAt, bytes } ],",
        "messages: [ { id, kind, target, label, instance, attempts, lastError, enqueuedAt, lastAttemptAt, parkedAt } ] }.",
        "",
        "Exit codes: 0 success, 2 usage error (no site state).",
      ].join("\n"),
    )
    .enablePositionalOptions()
    .action((o) => run(import("./commands/parked.js").then((m) => m.parkedListCommand(o))));
  for (const action of ["retry", "discard"] as const) {
    const c = parked
      .command(action)
      .description(
        action === "retry"
          ? "queue parked messages again, attempts counted from zero, ahead of what was enqueued after them"
          : "delete parked messages (queued ones are never discarded)",
      )
      .argument("[ids...]", "message ids, as scadalink site parked lists them")
      .addOption(stateDirOption());
    if (action === "retry") c.option("--all", "every parked message");
    c.addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
      .option("--wait <seconds>", "how long to wait for a running site to do it (then the request is withdrawn)", "30")
      .addHelpText(
        "after",
        [
          "",
          "With no site running on the state directory the command acts on the store itself (holding the site's lock",
          "meanwhile); with one running it asks that site, which acts within a second.",
          "",
          "Exit codes: 0 every message acted on, 1 some ids unknown or not parked (the others were acted on) or the",
          "running site did not answer in time, 2 usage error.",
        ].join("\n"),
      )
      .action((ids: string[], o) =>
        run(import("./commands/parked.js").then((m) => m.parkedActCommand(action, ids, o))),
      );
  }

  site
    .command("witness")
    .description(
      "run the witness of site pairs: one lease per site (holder, epoch, expiry) in its own SQLite file, asked for by the pair's nodes over signed HTTP",
    )
    .addOption(
      new Option("--port <port>", "the port to listen on (0: any free port, logged)").env("SCADALINK_WITNESS_PORT"),
    )
    .addOption(
      new Option(
        "--host <address>",
        "the address to bind (both nodes of each pair reach it: 0.0.0.0 or one interface's)",
      )
        .default("127.0.0.1")
        .env("SCADALINK_WITNESS_HOST"),
    )
    .addOption(new Option("--peer-secret <name>", "the pairs' shared secret, by name").env("SCADALINK_PEER_SECRET"))
    .addOption(
      new Option("--state-dir <dir>", "the witness's own directory (witness.db, the leases)").env(
        "SCADALINK_STATE_DIR",
      ),
    )
    .addOption(
      new Option("--secrets-dir <dir>", "directory of secret files, one per secret name").env("SCADALINK_SECRETS_DIR"),
    )
    .addOption(
      new Option("--log-level <level>", "log level (JSON logs on stdout)").default("info").env("SCADALINK_LOG_LEVEL"),
    )
    .addHelpText(
      "after",
      [
        "",
        "The secret NAME is read from SCADALINK_SECRET_NAME, else from the file NAME in --secrets-dir; its value is",
        "never logged. Requests are HMAC-signed by a node of the pair (docs/redundancy.md); others get 401.",
        "",
        "Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage error (a missing flag or secret, the port in use).",
      ].join("\n"),
    )
    .action((o) => run(import("./commands/witness.js").then((m) => m.witnessCommand(o))));

  cmd
    .command("controller")
    .description(
      "run the controller: compile every commit on main, write the deploy branch, evaluate batches, report to GitHub",
    )
    .addOption(
      new Option("--repo <url|dir>", "config repo: a smart-HTTP URL or a local repository path").env("SCADALINK_REPO"),
    )
    .addOption(
      new Option("--once", "process the current head of main (and pending batches) and exit").env("SCADALINK_ONCE"),
    )
    .addOption(
      new Option("--poll-interval <seconds>", "how often to poll main").default("30").env("SCADALINK_POLL_INTERVAL"),
    )
    .addOption(
      new Option("--webhook-port <port>", "serve /webhook, /healthz, /readyz and /metrics on this port").env(
        "SCADALINK_WEBHOOK_PORT",
      ),
    )
    .addOption(
      new Option("--host <address>", "address the HTTP endpoints listen on")
        .default("127.0.0.1")
        .env("SCADALINK_HTTP_HOST"),
    )
    .addOption(
      new Option(
        "--github-repo <owner/name>",
        "report to this GitHub repository (token in SCADALINK_GITHUB_TOKEN)",
      ).env("SCADALINK_GITHUB_REPO"),
    )
    .addOption(
      new Option("--state-dir <dir>", "where a remote repo is mirrored (default: $XDG_STATE_HOME/scadalink/…)").env(
        "SCADALINK_STATE_DIR",
      ),
    )
    .addOption(
      new Option("--main-branch <name>", "the branch engineers merge to")
        .default(DEFAULT_MAIN_BRANCH)
        .env("SCADALINK_MAIN_BRANCH"),
    )
    .addOption(
      new Option(
        "--signing-key <file>",
        "sign every deploy commit with this Ed25519 key (ssh-keygen -t ed25519 -N ''): sites verify it",
      ).env("SCADALINK_SIGNING_KEY"),
    )
    .addOption(
      new Option("--watch", "local repository: reconcile whenever its branches change (development)").env(
        "SCADALINK_WATCH",
      ),
    )
    .addOption(
      new Option(
        "--ui-port <port>",
        "serve the fleet dashboard on this port too (0: any free one; off by default)",
      ).env("SCADALINK_UI_PORT"),
    )
    .addOption(
      new Option("--ui-host <address>", "the dashboard's bind address: loopback, or any other with --ui-token-secret")
        .default("127.0.0.1")
        .env("SCADALINK_UI_HOST"),
    )
    .addOption(
      new Option("--ui-token-secret <name>", "the dashboard's bearer token, by secret name").env(
        "SCADALINK_UI_TOKEN_SECRET",
      ),
    )
    .option("--ui-allowed-host <host:port...>", "Host header values the dashboard accepts besides its bind address")
    .addOption(
      new Option("--secrets-dir <dir>", "secrets by name, one file each (the dashboard's token)").env(
        "SCADALINK_SECRETS_DIR",
      ),
    )
    .addOption(
      new Option("--heartbeat-interval <seconds>", "the sites' heartbeat interval, for the dashboard's offline marks")
        .default("60")
        .env("SCADALINK_HEARTBEAT_INTERVAL"),
    )
    .addOption(
      new Option("--log-level <level>", "log level (JSON logs on stdout)").default("info").env("SCADALINK_LOG_LEVEL"),
    )
    .addHelpText(
      "after",
      [
        "",
        "Secrets come only from the environment, never from arguments:",
        "  SCADALINK_WEBHOOK_SECRET   the GitHub webhook secret (X-Hub-Signature-256); without it /webhook is off",
        "  SCADALINK_GITHUB_TOKEN     token for check runs, pull-request comments and commit statuses",
        "  SCADALINK_GITHUB_API_URL   GitHub REST API base URL (default https://api.github.com)",
        "  SCADALINK_GITHUB_THROTTLE  off: no client-side spacing of GitHub writes (default on)",
        "",
        "Exit codes (--once): 0 done, 1 the head of main does not compile (nothing released), 2 usage or git error.",
      ].join("\n"),
    )
    .action((o) => run(import("./commands/controller.js").then((m) => m.controllerCommand(o))));

  return cmd;
}

/** Runs the CLI; resolves to the exit code: 0 success, 1 validation errors, 2 usage or internal error. */
export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  try {
    await program((p) => {
      pending = p;
    }).parseAsync(argv, { from: "user" });
    return pending ? await pending : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every other parse problem is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`scadalink: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(errorReport(e, wantsDebug(argv)));
    return 2;
  }
}
