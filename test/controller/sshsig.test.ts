import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllowedSigners, signMessage, verifyMessage } from "../../controller/git/sshsig.js";
import { makeReleaseKey } from "../helpers/release-key.js";
import { tempDir } from "./helpers.js";

// SSHSIG (OpenSSH PROTOCOL.sshsig) as made and checked in node:crypto, against ssh-keygen both ways.

const message = Buffer.from("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 0 +0000\n\nrelease\n");

function sshKeygen(args: string[], input?: Buffer) {
  return spawnSync("ssh-keygen", args, { input, encoding: "utf8" });
}

describe("SSH signatures", () => {
  it("ssh-keygen -Y verify accepts what signMessage makes, and refuses it for another message", () => {
    const k = makeReleaseKey("sig-a");
    const sig = join(tempDir("sshsig"), "msg.sig");
    writeFileSync(sig, `${signMessage(k.key, message)}\n`);
    const verify = (m: Buffer) =>
      sshKeygen(["-Y", "verify", "-n", "git", "-f", k.allowedSigners, "-I", "sig-a@scadalink", "-s", sig], m);
    const ok = verify(message);
    expect(ok.status, ok.stderr).toBe(0);
    expect(verify(Buffer.concat([message, Buffer.from("x")])).status).not.toBe(0);
  });

  it("verifyMessage accepts what ssh-keygen -Y sign makes; another key, namespace or message is refused", () => {
    const k = makeReleaseKey("sig-b");
    const other = makeReleaseKey("sig-c");
    const file = join(tempDir("sshsig"), "msg");
    writeFileSync(file, message);
    const signed = sshKeygen(["-Y", "sign", "-q", "-n", "git", "-f", k.file, file]);
    expect(signed.status, signed.stderr).toBe(0);
    const armored = readFileSync(`${file}.sig`, "utf8");
    expect(verifyMessage(armored, message, k.trusted)).toMatchObject({ ok: true });
    expect(verifyMessage(armored, Buffer.from("other"), k.trusted)).toMatchObject({
      ok: false,
      reason: "bad-signature",
    });
    expect(verifyMessage(armored, message, other.trusted)).toMatchObject({ ok: false, reason: "untrusted-key" });
    // Several trusted keys (rotation): either one is accepted.
    expect(verifyMessage(armored, message, [...other.trusted, ...k.trusted])).toMatchObject({ ok: true });
    // Signed for another namespace: not a commit signature.
    const second = `${file}2`;
    writeFileSync(second, message);
    const fileNs = sshKeygen(["-Y", "sign", "-q", "-n", "file", "-f", k.file, second]);
    expect(fileNs.status, fileNs.stderr).toBe(0);
    expect(verifyMessage(readFileSync(`${second}.sig`, "utf8"), message, k.trusted)).toMatchObject({
      ok: false,
      message: 'not signed for namespace "git"',
    });
  });

  it("a key restricted to other namespaces in allowed_signers is not trusted for git", () => {
    const k = makeReleaseKey("sig-d");
    const line = k.line.replace('namespaces="git"', 'namespaces="file,email"');
    const restricted = parseAllowedSigners(line);
    expect(restricted[0]?.namespaces).toEqual(["file", "email"]);
    expect(verifyMessage(signMessage(k.key, message), message, restricted)).toMatchObject({
      ok: false,
      reason: "untrusted-key",
    });
    // Without the option, every namespace.
    const open = parseAllowedSigners(line.replace(' namespaces="file,email"', ""));
    expect(verifyMessage(signMessage(k.key, message), message, open)).toMatchObject({ ok: true });
  });

  it("a damaged signature is refused as bad-signature, never thrown", () => {
    const k = makeReleaseKey("sig-e");
    const armored = signMessage(k.key, message);
    const lines = armored.split("\n");
    for (const bad of [
      "not a signature",
      [lines[0], lines[2], ...lines.slice(3)].join("\n"),
      armored.replace(/[A-Za-z](?=[^\n]*\n-----END)/, (c) => (c === "A" ? "B" : "A")),
    ])
      expect(verifyMessage(bad, message, k.trusted)).toMatchObject({ ok: false, reason: "bad-signature" });
  });
});
