import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SiteArtifacts, SiteManifest } from "../../schemas/types.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { INTEGRATIONS, integrationsWith } from "../rules/integration-docs.js";
import { AUTO, DEPLOY, editDeploy, fleet, git, reconciler, SITE, show } from "./helpers.js";

let server: GitServer;
beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});

const SITE_JSON = `sites/${SITE}/site.json`;
const MANIFEST = `sites/${SITE}/manifest.json`;
const FILE = "integrations/all.yaml";

describe("a site and the integrations in its site.json", () => {
  it("accepts a release whose site.json carries integrations, and sees a change of one as a changed site.json only", async () => {
    const f = await fleet(server, { ...AUTO, [FILE]: INTEGRATIONS });
    const site = await reconciler(f.url);
    const first = await site.once();
    expect(first.sync.state).toBe("ok");
    expect(first.applied).toEqual(["Pump07", "Pump08"]);
    const artifacts = show<SiteArtifacts>(f.bare, DEPLOY, SITE_JSON);
    expect(artifacts.externalSystems!.map((s) => s.name)).toEqual(["Mes"]);
    expect(site.store.meta("siteRevisionHash")).toBe(artifacts.revisionHash);
    const before = show<SiteManifest>(f.bare, DEPLOY, MANIFEST);

    const head = await f.change({ [FILE]: integrationsWith("maxAttempts: 20", "maxAttempts: 5") });
    const changed = git(f.bare, "diff", "--name-only", `${first.head}`, head).trim().split("\n");
    expect(changed.sort()).toEqual([MANIFEST, SITE_JSON].sort());
    const after = show<SiteManifest>(f.bare, DEPLOY, MANIFEST);
    expect(after.instances).toEqual(before.instances);
    expect(after.siteRevisionHash).not.toBe(before.siteRevisionHash);

    const second = await site.once();
    expect(second.sync.state).toBe("ok");
    expect(second).toMatchObject({ applied: [], removed: [], refused: [] });
    expect(site.store.meta("siteRevisionHash")).toBe(after.siteRevisionHash);
    const stored = JSON.parse(site.store.meta("siteArtifacts")!) as SiteArtifacts;
    expect(stored.externalSystems![0]!.retry.maxAttempts).toBe(5);
    await site.stop();
  });

  it("refuses a site.json whose integrations were edited on the deploy branch (the hash no longer matches)", async () => {
    const f = await fleet(server, { ...AUTO, [FILE]: INTEGRATIONS });
    const site = await reconciler(f.url);
    await site.once();
    await editDeploy(server, f.name, (c) => {
      const a = JSON.parse(c.git("show", `HEAD:${SITE_JSON}`)) as SiteArtifacts;
      a.externalSystems![0]!.baseUrl = "https://attacker.example/api";
      c.write({ [SITE_JSON]: `${JSON.stringify(a, null, 2)}\n` });
    });
    const r = await site.once();
    expect(r.sync.state).toBe("refused");
    expect(r.sync.message).toMatch(/artifact-mismatch: site\.json hashes to/);
    await site.stop();
  });
});
