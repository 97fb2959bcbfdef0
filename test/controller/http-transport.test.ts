import { describe, expect, it } from "vitest";
import { withHeadSymref } from "../../controller/git/http-transport.js";

const pkt = (s: string) => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, "0")}${s}`;
const A = "a".repeat(40);
const B = "b".repeat(40);
const advert = (...refs: string[]) =>
  Buffer.from(`${pkt("# service=git-upload-pack\n")}0000${refs.map(pkt).join("")}0000`);

describe("the ref advertisement repair (a remote whose HEAD is unborn)", () => {
  it("adds symref=HEAD:<first branch> to the capabilities when no HEAD is advertised", () => {
    const out = withHeadSymref(advert(`${A} refs/heads/main\0multi_ack side-band-64k\n`, `${B} refs/heads/x\n`));
    expect(out.toString()).toBe(
      advert(
        `${A} refs/heads/main\0multi_ack side-band-64k symref=HEAD:refs/heads/main\n`,
        `${B} refs/heads/x\n`,
      ).toString(),
    );
  });

  it("names a branch, never a tag or another ref, as HEAD", () => {
    const out = withHeadSymref(advert(`${A} refs/pull/1/head\0caps\n`, `${B} refs/heads/deploy\n`));
    expect(out.toString()).toContain("caps symref=HEAD:refs/heads/deploy\n");
  });

  it("leaves an advertisement alone that has HEAD, a HEAD symref, no branch, protocol v2 or a malformed length", () => {
    const cases = [
      advert(`${A} HEAD\0caps symref=HEAD:refs/heads/main\n`, `${A} refs/heads/main\n`),
      advert(`${A} refs/heads/main\0caps symref=HEAD:refs/heads/other\n`),
      advert(`${A} HEAD\0caps\n`, `${A} refs/heads/main\n`),
      advert(`${A} refs/tags/v1\0caps\n`),
      Buffer.from(`${pkt("# service=git-upload-pack\n")}0000${pkt("version 2\n")}${pkt("ls-refs\n")}0000`),
      Buffer.from("00zzgarbage"),
      Buffer.from(`${pkt("# service=git-upload-pack\n")}0000ffff${A}`),
    ];
    for (const c of cases) expect(withHeadSymref(c).equals(c)).toBe(true);
  });
});
