#!/usr/bin/env node
// Generates, from schemas/*.schema.json:
//   schemas/types.ts       TypeScript types (json-schema-to-typescript)
//   schemas/validators.ts  precompiled validators (ajv standalone code): no schema is compiled at run time
// `--check` fails (exit 1) when a committed file differs from what the schemas generate.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import { compile } from "json-schema-to-typescript";

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");
const files = readdirSync(schemasDir)
  .filter((f) => f.endsWith(".schema.json"))
  .sort();
const banner = (what) =>
  `/* Generated from schemas/*.schema.json by scripts/gen-schemas.mjs (npm run gen:schemas): ${what}. Do not edit. */`;

async function types() {
  // One root that references every schema, so each shared type is declared once.
  const root = {
    title: "ScadalinkSchemas",
    type: "object",
    additionalProperties: false,
    properties: Object.fromEntries(files.map((f) => [f.replace(".schema.json", ""), { $ref: f }])),
  };
  // json-schema-to-typescript's normaliser rewrites every "extends" key as its own keyword, even a property
  // named extends (Template.extends); rename that property while generating and restore it in the output.
  const RENAMED = "extends_property__";
  const read = (file) => {
    const schema = JSON.parse(readFileSync(file.url.startsWith("file:") ? fileURLToPath(file.url) : file.url, "utf8"));
    const visit = (node) => {
      if (!node || typeof node !== "object") return;
      if (node.properties && Object.hasOwn(node.properties, "extends")) {
        node.properties[RENAMED] = node.properties.extends;
        delete node.properties.extends;
      }
      Object.values(node).forEach(visit);
    };
    visit(schema);
    return schema;
  };
  const ts = await compile(root, "ScadalinkSchemas", {
    cwd: schemasDir,
    bannerComment: banner("TypeScript types"),
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    style: { printWidth: 120 },
    $refOptions: { resolve: { file: { order: 1, canRead: /\.json$/, read } } },
  });
  return ts.replaceAll(RENAMED, "extends");
}

function validators() {
  // The one place the validation options live. verbose: diagnostics read x-rule / x-message from parentSchema.
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    discriminator: true,
    strict: true,
    allowUnionTypes: true,
    validateFormats: false,
    code: { source: true, esm: true, optimize: true },
  });
  ajv.addKeyword({ keyword: "x-rule", schemaType: "object" }); // which rule id a keyword's failure reports
  ajv.addKeyword({ keyword: "x-message", schemaType: "string" }); // a hand-written message
  ajv.addKeyword({ keyword: "tsType", schemaType: "string" }); // a hint for the type generator only
  ajv.addFormat("date-time", true);
  const exports = {};
  for (const f of files) {
    if (f === "document.schema.json") continue; // editor-only union of the document kinds
    ajv.addSchema(JSON.parse(readFileSync(join(schemasDir, f), "utf8")), f);
    exports[f.replace(".schema.json", "").replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = f;
  }
  const code = standaloneCode.default(ajv, exports);
  const byFile = Object.entries(exports)
    .map(([name, file]) => `  "${file}": ${name},`)
    .join("\n");
  return [
    banner("precompiled validators"),
    "// @ts-nocheck",
    'import { createRequire } from "node:module";',
    "const require = createRequire(import.meta.url);",
    code,
    "",
    "/** The validator of each schema file. */",
    `export const validators: Record<string, { (data: unknown): boolean; errors?: import("ajv").ErrorObject[] | null }> = {\n${byFile}\n};`,
    "",
  ].join("\n");
}

const outputs = [
  ["types.ts", await types()],
  ["validators.ts", validators()],
];
let stale = false;
for (const [name, text] of outputs) {
  const file = join(schemasDir, name);
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {}
    if (current !== text) {
      console.error(
        `schemas/${name} is out of date with schemas/*.schema.json: run \`npm run gen:schemas\` and commit the result.`,
      );
      stale = true;
    }
  } else writeFileSync(file, text);
}
if (stale) process.exit(1);
console.log(
  process.argv.includes("--check")
    ? "schemas/types.ts and schemas/validators.ts are up to date"
    : "wrote schemas/types.ts, schemas/validators.ts",
);
