import { describe, expect, it } from "vitest";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, describeDiagnostics, expectOnly, type Files, lineOf, y } from "../helpers/repo.js";
import { INTEGRATIONS, integrationsWith } from "./integration-docs.js";

const FILE = "integrations/all.yaml";
const withDocs = (text: string, more: Files = {}) => compile(variant({ [FILE]: text, ...more }));
const lineIn = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("the integration documents", () => {
  it("one of each kind, as in the specification, validates", () => {
    const c = withDocs(INTEGRATIONS);
    expect(c.errorCount, describeDiagnostics(c)).toBe(0);
    expect(c.index.integrations.size).toBe(3);
    expect([...c.index.apiMethods.keys()]).toEqual(["plant-north/SetLimit"]);
    expect([...c.index.parkedMessages.keys()]).toEqual(["2026-04-21-retry-mes"]);
  });

  it("the smallest documents validate (every field with a default left out)", () => {
    const text = y`
      kind: ExternalSystem
      name: Erp
      baseUrl: http://erp.local
      ---
      kind: NotificationList
      name: Night
      recipients: [night@plant.example]
      smtp: { host: mail.local, from: scada@plant.example }
      ---
      kind: DatabaseConnection
      name: Lab
      host: 10.0.0.9
      database: lab
      user: reader
      ---
      kind: ParkedMessages
      name: drop-two
      site: plant-north
      action: discard
      ids: [m-1, m-2]
    `;
    const c = withDocs(text);
    expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  });

  it.each([
    ["a baseUrl that is not http(s)", "baseUrl: https://mes.plant.local/api", "baseUrl: ftp://mes.plant.local/api"],
    ["a baseUrl with a query", "baseUrl: https://mes.plant.local/api", "baseUrl: https://mes.plant.local/api?x=1"],
    ["an unknown HTTP verb", "http: POST", "http: SEND"],
    ["a method path without its leading slash", "path: /lines/{line}/counts", "path: lines/{line}/counts"],
    ["an unknown auth type", "auth: { type: apiKey,", "auth: { type: token,"],
    ["a provider other than postgres", "provider: postgres", "provider: mysql"],
    ["a recipient that is no address", "recipients: [ops@plant.example]", "recipients: [operators]"],
    ["an unknown tls mode", "tls: starttls", "tls: ssl"],
    ["an ApiMethod without keys", "keys: [MES_INBOUND_KEY]", "keys: []"],
    ["an unknown parked-message action", "action: retry", "action: replay"],
    ["a retry of zero attempts", "maxAttempts: 20 }", "maxAttempts: 0 }"],
    ["an integration name breaking the template pattern", "name: Historian", "name: historian-db"],
  ])("rejects %s", (_, from, to) => {
    const text = integrationsWith(from, to);
    const c = withDocs(text);
    const rules = c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.rule} ${d.file}:${d.line}`);
    expect(rules.length, describeDiagnostics(c)).toBeGreaterThan(0);
    expect(rules).toContain(`${to.startsWith("name:") ? "invalid-name" : "schema"} ${FILE}:${lineIn(text, to)}`);
  });

  it("a ParkedMessages document gives ids or match, never both or neither", () => {
    const both = integrationsWith("match: { target: Mes }", "match: { target: Mes }\nids: [m-1]");
    expect(byRule(withDocs(both), "schema").map((d) => d.message)).toEqual(["give either ids or match, not both"]);
    const neither = integrationsWith("match: { target: Mes }", "");
    expect(byRule(withDocs(neither), "schema").map((d) => d.message)).toContain('missing required field "ids"');
    const empty = integrationsWith("match: { target: Mes }", "match: {}");
    expect(byRule(withDocs(empty), "schema").length).toBe(1);
  });

  it("a Site's storeAndForward bounds and integrations list are checked by its schema", () => {
    const site = (extra: string) => variant({ "sites/north.yaml": `${BASE["sites/north.yaml"]}${extra}` });
    expect(compile(site("storeAndForward: { maxMessages: 5000, maxBytes: 10485760 }\n")).errorCount).toBe(0);
    expect(byRule(compile(site("storeAndForward: { maxMessages: 0 }\n")), "schema")).toHaveLength(1);
    expect(byRule(compile(site("storeAndForward: { maxRows: 10 }\n")), "schema")).toHaveLength(1);
    expect(byRule(compile(site("integrations: [Mes, Mes]\n")), "schema")).toHaveLength(1);
  });
});

describe("duplicate-name among integration documents", () => {
  it("external systems, notification lists and database connections share one namespace", () => {
    const text = `${INTEGRATIONS}---\nkind: NotificationList\nname: Mes #!\nrecipients: [a@b.c]\nsmtp: { host: m, from: a@b.c }\n`;
    const c = withDocs(text);
    expectOnly(c, [{ rule: "duplicate-name", file: FILE, line: lineOf(text) }]);
    expect(byRule(c, "duplicate-name")[0]!.message).toMatch(
      /^notification list "Mes": the name is already taken by external system "Mes" at integrations\/all\.yaml:2/,
    );
  });

  it("two documents of one kind with one name", () => {
    const text = `${INTEGRATIONS}---\nkind: DatabaseConnection\nname: Historian #!\nhost: h\ndatabase: d\nuser: u\n`;
    expectOnly(withDocs(text), [{ rule: "duplicate-name", file: FILE, line: lineOf(text) }]);
  });

  it("a case-only clash across kinds is invalid-name", () => {
    const text = `${INTEGRATIONS}---\nkind: ExternalSystem\nname: OPERATORS #!\nbaseUrl: http://x\n`;
    expectOnly(withDocs(text), [{ rule: "invalid-name", file: FILE, line: lineOf(text) }]);
  });

  it("methods of one system, and parameters of one method", () => {
    const text = integrationsWith(
      "    returns: Boolean",
      "    returns: Boolean\n  - { name: ReportCount, http: GET } #!\n  - name: Status\n    http: GET\n    parameters: [{ name: line, type: String }, { name: line, type: Int32 }] #!",
    );
    const lines = text
      .split("\n")
      .map((l, i) => (l.includes("#!") ? i + 1 : 0))
      .filter(Boolean);
    expectOnly(
      withDocs(text),
      lines.map((line) => ({ rule: "duplicate-name", file: FILE, line })),
    );
  });

  it("ApiMethods are named per site; ParkedMessages per repository", () => {
    const south = y`
      kind: Site
      name: plant-south
    `;
    const other = `${INTEGRATIONS}---\nkind: ApiMethod\nname: SetLimit\nsite: plant-south\ninstance: P1\nscript: Limit\nkeys: [K]\n---\nkind: Instance\nname: P1\nsite: plant-south\ntemplate: Pump\n`;
    const onOtherSite = withDocs(other, { "sites/south.yaml": south });
    expect(byRule(onOtherSite, "duplicate-name"), describeDiagnostics(onOtherSite)).toEqual([]);
    const same = `${INTEGRATIONS}---\nkind: ApiMethod\nname: SetLimit #!\nsite: plant-north\ninstance: Pump07\nscript: LogOver\nkeys: [K]\n`;
    expectOnly(withDocs(same), [{ rule: "duplicate-name", file: FILE, line: lineOf(same) }]);
    const parked = `${INTEGRATIONS}---\nkind: ParkedMessages\nname: 2026-04-21-retry-mes #!\nsite: plant-north\naction: discard\nids: [x]\n`;
    expectOnly(withDocs(parked), [{ rule: "duplicate-name", file: FILE, line: lineOf(parked) }]);
  });
});

describe("unknown-api-method-target", () => {
  /** to carries the #! marker where it ends a line. */
  const at = (from: string, to: string) => {
    const text = integrationsWith(from, to.includes("#!") ? to : `${to} #!`);
    const c = withDocs(text);
    expectOnly(c, [{ rule: "unknown-api-method-target", file: FILE, line: lineOf(text) }]);
    return byRule(c, "unknown-api-method-target")[0]!.message;
  };

  it("a site that does not exist", () => {
    expect(at("site: plant-north\ninstance: Pump07", "site: plant-nort #!\ninstance: Pump07")).toContain(
      'no site "plant-nort" (did you mean "plant-north"?)',
    );
  });

  it("an instance the site does not have", () => {
    expect(at("instance: Pump07", "instance: Pump7")).toContain(
      'site plant-north has no instance "Pump7" (did you mean "Pump07"?)',
    );
  });

  it("a script the instance does not have", () => {
    expect(at("script: Limit", "script: Limt")).toContain('has no script "Limt" (did you mean "Limit"?)');
  });

  it("a member that is not a script", () => {
    expect(at("script: Limit", "script: Speed")).toContain('has no script "Speed"');
  });

  it("a script that is not call-triggered", () => {
    expect(at("script: Limit", "script: Inlet.LimitCommand")).toContain("runs on onChange, not when called");
  });

  it("is not reported again for an instance whose document is broken", () => {
    const text = integrationsWith("instance: Pump07", "instance: Broken");
    const broken = "apiVersion: scadalink/v2\nkind: Instance\nname: Broken\nsite: plant-north\ntemplate: Pump\n";
    const c = withDocs(text, { "instances/broken.yaml": broken });
    expect(byRule(c, "unknown-api-method-target"), describeDiagnostics(c)).toEqual([]);
    expect(byRule(c, "unsupported-version")).toHaveLength(1);
  });
});

describe("unknown-path-parameter", () => {
  it.each([
    ["an empty placeholder", "/lines/{}/counts"],
    ["an unmatched brace", "/lines/{line/counts"],
    ["a closing brace alone", "/lines/line}/counts"],
  ])("fires on %s", (_, path) => {
    const text = integrationsWith("path: /lines/{line}/counts", `path: ${path} #!`);
    expectOnly(withDocs(text), [{ rule: "unknown-path-parameter", file: FILE, line: lineOf(text) }]);
  });

  it("accepts a path with no placeholder, and one naming every parameter", () => {
    for (const path of ["/counts", "/lines/{line}/counts/{count}"]) {
      const c = withDocs(integrationsWith("path: /lines/{line}/counts", `path: ${path}`));
      expect(c.errorCount, describeDiagnostics(c)).toBe(0);
    }
  });
});

describe("unknown-integration", () => {
  const site = (list: string) => `${BASE["sites/north.yaml"]}integrations: ${list} #!\n`;

  it("names the list entry, with a suggestion", () => {
    const text = site("[Operatrs]");
    const c = withDocs(INTEGRATIONS, { "sites/north.yaml": text });
    expectOnly(c, [{ rule: "unknown-integration", file: "sites/north.yaml", line: lineOf(text) }]);
    expect(byRule(c, "unknown-integration")[0]!.message).toContain('"Operatrs" (did you mean "Operators"?)');
  });

  it("an ApiMethod or a ParkedMessages name is not an integration", () => {
    const text = site("[SetLimit]");
    expect(byRule(withDocs(INTEGRATIONS, { "sites/north.yaml": text }), "unknown-integration")).toHaveLength(1);
  });

  it("is not reported again for a document that could not be read", () => {
    const text = site("[Lab]");
    const broken = "kind: DatabaseConnection\napiVersion: scadalink/v9\nname: Lab\nhost: h\ndatabase: d\nuser: u\n";
    const c = withDocs(INTEGRATIONS, { "sites/north.yaml": text, "integrations/lab.yaml": broken });
    expect(byRule(c, "unknown-integration")).toEqual([]);
  });

  it("an empty list is fine", () => {
    const c = withDocs(INTEGRATIONS, { "sites/north.yaml": `${BASE["sites/north.yaml"]}integrations: []\n` });
    expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  });
});

describe("a ParkedMessages match by time", () => {
  it("accepts a UTC or offset time, and rejects one that is no time", () => {
    for (const time of ["2026-04-21T06:00:00Z", "2026-04-21T08:00:00.5+02:00"]) {
      const c = withDocs(integrationsWith("match: { target: Mes }", `match: { target: Mes, parkedBefore: "${time}" }`));
      expect(c.errorCount, describeDiagnostics(c)).toBe(0);
    }
    for (const time of ["2026-13-40T06:00:00Z", "yesterday", "2026-04-21"]) {
      const text = integrationsWith("match: { target: Mes }", `match: { target: Mes, parkedBefore: "${time}" } #!`);
      expectOnly(withDocs(text), [{ rule: "schema", file: FILE, line: lineOf(text) }]);
    }
  });
});

describe("unknown-site of a ParkedMessages document", () => {
  it("fires on a site that does not exist", () => {
    const text = integrationsWith("name: 2026-04-21-retry-mes\nsite: plant-north", "name: x\nsite: plant-west #!");
    expectOnly(withDocs(text), [{ rule: "unknown-site", file: FILE, line: lineOf(text) }]);
  });
});

describe("secret-literal in integration documents", () => {
  const CANARY = "Canary-93be1d-Secret";

  it.each([
    ["a password instead of its secret's name", "passwordSecret: SMTP_PASSWORD }", `password: ${CANARY} }`],
    ["an apiKey secret holding a value", "secret: MES_API_KEY }", `secret: "${CANARY}!" }`],
    ["a token in the auth", "secret: MES_API_KEY }", `secret: MES_API_KEY, token: ${CANARY} }`],
    [
      "a database password secret holding a value",
      "passwordSecret: HISTORIAN_PASSWORD",
      `passwordSecret: "${CANARY}#1"`,
    ],
    ["a key of an ApiMethod holding a value", "keys: [MES_INBOUND_KEY]", `keys: ["${CANARY}/x"]`],
    [
      "credentials in the baseUrl",
      "baseUrl: https://mes.plant.local/api",
      `baseUrl: https://u:${CANARY}@mes.plant.local/api`,
    ],
  ])("%s", (_, from, to) => {
    const text = integrationsWith(from, `${to} #!`);
    const c = withDocs(text);
    const hits = byRule(c, "secret-literal");
    expect(
      hits.map((d) => `${d.file}:${d.line}`),
      describeDiagnostics(c),
    ).toContain(`${FILE}:${lineOf(text)}`);
    expect(JSON.stringify(c.diagnostics)).not.toContain("Canary-93be1d");
  });

  it("a secret field holding a value says so, without the value", () => {
    const c = withDocs(integrationsWith("secret: MES_API_KEY }", `secret: "${CANARY}!" }`));
    expect(byRule(c, "secret-literal").map((d) => d.message)).toEqual([
      "auth.secret holds what looks like a credential (value hidden): it takes the name of a secret (letters, digits, underscores), provided on the site",
    ]);
    expect(byRule(c, "schema")).toEqual([]);
  });

  it("secret names, token endpoints and client secrets named by reference are not literals", () => {
    const text = integrationsWith(
      "auth: { type: basic, username: scada, passwordSecret: SMTP_PASSWORD }",
      "auth: { type: oauth2, tokenUrl: https://login.plant.local/token, clientId: scada, clientSecretSecret: SMTP_CLIENT_SECRET, scope: mail }",
    ).replace(
      "auth: { type: apiKey, header: X-Api-Key, secret: MES_API_KEY }",
      "auth: { type: bearer, tokenSecret: MES_TOKEN }",
    );
    const c = withDocs(text);
    expect(c.errorCount, describeDiagnostics(c)).toBe(0);
  });

  it("the reference keys of integrations stay credentials elsewhere", () => {
    const text = `${BASE["templates/pump.yaml"]}labels: { tokenSecret: ${CANARY} } #!\n`;
    const c = compile(variant({ "templates/pump.yaml": text }));
    expect(byRule(c, "secret-literal").map((d) => d.line)).toEqual([lineOf(text)]);
  });
});
