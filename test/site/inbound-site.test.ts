import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, localRepo, runningScadalink, scadalink, tempDir } from "../helpers/cli.js";
import { y } from "../helpers/repo.js";
import { until } from "./runtime-helpers.js";

// The inbound API through the built CLI: `scadalink site --inbound-port P` serves the site's ApiMethods, answers a
// caller with a key and refuses one without, never logs a key, and is not there without the flag.

const KEY = "inbound-CANARY-2f9a61";

function repo() {
  return localRepo({
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": "kind: Site\nname: plant-north\nareas: [{ name: Line1 }]\n",
    "templates/mixer.yaml": y`
      kind: Template
      name: Mixer
      attributes:
        - { name: Recipe, dataType: String, value: "" }
      scripts:
        - name: ApplyRecipe
          trigger: { type: call }
          parameters: [{ name: recipe, type: String }]
          returns: String
          code: |
            attributes.set("Recipe", recipe);
            return "applied " + recipe;
    `,
    "instances/m1.yaml": "kind: Instance\nname: M1\nsite: plant-north\narea: Line1\ntemplate: Mixer\n",
    "integrations/api.yaml": y`
      kind: ApiMethod
      name: SetRecipe
      site: plant-north
      instance: M1
      script: ApplyRecipe
      keys: [MES_INBOUND_KEY]
      timeoutMs: 5000
    `,
  });
}

function startSite(args: string[]) {
  return runningScadalink(args, { SCADALINK_SECRET_MES_INBOUND_KEY: KEY, SCADALINK_POLL_INTERVAL: "1" });
}

const call = (port: number, key: string | undefined, body: unknown) =>
  fetch(`http://127.0.0.1:${port}/api/SetRecipe`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });

describe("scadalink site --inbound-port (built CLI)", () => {
  it("serves the site's ApiMethods with their keys, refuses a caller without one, and logs no key", async () => {
    const r = repo();
    const compiled = scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]);
    expect(compiled.code, JSON.stringify(compiled)).toBe(0);
    const port = await freePort();
    const site = startSite([
      "site",
      "--site",
      "plant-north",
      "--repo",
      r.dir,
      "--state-dir",
      tempDir("inbound-site"),
      "--inbound-port",
      String(port),
      "--log-level",
      "info",
    ]);
    try {
      let answer: Response | undefined;
      await until(
        "the inbound API answering for M1",
        async () => {
          answer = await call(port, KEY, { recipe: "R-7" }).catch(() => undefined);
          return answer?.status === 200;
        },
        30_000,
      );
      expect(await answer!.json()).toEqual({ result: "applied R-7" });
      const refused = await call(port, undefined, { recipe: "R-8" });
      expect(refused.status).toBe(401);
      const wrong = await call(port, `${KEY}-not`, { recipe: "R-9" });
      expect(wrong.status).toBe(401);
      const bad = await call(port, KEY, { recipe: 7 });
      expect(bad.status).toBe(400);
      expect(site.output()).toMatch(/inbound API listening/);
      expect(site.output()).toMatch(/inbound API request failed/);
      expect(site.output()).not.toContain(KEY);
    } finally {
      site.child.kill("SIGTERM");
      expect(await site.exited).toBe(0);
    }
  });

  it("is off without the flag: the site runs, and starts no listener for callers", async () => {
    const r = repo();
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const state = tempDir("inbound-off");
    const site = startSite([
      "site",
      "--site",
      "plant-north",
      "--repo",
      r.dir,
      "--state-dir",
      state,
      "--log-level",
      "info",
    ]);
    try {
      // The read API starts after the inbound API would have: once api.json is there, it was not started.
      await until("the site's read API", () => existsSync(join(state, "api.json")), 30_000);
      // Started (and so stopping on SIGTERM, as below) once it says so.
      await until("the site started", () => /site reconciler started/.test(site.output()), 30_000);
      expect(site.output()).not.toMatch(/inbound API/);
    } finally {
      site.child.kill("SIGTERM");
      expect(await site.exited).toBe(0);
    }
  });
});
