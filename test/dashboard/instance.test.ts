import pino from "pino";
import { describe, expect, it } from "vitest";
import { openRepo } from "../../cli/repo-access.js";
import { InstancePages } from "../../dashboard/instance.js";
import { startDashboard } from "../../dashboard/server.js";
import { readFleet } from "../../dashboard/source.js";
import { BASE } from "../helpers/base-repo.js";
import { localRepo, scadalink, tempDir } from "../helpers/cli.js";

// The instance page against a real config repo released twice by the built controller: its revisions from the
// deploy branch's history, the member-level diff between them, where each field came from, and the HTTP page.

describe("the dashboard's instance page", () => {
  it("lists the released revisions, diffs two of them member by member, and says where each value came from", async () => {
    // rollout: auto, so each commit of main is released at once.
    const r = localRepo({ ...(BASE as Record<string, string>), "scadalink.yaml": "kind: Repository\nrollout: auto\n" });
    const deploy = () =>
      expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    deploy();
    r.commit(
      { "templates/motor.yaml": BASE["templates/motor.yaml"]!.replace("value: 1500", "value: 1600") },
      "MaxSpeed 1600",
    );
    deploy();
    const repo = await openRepo(r.dir, tempDir("dash-instance"));
    const pages = new InstancePages(repo);
    const d = (await pages.detail("plant-north", "Pump07"))!;
    expect(d.revisions).toHaveLength(2);
    expect(d.to).toBe(d.revisions[0]);
    expect(d.from).toBe(d.revisions[1]);
    expect(d.changes).toEqual([
      expect.objectContaining({ what: "MaxSpeed.value", kind: "changed", before: 1500, after: 1600 }),
    ]);
    // Provenance: MaxSpeed's value was written in the Motor template, its line there.
    const section = d.provenance!.find((s) => s.title === "attribute MaxSpeed")!;
    const value = section.rows.find((x) => x.field === "value")!;
    expect(value.where).toMatch(/^templates\/motor\.yaml:\d+:\d+$/);
    expect(value.layer).toMatch(/Motor/);
    // The older revision shown: compared with nothing older, and main no longer compiles to it.
    const old = (await pages.detail("plant-north", "Pump07", { to: d.revisions[1]!.deployCommit }))!;
    expect(old.to).toBe(old.revisions[1]);
    expect(old.from).toBeUndefined();
    expect(old.provenance).toBeNull();
    expect(await pages.detail("plant-north", "Nope")).toBeUndefined();

    const dash = await startDashboard({
      read: (now) => readFleet(repo, { heartbeatMs: 60_000, now }),
      instances: pages,
      port: 0,
      pollMs: 60_000,
      log: pino({ level: "silent" }),
    });
    try {
      const res = await fetch(`${dash.url}instances/plant-north/Pump07`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
      const html = await res.text();
      expect(html).toContain("<code>MaxSpeed.value</code>");
      expect(html).toMatch(/<code>1500<\/code><\/td><td><code>1600<\/code>/);
      expect(html).toMatch(/templates\/motor\.yaml:\d+:\d+/);
      expect((await fetch(`${dash.url}instances/plant-north/Nope`)).status).toBe(404);
    } finally {
      await dash.stop();
    }
  });
});

describe("the instance page's records", () => {
  it("shows the site's execution record of a batch with an excerpt of its event-log evidence", async () => {
    const r = localRepo(BASE as Record<string, string>);
    const controller = () =>
      expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    controller();
    const site = scadalink([
      ...["site", "--site", "plant-north", "--repo", r.dir, "--state-dir", tempDir("record-site")],
      ...["--runtime", "none", "--once", "--log-level", "error"],
    ]);
    expect(site.code, site.stderr).toBe(0);
    const repo = await openRepo(r.dir, tempDir("dash-records"));
    const d = (await new InstancePages(repo).detail("plant-north", "Pump07"))!;
    expect(d.records.map((x) => [x.batch, x.result])).toEqual([["pilot", "pass"]]);
    const rec = d.records[0]!;
    expect(rec.evidence).toContain("event-log");
    expect(rec.eventCount).toBeGreaterThan(0);
    expect(rec.events.length).toBe(Math.min(20, rec.eventCount));
    // The site's own words for what it did: the apply of the released revision.
    expect(rec.events).toContainEqual(
      expect.objectContaining({ kind: "deploy", message: expect.stringMatching(/^apply sha256:[0-9a-f]{64}$/) }),
    );
    expect(rec.evidence.length).toBeGreaterThan(0);
  });
});
