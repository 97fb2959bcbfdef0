import { describe, expect, it } from "vitest";
import { looksLikeCredential } from "../../controller/contract/credential-names.js";
import { BASE, variant } from "../helpers/base-repo.js";
import { byRule, compile, y } from "../helpers/repo.js";

const CANARY = "Canary-7f3a9c-Secret";

describe("looksLikeCredential", () => {
  it.each([
    "password",
    "Password",
    "passwd",
    "pwd",
    "apiKey",
    "api_key",
    "X-Auth-Token",
    "clientSecret",
    "private_key",
    "AdminPassword",
    "credentials",
  ])("%s looks like a credential", (k) => expect(looksLikeCredential(k)).toBe(true));
  it.each(["passwordSecret", "username", "tokenizer", "keyboard", "secretary", "description", "Passage"])(
    "%s does not",
    (k) => expect(looksLikeCredential(k)).toBe(false),
  );
});

describe("secret-literal", () => {
  const c = compile(
    variant({
      "sites/north.yaml": BASE["sites/north.yaml"]!.replace(
        'endpoint: "opc.tcp://127.0.0.1:4840"',
        `endpoint: "opc.tcp://op1:${CANARY}@127.0.0.1:4840"`,
      ).replace(
        "auth: { type: username, username: op1, passwordSecret: PLC_B_PASSWORD }",
        `auth: { type: username, username: op1, password: ${CANARY} }`,
      ),
      "templates/extra.yaml": y`
        kind: Template
        name: Login
        labels: { apiToken: ${CANARY} }
        attributes:
          - { name: ServicePassword, dataType: String, value: ${CANARY} }
        scripts:
          - name: Go
            trigger: { type: call }
            code: |
              const password = "${CANARY}";
        ---
        kind: Instance
        name: L1
        site: plant-north
        template: Login
        parameters: { pin_code: "1", secret: ${CANARY} }
        overrides:
          ServicePassword: { value: ${CANARY} }
      `,
    }),
  );
  const hits = byRule(c, "secret-literal");

  it("finds literal credentials in keys, URLs, attribute values, overrides and script code", () => {
    expect(hits.map((d) => `${d.file}:${d.line}`).sort()).toEqual(
      [
        "sites/north.yaml:8",
        "sites/north.yaml:14",
        "templates/extra.yaml:10",
        "templates/extra.yaml:3",
        "templates/extra.yaml:5",
        "templates/extra.yaml:16",
        "templates/extra.yaml:18",
      ].sort(),
    );
  });

  it("never repeats the secret in any message", () => {
    expect(c.diagnostics.length).toBeGreaterThan(hits.length - 1);
    for (const d of c.diagnostics) expect(d.message).not.toContain(CANARY);
    expect(JSON.stringify(c.diagnostics)).not.toContain("Canary-7f3a9c");
  });

  it("accepts a secret referenced by name", () => {
    expect(byRule(compile(BASE), "secret-literal")).toEqual([]);
  });
});
