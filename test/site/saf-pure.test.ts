// The pure parts of store-and-forward: the HTTP classification over every status, error excerpts, the rate bound.
import { describe, expect, it } from "vitest";
import {
  classifyError,
  classifyStatus,
  excerpt,
} from "../../site-reconciler/integrations/store-and-forward/classify.js";
import { RateLimiter } from "../../site-reconciler/integrations/store-and-forward/scheduler.js";

describe("classifyStatus (SPEC 8.3)", () => {
  it("2xx delivered; 408, 429 and 5xx transient; every other status from 100 to 599 permanent", () => {
    for (let status = 100; status < 600; status++) {
      const out = classifyStatus(status, "");
      if (status >= 200 && status < 300) expect(out, String(status)).toEqual({ ok: true });
      else if (status === 408 || status === 429 || status >= 500)
        expect(out, String(status)).toEqual({ ok: false, transient: true, error: `HTTP ${status}` });
      else expect(out, String(status)).toEqual({ ok: false, transient: false, error: `HTTP ${status}` });
    }
    expect(classifyStatus(400, "line L9 unknown")).toMatchObject({ error: "HTTP 400: line L9 unknown" });
  });

  it("errors without a status are transient, with the cause in words", () => {
    const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    expect(classifyError(refused, 5000)).toEqual({
      ok: false,
      transient: true,
      error: "connection failed: ECONNREFUSED",
    });
    expect(classifyError(new DOMException("x", "TimeoutError"), 5000)).toEqual({
      ok: false,
      transient: true,
      error: "timed out after 5000 ms",
    });
    expect(classifyError(new Error("other"), 1)).toEqual({ ok: false, transient: true, error: "other" });
  });

  it("excerpts mask every secret value, drop control and bidi characters, and stop at 200 characters", () => {
    expect(excerpt('{"auth":"Bearer s3cr3t","k":"s3cr3t"}', ["s3cr3t"])).toBe('{"auth":"Bearer ***","k":"***"}');
    expect(excerpt("a\u0000b\nc\u202ed\u001b[31m", [])).toBe("a b c d [31m");
    expect(excerpt("x".repeat(300), [])).toBe(`${"x".repeat(200)}…`);
    expect(excerpt("abc", [""])).toBe("abc");
  });
});

describe("RateLimiter", () => {
  it("a burst of a tenth of a second's worth, then one start per 1/rate s", () => {
    const r = new RateLimiter(100, 0);
    for (let i = 0; i < 10; i++) {
      expect(r.wait(0)).toBe(0);
      r.take(0);
    }
    expect(r.wait(0)).toBeCloseTo(10, 5);
    expect(r.wait(5)).toBeCloseTo(5, 5);
    expect(r.wait(10)).toBe(0);
    r.take(10);
    expect(r.wait(10)).toBeCloseTo(10, 5);
    // Idle time refills at most the burst.
    expect(r.wait(100_000)).toBe(0);
    for (let i = 0; i < 10; i++) r.take(100_000);
    expect(r.wait(100_000)).toBeGreaterThan(0);
  });

  it("below 10 a second the burst is one", () => {
    const r = new RateLimiter(2, 0);
    expect(r.wait(0)).toBe(0);
    r.take(0);
    expect(r.wait(0)).toBeCloseTo(500, 5);
    expect(r.wait(499)).toBeGreaterThan(0);
    expect(r.wait(500)).toBe(0);
  });
});
