import type { PackageAttribute } from "../../../schemas/types.js";

export type Declared = PackageAttribute["dataType"];

/** OPC UA built-in type ids (Part 6, 5.1.2) the package's data types correspond to. */
export const BUILTIN: Record<Declared, number> = {
  Boolean: 1,
  Int32: 6,
  Int64: 8,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
};

const NAMES: Record<number, string> = {
  1: "Boolean",
  2: "SByte",
  3: "Byte",
  4: "Int16",
  5: "UInt16",
  6: "Int32",
  7: "UInt32",
  8: "Int64",
  9: "UInt64",
  10: "Float",
  11: "Double",
  12: "String",
  13: "DateTime",
  24: "BaseDataType",
  26: "Number",
  27: "Integer",
  28: "UInteger",
  290: "Duration",
  294: "UtcTime",
};

/**
 * Server types each declared type accepts: the same type, or one it holds without loss (an Int16 tag read as
 * Int32, a Float as Double). Anything else is a mismatch reported to the operator, never a silent conversion.
 */
const ACCEPTS: Record<Declared, readonly number[]> = {
  Boolean: [1],
  Int32: [2, 3, 4, 5, 6],
  // UInt64 too: values are checked one by one (beyond 2^53 − 1 neither fits a JSON number exactly).
  Int64: [2, 3, 4, 5, 6, 7, 8, 9],
  Float: [10],
  Double: [10, 11, 290],
  String: [12],
  DateTime: [13, 294],
};

/** Abstract server types: the variable's values are checked one by one instead. */
const ABSTRACT = new Set([24, 26, 27, 28]);

export function typeName(id: number): string {
  return NAMES[id] ?? `i=${id}`;
}

/** Checks a server variable's DataType (a namespace-0 id) against the declared type; a message when they differ. */
export function checkDataType(declared: Declared, ns: number, id: number): string | undefined {
  if (ns === 0 && (ABSTRACT.has(id) || ACCEPTS[declared].includes(id))) return undefined;
  return `the server variable is ${ns === 0 ? typeName(id) : `ns=${ns};i=${id}`}, the attribute is declared ${declared}`;
}

/** Checks one received value's variant type; a message when it cannot be the declared type. */
export function checkVariant(declared: Declared, dataType: number, isArray: boolean): string | undefined {
  if (isArray) return `the server sent an array, the attribute is a ${declared} scalar`;
  if (dataType === 0) return undefined; // Null: no value, quality says why
  if (ACCEPTS[declared].includes(dataType)) return undefined;
  return `the server sent ${typeName(dataType)}, the attribute is declared ${declared}`;
}

/** Integer server types and the values they hold, for writes through a wider declaration. */
const RANGE: Record<number, readonly [number, number]> = {
  2: [-128, 127],
  3: [0, 255],
  4: [-32768, 32767],
  5: [0, 65535],
  6: [-(2 ** 31), 2 ** 31 - 1],
  7: [0, 2 ** 32 - 1],
  8: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  9: [0, Number.MAX_SAFE_INTEGER],
};
const FLOAT_MAX = 3.4028234663852886e38;

/**
 * A received value as the attribute table holds it: JSON data (DateTime as ISO text, 64-bit integers as numbers).
 * node-opcua hands (U)Int64 over as [high, low] unsigned 32-bit words: an Int64's high word is sign-extended here,
 * and a value beyond ±(2^53 − 1), which no JSON number holds exactly, is an error instead of a rounded number.
 */
export function fromVariant(
  dataType: number,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (value instanceof Date) return { ok: true, value: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if ((dataType === 8 || dataType === 9) && Array.isArray(value) && value.length === 2) {
    const [high, low] = value as [number, number];
    const words = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    const exact = dataType === 8 ? BigInt.asIntN(64, words) : words;
    if (exact > BigInt(Number.MAX_SAFE_INTEGER) || exact < -BigInt(Number.MAX_SAFE_INTEGER))
      return { ok: false, message: `the server sent ${exact}, beyond the ±(2^53 − 1) an attribute holds exactly` };
    return { ok: true, value: Number(exact) };
  }
  return { ok: true, value: value ?? null };
}

/**
 * A 64-bit integer as node-opcua encodes it: [high, low] unsigned 32-bit words (two's complement for negatives).
 * Given a plain number, node-opcua's own coercion fails on large negative values.
 */
export function int64Words(v: number): [number, number] {
  const x = BigInt.asUintN(64, BigInt(v));
  return [Number(x >> 32n), Number(x & 0xffffffffn)];
}

/**
 * The value to write for a declared type, checked first: a script writing "abc" to a Double is refused here, with
 * words, instead of reaching the device as something else. `serverType` is the variable's own built-in type when
 * known: a value the declared type holds but the variable does not (70000 to an Int16 tag declared Int32, -1 to a
 * UInt32) is refused too, never wrapped or clamped by the device.
 */
export function toWritable(
  declared: Declared,
  value: unknown,
  serverType?: number,
): { ok: true; value: unknown; dataType: number } | { ok: false; message: string } {
  const w = checkDeclared(declared, value);
  if (!w.ok || serverType === undefined || serverType === w.dataType) return w;
  const range = RANGE[serverType];
  if (range && typeof w.value === "number" && (w.value < range[0] || w.value > range[1]))
    return {
      ok: false,
      message: `${w.value} does not fit the server variable's ${typeName(serverType)} (${range[0]}…${range[1]})`,
    };
  if (serverType === 10 && typeof w.value === "number" && Math.abs(w.value) > FLOAT_MAX)
    return { ok: false, message: `${w.value} does not fit the server variable's Float` };
  return w;
}

function checkDeclared(
  declared: Declared,
  value: unknown,
): { ok: true; value: unknown; dataType: number } | { ok: false; message: string } {
  const bad = (): { ok: false; message: string } => ({
    ok: false,
    message: `${JSON.stringify(value)} is not a ${declared}`,
  });
  switch (declared) {
    case "Boolean":
      return typeof value === "boolean" ? { ok: true, value, dataType: 1 } : bad();
    case "Int32":
      return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31
        ? { ok: true, value, dataType: 6 }
        : bad();
    case "Int64":
      return Number.isSafeInteger(value) ? { ok: true, value, dataType: 8 } : bad();
    case "Float":
      return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= FLOAT_MAX
        ? { ok: true, value, dataType: 10 }
        : bad();
    case "Double":
      return typeof value === "number" && Number.isFinite(value) ? { ok: true, value, dataType: 11 } : bad();
    case "String":
      return typeof value === "string" ? { ok: true, value, dataType: 12 } : bad();
    case "DateTime": {
      const t = typeof value === "string" || typeof value === "number" ? new Date(value) : undefined;
      return t && !Number.isNaN(t.getTime()) ? { ok: true, value: t, dataType: 13 } : bad();
    }
  }
}

/** Whether a value fits a declared type (static attributes written by scripts). */
export function fits(declared: Declared, value: unknown): boolean {
  if (declared === "DateTime") return typeof value === "string" && !Number.isNaN(Date.parse(value));
  return toWritable(declared, value).ok;
}
