import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import {
  parseAllowedSigners,
  publicKeyLine,
  readSigningKey,
  type SigningKey,
  type TrustedKey,
} from "../../controller/git/sshsig.js";

/**
 * Release keys made per test run with node:crypto, so the suites run signed releases (the real path of section
 * 10): the private key written as `ssh-keygen -t ed25519 -N ''` writes it (native `git commit -S` with
 * gpg.format=ssh signs with it too), its public half and an allowed_signers file that trusts it.
 */
export interface ReleaseKey {
  /** The OpenSSH private key file (for --signing-key and git's user.signingkey). */
  file: string;
  /** The allowed_signers file (for --trusted-keys and gpg.ssh.allowedSignersFile). */
  allowedSigners: string;
  key: SigningKey;
  trusted: TrustedKey[];
  /** The allowed_signers line. */
  line: string;
  /** git -c options that make `commit -S` sign with this key. */
  gitSign: string[];
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (v: Buffer | string) => {
  const b = typeof v === "string" ? Buffer.from(v) : v;
  return Buffer.concat([u32(b.length), b]);
};

/** An unencrypted OpenSSH private key file (PROTOCOL.key) for an Ed25519 key pair. */
function opensshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const publicBlob = Buffer.concat([str("ssh-ed25519"), str(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, str("ssh-ed25519"), str(pub), str(Buffer.concat([seed, pub])), str(comment)]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    str("none"),
    str("none"),
    str(""),
    u32(1),
    str(publicBlob),
    str(priv),
  ]);
  const b64 = body.toString("base64").match(/.{1,70}/g) ?? [];
  return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...b64, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new Ed25519 release key on disk, trusted for principal `<name>@scadalink` in namespace git. */
export function makeReleaseKey(name = "release"): ReleaseKey {
  const dir = mkdtempSync(join(tmpdir(), "scadalink-release-key-"));
  dirs.push(dir);
  const pair = generateKeyPairSync("ed25519");
  // The raw halves: the last 32 bytes of the PKCS#8 and SPKI DER encodings (RFC 8410).
  const seed = pair.privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
  const pub = pair.publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const file = join(dir, name);
  const text = opensshPrivateKey(Buffer.from(seed), Buffer.from(pub), name);
  writeFileSync(file, text, { mode: 0o600 });
  const key = readSigningKey(text);
  writeFileSync(`${file}.pub`, `${publicKeyLine(key, name)}\n`);
  const line = `${name}@scadalink namespaces="git" ${publicKeyLine(key)}`;
  const allowedSigners = join(dir, "allowed_signers");
  writeFileSync(allowedSigners, `${line}\n`);
  return {
    file,
    allowedSigners,
    key,
    trusted: parseAllowedSigners(line),
    line,
    gitSign: ["-c", "gpg.format=ssh", "-c", `user.signingkey=${file}`],
  };
}

/** The release key of this test file: the controllers of the helpers sign with it, their sites trust it. */
export const TEST_RELEASE = makeReleaseKey("test-release");

/** The CLI's environment for the same: `scadalink controller` signs, `scadalink site` verifies. */
export const RELEASE_ENV = {
  SCADALINK_SIGNING_KEY: TEST_RELEASE.file,
  SCADALINK_TRUSTED_KEYS: TEST_RELEASE.allowedSigners,
} as const;
