// The pair's request signing: what passes, and each way a request is refused.
import { describe, expect, it } from "vitest";
import { HmacPeerAuth, NONCE_HEADER, SIGNATURE_HEADER } from "../../site-reconciler/redundancy/peer-auth.js";

const SECRET = Buffer.from("a-shared-secret-of-the-pair-0123456789");
const T0 = Date.parse("2026-12-07T10:00:00.000Z");

function pair(o: { skewMs?: number; secretB?: Buffer } = {}) {
  const clock = { now: T0 };
  const now = () => clock.now;
  const a = new HmacPeerAuth({ secret: SECRET, node: "a", now, skewMs: o.skewMs });
  const b = new HmacPeerAuth({ secret: o.secretB ?? SECRET, node: "b", now, skewMs: o.skewMs });
  return { a, b, clock };
}

const BODY = JSON.stringify({ node: "a", role: "active", epoch: 3 });
const PATH = "/peer/v1/changes?from=12&origin=a@3";

describe("peer auth (HMAC-SHA256)", () => {
  it("accepts a request signed by the peer and says who sent it", () => {
    const { a, b } = pair();
    const headers = a.sign("POST", PATH, BODY);
    expect(b.check("POST", PATH, headers, BODY)).toEqual({ ok: true, node: "a" });
    expect(b.verify("POST", "/peer/v1/heartbeat", a.sign("post", "/peer/v1/heartbeat", ""), "")).toBe(true);
  });

  it("refuses a request signed with another secret", () => {
    const { a, b } = pair({ secretB: Buffer.from("another-secret-altogether-000000") });
    expect(b.check("POST", PATH, a.sign("POST", PATH, BODY), BODY)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses a tampered body", () => {
    const { a, b } = pair();
    const headers = a.sign("POST", PATH, BODY);
    expect(b.check("POST", PATH, headers, BODY.replace("3", "4"))).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses a tampered path or query", () => {
    const { a, b } = pair();
    const headers = a.sign("GET", PATH, "");
    expect(b.verify("GET", "/peer/v1/snapshot", headers, "")).toBe(false);
    expect(b.verify("GET", PATH.replace("from=12", "from=0"), headers, "")).toBe(false);
  });

  it("refuses a tampered method", () => {
    const { a, b } = pair();
    expect(b.check("GET", PATH, a.sign("POST", PATH, BODY), BODY)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses a timestamp outside the skew window, either way", () => {
    const { a, b, clock } = pair({ skewMs: 30_000 });
    const old = a.sign("POST", PATH, BODY);
    clock.now = T0 + 30_001;
    expect(b.check("POST", PATH, old, BODY)).toEqual({ ok: false, reason: "stale timestamp" });
    const future = a.sign("POST", PATH, BODY);
    clock.now = T0;
    expect(b.check("POST", PATH, future, BODY)).toEqual({ ok: false, reason: "stale timestamp" });
    // Inside the window it passes.
    clock.now = T0 + 29_000;
    expect(b.verify("POST", PATH, a.sign("POST", PATH, BODY), BODY)).toBe(true);
  });

  it("refuses a replayed request within the window, and forgets nonces once outside it", () => {
    const { a, b, clock } = pair({ skewMs: 1_000 });
    const headers = a.sign("POST", PATH, BODY);
    expect(b.verify("POST", PATH, headers, BODY)).toBe(true);
    expect(b.check("POST", PATH, headers, BODY)).toEqual({ ok: false, reason: "replayed nonce" });
    // The same request once the window is over is stale, so its nonce need not be kept.
    clock.now = T0 + 2_000;
    expect(b.check("POST", PATH, headers, BODY)).toEqual({ ok: false, reason: "stale timestamp" });
    for (let i = 0; i < 50; i++) {
      clock.now += 200;
      expect(b.verify("POST", PATH, a.sign("POST", PATH, BODY), BODY)).toBe(true);
    }
    expect(b.remembered).toBeLessThanOrEqual(12);
  });

  it("refuses a request that claims this node's own name", () => {
    const { b } = pair();
    const me = new HmacPeerAuth({ secret: SECRET, node: "b", now: () => T0 });
    expect(b.check("POST", PATH, me.sign("POST", PATH, BODY), BODY)).toEqual({ ok: false, reason: "own name" });
  });

  it("refuses an unsigned or malformed request, and a sender not among the peers", () => {
    const { a, b } = pair();
    expect(b.check("POST", PATH, {}, BODY)).toEqual({ ok: false, reason: "unsigned" });
    const headers = a.sign("POST", PATH, BODY);
    expect(b.check("POST", PATH, { ...headers, [SIGNATURE_HEADER]: "zz" }, BODY)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(b.check("POST", PATH, { ...headers, [NONCE_HEADER]: ["x", "y"] }, BODY).ok).toBe(false);
    const witness = new HmacPeerAuth({ secret: SECRET, node: "witness", now: () => T0, peers: ["a", "b"] });
    const c = new HmacPeerAuth({ secret: SECRET, node: "c", now: () => T0 });
    expect(witness.check("POST", PATH, c.sign("POST", PATH, BODY), BODY)).toEqual({
      ok: false,
      reason: "unknown node",
    });
    expect(witness.verify("POST", PATH, a.sign("POST", PATH, BODY), BODY)).toBe(true);
  });

  it("never shows the secret in an error", () => {
    const short = Buffer.from("short-secret");
    expect(() => new HmacPeerAuth({ secret: short, node: "a" })).toThrow(/at least 16 bytes/);
    try {
      new HmacPeerAuth({ secret: SECRET, node: "bad name\n" });
    } catch (e) {
      expect(String(e)).not.toContain(SECRET.toString());
    }
    const { a } = pair();
    expect(JSON.stringify(a.sign("POST", PATH, BODY))).not.toContain(SECRET.toString());
  });
});

describe("signed answers", () => {
  const ANSWER = JSON.stringify({ node: "b", role: "active", epoch: 7 });

  it("an answer signed by the peer for this request verifies", () => {
    const { a, b } = pair();
    const req = a.sign("POST", "/peer/v1/heartbeat", BODY);
    const nonce = req[NONCE_HEADER]!;
    const headers = new Headers(b.signAnswer(nonce, 200, ANSWER));
    expect(a.verifyAnswer(nonce, 200, headers, ANSWER)).toBe(true);
  });

  it("refuses a tampered body, another status, another request's nonce (a replay), another secret, its own name", () => {
    const { a, b } = pair();
    const nonce = a.sign("POST", "/peer/v1/heartbeat", BODY)[NONCE_HEADER]!;
    const headers = new Headers(b.signAnswer(nonce, 200, ANSWER));
    expect(a.verifyAnswer(nonce, 200, headers, ANSWER.replace("7", "8"))).toBe(false);
    expect(a.verifyAnswer(nonce, 409, headers, ANSWER)).toBe(false);
    const other = a.sign("POST", "/peer/v1/heartbeat", BODY)[NONCE_HEADER]!;
    expect(a.verifyAnswer(other, 200, headers, ANSWER)).toBe(false);
    const stranger = pair({ secretB: Buffer.from("another-secret-altogether-000000") }).b;
    expect(a.verifyAnswer(nonce, 200, new Headers(stranger.signAnswer(nonce, 200, ANSWER)), ANSWER)).toBe(false);
    expect(a.verifyAnswer(nonce, 200, new Headers(a.signAnswer(nonce, 200, ANSWER)), ANSWER)).toBe(false);
    expect(a.verifyAnswer(nonce, 200, new Headers(), ANSWER)).toBe(false);
  });
});
