import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepo, runningScadalink, scadalink, tempDir } from "../helpers/cli.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import { y } from "../helpers/repo.js";
import { siteYaml, until } from "../site/runtime-helpers.js";

// `scadalink site --ui-port` through the built CLI against a real PLC (node-opcua): the site's own pages show its
// runtime's live values and alarms and its events, and push a new body when a value changes at the PLC.

let plc: Plc;
beforeAll(async () => {
  plc = await startPlc({ variables: [{ id: "T1.Level", dataType: "Double", value: 1.5 }] });
});
afterAll(async () => {
  await plc.stop();
});

function repo() {
  return localRepo({
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": siteYaml(plc.endpoint),
    "templates/tank.yaml": y`
      kind: Template
      name: Tank
      attributes:
        - { name: Level, dataType: Double, source: data, tag: "ns=2;s=T1.Level" }
      alarms:
        - name: High
          trigger: { type: threshold, attribute: Level, op: ">", value: 80 }
          priority: 700
    `,
    "instances/t1.yaml": "kind: Instance\nname: T1\nsite: plant-north\narea: Line1\ntemplate: Tank\nconnection: plc\n",
  });
}

/** Collects the bodies the page's event stream pushes. */
function stream(port: number, page: string) {
  const bodies: string[] = [];
  const req = request(
    {
      host: "127.0.0.1",
      port,
      path: `/api/events?page=${encodeURIComponent(page)}`,
      headers: { host: `127.0.0.1:${port}` },
    },
    (res) => {
      let buf = "";
      res.on("data", (chunk) => {
        buf += chunk;
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (/^event: body$/m.test(block) && data) bodies.push((JSON.parse(data[1]!) as { html: string }).html);
        }
      });
    },
  );
  req.on("error", () => undefined);
  req.end();
  return { bodies, close: () => req.destroy() };
}

describe("scadalink site --ui-port (built CLI)", () => {
  it("serves the site's live values, alarms and events, and pushes them as they change", async () => {
    const r = repo();
    expect(scadalink(["controller", "--repo", r.dir, "--once", "--log-level", "error"]).code).toBe(0);
    const { child, exited, output } = runningScadalink(
      [
        "site",
        "--site",
        "plant-north",
        "--repo",
        r.dir,
        "--state-dir",
        tempDir("site-ui"),
        "--ui-port",
        "0",
        "--log-level",
        "info",
      ],
      { SCADALINK_POLL_INTERVAL: "1" },
    );
    try {
      const url = await until("the site's UI URL", () => /"ui":"(http:[^"]+)"/.exec(output())?.[1], 30_000);
      const port = Number(new URL(url).port);
      await until(
        "T1's level on the page",
        async () => (await (await fetch(url)).text()).includes('data-attribute="T1/Level"'),
        30_000,
      );
      const first = await (await fetch(url)).text();
      expect(first).toMatch(
        /data-attribute="T1\/Level"><td>Level<\/td><td class="value"><code>1\.5<\/code><\/td><td class="">good<\/td>/,
      );
      expect(first).toMatch(/data-alarm="T1\/High"><td>High<\/td><td class="">normal<\/td>/);
      expect(first).toContain("<h2>Events</h2>");
      const s = stream(port, "/");
      try {
        // A value over the alarm's threshold at the PLC: the page's next body has it, and the alarm active.
        plc.set("T1.Level", 91.25);
        const pushed = await until(
          "a pushed body with 91.25 and the alarm active",
          () =>
            s.bodies.find(
              (b) =>
                b.includes("<code>91.25</code>") &&
                /data-alarm="T1\/High"><td>High<\/td><td class="alarm">ACTIVE/.test(b),
            ),
          15_000,
        );
        expect(pushed).not.toContain("<html");
        const one = await (await fetch(`${url}instances/T1`)).text();
        expect(one).toContain("<code>91.25</code>");
        expect((await fetch(`${url}instances/Nope`)).status).toBe(404);
      } finally {
        s.close();
      }
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
