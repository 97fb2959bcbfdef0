import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

/**
 * SSH signatures (OpenSSH's PROTOCOL.sshsig) with Ed25519 keys: what `git commit -S` writes with gpg.format=ssh and
 * what `git verify-commit` and `ssh-keygen -Y verify` check. Made and checked here with node:crypto, so neither
 * the controller nor a site needs ssh-keygen to run.
 */

const MAGIC = Buffer.from("SSHSIG");
const KEY_TYPE = "ssh-ed25519";
const HASH = "sha512";
const BEGIN = "-----BEGIN SSH SIGNATURE-----";
const END = "-----END SSH SIGNATURE-----";
// DER prefixes that turn a raw Ed25519 key into what node:crypto reads (RFC 8410).
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export interface SigningKey {
  key: KeyObject;
  /** The SSH public key blob (string "ssh-ed25519", string key). */
  publicBlob: Buffer;
}

export interface TrustedKey {
  principals: string[];
  /** Namespaces the key may sign for; undefined: any. */
  namespaces: string[] | undefined;
  publicBlob: Buffer;
  /** `ssh-ed25519 AAAA…`, for messages. */
  text: string;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (v: Buffer | string) => {
  const b = typeof v === "string" ? Buffer.from(v) : v;
  return Buffer.concat([u32(b.length), b]);
};

/** Reads SSH wire-format fields one after another; throws on anything short. */
class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    if (this.#at + n > this.buf.length) throw new Error("truncated");
    const b = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return b;
  }
  u32(): number {
    return this.bytes(4).readUInt32BE();
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
  get done(): boolean {
    return this.#at === this.buf.length;
  }
}

const ed25519Blob = (raw: Buffer) => Buffer.concat([sshString(KEY_TYPE), sshString(raw)]);

/** The raw 32-byte key of an ssh-ed25519 public key blob; throws for any other key type. */
function rawPublic(blob: Buffer): Buffer {
  const r = new Reader(blob);
  const type = r.string().toString();
  if (type !== KEY_TYPE) throw new Error(`key type ${type} is not supported (use ssh-ed25519)`);
  const raw = r.string();
  if (raw.length !== 32 || !r.done) throw new Error("malformed ssh-ed25519 public key");
  return raw;
}

/**
 * An unencrypted Ed25519 private key as `ssh-keygen -t ed25519 -N ''` writes it (OpenSSH format), or as PKCS#8 PEM
 * (`openssl genpkey -algorithm ed25519`). The error never contains key material.
 */
export function readSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  if (trimmed.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----")) {
    const body = trimmed.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, "").replace(/\s+/g, "");
    const r = new Reader(Buffer.from(body, "base64"));
    if (r.bytes(15).toString("latin1") !== "openssh-key-v1\0") throw new Error("not an OpenSSH private key");
    const cipher = r.string().toString();
    r.string(); // kdf name
    r.string(); // kdf options
    if (cipher !== "none")
      throw new Error("the signing key is encrypted: give the controller an unencrypted key (ssh-keygen -N '')");
    if (r.u32() !== 1) throw new Error("the key file must hold exactly one key");
    const publicBlob = Buffer.from(r.string());
    const priv = new Reader(r.string());
    const check1 = priv.u32();
    const check2 = priv.u32();
    if (check1 !== check2) throw new Error("the private key's check bytes differ: damaged file");
    const type = priv.string().toString();
    if (type !== KEY_TYPE) throw new Error(`key type ${type} is not supported: use ssh-keygen -t ed25519`);
    priv.string(); // public key
    const secret = priv.string();
    if (secret.length !== 64) throw new Error("malformed ed25519 private key");
    const key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, secret.subarray(0, 32)]),
      format: "der",
      type: "pkcs8",
    });
    return { key, publicBlob };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(trimmed);
  } catch {
    throw new Error("not an OpenSSH or PKCS#8 PEM private key");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new Error("the signing key must be an Ed25519 key");
  const raw = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(SPKI_ED25519.length);
  return { key, publicBlob: ed25519Blob(Buffer.from(raw)) };
}

/** The `ssh-ed25519 AAAA… comment` line of a signing key's public half. */
export function publicKeyLine(k: SigningKey, comment = ""): string {
  return `${KEY_TYPE} ${k.publicBlob.toString("base64")}${comment ? ` ${comment}` : ""}`;
}

function signedData(namespace: string, message: Buffer): Buffer {
  return Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(""),
    sshString(HASH),
    sshString(createHash(HASH).update(message).digest()),
  ]);
}

/** An armored SSH signature of message in namespace (git signs commits in namespace "git"). */
export function signMessage(k: SigningKey, message: Buffer, namespace = "git"): string {
  const sig = sign(null, signedData(namespace, message), k.key);
  const blob = Buffer.concat([
    MAGIC,
    u32(1),
    sshString(k.publicBlob),
    sshString(namespace),
    sshString(""),
    sshString(HASH),
    sshString(Buffer.concat([sshString(KEY_TYPE), sshString(sig)])),
  ]);
  const b64 = blob.toString("base64").match(/.{1,70}/g) ?? [];
  return [BEGIN, ...b64, END].join("\n");
}

export type Verified =
  | { ok: true; key: TrustedKey }
  | { ok: false; reason: "bad-signature" | "untrusted-key"; message: string };

/** Checks an armored SSH signature of message against the trusted keys, as `ssh-keygen -Y verify` would. */
export function verifyMessage(
  armored: string,
  message: Buffer,
  trusted: readonly TrustedKey[],
  namespace = "git",
): Verified {
  const bad = (why: string): Verified => ({ ok: false, reason: "bad-signature", message: why });
  const lines = armored
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim());
  if (lines[0] !== BEGIN || lines[lines.length - 1] !== END) return bad("not an SSH signature");
  let publicBlob: Buffer;
  let sig: Buffer;
  let hash: string;
  try {
    const r = new Reader(Buffer.from(lines.slice(1, -1).join(""), "base64"));
    if (!r.bytes(6).equals(MAGIC) || r.u32() !== 1) return bad("not an SSHSIG version 1 signature");
    publicBlob = Buffer.from(r.string());
    if (r.string().toString() !== namespace) return bad(`not signed for namespace "${namespace}"`);
    r.string(); // reserved
    hash = r.string().toString();
    const s = new Reader(r.string());
    const type = s.string().toString();
    if (type !== KEY_TYPE) return bad(`signature type ${type} is not supported`);
    sig = Buffer.from(s.string());
    rawPublic(publicBlob);
  } catch (e) {
    return bad(`malformed signature: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (hash !== "sha512" && hash !== "sha256") return bad(`hash ${hash} is not supported`);
  const key = trusted.find(
    (t) => t.publicBlob.equals(publicBlob) && (!t.namespaces || t.namespaces.includes(namespace)),
  );
  if (!key)
    return {
      ok: false,
      reason: "untrusted-key",
      message: `signed by ${KEY_TYPE} ${publicBlob.toString("base64")}, which is not a trusted key`,
    };
  const data = Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(""),
    sshString(hash),
    sshString(createHash(hash).update(message).digest()),
  ]);
  return verify(null, data, publicKeyOf(key), sig) ? { ok: true, key } : bad("the signature does not match the commit");
}

// Importing a key costs more than the verification itself: each trusted key is imported once.
const imported = new WeakMap<TrustedKey, KeyObject>();
function publicKeyOf(t: TrustedKey): KeyObject {
  let k = imported.get(t);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([SPKI_ED25519, rawPublic(t.publicBlob)]), format: "der", type: "spki" });
    imported.set(t, k);
  }
  return k;
}

/**
 * Trusted keys in git's allowed_signers format (gpg.ssh.allowedSignersFile, `ssh-keygen -Y verify -f`): one key
 * per line, `principals [options] ssh-ed25519 AAAA… [comment]`, `#` comments. Several lines: key rotation.
 * Throws with the line number for anything it cannot read.
 */
export function parseAllowedSigners(text: string, file = "allowed_signers"): TrustedKey[] {
  const keys: TrustedKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fail = (why: string) => new Error(`${file}:${i + 1}: ${why}`);
    // Fields split on whitespace outside double quotes (namespaces="git,file").
    const fields = line.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    const at = fields.findIndex((f) => f.startsWith("ssh-") || f.startsWith("ecdsa-") || f.startsWith("sk-"));
    if (at < 1) throw fail("expected `principals [options] ssh-ed25519 KEY`");
    if (fields[at] !== KEY_TYPE) throw fail(`key type ${fields[at]} is not supported: use ssh-ed25519`);
    let namespaces: string[] | undefined;
    for (const opt of at > 1 ? fields[1]!.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/) : []) {
      const m = /^namespaces="([^"]*)"$/i.exec(opt);
      if (m) namespaces = m[1]!.split(",").map((s) => s.trim());
      else if (!/^(cert-authority|valid-after=|valid-before=)/i.test(opt)) throw fail(`unknown option ${opt}`);
      else if (/^cert-authority$/i.test(opt)) throw fail("cert-authority keys are not supported");
    }
    const b64 = fields[at + 1];
    if (!b64) throw fail("the key is missing");
    const publicBlob = Buffer.from(b64, "base64");
    try {
      rawPublic(publicBlob);
    } catch (e) {
      throw fail(e instanceof Error ? e.message : String(e));
    }
    keys.push({ principals: fields[0]!.split(","), namespaces, publicBlob, text: `${KEY_TYPE} ${b64}` });
  });
  return keys;
}
