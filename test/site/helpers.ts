import { join } from "node:path";
import type { Logger } from "pino";
import { Controller } from "../../controller/controller.js";
import type { SigningKey } from "../../controller/git/sshsig.js";
import { packageRuntime, Reconciler, type ReconcilerConfig } from "../../site-reconciler/reconciler.js";
import { AUTO, DEPLOY, git, quiet, tempDir } from "../controller/helpers.js";
import { type GitServer, seedRepo, type WorkClone, workClone } from "../helpers/git-server.js";
import { TEST_RELEASE } from "../helpers/release-key.js";

export { AUTO, DEPLOY, git, quiet, tempDir };
export const SITE = "plant-north";
export const STATUS = `scadalink/status/${SITE}`;

export interface Fleet {
  name: string;
  url: string;
  bare: string;
  clone: WorkClone;
  controller: Controller;
  /** Runs one controller pass; returns the deploy branch's head. */
  deploy(): Promise<string>;
  /** Commits files on main, pushes, and deploys. */
  change(files: Record<string, string | undefined>, message?: string): Promise<string>;
}

let counter = 0;

/**
 * A config repo on the server, seeded with files and deployed once by a controller. Its deploy commits are signed
 * with the test run's release key (TEST_RELEASE), or with signingKey; `signingKey: undefined` leaves them unsigned.
 * deployBranch: the one the repo's scadalink.yaml names.
 */
export async function fleet(
  server: GitServer,
  files: Record<string, string | undefined> = AUTO,
  opts: { signingKey?: SigningKey; deployBranch?: string } = {},
): Promise<Fleet> {
  const name = `site${++counter}-${process.pid}`;
  const { clone } = await seedRepo(server, name, files as Record<string, string>);
  const url = server.repoUrl(name);
  const signingKey = "signingKey" in opts ? opts.signingKey : TEST_RELEASE.key;
  const controller = await Controller.create(
    { repo: url, stateDir: tempDir("ctrl"), mainBranch: "main", pollIntervalMs: 3_600_000, signingKey },
    quiet,
  );
  const bare = join(server.root, `${name}.git`);
  const f: Fleet = {
    name,
    url,
    bare,
    clone,
    controller,
    async deploy() {
      await controller.reconcile();
      return git(bare, "rev-parse", `refs/heads/${opts.deployBranch ?? DEPLOY}`);
    },
    async change(edit, message = "change") {
      clone.write(edit);
      clone.commit(message);
      clone.push();
      return f.deploy();
    },
  };
  await f.deploy();
  return f;
}

/**
 * A reconciler for the site on a fresh (or given) state directory; logs go nowhere unless asked. It trusts the
 * test run's release key unless extra gives trustedKeys or allowUnsigned.
 */
export function reconciler(
  url: string,
  extra: Partial<ReconcilerConfig> = {},
  log: Logger = quiet,
): Promise<Reconciler> {
  return Reconciler.create(
    {
      site: SITE,
      repo: url,
      stateDir: tempDir("site"),
      pollIntervalMs: 3_600_000,
      heartbeatMs: 3_600_000,
      env: {},
      // The loop's own tests run without devices; test/site/runtime*.test.ts run the OPC UA runtime.
      runtime: packageRuntime,
      ...("trustedKeys" in extra || extra.allowUnsigned ? {} : { trustedKeys: TEST_RELEASE.trusted }),
      ...extra,
    },
    log,
  );
}

/**
 * Edits the deploy branch directly and pushes it; returns the new head. The commit is signed with the test run's
 * release key, as a broken tool holding the key (or a stolen key) would sign it, so the checks after the
 * signature's are what is tested; `unsigned` leaves it unsigned (test/site/provenance.test.ts has the forgeries).
 */
export async function editDeploy(
  server: GitServer,
  name: string,
  edit: (c: WorkClone) => void,
  opts: { force?: boolean; unsigned?: boolean } = {},
): Promise<string> {
  const c = await workClone(server, name, join(tempDir("deploy-edit"), name));
  c.git("checkout", "-q", "-B", DEPLOY, `origin/${DEPLOY}`);
  edit(c);
  c.git("add", "-A");
  c.git(
    ...(opts.unsigned ? [] : TEST_RELEASE.gitSign),
    "commit",
    "-q",
    "--allow-empty",
    opts.unsigned ? "--no-gpg-sign" : "-S",
    "-m",
    "edited by hand",
  );
  c.push(DEPLOY, opts);
  return c.head();
}

/** The JSON of a file on a branch of the bare repo. */
export function show<T = Record<string, unknown>>(bare: string, ref: string, path: string): T {
  return JSON.parse(git(bare, "show", `${ref}:${path}`)) as T;
}
