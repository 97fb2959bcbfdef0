import { request } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inboundOptions } from "../../cli/commands/site.js";
import type { ArtifactApiMethod } from "../../schemas/types.js";
import { checkRequest, parseBody } from "../../site-reconciler/inbound/check.js";
import { fitArguments } from "../../site-reconciler/inbound/params.js";
import type { Reconciler } from "../../site-reconciler/reconciler.js";
import type { LiveRuntime } from "../../site-reconciler/runtime/live-runtime.js";
import { type GitServer, startGitServer } from "../helpers/git-server.js";
import { type Plc, startPlc } from "../helpers/plc.js";
import type { Files } from "../helpers/repo.js";
import { y } from "../helpers/repo.js";
import { fleet, reconciler } from "./helpers.js";
import { attr, liveReconciler, siteYaml, until } from "./runtime-helpers.js";

// The inbound API of section 8.4 against the real site: a config repo on a git smart-HTTP server, compiled and
// deployed by the controller, a site reconciler with the OPC UA runtime against a node-opcua PLC, its script
// hosts, and callers over HTTP on 127.0.0.1.

/** Key values: canaries that must never reach a log line or the metrics. */
const KEY = "k3y-CANARY-5d1f0a7e";
const AUDIT = "audit-CANARY-0c93b2d4";
const WRONG = "wrong-CANARY-8e77a1f6";
/** A parameter value that must stay out of the logs (only parameter names are logged). */
const VALUE_CANARY = "value-CANARY-31c7";

const MIXER = y`
  kind: Template
  name: Mixer
  attributes:
    - { name: Recipe, dataType: String, value: "" }
    - { name: Batch, dataType: Int32, value: 0 }
    - { name: LateDone, dataType: Int32, value: 0 }
    - { name: Setpoint, dataType: Double, source: data, access: readWrite, tag: "ns=2;s={{instance}}.Setpoint" }
  scripts:
    - name: ApplyRecipe
      trigger: { type: call }
      parameters: [{ name: recipe, type: String }, { name: batch, type: Int32 }, { name: setpoint, type: Double }]
      returns: String
      code: |
        attributes.set("Recipe", recipe);
        attributes.set("Batch", batch);
        attributes.set("Setpoint", setpoint);
        log.warn("recipe applied for batch " + batch);
        return "applied " + recipe + "/" + batch;
    - name: Reject
      trigger: { type: call }
      parameters: [{ name: reason, type: String }]
      code: |
        throw new Error("recipe rejected: " + reason);
    - name: Slow
      trigger: { type: call }
      timeoutMs: 5000
      code: |
        const end = Date.now() + 800;
        while (Date.now() < end) {}
        attributes.set("LateDone", attributes.get("LateDone") + 1);
        return 1;
`;

const METHODS = y`
  kind: ApiMethod
  name: SetRecipe
  site: plant-north
  instance: M1
  script: ApplyRecipe
  keys: [MES_INBOUND_KEY]
  timeoutMs: 10000
  ---
  kind: ApiMethod
  name: RejectRecipe
  site: plant-north
  instance: M1
  script: Reject
  keys: [MES_INBOUND_KEY]
  ---
  kind: ApiMethod
  name: SlowCall
  site: plant-north
  instance: M1
  script: Slow
  keys: [MES_INBOUND_KEY]
  timeoutMs: 300
  ---
  kind: ApiMethod
  name: AuditRecipe
  site: plant-north
  instance: M1
  script: ApplyRecipe
  keys: [AUDIT_KEY]
  ---
  kind: ApiMethod
  name: SetRecipeM2
  site: plant-north
  instance: M2
  script: ApplyRecipe
  keys: [MES_INBOUND_KEY]
`;

function repo(endpoint: string): Files {
  const instance = (name: string, extra = "") =>
    `kind: Instance\nname: ${name}\nsite: plant-north\narea: Line1\ntemplate: Mixer\nconnection: plc\n${extra}`;
  return {
    "scadalink.yaml": "kind: Repository\nrollout: auto\n",
    "sites/north.yaml": siteYaml(endpoint),
    "templates/mixer.yaml": MIXER,
    "instances/m1.yaml": instance("M1"),
    "instances/m2.yaml": instance("M2", "state: disabled\n"),
    "integrations/methods.yaml": METHODS,
  };
}

const ENV = { SCADALINK_SECRET_MES_INBOUND_KEY: KEY, SCADALINK_SECRET_AUDIT_KEY: AUDIT };

interface Reply {
  status: number;
  body: { result?: unknown; error?: string };
  headers: Headers;
}

/** Listening TCP servers of this process: "nothing listens" is a count that does not grow. */
const listening = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

let server: GitServer;
let plc: Plc;
let site: Reconciler;
let live: () => LiveRuntime;
let base: string;
let apiPort: number;
const logs: string[] = [];

beforeAll(async () => {
  server = await startGitServer();
  plc = await startPlc({
    variables: [
      { id: "M1.Setpoint", dataType: "Double", value: 0 },
      { id: "M2.Setpoint", dataType: "Double", value: 0 },
    ],
  });
  const f = await fleet(server, repo(plc.endpoint));
  // The site's whole log, as JSON lines: the negative tests search it.
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  ({ site, live } = await liveReconciler(f.url, { env: ENV, inboundPort: 0 }, log));
  apiPort = await site.serve(0);
  const r = await site.once();
  expect(r.applied.sort()).toEqual(["M1", "M2"]);
  base = `http://127.0.0.1:${site.inboundPort}`;
  await until("M1 connected", () => live().instance("M1")?.result === "pass");
}, 30_000);

afterAll(async () => {
  await site?.stop();
  await plc?.stop();
  await server?.stop();
});

/** POSTs to a method; key null sends no X-API-Key header. */
async function call(method: string, body: unknown, key: string | null = KEY, init: RequestInit = {}) {
  const res = await fetch(`${base}/api/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === null ? {} : { "x-api-key": key }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers } as Reply;
}

/** The warn lines the inbound API logged for a method and status. */
function failures(method: string, status: number) {
  return logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "inbound API request failed" && l.method === method && l.status === status);
}

const RECIPE = { recipe: "IPA", batch: 7, setpoint: 12.5 };

describe("the site's inbound API (POST /api/<method>)", () => {
  it("200: the method's script answers with { result }", async () => {
    const r = await call("SetRecipe", RECIPE);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ result: "applied IPA/7" });
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("the script's attributes.set writes are applied and its logs recorded as for any run", async () => {
    const r = await call("SetRecipe", { recipe: "Stout", batch: 8, setpoint: 21.5 });
    expect(r.status).toBe(200);
    // Static writes are in the table when the answer comes: the run's writes are taken in before it is answered.
    expect(attr(live().instance("M1"), "Recipe")?.value).toBe("Stout");
    expect(attr(live().instance("M1"), "Batch")?.value).toBe(8);
    // Persisted like any script-written static value.
    expect(site.store.staticValues("M1").get("Recipe")?.value).toBe("Stout");
    // The readWrite data attribute goes to the device, and the table follows the device.
    await until("the write reached the PLC", () => plc.get("M1.Setpoint") === 21.5);
    await until("the table shows the device's value", () => attr(live().instance("M1"), "Setpoint")?.value === 21.5);
    // The script's warn line is in the site log and the event log.
    live().events.flush();
    const events = site.store.events({ instance: "M1", limit: 100 });
    expect(events.some((e) => e.kind === "script-log" && e.message === "ApplyRecipe: recipe applied for batch 8")).toBe(
      true,
    );
    expect(logs.some((l) => l.includes('"script":"ApplyRecipe"') && l.includes("recipe applied for batch 8"))).toBe(
      true,
    );
  });

  it("400: parameters that do not fit, named with their types, never their values; a body that is no JSON object", async () => {
    const wrong = await call("SetRecipe", { recipe: "IPA", batch: VALUE_CANARY, setpoint: 1 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(/batch is not a Int32/);
    expect(wrong.body.error).not.toContain(VALUE_CANARY);
    const missing = await call("SetRecipe", { recipe: "IPA" });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/missing parameters batch \(Int32\), setpoint \(Double\)/);
    const extra = await call("SetRecipe", { ...RECIPE, colour: "amber" });
    expect(extra.status).toBe(400);
    expect(extra.body.error).toMatch(/unknown parameter colour/);
    expect(extra.body.error).toMatch(/the method takes recipe \(String\), batch \(Int32\), setpoint \(Double\)/);
    expect((await call("SetRecipe", "{ not json")).status).toBe(400);
    expect((await call("SetRecipe", [1, 2, 3])).body.error).toMatch(/JSON object/);
    // Nothing ran: the last good call's values stand.
    expect(attr(live().instance("M1"), "Recipe")?.value).toBe("Stout");
    // Logged with the parameter names only.
    const logged = failures("SetRecipe", 400);
    expect(logged.length).toBeGreaterThanOrEqual(5);
    expect(logged[0]).toMatchObject({ level: 40, params: ["recipe", "batch", "setpoint"] });
    expect(logs.join("\n")).not.toContain(VALUE_CANARY);
  });

  it("401: no key, or a key that is no key of this site (checked before the method is looked up)", async () => {
    const none = await call("SetRecipe", RECIPE, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe("no X-API-Key header");
    expect(none.headers.get("www-authenticate")).toMatch(/X-API-Key/);
    const wrong = await call("SetRecipe", RECIPE, WRONG);
    expect(wrong.status).toBe(401);
    // Without a valid key a caller cannot tell methods that exist from those that do not.
    expect((await call("NoSuchMethod", {}, WRONG)).status).toBe(401);
    expect(failures("SetRecipe", 401)).toHaveLength(2);
  });

  it("403: a valid key of the site that the method does not list", async () => {
    const r = await call("SetRecipe", RECIPE, AUDIT);
    expect(r.status).toBe(403);
    expect(r.body.error).toBe("the key may not call SetRecipe");
    // The same key calls the method that lists it.
    expect((await call("AuditRecipe", { recipe: "Lager", batch: 9, setpoint: 3 }, AUDIT)).status).toBe(200);
  });

  it("404 for a method the site does not serve, 405 for another verb, 413 for a body over 1 MiB", async () => {
    const unknown = await call("NoSuchMethod", {});
    expect(unknown).toMatchObject({ status: 404, body: { error: "no method NoSuchMethod on this site" } });
    expect((await fetch(`${base}/healthz`)).status).toBe(404);
    const get = await fetch(`${base}/api/SetRecipe`, { headers: { "x-api-key": KEY } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const big = await rawPost("/api/SetRecipe", JSON.stringify({ recipe: "x".repeat(1024 * 1024) }));
    expect(big).toBe(413);
    expect(failures("SetRecipe", 413)).toHaveLength(1);
  });

  it("500: a script error answers with its message only", async () => {
    const r = await call("RejectRecipe", { reason: "too hot" });
    expect(r.status).toBe(500);
    // The error as the runtime reports every script error (its event log says the same), never a stack.
    expect(r.body).toEqual({ error: "Error: recipe rejected: too hot" });
    expect(failures("RejectRecipe", 500)[0]).toMatchObject({
      reason: "Error: recipe rejected: too hot",
      params: ["reason"],
    });
  });

  it("503: the method's instance is disabled (or not running, or not loaded)", async () => {
    const r = await call("SetRecipeM2", RECIPE);
    expect(r.status).toBe(503);
    expect(r.body.error).toBe("the instance M2 is disabled");
  });

  it("504 at timeoutMs: a run already started finishes and its writes apply; one still queued is withdrawn", async () => {
    const t0 = Date.now();
    // Two calls of an 800 ms script with a 300 ms timeout: the first runs, the second waits behind it.
    const [first, second] = await Promise.all([call("SlowCall", {}), call("SlowCall", {})]);
    const ms = Date.now() - t0;
    expect(first).toMatchObject({ status: 504, body: { error: "no answer within 300 ms" } });
    expect(second.status).toBe(504);
    expect(ms).toBeLessThan(750);
    // The started run goes on to its end within its own timeout (5 s): its write is applied.
    await until("the started run finished", () => attr(live().instance("M1"), "LateDone")?.value === 1, 5000);
    // The withdrawn one never runs.
    await new Promise((r) => setTimeout(r, 1200));
    expect(attr(live().instance("M1"), "LateDone")?.value).toBe(1);
    expect(failures("SlowCall", 504)).toHaveLength(2);
  });

  it("counts every request by method and code; no key value is in the log or the metrics, valid or not", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    const count = (method: string, code: number) => {
      const prefix = `scadalink_site_inbound_requests_total{method="${method}",code="${code}"} `;
      const line = metrics.split("\n").find((l) => l.startsWith(prefix));
      return line === undefined ? 0 : Number(line.slice(prefix.length));
    };
    expect(count("SetRecipe", 200)).toBe(2);
    expect(count("SetRecipe", 400)).toBe(5);
    expect(count("SetRecipe", 401)).toBe(2);
    expect(count("SetRecipe", 403)).toBe(1);
    expect(count("SetRecipe", 405)).toBe(1);
    expect(count("SetRecipe", 413)).toBe(1);
    expect(count("RejectRecipe", 500)).toBe(1);
    expect(count("SetRecipeM2", 503)).toBe(1);
    expect(count("SlowCall", 504)).toBe(2);
    // Names no method: one label for all of them, so callers cannot grow the label set.
    expect(count("(none)", 404)).toBe(2);
    expect(count("(none)", 401)).toBe(1);
    expect(metrics).not.toMatch(/NoSuchMethod/);
    expect(metrics).toMatch(/^scadalink_site_inbound_request_duration_seconds_count\{method="SetRecipe"\} \d+$/m);
    const everything = `${logs.join("\n")}\n${metrics}`;
    for (const key of [KEY, AUDIT, WRONG]) expect(everything).not.toContain(key);
    // The log does say which caller it was: by the name of the key's secret.
    const calls = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "inbound API call");
    expect(calls[0]).toMatchObject({ method: "SetRecipe", status: 200, keySecret: "MES_INBOUND_KEY", level: 20 });
    expect(failures("SetRecipe", 403)[0]).toMatchObject({ keySecret: "AUDIT_KEY" });
    expect(failures("SetRecipe", 401).every((l) => !("keySecret" in l))).toBe(true);
  });
});

describe("the inbound API is off unless asked for", () => {
  it("without inboundPort (the CLI without --inbound-port) nothing listens", async () => {
    expect(inboundOptions({ inboundHost: "127.0.0.1" })).toBeUndefined();
    expect(inboundOptions({ inboundPort: "off", inboundHost: "127.0.0.1" })).toBeUndefined();
    expect(inboundOptions({ inboundPort: "8443", inboundHost: "0.0.0.0" })).toEqual({
      inboundPort: 8443,
      inboundHost: "0.0.0.0",
    });
    const f = await fleet(server, repo(plc.endpoint));
    const before = listening();
    const off = await reconciler(f.url, { env: ENV });
    try {
      expect(off.inboundPort).toBeUndefined();
      expect(listening()).toBe(before);
    } finally {
      await off.stop();
    }
    // The same site with a port listens on one more server, and stops listening when it stops.
    const on = await reconciler(f.url, { env: ENV, inboundPort: 0 });
    expect(listening()).toBe(before + 1);
    try {
      await on.once();
      // A runtime without scripts (--runtime none) answers 503, after the key is checked.
      const res = await fetch(`http://127.0.0.1:${on.inboundPort}/api/SetRecipe`, {
        method: "POST",
        headers: { "x-api-key": KEY },
        body: JSON.stringify(RECIPE),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/runs no scripts/);
    } finally {
      await on.stop();
    }
    // libuv releases a closed handle on its next turn.
    await until("the inbound server released", () => listening() === before, 2000);
  });
});

describe("the request check, without a server", () => {
  const methods: ArtifactApiMethod[] = [
    { name: "A", instance: "I", script: "S", keys: ["K1"], timeoutMs: 100 },
    { name: "B", instance: "I", script: "S", keys: ["K2", "K3"], timeoutMs: 100 },
  ];
  const secrets = (n: string) => ({ K1: "one", K2: "two", K3: "two" })[n];
  const check = (verb: string, url: string, key?: string) => checkRequest({ verb, url, key }, methods, secrets);

  it("decides in order: path, verb, key, method, key of the method", () => {
    expect(check("POST", "/api/A/x", "one")).toMatchObject({ ok: false, status: 404 });
    expect(check("PUT", "/api/A", "one")).toMatchObject({ ok: false, status: 405, method: { name: "A" } });
    expect(check("POST", "/api/A")).toMatchObject({ ok: false, status: 401 });
    expect(check("POST", "/api/Nope", "zero")).toMatchObject({ ok: false, status: 401, method: undefined });
    expect(check("POST", "/api/Nope", "one")).toMatchObject({ ok: false, status: 404 });
    expect(check("POST", "/api/B", "one")).toMatchObject({ ok: false, status: 403, keyName: "K1" });
    expect(check("POST", "/api/B?x=1", "two")).toMatchObject({ ok: true, keyName: "K2" });
    expect(check("POST", "/api/A", "one")).toMatchObject({ ok: true, keyName: "K1" });
  });

  it("fits named parameters by type; the words never carry a value", () => {
    const params = [
      { name: "n", type: "Int64" as const },
      { name: "at", type: "DateTime" as const },
      { name: "on", type: "Boolean" as const },
    ];
    expect(fitArguments(params, { on: true, at: "2026-05-01T08:00:00Z", n: 2 ** 40 })).toEqual({
      ok: true,
      args: [2 ** 40, "2026-05-01T08:00:00Z", true],
    });
    const bad = fitArguments(params, { n: 2 ** 60, at: "not-a-date-SECRET", on: null });
    expect(bad).toMatchObject({ ok: false });
    expect(!bad.ok && bad.message).toMatch(/^n is not a Int64, at is not a DateTime, on is not a Boolean:/);
    expect(!bad.ok && bad.message).not.toMatch(/SECRET/);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, i]));
    expect(!fitArguments([], many).ok && (fitArguments([], many) as { message: string }).message).toMatch(
      /unknown parameters p0, .*p9 and 20 more: the method takes no parameters/,
    );
    expect(parseBody("")).toEqual({ ok: true, named: {} });
    expect(parseBody("null")).toMatchObject({ ok: false });
  });
});

/** A POST with node:http: the server may answer 413 and close before the whole body is sent. */
function rawPost(path: string, body: string): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: "POST", headers: { "x-api-key": KEY } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", (e) => reject(e));
    req.end(body);
  });
}
