import { describe, expect, it } from "vitest";
import { triggerHolds } from "../../site-reconciler/runtime/instance/alarms.js";
import {
  checkDataType,
  checkVariant,
  fits,
  fromVariant,
  toWritable,
} from "../../site-reconciler/runtime/opcua/data-types.js";

const at = (value: unknown, t = 0) => ({ value, at: t });

describe("alarm triggers (section 2.5)", () => {
  it("threshold compares with every operator, and only values of the operand's kind", () => {
    const t = (op: ">" | ">=" | "<" | "<=" | "==" | "!=", value: number | string | boolean) =>
      ({ type: "threshold", attribute: "X", op, value }) as const;
    expect(triggerHolds(t(">", 10), at(11), undefined)).toBe(true);
    expect(triggerHolds(t(">", 10), at(10), undefined)).toBe(false);
    expect(triggerHolds(t(">=", 10), at(10), undefined)).toBe(true);
    expect(triggerHolds(t("<", 10), at(9.5), undefined)).toBe(true);
    expect(triggerHolds(t("<=", 10), at(10.01), undefined)).toBe(false);
    expect(triggerHolds(t("==", "auto"), at("auto"), undefined)).toBe(true);
    expect(triggerHolds(t("!=", "auto"), at("manual"), undefined)).toBe(true);
    // No value (bad quality, not yet read) and NaN: the alarm keeps its state.
    expect(triggerHolds(t(">", 10), at(null), undefined)).toBeUndefined();
    expect(triggerHolds(t(">", 10), at(Number.NaN), undefined)).toBeUndefined();
    // A string against a number is not ordered.
    expect(triggerHolds(t(">", 10), at("11"), undefined)).toBeUndefined();
    // DateTime values compare as times, whatever the ISO spelling.
    expect(triggerHolds(t(">", "2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00.001+00:00"), undefined)).toBe(true);
  });

  it("range is active outside [low, high], inclusive bounds are normal", () => {
    const r = { type: "range", attribute: "X", low: 1, high: 9 } as const;
    expect([0.99, 1, 5, 9, 9.01].map((v) => triggerHolds(r, at(v), undefined))).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
    expect(triggerHolds(r, at("5"), undefined)).toBeUndefined();
  });

  it("match is active on equality, booleans included", () => {
    const m = { type: "match", attribute: "X", value: false } as const;
    expect(triggerHolds(m, at(false), undefined)).toBe(true);
    expect(triggerHolds(m, at(true), undefined)).toBe(false);
    expect(triggerHolds(m, at(0), undefined)).toBe(false);
    expect(triggerHolds(m, at(null), undefined)).toBeUndefined();
  });

  it("rateOfChange needs a previous sample and elapsed time; the rate is absolute per second", () => {
    const r = { type: "rateOfChange", attribute: "X", perSecond: 5 } as const;
    expect(triggerHolds(r, at(100, 1000), undefined)).toBeUndefined();
    expect(triggerHolds(r, at(100, 1000), at(0, 1000))).toBeUndefined();
    expect(triggerHolds(r, at(6, 2000), at(0, 1000))).toBe(true);
    expect(triggerHolds(r, at(-6, 2000), at(0, 1000))).toBe(true);
    expect(triggerHolds(r, at(5, 2000), at(0, 1000))).toBe(false);
    expect(triggerHolds(r, at(3, 1500), at(0, 1000))).toBe(true);
  });
});

describe("OPC UA data types against declared ones", () => {
  it("accepts the same type and lossless widenings, reports anything else", () => {
    expect(checkDataType("Double", 0, 11)).toBeUndefined();
    expect(checkDataType("Double", 0, 10)).toBeUndefined();
    expect(checkDataType("Int32", 0, 4)).toBeUndefined();
    expect(checkDataType("Int32", 0, 7)).toMatch(/server variable is UInt32, the attribute is declared Int32/);
    expect(checkDataType("Float", 0, 11)).toMatch(/Double/);
    expect(checkDataType("Boolean", 0, 12)).toMatch(/String/);
    // Abstract types are checked value by value instead.
    expect(checkDataType("Double", 0, 26)).toBeUndefined();
    expect(checkDataType("Double", 3, 3001)).toMatch(/ns=3;i=3001/);
    expect(checkVariant("Double", 12, false)).toMatch(/sent String/);
    expect(checkVariant("Double", 11, true)).toMatch(/array/);
    expect(checkVariant("Double", 11, false)).toBeUndefined();
  });

  it("converts received values to JSON data and checks values written", () => {
    expect(fromVariant(13, new Date("2026-11-24T01:02:03.004Z"))).toEqual({
      ok: true,
      value: "2026-11-24T01:02:03.004Z",
    });
    expect(fromVariant(8, [1, 5])).toEqual({ ok: true, value: 2 ** 32 + 5 });
    expect(fromVariant(8, [0xffffffff, 0xffffff38])).toEqual({ ok: true, value: -200 });
    expect(fromVariant(9, [0xffffffff, 0xffffff38])).toMatchObject({ ok: false });
    expect(fromVariant(0, undefined)).toEqual({ ok: true, value: null });
    expect(toWritable("Int32", 2 ** 31)).toMatchObject({ ok: false });
    expect(toWritable("Int32", 7)).toEqual({ ok: true, value: 7, dataType: 6 });
    expect(toWritable("Int64", 2 ** 32 + 5)).toEqual({ ok: true, value: 2 ** 32 + 5, dataType: 8 });
    expect(toWritable("Int32", 70000, 4)).toMatchObject({ ok: false, message: expect.stringMatching(/Int16/) });
    expect(toWritable("Double", "1.5")).toMatchObject({ ok: false, message: '"1.5" is not a Double' });
    expect(toWritable("Boolean", 1)).toMatchObject({ ok: false });
    expect(fits("DateTime", "2026-11-24T00:00:00Z")).toBe(true);
    expect(fits("DateTime", "soon")).toBe(false);
    expect(fits("String", 3)).toBe(false);
  });
});
