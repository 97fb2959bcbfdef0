import type { Loc, Report } from "../diagnostics.js";

/**
 * One namespace of names (sites, templates, instances of a site, …). The first claim of a name wins;
 * a later claim of the same name is duplicate-name, of the same name in another case is invalid-name
 * (the names become file names, and case-insensitive file systems would merge them).
 */
export class Namespace {
  private readonly byLower = new Map<string, { name: string; loc: Loc | (() => Loc) }>();
  constructor(
    private readonly what: string,
    private readonly report: Report,
  ) {}

  /** loc may be given as a function: it is needed only for a clash, and a site may have 100,000 areas. */
  claim(name: string, at: Loc | (() => Loc)): boolean {
    const lower = name.toLowerCase();
    const first = this.byLower.get(lower);
    if (!first) {
      this.byLower.set(lower, { name, loc: at });
      return true;
    }
    const loc = typeof at === "function" ? at() : at;
    const firstLoc = typeof first.loc === "function" ? first.loc() : first.loc;
    const where = `${firstLoc.file}:${firstLoc.line}`;
    if (first.name === name)
      this.report.add("duplicate-name", loc, `${this.what} "${name}" is already defined at ${where}`);
    else
      this.report.add(
        "invalid-name",
        loc,
        `${this.what} "${name}" differs only by case from "${first.name}" (${where}); names must differ by more than case`,
      );
    return false;
  }
}
