/**
 * The branches central and sites share (sections 2.1 and 4.4). The defaults live here and nowhere else; a repo
 * may rename them in scadalink.yaml, and the controller then writes the names it used into every site.json, so
 * a site learns them from the deploy branch itself.
 */
export const DEFAULT_MAIN_BRANCH = "main";
export const DEFAULT_DEPLOY_BRANCH = "scadalink/deploy";
export const DEFAULT_STATUS_PREFIX = "scadalink/status/";

export interface BranchNames {
  /** The branch the controller writes deployment packages to. */
  deployBranch: string;
  /** Prefix of the sites' status branches; the site name is appended. */
  statusBranchPrefix: string;
}

export const DEFAULT_BRANCHES: Readonly<BranchNames> = {
  deployBranch: DEFAULT_DEPLOY_BRANCH,
  statusBranchPrefix: DEFAULT_STATUS_PREFIX,
};

/** The status branch a site reports on. */
export const statusBranch = (prefix: string, site: string) => `${prefix}${site}`;

/**
 * A branch name git would accept (git check-ref-format, for one branch), conservatively: no "..", no control
 * characters or the characters git forbids, no component starting with "." or ending with ".lock".
 */
export function isBranchName(name: string): boolean {
  if (name === "" || name.length > 255 || name === "@" || name.startsWith("-") || name.startsWith("/")) return false;
  if (name.endsWith("/") || name.endsWith(".") || name.includes("..") || name.includes("//") || name.includes("@{"))
    return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split("/").every((c) => c !== "" && !c.startsWith(".") && !c.endsWith(".lock"));
}
