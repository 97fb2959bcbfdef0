import type { Loc, Report } from "../diagnostics.js";

/**
 * One namespace of names (sites, templates, instances of a site, …). The first claim of a name wins;
 * a later claim of the same name is duplicate-name, of the same name in another case is invalid-name
 * (the names become file names, and case-insensitive file systems would merge them).
 */
export class Namespace {
  private readonly byLower = new Map<string, { name: string; loc: Loc | (() => Loc); what: string }>();
  constructor(
    private readonly what: string,
    private readonly report: Report,
  ) {}

  /**
   * loc may be given as a function: it is needed only for a clash, and a site may have 100,000 areas.
   * what names the claimant when one namespace holds several kinds (external systems and notification lists).
   */
  claim(name: string, at: Loc | (() => Loc), what = this.what): boolean {
    const lower = name.toLowerCase();
    const first = this.byLower.get(lower);
    if (!first) {
      this.byLower.set(lower, { name, loc: at, what });
      return true;
    }
    const loc = typeof at === "function" ? at() : at;
    const firstLoc = typeof first.loc === "function" ? first.loc() : first.loc;
    const where = `${firstLoc.file}:${firstLoc.line}`;
    if (first.name === name && first.what !== what)
      this.report.add(
        "duplicate-name",
        loc,
        `${what} "${name}": the name is already taken by ${first.what} "${name}" at ${where} (${this.what} names share one namespace)`,
      );
    else if (first.name === name)
      this.report.add("duplicate-name", loc, `${what} "${name}" is already defined at ${where}`);
    else
      this.report.add(
        "invalid-name",
        loc,
        `${what} "${name}" differs only by case from ${first.what === what ? "" : `${first.what} `}"${first.name}" (${where}); names must differ by more than case`,
      );
    return false;
  }
}
