#!/usr/bin/env node
// Generates schemas/types.ts from the JSON Schemas with json-schema-to-typescript.
// `--check` fails (exit 1) when the committed file differs from what the schemas generate.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), "..", "schemas");
const outFile = join(schemasDir, "types.ts");
const files = readdirSync(schemasDir)
  .filter((f) => f.endsWith(".schema.json"))
  .sort();

// One root that references every schema, so each shared type is declared once.
const root = {
  title: "ScadalinkSchemas",
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(files.map((f) => [f.replace(".schema.json", ""), { $ref: f }])),
};

// json-schema-to-typescript's normaliser rewrites every "extends" key as its own keyword, even a property named
// extends (Template.extends); rename that property while generating and restore it in the output.
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

const banner = `/* Generated from schemas/*.schema.json by scripts/gen-types.mjs (npm run gen:types). Do not edit. */`;
const ts = await compile(root, "ScadalinkSchemas", {
  cwd: schemasDir,
  bannerComment: banner,
  additionalProperties: false,
  unreachableDefinitions: true,
  strictIndexSignatures: true,
  style: { printWidth: 120 },
  $refOptions: { resolve: { file: { order: 1, canRead: /\.json$/, read } } },
}).then((out) => out.replaceAll(RENAMED, "extends"));

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(outFile, "utf8");
  } catch {}
  if (current !== ts) {
    console.error(
      "schemas/types.ts is out of date with schemas/*.schema.json: run `npm run gen:types` and commit the result.",
    );
    process.exit(1);
  }
  console.log("schemas/types.ts is up to date");
} else {
  writeFileSync(outFile, ts);
  console.log(`wrote ${outFile}`);
}
