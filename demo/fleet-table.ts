import type { InspectInstance } from "../site-reconciler/api/server.js";
import type { InstanceView } from "../site-reconciler/runtime/view.js";
import type { ResultState } from "../site-reconciler/types.js";

/**
 * An instance as the table shows it: a runtime's InstanceView, or a read API answer (a site run as a pair, in other
 * processes) with the result from the site's status branch (null: none reported for this revision).
 */
export type TableInstance = InspectInstance & { result: ResultState | null };

/** One site as the table shows it: what the deploy branch wants, and what the site runs. */
export interface SiteRow {
  site: string;
  /** Revision per instance the deploy branch's manifest lists for the site. */
  desired: ReadonlyMap<string, string>;
  running: readonly (InstanceView | TableInstance)[];
}

const short = (hash: string | undefined) => (hash ? hash.replace(/^sha256:/, "").slice(0, 8) : "-");

/**
 * The live fleet table: sites × instances with revision (desired → running when they differ), lifecycle state,
 * result, quality (attributes with good quality of all) and active alarms; one summary line per site.
 */
export function fleetTable(sites: readonly SiteRow[], width = 100): string[] {
  const lines: string[] = [];
  const cut = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  for (const s of sites) {
    const byName = new Map(s.running.map((i) => [i.name, i]));
    const names = [...new Set([...s.desired.keys(), ...byName.keys()])].sort();
    const converged = names.filter((n) => s.desired.get(n) && s.desired.get(n) === byName.get(n)?.revisionHash);
    const alarms = s.running.reduce((n, i) => n + i.alarms.filter((a) => a.active).length, 0);
    lines.push(
      cut(
        `${s.site}  ${converged.length}/${s.desired.size} at the desired revision${alarms ? `  ${alarms} alarm(s) active` : ""}`,
      ),
    );
    for (const name of names) {
      const i = byName.get(name);
      const want = s.desired.get(name);
      const rev =
        i && want && i.revisionHash !== want
          ? `${short(i.revisionHash)}→${short(want)}`
          : short(want ?? i?.revisionHash);
      const attrs = i?.attributes ?? [];
      const good = attrs.filter((a) => a.quality === "good").length;
      const active = i?.alarms.filter((a) => a.active).map((a) => a.path) ?? [];
      lines.push(
        cut(
          `  ${name.padEnd(14)} ${rev.padEnd(17)} ${(i ? i.state : "pending").padEnd(9)} ${(i?.result ?? "-").padEnd(21)} ${`${good}/${attrs.length} good`.padEnd(11)} ${active.join(", ")}`,
        ),
      );
    }
  }
  return lines;
}
