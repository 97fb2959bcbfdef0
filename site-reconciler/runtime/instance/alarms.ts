import type { AlarmTrigger1 } from "../../../schemas/types.js";

/** A value as alarm evaluation sees it: the value and its source time in ms. */
export interface Sample {
  value: unknown;
  at: number;
}

/**
 * Whether an alarm's trigger holds for the current sample (section 2.5): threshold compares with `op`, range is
 * active outside [low, high], match when equal, rateOfChange when the absolute change per second since the
 * previous sample exceeds perSecond. Undefined when the samples cannot say (no number, no previous sample, no
 * time elapsed): the alarm keeps its state rather than flapping to normal on a value it cannot judge.
 */
export function triggerHolds(
  trigger: AlarmTrigger1,
  current: Sample,
  previous: Sample | undefined,
): boolean | undefined {
  const v = current.value;
  switch (trigger.type) {
    case "threshold":
      return compare(v, trigger.op, trigger.value);
    case "range":
      return typeof v === "number" && !Number.isNaN(v) ? v < trigger.low || v > trigger.high : undefined;
    case "match":
      return v === null || v === undefined ? undefined : same(v, trigger.value);
    case "rateOfChange": {
      if (!previous || typeof v !== "number" || typeof previous.value !== "number") return undefined;
      const dt = (current.at - previous.at) / 1000;
      if (!(dt > 0)) return undefined;
      return Math.abs(v - previous.value) / dt > trigger.perSecond;
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "string" && typeof b === "string" && isIsoTime(a) && isIsoTime(b))
    return Date.parse(a) === Date.parse(b);
  return a === b;
}

function compare(a: unknown, op: string, b: unknown): boolean | undefined {
  if (a === null || a === undefined) return undefined;
  let x: number | string | boolean = a as number;
  let y: number | string | boolean = b as number;
  if (typeof a === "string" && typeof b === "string" && isIsoTime(a) && isIsoTime(b)) {
    x = Date.parse(a);
    y = Date.parse(b);
  } else if (typeof a !== typeof b) return op === "!=" ? true : op === "==" ? false : undefined;
  if (typeof x === "number" && Number.isNaN(x)) return undefined;
  switch (op) {
    case ">":
      return x > y;
    case ">=":
      return x >= y;
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case "==":
      return x === y;
    case "!=":
      return x !== y;
  }
  return undefined;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
function isIsoTime(s: string): boolean {
  return ISO.test(s);
}

/** Words for an alarm transition in the event log. */
export function describeTrigger(trigger: AlarmTrigger1, value: unknown): string {
  const v = JSON.stringify(value);
  switch (trigger.type) {
    case "threshold":
      return `${trigger.attribute}=${v} ${trigger.op} ${JSON.stringify(trigger.value)}`;
    case "range":
      return `${trigger.attribute}=${v} outside [${trigger.low}, ${trigger.high}]`;
    case "match":
      return `${trigger.attribute}=${v} matches ${JSON.stringify(trigger.value)}`;
    case "rateOfChange":
      return `${trigger.attribute}=${v} changing faster than ${trigger.perSecond}/s`;
  }
}
