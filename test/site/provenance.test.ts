import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revisionHash } from "../../controller/contract/hash.js";
import { Controller } from "../../controller/controller.js";
import { parseAllowedSigners, readSigningKey, type SigningKey } from "../../controller/git/sshsig.js";
import type { SiteManifest, SiteStatus } from "../../schemas/types.js";
import type { Reconciler } from "../../site-reconciler/reconciler.js";
import { type GitServer, startGitServer, type WorkClone, workClone } from "../helpers/git-server.js";
import { startPlc } from "../helpers/plc.js";
import { AUTO, DEPLOY, type Fleet, fleet, git, quiet, reconciler, SITE, STATUS, show, tempDir } from "./helpers.js";
import { attr, liveReconciler, pumpRepo, pumpVariables, until } from "./runtime-helpers.js";

// Signed releases (section 10) on a real git server: keys made by ssh-keygen, forgeries made with native git as an
// attacker with push access to the deploy branch would make them, and the signatures checked by git itself.

let server: GitServer;
const keysDir = tempDir("keys");
interface Key {
  file: string;
  key: SigningKey;
  /** The allowed_signers line for this key. */
  line: string;
}
function keygen(name: string): Key {
  const file = join(keysDir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  const pub = readFileSync(`${file}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  return { file, key: readSigningKey(readFileSync(file, "utf8")), line: `${name}@scadalink namespaces="git" ${pub}` };
}
const trusted = (...keys: Key[]) => parseAllowedSigners(keys.map((k) => k.line).join("\n"));
let A: Key;
let B: Key;
let attacker: Key;

beforeAll(async () => {
  server = await startGitServer();
  A = keygen("release-2026");
  B = keygen("release-2027");
  attacker = keygen("attacker");
});
afterAll(async () => {
  await server.stop();
});

const MANIFEST = `sites/${SITE}/manifest.json`;
const SITE_JSON = `sites/${SITE}/site.json`;
const pkgPath = (name: string) => `sites/${SITE}/instances/${name}.json`;
const IDENTITY = ["-c", "user.name=mallory", "-c", "user.email=mallory@example.invalid"];

/** Commits an edit of the deploy branch with native git, unsigned or signed with a key, and pushes it. */
async function forge(f: Fleet, edit: (c: WorkClone, show: (path: string) => string) => void, signWith?: Key) {
  const c = await workClone(server, f.name, join(tempDir("forge"), f.name));
  c.git("checkout", "-q", "-B", DEPLOY, `origin/${DEPLOY}`);
  edit(c, (path) => c.git("show", `HEAD:${path}`));
  c.git("add", "-A");
  const sign = signWith ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${signWith.file}`] : [];
  c.git(
    ...IDENTITY,
    ...sign,
    "commit",
    "-q",
    "--allow-empty",
    ...(signWith ? ["-S"] : ["--no-gpg-sign"]),
    "-m",
    "release",
  );
  c.push(DEPLOY);
  return c.head();
}

/** The forgeries of the issue: each rewritten consistently, so every hash check of today passes. */
const FORGERIES: Record<string, (c: WorkClone, show: (path: string) => string) => void> = {
  "a package's code changed and its hash recomputed": (c, read) => {
    const pkg = JSON.parse(read(pkgPath("Pump07")));
    pkg.attributes[0].value = 9999;
    pkg.revisionHash = revisionHash(pkg);
    const m = JSON.parse(read(MANIFEST)) as SiteManifest;
    m.instances.Pump07 = pkg.revisionHash;
    c.write({ [pkgPath("Pump07")]: JSON.stringify(pkg), [MANIFEST]: JSON.stringify(m) });
  },
  "site.json pointed at another endpoint": (c, read) => {
    const site = JSON.parse(read(SITE_JSON));
    for (const d of site.dataConnections ?? []) d.endpoint = "opc.tcp://127.0.0.1:1/attacker";
    site.revisionHash = revisionHash(site);
    const m = JSON.parse(read(MANIFEST)) as SiteManifest;
    m.siteRevisionHash = site.revisionHash;
    c.write({ [SITE_JSON]: JSON.stringify(site), [MANIFEST]: JSON.stringify(m) });
  },
  "allowEmpty with an empty manifest": (c, read) => {
    const m = JSON.parse(read(MANIFEST)) as SiteManifest;
    m.instances = {};
    m.allowEmpty = true;
    c.write({ [MANIFEST]: JSON.stringify(m) });
  },
};

/** What a refusal must leave: the previous release applied, and the refusal reported on the status branch. */
function expectRefused(site: Reconciler, f: Fleet, before: Map<string, unknown>, reason: RegExp) {
  expect(new Map([...site.store.applied()].map(([n, a]) => [n, a.revisionHash]))).toEqual(before);
  const status = show<SiteStatus>(f.bare, STATUS, "status.json");
  expect(status.health.sync).toMatchObject({ state: "refused" });
  expect(status.health.sync?.message).toMatch(/^artifact-mismatch: release refused/);
  expect(status.health.sync?.message).toMatch(reason);
  expect(site.store.events({ limit: 5 }).some((e) => e.kind === "refused" && reason.test(e.message))).toBe(true);
}
const revisions = (site: Reconciler) => new Map([...site.store.applied()].map(([n, a]) => [n, a.revisionHash]));

describe("signed releases", () => {
  it("the controller signs every deploy commit; native git verify-commit accepts it and refuses a tampered copy", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const head = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    const signers = join(tempDir("verify"), "allowed_signers");
    writeFileSync(signers, `${A.line}\n`);
    const verify = (oid: string) =>
      spawnSync("git", ["--git-dir", f.bare, "-c", `gpg.ssh.allowedSignersFile=${signers}`, "verify-commit", oid], {
        encoding: "utf8",
      });
    const good = verify(head);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stderr).toContain('Good "git" signature for release-2026@scadalink with ED25519 key');
    // The same commit with one byte of its message changed, signature kept.
    const raw = git(f.bare, "cat-file", "commit", head);
    const tampered = execFileSync("git", ["--git-dir", f.bare, "hash-object", "-t", "commit", "-w", "--stdin"], {
      input: `${raw.replace("Deploy", "Dep1oy")}\n`,
      encoding: "utf8",
    }).trim();
    expect(tampered).not.toBe(head);
    expect(verify(tampered).status).not.toBe(0);
    // And with OpenSSH alone: the commit without its gpgsig header is the signed message.
    const dir = tempDir("ssh-keygen");
    const sig = raw.match(/^gpgsig (-----BEGIN SSH SIGNATURE-----[\s\S]*?-----END SSH SIGNATURE-----)$/m)![1]!;
    writeFileSync(join(dir, "sig"), `${sig.replace(/\n /g, "\n")}\n`);
    const payload = `${raw.replace(/^gpgsig [\s\S]*?-----END SSH SIGNATURE-----\n/m, "")}\n`;
    const sshVerify = (message: string) =>
      spawnSync(
        "ssh-keygen",
        ["-Y", "verify", "-n", "git", "-f", signers, "-I", "release-2026@scadalink", "-s", join(dir, "sig")],
        { input: message, encoding: "utf8" },
      );
    const ok = sshVerify(payload);
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toContain('Good "git" signature for release-2026@scadalink');
    expect(sshVerify(payload.replace("Deploy", "Dep1oy")).status).not.toBe(0);

    const site = await reconciler(f.url, { trustedKeys: trusted(A) });
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(r.applied.sort()).toEqual(["Pump07", "Pump08"]);
    await site.stop();
  });

  for (const [what, edit] of Object.entries(FORGERIES))
    it(`refuses ${what}, unsigned or signed by an untrusted key; the previous release keeps running`, async () => {
      const f = await fleet(server, AUTO, { signingKey: A.key });
      const site = await reconciler(f.url, { trustedKeys: trusted(A) });
      await site.once();
      const before = revisions(site);
      expect(before.size).toBe(2);
      await forge(f, edit);
      let r = await site.once();
      expect(r.sync.state).toBe("refused");
      expect(r.applied).toEqual([]);
      expectRefused(site, f, before, /\(unsigned\).*is not signed/);
      // The same forgery passes every check a site without keys makes: it would be applied.
      const unchecked = await reconciler(f.url, { allowUnsigned: true });
      expect((await unchecked.once()).sync.state).toBe("ok");
      await unchecked.stop();
      await forge(f, edit, attacker);
      r = await site.once();
      expect(r.removed).toEqual([]);
      expectRefused(site, f, before, /\(untrusted-key\).*not a trusted key/);
      // The next real release builds on the branch as it is, and is applied.
      const next = await f.change({
        "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1201\n`,
      });
      r = await site.once();
      expect(r.sync.state).toBe("ok");
      expect(site.store.meta("deployCommit")).toBe(next);
      await site.stop();
    });

  it("a forged site.json endpoint on a live site: refused, the runtime stays on its PLC, the other endpoint is never used", async () => {
    const plc = await startPlc({ variables: pumpVariables("P1") });
    const rogue = await startPlc({ variables: pumpVariables("P1") });
    try {
      const f = await fleet(server, pumpRepo(plc.endpoint), { signingKey: A.key });
      const { site, live } = await liveReconciler(f.url, { trustedKeys: trusted(A) });
      expect((await site.once()).applied).toEqual(["P1"]);
      await until("values from the PLC", () => attr(live().instance("P1"), "Speed")?.value === 1000);
      for (const signWith of [undefined, attacker]) {
        await forge(
          f,
          (c, read) => {
            const doc = JSON.parse(read(SITE_JSON));
            for (const d of doc.dataConnections) d.endpoint = rogue.endpoint;
            doc.revisionHash = revisionHash(doc);
            const m = JSON.parse(read(MANIFEST)) as SiteManifest;
            m.siteRevisionHash = doc.revisionHash;
            c.write({ [SITE_JSON]: JSON.stringify(doc), [MANIFEST]: JSON.stringify(m) });
          },
          signWith,
        );
        expect((await site.once()).sync.state).toBe("refused");
        const speed = signWith ? 1300 : 1200;
        plc.set("P1.Speed", speed);
        await until(`the PLC's new value ${speed}`, () => attr(live().instance("P1"), "Speed")?.value === speed);
      }
      expect(show<SiteStatus>(f.bare, STATUS, "status.json").health.sync?.message).toMatch(/\(untrusted-key\)/);
      expect(rogue.monitoredItems()).toBe(0);
      await site.stop();
    } finally {
      await rogue.stop();
      await plc.stop();
    }
  });

  it("refuses a signature copied onto another commit, and a branch moved back to an older signed release", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const first = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    const site = await reconciler(f.url, { trustedKeys: trusted(A) });
    await site.once();
    const second = await f.change({
      "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1202\n`,
    });
    expect((await site.once()).sync.state).toBe("ok");
    const applied = revisions(site);
    // A copy of the signed head with another tree: the signature no longer matches.
    const raw = git(f.bare, "cat-file", "commit", second);
    const firstTree = git(f.bare, "rev-parse", `${first}^{tree}`);
    const copy = execFileSync("git", ["--git-dir", f.bare, "hash-object", "-t", "commit", "-w", "--stdin"], {
      input: `${raw.replace(/^tree [0-9a-f]+/, `tree ${firstTree}`)}\n`,
      encoding: "utf8",
    }).trim();
    git(f.bare, "update-ref", `refs/heads/${DEPLOY}`, copy);
    expect(copy).not.toBe(second);
    expect((await site.once()).sync.state).toBe("refused");
    expectRefused(site, f, applied, /\(bad-signature\).*does not match the commit/);
    // Force-moved to the first release: signed by the trusted key, but a silent rollback.
    git(f.bare, "update-ref", `refs/heads/${DEPLOY}`, first);
    expect((await site.once()).sync.state).toBe("refused");
    expectRefused(site, f, applied, /\(not-descending\).*does not descend from .*git revert on main/);
    // Moved forward again: the release it had is accepted as it was.
    git(f.bare, "update-ref", `refs/heads/${DEPLOY}`, second);
    expect((await site.once()).sync).toMatchObject({ state: "ok" });
    await site.stop();
  });

  it("a mirror fetched again from the tip deepens its history to find the release applied last", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const stateDir = tempDir("site-deepen");
    let site = await reconciler(f.url, { stateDir, trustedKeys: trusted(A) });
    await site.once();
    await site.stop();
    // Three releases while the site is down, and its mirror lost: the next fetch is the tip alone (depth 1).
    for (const rated of [1301, 1302, 1303])
      await f.change({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: ${rated}\n` });
    rmSync(join(stateDir, "mirror.git"), { recursive: true, force: true });
    site = await reconciler(f.url, { stateDir, trustedKeys: trusted(A) });
    const r = await site.once();
    expect(r.sync, JSON.stringify(r.sync)).toMatchObject({ state: "ok" });
    expect(r.applied).toEqual(["Pump08"]);
    await site.stop();
  });

  it("key rotation: a site trusting both keys takes releases signed by either; once the old key is removed, it refuses it", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const both = await reconciler(f.url, { trustedKeys: trusted(A, B) });
    expect((await both.once()).sync.state).toBe("ok");
    // The controller is restarted with the new key.
    const rotated = await Controller.create({ ...f.controller.config, signingKey: B.key }, quiet);
    f.clone.write({ "instances/more.yaml": `${AUTO["instances/more.yaml"]}overrides:\n  Rated: 1203\n` });
    f.clone.commit("rotated");
    f.clone.push();
    await rotated.reconcile();
    const head = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    const r = await both.once();
    expect(r.sync.state).toBe("ok");
    expect(both.store.meta("deployCommit")).toBe(head);
    await both.stop();
    // A site that trusts only the new key refuses a release still signed with the old one.
    const onlyNew = await reconciler(f.url, { trustedKeys: trusted(B) });
    expect((await onlyNew.once()).sync.state).toBe("ok");
    await forge(f, () => undefined, A);
    const refused = await onlyNew.once();
    expect(refused.sync.message).toMatch(/\(untrusted-key\)/);
    await onlyNew.stop();
  });

  it("a site that trusts a key refuses an unsigned deploy branch from its first sync: nothing is applied", async () => {
    const f = await fleet(server, AUTO, { signingKey: undefined }); // a controller without --signing-key
    const site = await reconciler(f.url, { trustedKeys: trusted(A) });
    const r = await site.once();
    expect(r.sync).toMatchObject({ state: "refused" });
    expect(r.sync.message).toMatch(/\(unsigned\)/);
    expect(site.store.applied().size).toBe(0);
    await site.stop();
  });

  it("a site with no key says at start and on its status branch what it needs, and applies nothing", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
    const site = await reconciler(f.url, { trustedKeys: undefined }, log);
    expect(lines.join("")).toMatch(/"level":50.*has no trusted release keys.*--trusted-keys FILE.*--allow-unsigned/);
    const r = await site.once();
    expect(r.sync.state).toBe("refused");
    expect(r.applied).toEqual([]);
    expect(site.store.applied().size).toBe(0);
    const status = show<SiteStatus>(f.bare, STATUS, "status.json");
    expect(status.health.sync?.message).toMatch(
      /^artifact-mismatch: release refused \(no-trusted-keys\): this site has no trusted release keys.*--trusted-keys FILE \(git allowed_signers format/,
    );
    expect(site.store.events({ limit: 5 }).filter((e) => e.kind === "refused")).toHaveLength(1);
    await site.stop();
  });

  it("--allow-unsigned applies releases unchecked, and says at start that it does", async () => {
    const f = await fleet(server, AUTO, { signingKey: undefined });
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
    const site = await reconciler(f.url, { allowUnsigned: true }, log);
    expect(lines.join("")).toMatch(/"level":40.*--allow-unsigned: release signatures are not checked/);
    expect((await site.once()).applied).toHaveLength(2);
    await site.stop();
  });

  it("metrics: refusals counted by reason; the verified release and its signer as a gauge, also after a restart", async () => {
    const f = await fleet(server, AUTO, { signingKey: A.key });
    const stateDir = tempDir("site-metrics");
    let site = await reconciler(f.url, { stateDir, trustedKeys: trusted(A) });
    const metrics = async () => {
      const port = (site as unknown as { api: { port: number } }).api.port;
      return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    };
    await site.serve(0);
    await site.once();
    const head = git(f.bare, "rev-parse", `refs/heads/${DEPLOY}`);
    const verified = `scadalink_site_release_verified_info{commit="${head}",signer="release-2026@scadalink"} 1`;
    expect(await metrics()).toContain(verified);
    await forge(f, () => undefined);
    await site.once();
    await site.once(); // the same refused head is counted once
    await forge(f, () => undefined, attacker);
    await site.once();
    const text = await metrics();
    expect(text).toContain('scadalink_site_release_refusals_total{reason="unsigned"} 1');
    expect(text).toContain('scadalink_site_release_refusals_total{reason="untrusted-key"} 1');
    expect(text).toContain(verified); // the applied release is still the verified one
    await site.stop();
    site = await reconciler(f.url, { stateDir, trustedKeys: trusted(A) });
    await site.serve(0);
    expect(await metrics()).toContain(verified);
    await site.stop();
  });
});
