import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTO } from "../controller/helpers.js";
import { BASE } from "../helpers/base-repo.js";
import { localRepo as repo, scadalink, tempDir } from "../helpers/cli.js";
import { runGit } from "../helpers/git-server.js";

describe("scadalink controller", () => {
  it("--once deploys, logs JSON lines and exits 0; an invalid head exits 1", () => {
    const r = repo(AUTO);
    const run = scadalink(["controller", "--repo", r.dir, "--once"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(
      lines.some((l) => l.msg === "deploy commit written" && l.commit === r.first && l.component === "controller"),
    ).toBe(true);
    expect(runGit(r.dir, ["log", "-1", "--format=%(trailers:key=Source-Commit,valueonly)", "scadalink/deploy"])).toBe(
      r.first,
    );
    r.commit({ "instances/more.yaml": AUTO["instances/more.yaml"]!.replace("template: Pump", "template: Pmp") });
    expect(scadalink(["controller", "--repo", r.dir, "--once"]).code).toBe(1);
  });

  it("takes every option from the environment, and only secrets from there", () => {
    const r = repo(AUTO);
    expect(scadalink(["controller", "--once", "--log-level", "error"], { env: { SCADALINK_REPO: r.dir } }).code).toBe(
      0,
    );
    expect(runGit(r.dir, ["rev-parse", "scadalink/deploy"])).toMatch(/^[0-9a-f]{40}$/);
    const help = scadalink(["controller", "--help"]).stdout.replace(/\s+/g, " ");
    for (const env of [
      "SCADALINK_REPO",
      "SCADALINK_POLL_INTERVAL",
      "SCADALINK_WEBHOOK_PORT",
      "SCADALINK_GITHUB_REPO",
      "SCADALINK_WEBHOOK_SECRET",
      "SCADALINK_GITHUB_TOKEN",
    ]) {
      expect(help).toContain(env);
    }
    expect(scadalink(["controller", "--once"]).code).toBe(2); // no repo
    expect(scadalink(["controller", "--once", "--repo", r.dir, "--github-repo", "acme/plant"]).stderr).toContain(
      "SCADALINK_GITHUB_TOKEN",
    );
  });
});

describe("plan, diff, batch prepare and status", () => {
  it("plan shows per-site member-level changes against the deploy branch, in text, json and markdown", () => {
    const r = repo(AUTO);
    expect(scadalink(["controller", "--repo", r.dir, "--once"]).code).toBe(0);
    writeFileSync(
      join(r.dir, "templates/motor.yaml"),
      BASE["templates/motor.yaml"]!.replace("value: 1450 }", "value: 1500 }"),
    );
    const text = scadalink(["plan", "--repo", r.dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      "2 instances change at 1 site (rollout auto): 0 added, 2 changed, 0 removed, 0 unchanged",
    );
    expect(text.stdout).toContain("OverSpeed.trigger.value: 1450 → 1500");
    const json = JSON.parse(scadalink(["plan", "--repo", r.dir, "--format", "json"]).stdout);
    expect(json.sites[0].changed.map((i: { name: string }) => i.name)).toEqual(["Pump07", "Pump08"]);
    expect(scadalink(["plan", "--repo", r.dir, "--format", "markdown"]).stdout).toContain("<!-- scadalink-plan -->");
    writeFileSync(
      join(r.dir, "instances/more.yaml"),
      AUTO["instances/more.yaml"]!.replace("template: Pump", "template: Pmp"),
    );
    expect(scadalink(["plan", "--repo", r.dir]).code).toBe(1);
  });

  it("diff prints member-level lines and exits 1 on differences, 0 without", () => {
    const r = repo(AUTO);
    const second = r.commit({
      "instances/north.yaml": BASE["instances/north.yaml"]!.replace(
        'tag: "ns=2;s=L1.Pump07.Speed"',
        'tag: "ns=2;s=L1.P7.SPD"',
      ),
    });
    const d = scadalink(["diff", r.first, second, "--repo", r.dir]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('Pump07 Speed.tag: "ns=2;s=L1.Pump07.Speed" → "ns=2;s=L1.P7.SPD"');
    expect(scadalink(["diff", "HEAD", "main", "--repo", r.dir]).code).toBe(0);
    expect(scadalink(["diff", "nope", "HEAD", "--repo", r.dir]).code).toBe(2);
  });

  it("batch prepare writes the four artifacts and refuses an unknown batch", () => {
    const r = repo(BASE);
    const out = join(tempDir("prep"), "pilot");
    expect(scadalink(["batch", "prepare", "pilot", "--repo", r.dir, "--out", out]).code).toBe(0);
    for (const f of ["handoff.json", "evidence-checklist.json", "execution-record-template.json", "report.md"])
      expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("**Preparation only.**");
    expect(scadalink(["batch", "prepare", "nope", "--repo", r.dir]).code).toBe(2);
  });

  it("status shows desired and applied revisions per site and instance", () => {
    const r = repo(AUTO);
    scadalink(["controller", "--repo", r.dir, "--once"]);
    const s = JSON.parse(scadalink(["status", "--repo", r.dir, "--format", "json"]).stdout);
    expect(s.sites[0]).toMatchObject({ site: "plant-north", lastSeen: null, converged: false });
    expect(
      s.sites[0].instances.map((i: { name: string; desired: string }) => [i.name, i.desired.startsWith("sha256:")]),
    ).toEqual([
      ["Pump07", true],
      ["Pump08", true],
    ]);
    expect(scadalink(["status", "--repo", r.dir]).stdout).toContain("plant-north  last seen never");
  });

  it("validate reports batch-immutable when the deploy branch is in the repository", () => {
    const r = repo(BASE);
    scadalink(["controller", "--repo", r.dir, "--once"]);
    expect(scadalink(["validate", "--repo", r.dir]).code).toBe(0);
    writeFileSync(
      join(r.dir, "batches/pilot.yaml"),
      "kind: Batch\nname: pilot\nselect:\n  instances: [plant-north/Pump07]\n  match: [{ site: plant-north }]\nphase: execute\n",
    );
    const v = scadalink(["validate", "--repo", r.dir]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain("batch-immutable");
  });
});
