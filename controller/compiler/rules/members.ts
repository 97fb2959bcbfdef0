import type { Loc, Report } from "../diagnostics.js";
import type { Member } from "../flatten/members.js";

/** Section 2.2's name pattern for members and modules (the schema reports names that break it). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * The member namespace of a template being flattened: members and modules share it (member-collision), and
 * two paths differing only by case are invalid-name.
 */
export class MemberTable {
  readonly members = new Map<string, Member>();
  /** Module path → template name. */
  readonly modules = new Map<string, string>();
  /** How each name came to be here, for messages. */
  private readonly whence = new Map<string, string>();
  private readonly lower = new Map<string, string>();

  constructor(private readonly report: Report) {}

  /** Adds an inherited or composed entry, which cannot collide (its own template was checked). */
  inherit(path: string, whence: string, member?: Member, module?: string): void {
    if (member) this.members.set(path, member);
    if (module !== undefined) this.modules.set(path, module);
    this.whence.set(path, whence);
    this.lower.set(path.toLowerCase(), path);
  }

  /** Claims a top-level name for a member or module defined by this template; false on collision. */
  claim(name: string, loc: Loc, whence: string): boolean {
    // A name breaking the naming rule (reported as invalid-name) cannot become part of a path.
    if (!IDENTIFIER.test(name)) return false;
    const existing = this.whence.get(name);
    if (existing !== undefined) {
      const isModule = this.modules.has(name);
      const hint = existing.startsWith("inherited")
        ? `: it is ${existing}; change inherited members under overrides`
        : ` (${isModule ? "module" : "member"} ${existing})`;
      this.report.add(
        "member-collision",
        loc,
        `"${name}" is already a ${isModule ? "module" : "member"} of this template${hint}`,
      );
      return false;
    }
    const clash = this.lower.get(name.toLowerCase());
    if (clash !== undefined) {
      this.report.add(
        "invalid-name",
        loc,
        `"${name}" differs only by case from "${clash}" (${this.whence.get(clash)}); names must differ by more than case`,
      );
      return false;
    }
    this.whence.set(name, whence);
    this.lower.set(name.toLowerCase(), name);
    return true;
  }
}
