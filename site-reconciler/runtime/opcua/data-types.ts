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
  Int64: [2, 3, 4, 5, 6, 7, 8],
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

/** A received value as the attribute table holds it: JSON data (DateTime as ISO text, 64-bit integers as numbers). */
export function fromVariant(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  // node-opcua represents (U)Int64 as [high, low] 32-bit words.
  if (Array.isArray(value) && value.length === 2 && value.every((w) => typeof w === "number"))
    return value[0]! * 2 ** 32 + value[1]!;
  return value ?? null;
}

/**
 * The value to write for a declared type, checked first: a script writing "abc" to a Double is refused here, with
 * words, instead of reaching the device as something else.
 */
export function toWritable(
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
    case "Int64": {
      if (!Number.isSafeInteger(value)) return bad();
      const v = value as number;
      const high = Math.floor(v / 2 ** 32);
      return { ok: true, value: [high, v - high * 2 ** 32], dataType: 8 };
    }
    case "Float":
    case "Double":
      return typeof value === "number" && Number.isFinite(value)
        ? { ok: true, value, dataType: BUILTIN[declared] }
        : bad();
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
