import type { DeploymentPackage, PackageAttribute } from "../schemas/types.js";
import type { PlcType } from "./plc.js";

/** One simulated tag: where it lives and how its value moves. */
export interface SimTag {
  /** The string identifier in namespace 2 (`ns=2;s=<id>`). */
  id: string;
  dataType: PlcType;
  /** Numbers: the middle and the swing of a slow sine wave that stays clear of every alarm on the attribute. */
  mid: number;
  swing: number;
  periodS: number;
  phase: number;
  /** Booleans and strings: the value that raises no alarm. */
  steady: unknown;
}

/** A tag the demo drives into its alarm and out again. */
export interface FiringTag {
  id: string;
  instance: string;
  alarm: string;
  normal: number;
  high: number;
}

const NS2 = /^ns=2;s=(.+)$/;

/**
 * Tags of one site by data connection, with values that look like a plant at rest: every numeric attribute waves
 * slowly inside the band its alarms leave free (below a `>` threshold, above a `<`, inside a range, slower than a
 * rate-of-change limit), booleans and strings sit where no `match` alarm fires.
 */
export function simulatedTags(packages: readonly DeploymentPackage[]): Map<string, SimTag[]> {
  const by = new Map<string, Map<string, SimTag>>();
  let n = 0;
  for (const p of packages)
    for (const a of p.attributes) {
      if (a.source !== "data" || !a.connection || !a.tag) continue;
      const m = NS2.exec(a.tag);
      if (!m) continue;
      const tags = by.get(a.connection) ?? new Map<string, SimTag>();
      by.set(a.connection, tags);
      if (!tags.has(m[1]!)) tags.set(m[1]!, simTag(m[1]!, a, p, n++));
    }
  const all = new Map([...by.values()].flatMap((tags) => [...tags]));
  for (const p of packages) followSetpoints(p, all);
  return new Map([...by].map(([c, tags]) => [c, [...tags.values()]]));
}

/**
 * A controller holds its process value close to its setpoint: `DoseSetpoint` stays put and `DoseRate` (any data
 * attribute with the same prefix) moves within half a percent of it, as a loop in control does.
 */
function followSetpoints(p: DeploymentPackage, tags: ReadonlyMap<string, SimTag>): void {
  const idOf = (a: PackageAttribute) => (a.source === "data" && a.tag ? NS2.exec(a.tag)?.[1] : undefined);
  for (const sp of p.attributes) {
    if (!sp.path.endsWith("Setpoint")) continue;
    const target = tags.get(idOf(sp) ?? "");
    if (!target || target.steady !== null) continue;
    target.swing = 0;
    const prefix = sp.path.slice(0, -"Setpoint".length);
    for (const pv of p.attributes) {
      const t = pv !== sp && pv.path.startsWith(prefix) ? tags.get(idOf(pv) ?? "") : undefined;
      if (!t || t.steady !== null || t.dataType !== target.dataType) continue;
      t.mid = target.mid;
      t.swing = Math.abs(target.mid) * 0.005;
    }
  }
}

function simTag(id: string, a: PackageAttribute, p: DeploymentPackage, n: number): SimTag {
  const alarms = p.alarms.filter((al) => al.trigger.attribute === a.path);
  const base = { id, dataType: a.dataType as PlcType, periodS: 40 + (n % 7) * 10, phase: (n * 0.7) % (2 * Math.PI) };
  if (a.dataType === "Boolean" || a.dataType === "String" || a.dataType === "DateTime") {
    const forbidden = alarms.flatMap((al) => (al.trigger.type === "match" ? [al.trigger.value] : []));
    const steady =
      a.dataType === "Boolean"
        ? !forbidden.includes(true)
        : a.dataType === "String"
          ? forbidden.includes("auto")
            ? "local"
            : "auto"
          : new Date(0).toISOString();
    return { ...base, mid: 0, swing: 0, steady };
  }
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  let maxRate = Number.POSITIVE_INFINITY;
  for (const { trigger: t } of alarms) {
    if (t.type === "range") {
      lo = Math.max(lo, t.low);
      hi = Math.min(hi, t.high);
    } else if (t.type === "threshold" && typeof t.value === "number") {
      if (t.op === ">" || t.op === ">=") hi = Math.min(hi, t.value);
      if (t.op === "<" || t.op === "<=") lo = Math.max(lo, t.value);
    } else if (t.type === "rateOfChange") maxRate = Math.min(maxRate, t.perSecond);
  }
  const [l, h] = band(lo, hi);
  const mid = (l + h) / 2;
  // A sine's fastest change is swing·2π/period per second: keep it under a third of any rate limit.
  let swing = (h - l) * 0.2;
  if (Number.isFinite(maxRate)) swing = Math.min(swing, (maxRate / 3) * (base.periodS / (2 * Math.PI)));
  if (a.dataType === "Int32" || a.dataType === "Int64")
    return { ...base, mid: Math.round(mid), swing: 0, steady: null };
  return { ...base, mid, swing, steady: null };
}

/** The free band between the alarms' limits (a plausible 0–100 where nothing limits it). */
function band(lo: number, hi: number): [number, number] {
  if (Number.isFinite(lo) && Number.isFinite(hi)) return [lo, hi];
  if (Number.isFinite(hi)) return [hi > 0 ? hi * 0.4 : hi - 100, hi > 0 ? hi * 0.9 : hi - 10];
  if (Number.isFinite(lo)) return [lo > 0 ? lo * 1.2 : lo + 10, lo > 0 ? lo * 2 : lo + 100];
  return [20, 80];
}

/** The value of a simulated tag at time t (seconds). */
export function valueAt(t: SimTag, seconds: number): unknown {
  if (t.steady !== null) return t.dataType === "DateTime" ? new Date(seconds * 1000).toISOString() : t.steady;
  const v = t.mid + t.swing * Math.sin((2 * Math.PI * seconds) / t.periodS + t.phase);
  return t.dataType === "Double" || t.dataType === "Float" ? Math.round(v * 1000) / 1000 : Math.round(v);
}

/** The first `>` threshold alarm of the packages on a simulated tag: the one the demo makes fire. */
export function firingTag(
  packages: readonly DeploymentPackage[],
  tags: ReadonlyMap<string, SimTag[]>,
): FiringTag | undefined {
  const known = new Map([...tags.values()].flat().map((t) => [t.id, t]));
  for (const p of packages)
    for (const al of p.alarms) {
      const t = al.trigger;
      if (t.type !== "threshold" || t.op !== ">" || typeof t.value !== "number") continue;
      const attr = p.attributes.find((a) => a.path === t.attribute);
      const id = attr?.tag ? NS2.exec(attr.tag)?.[1] : undefined;
      const sim = id ? known.get(id) : undefined;
      if (!sim || sim.steady !== null || sim.dataType === "Int32" || sim.dataType === "Int64") continue;
      return { id: sim.id, instance: p.instance.name, alarm: al.path, normal: sim.mid, high: t.value * 1.1 + 1 };
    }
  return undefined;
}
