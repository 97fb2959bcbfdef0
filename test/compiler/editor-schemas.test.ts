import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_KINDS } from "../../controller/compiler/schema/validate-schema.js";
import { packageRoot } from "../../controller/package-root.js";
import { INTEGRATIONS } from "../rules/integration-docs.js";

const root = packageRoot();
const schemasDir = join(root, "schemas");

/** document.schema.json compiled as an editor's language server would: every schema of schemas/ loaded by $id. */
function documentValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true, validateFormats: false });
  for (const f of readdirSync(schemasDir).filter((n) => n.endsWith(".schema.json")))
    ajv.addSchema(JSON.parse(readFileSync(join(schemasDir, f), "utf8")));
  return ajv.getSchema("document.schema.json")!;
}

describe("editor support for every document kind", () => {
  it("document.schema.json, the schema editors map, knows every kind the compiler knows", () => {
    const doc = JSON.parse(readFileSync(join(schemasDir, "document.schema.json"), "utf8"));
    expect([...doc.properties.kind.enum].sort()).toEqual(Object.keys(CONFIG_KINDS).sort());
  });

  it("checks the integration documents through the union, and catches a mistake in each", () => {
    const validate = documentValidator();
    const docs = INTEGRATIONS.split(/^---\n/m).map((d) => parse(d) as Record<string, unknown>);
    expect(docs.map((d) => d.kind)).toEqual([
      "ExternalSystem",
      "NotificationList",
      "DatabaseConnection",
      "ApiMethod",
      "ParkedMessages",
    ]);
    for (const d of docs) {
      expect(validate(d), `${d.kind}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(validate({ ...d, unknownField: 1 }), String(d.kind)).toBe(false);
    }
  });

  it("the template repo's VS Code settings map the schema onto the folders of the integration documents", () => {
    const settings = JSON.parse(readFileSync(join(root, "config-repo-template", ".vscode", "settings.json"), "utf8"));
    const globs: string[] = settings["yaml.schemas"]["./.scadalink/schemas/document.schema.json"];
    expect(globs).toEqual(expect.arrayContaining(["integrations/**/*.yaml", "parked-messages/**/*.yaml"]));
  });
});
