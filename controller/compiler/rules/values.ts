import type { Scalar } from "../model.js";
import { describeValue } from "../text.js";

export type DataType = "Boolean" | "Int32" | "Int64" | "Float" | "Double" | "String" | "DateTime";

export const NUMERIC_TYPES: ReadonlySet<string> = new Set(["Int32", "Int64", "Float", "Double"]);

const FLOAT_MAX = 3.4028234663852886e38;
// ISO 8601 date-time with a zone (Z or ±hh:mm); seconds and fractions optional.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export type Fit = { ok: true; value: Scalar } | { ok: false; reason: string };

/**
 * Does a literal fit a dataType? Returns the canonical value: DateTime as UTC ISO 8601 with milliseconds,
 * so one instant written two ways hashes the same. Int64 is limited to ±(2^53-1), what JSON carries exactly.
 */
export function fitValue(v: unknown, dataType: DataType): Fit {
  const no = (why: string): Fit => ({ ok: false, reason: `${describeValue(v)} does not fit ${dataType}${why}` });
  switch (dataType) {
    case "Boolean":
      return typeof v === "boolean" ? { ok: true, value: v } : no(" (use true or false)");
    case "String":
      return typeof v === "string" ? { ok: true, value: v } : no(' (quote it: "…")');
    case "Int32":
      if (typeof v !== "number" || !Number.isInteger(v)) return no(" (an integer is needed)");
      return v >= -2147483648 && v <= 2147483647 ? { ok: true, value: v } : no(" (outside -2147483648…2147483647)");
    case "Int64":
      if (typeof v !== "number" || !Number.isInteger(v)) return no(" (an integer is needed)");
      return Number.isSafeInteger(v) ? { ok: true, value: v } : no(" (outside ±9007199254740991)");
    case "Float":
      if (typeof v !== "number") return no(" (a number is needed)");
      return Math.abs(v) <= FLOAT_MAX ? { ok: true, value: v } : no(" (outside the 32-bit float range)");
    case "Double":
      return typeof v === "number" ? { ok: true, value: v } : no(" (a number is needed)");
    case "DateTime": {
      if (typeof v !== "string" || !ISO_DATE_TIME.test(v))
        return no(" (an ISO 8601 date-time with a zone is needed, e.g. 2026-04-20T08:00:00Z)");
      const t = Date.parse(v.replace(" ", "T"));
      return Number.isNaN(t) ? no(" (not a valid date-time)") : { ok: true, value: new Date(t).toISOString() };
    }
  }
}
