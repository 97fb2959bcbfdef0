import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SiteArtifacts, SiteStatus } from "../../schemas/types.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { AUTO, DEPLOY, fleet, git, reconciler, SITE, show, tempDir } from "./helpers.js";

// scadalink.yaml may rename the deploy branch and the status prefix (section 2.1). The controller honours them;
// the site must too, or a repo that sets them deploys and no site ever sees it.
const RELEASES = "plant/releases";
const CUSTOM = {
  ...AUTO,
  "scadalink.yaml":
    "kind: Repository\nrollout: auto\ndeployBranch: plant/releases\nstatusBranchPrefix: plant/reports/\n",
};

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(() => server.stop());

const hasRef = (bare: string, ref: string) => {
  try {
    git(bare, "rev-parse", "--verify", "--quiet", ref);
    return true;
  } catch {
    return false;
  }
};

describe("branch names from scadalink.yaml reach the site", () => {
  it("every site.json names the branches its release was written with, when they are not the defaults", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    expect(hasRef(f.bare, `refs/heads/${DEPLOY}`)).toBe(false);
    const artifacts = show<SiteArtifacts>(f.bare, "plant/releases", `sites/${SITE}/site.json`);
    expect(artifacts.branches).toEqual({ deployBranch: "plant/releases", statusBranchPrefix: "plant/reports/" });
    const plain = await fleet(server);
    // The defaults are not written: such a repo's site.json (and its hash) is what it was before.
    expect(show<SiteArtifacts>(plain.bare, DEPLOY, `sites/${SITE}/site.json`)).not.toHaveProperty("branches");
  });

  it("a site given the deploy branch applies it and reports on the prefix the release names", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    const site = await reconciler(f.url, { deployBranch: "plant/releases" });
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(r.applied).toEqual(["Pump07", "Pump08"]);
    expect(show<SiteStatus>(f.bare, `plant/reports/${SITE}`, "status.json").deployCommit).toBe(r.head);
    expect(hasRef(f.bare, `refs/heads/scadalink/status/${SITE}`)).toBe(false);
    await site.stop();
  });

  it("a site on the default branch of such a repo says the branch it reads does not exist", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    const site = await reconciler(f.url);
    const r = await site.once();
    expect(r.applied).toEqual([]);
    expect(r.sync.message).toContain(`the deploy branch ${DEPLOY} does not exist`);
    await site.stop();
  });

  it("a release pushed to another branch than the one it names is refused, and the flag that settles it is named", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    const good = await reconciler(f.url, { deployBranch: "plant/releases" });
    await good.once();
    // The releases branch copied to the default name: what a push to the wrong branch does.
    git(f.bare, "update-ref", `refs/heads/${DEPLOY}`, "refs/heads/plant/releases");
    const wrong = await reconciler(f.url);
    const r = await wrong.once();
    expect(r.sync.state).toBe("refused");
    expect(r.sync.message).toMatch(
      /^branch-mismatch: this release names deploy branch plant\/releases, but the site reads scadalink\/deploy: start the site with --deploy-branch plant\/releases/,
    );
    expect(r.applied).toEqual([]);
    expect(wrong.store.applied().size).toBe(0);
    await good.stop();
    await wrong.stop();
  });

  it("a status prefix given to the site that the release contradicts is refused, naming both", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    const site = await reconciler(f.url, { deployBranch: "plant/releases", statusBranchPrefix: "other/" });
    const r = await site.once();
    expect(r.sync.state).toBe("refused");
    expect(r.sync.message).toContain("this release reports on plant/reports/<site>");
    expect(r.sync.message).toContain("--status-branch-prefix other/");
    expect(site.store.applied().size).toBe(0);
    // The refusal itself is reported where the site was told to report.
    expect(show<SiteStatus>(f.bare, `other/${SITE}`, "status.json").health?.sync?.state).toBe("refused");
    await site.stop();
  });

  it("a new status prefix in scadalink.yaml moves the site's reports with the next release, and across a restart", async () => {
    const f = await fleet(server, CUSTOM, { deployBranch: RELEASES });
    const state = tempDir("site");
    const site = await reconciler(f.url, { deployBranch: "plant/releases", stateDir: state });
    await site.once();
    await f.change({ "scadalink.yaml": CUSTOM["scadalink.yaml"]!.replace("plant/reports/", "plant/status/") });
    const r = await site.once();
    expect(r.sync.state).toBe("ok");
    expect(show<SiteStatus>(f.bare, `plant/status/${SITE}`, "status.json").deployCommit).toBe(r.head);
    await site.stop();
    // A restart reports on the prefix the applied release named, before it has fetched anything.
    const again = await reconciler(f.url, { deployBranch: "plant/releases", stateDir: state });
    expect(again.statusBranch).toBe(`plant/status/${SITE}`);
    await again.stop();
  });
});
