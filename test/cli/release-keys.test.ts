import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTO } from "../controller/helpers.js";
import { localRepo, scadalink, tempDir } from "../helpers/cli.js";

// Release keys through the built CLI: made with ssh-keygen as `scadalink init` says, given to the controller and
// to a site by file, and bad files refused as usage errors that name the file and line and show no key material.

function keys() {
  const dir = tempDir("release-keys");
  const key = join(dir, "release-key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "scadalink-release", "-f", key]);
  const pub = readFileSync(`${key}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  const allowed = join(dir, "allowed_signers");
  writeFileSync(allowed, `# the release key of 2026\nrelease@scadalink namespaces="git" ${pub}\n`);
  return { dir, key, pub, allowed };
}

describe("release keys on the command line", () => {
  it("controller --signing-key signs; site --trusted-keys applies it and refuses another key's release", () => {
    const k = keys();
    const other = keys();
    const r = localRepo(AUTO);
    const ctl = scadalink(["controller", "--repo", r.dir, "--once", "--signing-key", k.key, "--log-level", "warn"]);
    expect(ctl.code, ctl.stderr + ctl.stdout).toBe(0);
    const verify = spawnSync(
      "git",
      ["-C", r.dir, "-c", `gpg.ssh.allowedSignersFile=${k.allowed}`, "verify-commit", "scadalink/deploy"],
      { encoding: "utf8" },
    );
    expect(verify.status, verify.stderr).toBe(0);
    const site = (trusted: string) =>
      scadalink([
        "site",
        "--site",
        "plant-north",
        "--repo",
        r.dir,
        "--state-dir",
        tempDir("state"),
        "--once",
        "--runtime",
        "none",
        "--trusted-keys",
        trusted,
        "--log-level",
        "warn",
      ]);
    const ok = site(k.allowed);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const refused = site(other.allowed);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/"reason":"untrusted-key".*"msg":"deploy head refused: not a trusted release"/);
  });

  it("the key commands scadalink init prints make a key pair the controller signs with and a site trusts", () => {
    const dir = tempDir("init-keys");
    const init = scadalink(["init", join(dir, "config")]);
    expect(init.code, init.stderr).toBe(0);
    const commands = init.stdout
      .split("\n")
      .filter((l) => /^ {2}(ssh-keygen|echo) /.test(l))
      .map((l) => l.trim());
    expect(commands).toHaveLength(2);
    for (const c of commands) execFileSync("sh", ["-c", c], { cwd: dir });
    expect(init.stdout).toContain("--signing-key release-key");
    expect(init.stdout).toContain("--trusted-keys allowed_signers");
    const r = localRepo(AUTO);
    const ctl = scadalink(["controller", "--repo", r.dir, "--once", "--signing-key", join(dir, "release-key")]);
    expect(ctl.code, ctl.stderr).toBe(0);
    const signers = join(dir, "allowed_signers");
    const verify = spawnSync(
      "git",
      ["-C", r.dir, "-c", `gpg.ssh.allowedSignersFile=${signers}`, "verify-commit", "scadalink/deploy"],
      { encoding: "utf8" },
    );
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).toContain('Good "git" signature for release@scadalink');
    const site = scadalink([
      "site",
      "--site",
      "plant-north",
      "--repo",
      r.dir,
      "--state-dir",
      tempDir("state"),
      "--once",
      "--runtime",
      "none",
      "--trusted-keys",
      signers,
    ]);
    expect(site.code, site.stdout).toBe(0);
  });

  it("a site with no key says what it needs and applies nothing; --allow-unsigned applies unchecked; not both", () => {
    const k = keys();
    const r = localRepo(AUTO);
    // No key anywhere: the controller writes unsigned deploy commits and says so.
    const noKey = { SCADALINK_SIGNING_KEY: undefined, SCADALINK_TRUSTED_KEYS: undefined };
    const ctl = scadalink(["controller", "--repo", r.dir, "--once"], { env: noKey });
    expect(ctl.code, ctl.stderr).toBe(0);
    expect(ctl.stdout).toMatch(/deploy commits are not signed.*--signing-key FILE/);
    const site = (...extra: string[]) =>
      scadalink(
        ["site", "--site", "plant-north", "--repo", r.dir, "--state-dir", tempDir("state"), "--once"].concat(
          "--runtime",
          "none",
          ...extra,
        ),
        { env: noKey },
      );
    const refused = site();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /has no trusted release keys, so it applies no release: give it the controller's public key with --trusted-keys FILE/,
    );
    expect(refused.stdout).toMatch(/"reason":"no-trusted-keys"/);
    const unchecked = site("--allow-unsigned");
    expect(unchecked.code, unchecked.stdout).toBe(0);
    expect(unchecked.stdout).toMatch(/--allow-unsigned: release signatures are not checked/);
    const both = site("--allow-unsigned", "--trusted-keys", k.allowed);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--trusted-keys and --allow-unsigned exclude each other");
  });

  it("a key file that cannot be used is a usage error naming the file (and line), never its content", () => {
    const k = keys();
    const r = localRepo(AUTO);
    const pubAsPrivate = scadalink(["controller", "--repo", r.dir, "--once", "--signing-key", `${k.key}.pub`]);
    expect(pubAsPrivate.code).toBe(2);
    expect(pubAsPrivate.stderr).toContain(`--signing-key ${k.key}.pub: not an OpenSSH or PKCS#8 PEM private key`);
    const missing = scadalink(["controller", "--repo", r.dir, "--once", "--signing-key", join(k.dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--signing-key .*nope: cannot be read \(ENOENT\)/);
    const bad = join(k.dir, "bad_signers");
    writeFileSync(bad, `# ok\nrelease@scadalink ssh-rsa AAAAB3NzaC1yc2E=\n`);
    const site = scadalink([
      "site",
      "--site",
      "plant-north",
      "--repo",
      r.dir,
      "--state-dir",
      tempDir("s"),
      "--once",
      "--trusted-keys",
      bad,
    ]);
    expect(site.code).toBe(2);
    expect(site.stderr).toContain(`${bad}:2: key type ssh-rsa is not supported: use ssh-ed25519`);
    const secret = readFileSync(k.key, "utf8").split("\n")[1]!;
    for (const out of [pubAsPrivate, missing, site]) expect(out.stdout + out.stderr).not.toContain(secret);
  });
});
