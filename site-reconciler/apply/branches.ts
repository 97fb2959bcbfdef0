import type { BranchNames } from "../../controller/contract/branches.js";

/**
 * Why a release's branch names and the site's own disagree, or undefined when they agree. The deploy branch a
 * site reads is its flag (it must know where to look); the status prefix is the release's unless the site was
 * given one. A release found on another branch than the one it names was pushed to the wrong branch, or the repo
 * moved its deploy branch: either way it is not applied, and the message says which flag settles it.
 */
export function branchDisagreement(
  release: BranchNames,
  site: { deployBranch: string; statusBranchPrefix?: string },
): string | undefined {
  if (release.deployBranch !== site.deployBranch)
    return `branch-mismatch: this release names deploy branch ${release.deployBranch}, but the site reads ${site.deployBranch}: start the site with --deploy-branch ${release.deployBranch} if scadalink.yaml moved it, otherwise the release was pushed to the wrong branch (the applied revisions keep running)`;
  if (site.statusBranchPrefix !== undefined && release.statusBranchPrefix !== site.statusBranchPrefix)
    return `branch-mismatch: this release reports on ${release.statusBranchPrefix}<site>, but the site was started with --status-branch-prefix ${site.statusBranchPrefix}: drop the flag, or make it agree with statusBranchPrefix in scadalink.yaml (the applied revisions keep running)`;
  return undefined;
}
