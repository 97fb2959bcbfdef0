// `scadalink site witness` through the built CLI (npm run build): it serves leases to signed requests, keeps them
// in its state directory, stops on SIGTERM, and never shows the secret.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HmacPeerAuth } from "../../site-reconciler/redundancy/peer-auth.js";
import { WITNESS_DB } from "../../site-reconciler/redundancy/witness.js";
import { WitnessClient } from "../../site-reconciler/redundancy/witness-client.js";
import { scadalink, spawnScadalink, tempDir } from "../helpers/cli.js";

const SECRET = "witness-cli-secret-0123456789abcdef";

describe("scadalink site witness", () => {
  it("serves signed lease requests on loopback, keeps them in --state-dir and stops on SIGTERM", async () => {
    const state = tempDir("witness");
    const child = spawnScadalink(["site", "witness", "--port", "0", "--peer-secret", "PAIR", "--state-dir", state], {
      SCADALINK_SECRET_PAIR: SECRET,
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const started = Date.now();
    while (!out.includes("witness listening") && Date.now() - started < 20_000)
      await new Promise((r) => setTimeout(r, 50));
    const line = out.split("\n").find((l) => l.includes("witness listening"));
    expect(line, out).toBeDefined();
    const { host, port } = JSON.parse(line!) as { host: string; port: number };
    expect(host).toBe("127.0.0.1");
    const client = new WitnessClient({
      url: `http://127.0.0.1:${port}`,
      site: "plant-1",
      auth: new HmacPeerAuth({ secret: Buffer.from(SECRET), node: "a" }),
      timeoutMs: 5_000,
    });
    expect(await client.lease({ node: "a", epoch: 2, ttlMs: 5_000, mode: "acquire" })).toMatchObject({
      granted: true,
      holder: "a",
      epoch: 3,
    });
    const wrong = new WitnessClient({
      url: `http://127.0.0.1:${port}`,
      site: "plant-1",
      auth: new HmacPeerAuth({ secret: Buffer.from("some-other-secret-entirely-000"), node: "b" }),
    });
    expect(await wrong.lease({ node: "b", epoch: 0, ttlMs: 5_000, mode: "acquire" })).toBe("unreachable");
    expect(existsSync(join(state, WITNESS_DB))).toBe(true);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toContain("lease granted");
    expect(out).not.toContain(SECRET);
  });

  it("is a usage error without --port, without the secret, or with a secret too short; the value is never shown", () => {
    const state = tempDir("witness");
    const noPort = scadalink(["site", "witness", "--peer-secret", "PAIR", "--state-dir", state]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toContain("--port is required");
    const noSecret = scadalink(["site", "witness", "--port", "0", "--peer-secret", "PAIR", "--state-dir", state], {
      env: { SCADALINK_SECRET_PAIR: undefined },
    });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain("--peer-secret PAIR: no such secret (SCADALINK_SECRET_PAIR");
    const short = scadalink(["site", "witness", "--port", "0", "--peer-secret", "PAIR", "--state-dir", state], {
      env: { SCADALINK_SECRET_PAIR: "tiny-secret" },
    });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("at least 16 bytes");
    expect(short.stderr + short.stdout).not.toContain("tiny-secret");
  });
});
