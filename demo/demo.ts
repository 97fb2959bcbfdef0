import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { compileFiles } from "../controller/compiler/compile.js";
import { Controller } from "../controller/controller.js";
import { Repo } from "../controller/git/repo.js";
import { parseAllowedSigners, publicKeyLine, readSigningKey } from "../controller/git/sshsig.js";
import { packageRoot } from "../controller/package-root.js";
import { readWorkingTree } from "../controller/sources/working-tree.js";
import { InstancePages } from "../dashboard/instance.js";
import { startDashboard } from "../dashboard/server.js";
import { readFleet } from "../dashboard/source.js";
import type { SiteManifest, SiteStatus } from "../schemas/types.js";
import type { InspectInstance } from "../site-reconciler/api/server.js";
import { Reconciler } from "../site-reconciler/reconciler.js";
import { fleetTable, type TableInstance } from "./fleet-table.js";
import { git, gitAsync, startGitServer } from "./git-server.js";
import {
  type DemoIntegrations,
  IntegrationsNarrator,
  integrationDocuments,
  MES_KEY_SECRET,
  patchPump,
  patchReporter,
  patchValve,
  REPORT_EVERY_MS,
  SMTP_PASSWORD_SECRET,
  startMes,
  startSmtp,
} from "./integrations.js";
import { DemoPair } from "./pair.js";
import { type Plc, startPlc } from "./plc.js";
import { type FiringTag, firingTag, type SimTag, simulatedTags, valueAt } from "./simulate.js";

export interface DemoOptions {
  /** Seconds to run before stopping by itself; undefined: until stopped. */
  durationS?: number;
  /** Where the demo writes its narration and the fleet table. */
  out: NodeJS.WritableStream;
  /** Redraw the table in place (a terminal) instead of printing it at each step. */
  tty: boolean;
  log: Logger;
  /** Resolves when the user asks to stop (Ctrl-C). */
  stopped: Promise<void>;
  /** Keep every file (repos, state directories) here instead of a temporary directory removed at the end. */
  dir?: string;
  /** The password of the simulated PLCs' user accounts (default: random per run). */
  password?: string;
  /**
   * Run PAIR_SITE as an active/standby pair of `scadalink site` processes of this built CLI (its script path), and
   * SIGKILL its active partway.
   */
  pair?: { script: string };
}

const POLL_MS = 2000;
const TICK_MS = 1000;
/** The alarm the demo makes fire is high from FIRE_FROM_S to FIRE_TO_S of every FIRE_EVERY_S seconds. */
const FIRE_EVERY_S = 30;
const FIRE_FROM_S = 10;
const FIRE_TO_S = 20;
const NEXT_BATCH = "demo-wave-2";
/** MES is down for OUTAGE_S seconds from OUTAGE_FROM_S (or 3 s after its first count, when that is later). */
const OUTAGE_FROM_S = 15;
const OUTAGE_S = 10;
/** The integrations are narrated at this pace, so that the drain's time is measured finer than a tick. */
const NARRATE_MS = 250;
/** Lines of alarms and integrations kept under the table on a terminal. */
const RECENT = 8;
/** The pump whose script reports its production count to MES (the other pumps have no MES line). */
const REPORTER = { site: "ps-hilltop", set: "booster-pumps", instance: "P1", line: "HT-P-1" };
/** The site run as a pair with --pair: not the reporter's, whose counts the integrations narration tallies. */
const PAIR_SITE = "res-northfield";
const PAIR_FAILOVER_S = 3;
/** After the MES outage has drained (15–26 s) and before the demo's 60 s end, with room for the takeover. */
const PAIR_KILL_AT_S = 35;

/**
 * `scadalink demo`: the whole system on loopback. A git smart-HTTP server holds a config repo made from
 * config-repo-template/ (endpoints pointed at simulated PLCs), the controller deploys it, one site reconciler per site
 * converges against the PLCs, and a new batch then rolls out the sites the template's canary batch left pending.
 * Meanwhile the integrations work against an embedded SMTP server and MES (integrations.ts): the firing alarm emails
 * the operators, a pump reports counts through store-and-forward, and an MES outage shows its backlog grow and drain.
 */
export async function runDemo(o: DemoOptions): Promise<number> {
  const tmp = o.dir ?? mkdtempSync(join(tmpdir(), "scadalink-demo-"));
  mkdirSync(tmp, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = o.dir ? [] : [() => rmSync(tmp, { recursive: true, force: true })];
  const say = (line: string) => o.out.write(`${line}\n`);
  const started = Date.now();
  const deadline = o.durationS === undefined ? undefined : started + o.durationS * 1000;
  let stopping = false;
  void o.stopped.then(() => {
    stopping = true;
  });
  const done = () => stopping || (deadline !== undefined && Date.now() >= deadline);
  try {
    // The config repo: the template, with every endpoint on a simulated PLC and a password per username account.
    const repoDir = join(tmp, "config");
    cpSync(join(packageRoot(), "config-repo-template"), repoDir, { recursive: true });
    // Secrets reach the sites by name only, as on a plant: SCADALINK_SECRET_<NAME> in their environment.
    const env: NodeJS.ProcessEnv = {};

    // The integrations: an MES and an SMTP server on loopback, each with a password made for this run.
    const mesKey = randomBytes(12).toString("hex");
    const smtpPassword = randomBytes(12).toString("hex");
    env[`SCADALINK_SECRET_${MES_KEY_SECRET}`] = mesKey;
    env[`SCADALINK_SECRET_${SMTP_PASSWORD_SECRET}`] = smtpPassword;
    const mes = await startMes(mesKey);
    cleanups.push(() => mes.close());
    const smtp = await startSmtp("scada", smtpPassword);
    cleanups.push(() => smtp.close());
    const integrations: DemoIntegrations = {
      mesUrl: mes.baseUrl,
      smtpPort: smtp.port,
      smtpUser: "scada",
      reporter: REPORTER,
    };
    mkdirSync(join(repoDir, "integrations"), { recursive: true });
    writeFileSync(join(repoDir, "integrations", "demo.yaml"), integrationDocuments(integrations));
    const patch = (file: string, fn: (text: string) => string) =>
      writeFileSync(join(repoDir, file), fn(readFileSync(join(repoDir, file), "utf8")));
    patch("templates/valve.yaml", patchValve);
    patch("templates/equipment.yaml", patchPump);
    patch("instances/ps-hilltop/station.yaml", (t) => patchReporter(t, REPORTER));

    const compiled = compileFiles(await readWorkingTree(repoDir));
    if (compiled.errorCount)
      throw new Error(
        `the demo's config repo does not compile: ${compiled.diagnostics
          .filter((d) => d.severity === "error")
          .map((d) => `${d.file}:${d.line} ${d.message} (${d.rule})`)
          .join("; ")}`,
      );
    const packages = compiled.packages();
    const sites = [...new Set(packages.map((p) => p.instance.site))].sort();
    say(
      `ScadaLink demo: ${packages.length} instances at ${sites.length} sites (${sites.join(", ")}), all on 127.0.0.1`,
    );

    const plcs: Plc[] = [];
    const sims: { plc: Plc; tags: SimTag[] }[] = [];
    let firing: { plc: Plc; tag: FiringTag } | undefined;
    cleanups.push(async () => {
      for (const p of plcs) await p.stop().catch(() => undefined);
    });
    for (const site of sites) {
      const sitePackages = packages.filter((p) => p.instance.site === site);
      const tags = simulatedTags(sitePackages);
      const info = compiled.index.sites.get(site)!;
      const file = info.doc.src.path;
      let text = readFileSync(join(repoDir, file), "utf8");
      for (const c of info.connections.values()) {
        const users: Record<string, string> = {};
        if (c.auth?.type === "username") {
          const password = o.password ?? randomBytes(12).toString("hex");
          users[c.auth.username] = password;
          env[`SCADALINK_SECRET_${c.auth.passwordSecret}`] = password;
        }
        const connTags = tags.get(c.name) ?? [];
        const plc = await startPlc({
          variables: connTags.map((t) => ({ id: t.id, dataType: t.dataType, value: valueAt(t, 0) })),
          users: Object.keys(users).length ? users : undefined,
          pki: join(tmp, "plc-pki", `${site}-${c.name}`),
        });
        plcs.push(plc);
        sims.push({ plc, tags: connTags });
        text = text.replace(c.endpoint, plc.endpoint);
        say(`  simulated PLC ${site}/${c.name}: ${plc.endpoint}, ${connTags.length} tags`);
        const f = firing ? undefined : firingTag(sitePackages, new Map([[c.name, connTags]]));
        if (f) firing = { plc, tag: f };
      }
      writeFileSync(join(repoDir, file), text);
    }
    if (firing)
      say(
        `  ${firing.tag.instance}'s alarm ${firing.tag.alarm} fires for ${FIRE_TO_S - FIRE_FROM_S} s of every ${FIRE_EVERY_S} s`,
      );
    say(
      `  embedded SMTP server: 127.0.0.1:${smtp.port} (NotificationList Operators; login scada, password the secret ${SMTP_PASSWORD_SECRET}, new each run); valves' OverTravel alarms notify it`,
    );
    say(
      `  embedded MES: ${mes.baseUrl} (ExternalSystem Mes, key the secret ${MES_KEY_SECRET}); ${REPORTER.site}/${REPORTER.instance} reports a production count every ${REPORT_EVERY_MS / 1000} s with cachedCall`,
    );

    // Values move: every tag waves inside its alarm-free band; the firing tag goes high now and then.
    const tick = setInterval(() => {
      const s = (Date.now() - started) / 1000;
      for (const { plc, tags } of sims) for (const t of tags) if (t.steady === null) plc.set(t.id, valueAt(t, s));
      if (firing) {
        const high = s % FIRE_EVERY_S >= FIRE_FROM_S && s % FIRE_EVERY_S < FIRE_TO_S;
        firing.plc.set(firing.tag.id, high ? firing.tag.high : firing.tag.normal);
      }
    }, TICK_MS);
    cleanups.push(() => clearInterval(tick));

    // The git server with the repo as its first commit on main.
    const bare = join(tmp, "git", "plant.git");
    mkdirSync(bare, { recursive: true });
    git(bare, "init", "-q", "--bare", "-b", "main");
    git(repoDir, "init", "-q", "-b", "main");
    git(repoDir, "add", "-A");
    git(repoDir, "commit", "-q", "-m", "Plant configuration from the template");
    const server = await startGitServer(join(tmp, "git"));
    cleanups.push(() => server.close());
    const url = server.url("plant.git");
    await gitAsync(repoDir, "push", "-q", url, "main");
    say(`  config repo: ${url}`);

    // Signed releases, as a plant would run them: a release key made for this run; every site trusts only it.
    const { privateKey } = generateKeyPairSync("ed25519");
    const signingKey = readSigningKey(privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const trustedKeys = parseAllowedSigners(`release@demo namespaces="git" ${publicKeyLine(signingKey)}\n`);
    say(`  release key: ${publicKeyLine(signingKey).slice(0, 40)}… (deploy commits signed, sites verify)`);
    const controller = await Controller.create(
      { repo: url, stateDir: join(tmp, "controller"), mainBranch: "main", pollIntervalMs: POLL_MS, signingKey },
      o.log.child({ component: "controller" }),
    );
    await controller.start();
    cleanups.push(() => controller.stop());
    // The fleet dashboard, on loopback, from the same branches the sites and the controller use.
    const dashRepo = await Repo.open(url, join(tmp, "dashboard"));
    const dashboard = await startDashboard({
      read: (now) => readFleet(dashRepo, { heartbeatMs: 60_000, now }),
      instances: new InstancePages(dashRepo),
      port: 0,
      pollMs: POLL_MS,
      log: o.log.child({ component: "dashboard" }),
    });
    cleanups.push(() => dashboard.stop());
    say(`  dashboard: ${dashboard.url} (the fleet, live: open it in a browser)`);
    const reconcilers = new Map<string, Reconciler>();
    // What the deploy branch wants per site (manifests, read once per tick), and, for the pair, the results its
    // status branch reports (its read API has values, not results).
    const desired = new Map<string, Map<string, string>>();
    const pairResults = new Map<string, { revisionHash: string | null; result: TableInstance["result"] }>();
    const flowing = (site: string, running: readonly InspectInstance[]) => {
      const want = desired.get(site);
      const byName = new Map(running.map((i) => [i.name, i]));
      return (
        !!want &&
        want.size > 0 &&
        [...want].every(([n, h]) => {
          const i = byName.get(n);
          return i?.revisionHash === h && i.attributes.every((a) => a.quality === "good");
        })
      );
    };
    let pair: DemoPair | undefined;
    if (o.pair && sites.includes(PAIR_SITE)) {
      // The nodes read the release key from a file, as a plant's would: the same allowed_signers line.
      const keysFile = join(tmp, "release-keys");
      writeFileSync(keysFile, `release@demo namespaces="git" ${publicKeyLine(signingKey)}\n`);
      pair = await DemoPair.start({
        site: PAIR_SITE,
        script: o.pair.script,
        repo: url,
        dir: tmp,
        trustedKeysFile: keysFile,
        env,
        pollMs: POLL_MS,
        failoverSeconds: PAIR_FAILOVER_S,
        killAtS: PAIR_KILL_AT_S,
        started,
        flowing: (running) => flowing(PAIR_SITE, running),
      });
      const p = pair;
      cleanups.push(() => p.stop());
      say(`  ${pair.intro()}${o.dir ? `; their logs in ${join(tmp, "logs")}` : ""}`);
    }
    /** A site's running instances: its runtime's, or for the pair the active node's last answer. */
    const running = (site: string): readonly TableInstance[] => {
      if (pair && site === PAIR_SITE)
        return (pair.answer?.instances ?? []).map((i) => {
          const r = pairResults.get(i.name);
          return { ...i, result: r?.revisionHash === i.revisionHash ? r.result : null };
        });
      return reconcilers.get(site)?.view?.instances() ?? [];
    };
    for (const site of sites) {
      if (pair && site === PAIR_SITE) continue;
      const r = await Reconciler.create(
        {
          site,
          repo: url,
          stateDir: join(tmp, "sites", site),
          pollIntervalMs: POLL_MS,
          heartbeatMs: 60_000,
          env,
          acceptUnknownCertificates: true,
          trustedKeys,
        },
        o.log.child({ component: "site", site }),
      );
      reconcilers.set(site, r);
      r.start();
    }
    cleanups.push(async () => {
      for (const r of reconcilers.values()) await r.stop();
    });

    // The integrations at work, read from the sites themselves: their store-and-forward and the reporter's count.
    const narrator = new IntegrationsNarrator({
      mes,
      smtp,
      outageFromS: OUTAGE_FROM_S,
      outageS: OUTAGE_S,
      backlog: () => {
        let queued = 0;
        let parked = 0;
        for (const r of reconcilers.values())
          for (const t of r.storeAndForwardEngine.status())
            if (t.kind === "externalSystem" && t.name === "Mes") {
              queued += t.queued;
              parked += t.parked;
            }
        return { queued, parked };
      },
      sent: () => {
        const i = reconcilers
          .get(REPORTER.site)
          ?.view?.instances()
          .find((x) => x.name === REPORTER.instance);
        const v = i?.attributes.find((a) => a.path === "ProductionCount")?.value;
        return typeof v === "number" ? v : undefined;
      },
    });

    // The table, from the deploy branch's manifests (desired) and the sites' runtimes (running).
    /** Reads the manifests once per tick; everything else that tick works from `desired`. */
    const readDesired = () => {
      try {
        for (const site of sites) {
          const m = JSON.parse(git(bare, "show", `scadalink/deploy:sites/${site}/manifest.json`)) as SiteManifest;
          desired.set(site, new Map(Object.entries(m.instances).flatMap(([n, h]) => (h ? [[n, h]] : []))));
        }
      } catch {
        // No deploy branch yet.
      }
      if (pair)
        try {
          const s = JSON.parse(git(bare, "show", `scadalink/status/${PAIR_SITE}:status.json`)) as SiteStatus;
          pairResults.clear();
          for (const [n, i] of Object.entries(s.instances)) if (i) pairResults.set(n, i);
        } catch {
          // No status reported yet.
        }
    };
    const table = () =>
      fleetTable(sites.map((site) => ({ site, desired: desired.get(site) ?? new Map(), running: running(site) })));
    const converged = (site: string) =>
      flowing(site, running(site)) &&
      running(site).every((i) => !desired.get(site)?.has(i.name) || i.result === "pass");
    // Alarm transitions as they happen: printed as lines, or (on a terminal) the last few under the table.
    const activeBefore = new Set<string>();
    const recent: string[] = [];
    const transitions = () => {
      const now = new Set<string>();
      for (const site of sites)
        for (const i of running(site)) for (const a of i.alarms) if (a.active) now.add(`${site}/${i.name} ${a.path}`);
      const at = `${Math.round((Date.now() - started) / 1000)} s`;
      const lines = [
        ...[...now].filter((k) => !activeBefore.has(k)).map((k) => `alarm ${k} active (${at})`),
        ...[...activeBefore].filter((k) => !now.has(k)).map((k) => `alarm ${k} back to normal (${at})`),
      ];
      activeBefore.clear();
      for (const k of now) activeBefore.add(k);
      if (!o.tty) for (const l of lines) say(l);
      recent.push(...lines);
      recent.splice(0, Math.max(0, recent.length - RECENT));
    };
    const narrate = setInterval(() => {
      const lines = [...narrator.tick((Date.now() - started) / 1000), ...(pair?.tick() ?? [])];
      if (!o.tty) for (const l of lines) say(l);
      recent.push(...lines);
      recent.splice(0, Math.max(0, recent.length - RECENT));
    }, NARRATE_MS);
    cleanups.push(() => clearInterval(narrate));
    let drawn = 0;
    const draw = (title: string) => {
      const lines = [
        `── ${title} (${Math.round((Date.now() - started) / 1000)} s)`,
        ...table(),
        ...(o.tty ? recent : []),
      ];
      if (o.tty && drawn) o.out.write(`\x1b[${drawn}A\x1b[J`);
      o.out.write(`${lines.join("\n")}\n`);
      drawn = o.tty ? lines.length : 0;
    };
    /** Redraws (on a terminal) until the condition holds or the demo is stopped; prints the table once it holds. */
    const phase = async (title: string, until: () => boolean): Promise<boolean> => {
      for (let n = 0; !done(); n++) {
        readDesired();
        transitions();
        const ok = until();
        if (o.tty || ok) draw(ok ? `${title}: done` : title);
        // Not a terminal: a progress line (the sites' summaries) every few seconds while work is under way.
        else if (n % 3 === 0)
          say(
            `… ${title} (${Math.round((Date.now() - started) / 1000)} s): ${table()
              .filter((l) => !l.startsWith(" "))
              .join("; ")}`,
          );
        if (ok) {
          drawn = 0;
          return true;
        }
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
      return false;
    };

    say("");
    const released = (site: string) => (desired.get(site)?.size ?? 0) > 0;
    const first = await phase(
      "first deploy: the canary batch releases ps-hilltop",
      () => sites.filter(released).length > 0 && sites.filter(released).every(converged),
    );
    if (first && !done()) {
      // A change, as an engineer would merge it: a new batch releasing the sites still pending.
      const pending = sites.filter((s) => !released(s));
      writeFileSync(
        join(repoDir, "batches", `${NEXT_BATCH}.yaml`),
        [
          "kind: Batch",
          `name: ${NEXT_BATCH}`,
          "description: The rest of the district, after the canary.",
          "select:",
          "  match:",
          ...pending.map((s) => `    - { site: ${s} }`),
          "phase: execute",
          "after: [2026-04-13-hilltop-canary]",
          "failurePolicy: { maxFailed: 0 }",
          "",
        ].join("\n"),
      );
      git(repoDir, "add", "-A");
      git(repoDir, "commit", "-q", "-m", `Batch ${NEXT_BATCH}: release ${pending.join(", ")}`);
      await gitAsync(repoDir, "push", "-q", url, "main");
      say(`\nmerged batch ${NEXT_BATCH} on main: releasing ${pending.join(", ")}`);
      await phase(`batch ${NEXT_BATCH}: the change flows to the sites`, () => sites.every(converged));
    }
    // Live values from here on, until the duration is up or Ctrl-C.
    for (let n = 0; !done(); n++) {
      transitions();
      if (o.tty || n % 10 === 0) {
        readDesired();
        draw("live");
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    return 0;
  } finally {
    say("\nstopping: sites, controller, git server, simulated PLCs, SMTP server, MES");
    for (const c of cleanups.reverse()) await c();
  }
}
