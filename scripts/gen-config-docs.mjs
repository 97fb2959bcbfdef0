#!/usr/bin/env node
// Generates docs/configuration.md, the configuration reference, from schemas/*.schema.json: one section per
// document kind, per deploy-branch / status-branch file and for the `validate --format json` result, each with a
// table of its fields, then the shared definitions of common.schema.json that the tables link to.
// `--check` fails (exit 1) when the committed file differs from what the schemas generate.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemasDir = join(root, "schemas");
const outFile = join(root, "docs", "configuration.md");
const COMMON = "common.schema.json";
const MAX_DEPTH = 6; // nesting levels shown in a table; deeper fields are left to their parent's type

const schemas = Object.fromEntries(
  readdirSync(schemasDir)
    .filter((f) => f.endsWith(".schema.json"))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(schemasDir, f), "utf8"))]),
);

// The sections, in order. User documents come in the order of document.schema.json's kind enum.
const kinds = schemas["document.schema.json"].properties.kind.enum;
const fileOfTitle = Object.fromEntries(Object.entries(schemas).map(([f, s]) => [s.title, f]));
const userFiles = kinds.map((k) => {
  if (!fileOfTitle[k]) throw new Error(`no schema titled ${k} (a kind of document.schema.json)`);
  return fileOfTitle[k];
});
const writtenFiles = [
  "deployment-package.schema.json",
  "site-artifacts.schema.json",
  "site-manifest.schema.json",
  "batch-release.schema.json",
  "batch-status.schema.json",
  "execution-record.schema.json",
  "evidence-checklist.schema.json",
  "execution-record-template.schema.json",
  "batch-handoff.schema.json",
  "site-status.schema.json",
];
const resultFiles = ["validate-result.schema.json"];
const covered = new Set([...userFiles, ...writtenFiles, ...resultFiles, COMMON, "document.schema.json"]);
for (const f of Object.keys(schemas)) {
  if (!covered.has(f)) throw new Error(`schemas/${f} has no section in scripts/gen-config-docs.mjs: add it`);
}

// ---- $ref resolution ----------------------------------------------------------------------------------------

function resolveRef(ref, file) {
  const [filePart, pointer = ""] = ref.split("#");
  const target = filePart || file;
  let node = schemas[target];
  if (!node) throw new Error(`${file}: $ref ${ref}: no schema ${target}`);
  for (const seg of pointer.split("/").filter(Boolean)) {
    node = node?.[seg.replaceAll("~1", "/").replaceAll("~0", "~")];
    if (node === undefined) throw new Error(`${file}: $ref ${ref} does not resolve`);
  }
  return { node, file: target, pointer };
}

/** The name of a top-level definition of common.schema.json, or undefined. */
const commonDefName = (file, pointer) => (file === COMMON ? /^\/\$defs\/([^/]+)$/.exec(pointer)?.[1] : undefined);

const isObjectShape = (n) => Boolean(n.properties || n.oneOf || n.anyOf || (n.type === "object" && n.then));
const hasChildren = (n) =>
  isObjectShape(n) ||
  (n.items && typeof n.items === "object") ||
  (n.additionalProperties && typeof n.additionalProperties === "object");
/** Common definitions worth a subsection of their own: objects, unions, enums and patterned strings. */
const linksToCommon = (n) => isObjectShape(n) || Boolean(n.enum || n.pattern || n.format);

// ---- markdown helpers ----------------------------------------------------------------------------------------

const code = (s) => "`" + String(s).replaceAll("|", "\\|") + "`";
const json = (v) => code(JSON.stringify(v));
/** Text for a table cell or paragraph: escapes what markdown would swallow, outside code spans. */
function text(s) {
  return String(s ?? "")
    .replace(/\s*\n\s*/g, " ")
    .split("`")
    .map((part, i) =>
      i % 2 ? part.replaceAll("|", "\\|") : part.replaceAll("<", "&lt;").replaceAll("|", "\\|").replaceAll("*", "\\*"),
    )
    .join("`");
}
/** GitHub's heading anchor. */
const slug = (heading) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
const join2 = (parts) => parts.join(" \\| ");
/** A long description of a linked definition is cut to its first sentence in tables: the link has the rest. */
const firstSentence = (s) => (s && s.length > 160 ? s.replace(/^(.*?\.)\s.*$/s, "$1") : s);

// ---- rendering -----------------------------------------------------------------------------------------------

/**
 * One render of the whole document. `state.home` maps a schema node (by identity) to the section and field path
 * where it is described inline; `state.linked` is the set of common definitions some table links to. Both are
 * filled while rendering, so the document is rendered until they stop changing.
 */
function render(state) {
  const home = new Map();
  const linked = new Set();

  /** What a field's schema shows: a link, a recursion, or a node to describe (siblings of $ref merged in). */
  function view(schema, file, ctx) {
    if (!schema.$ref) return { node: schema, file };
    const { $ref, ...siblings } = schema;
    const t = resolveRef($ref, file);
    const merged = { ...t.node, ...siblings };
    const name = commonDefName(t.file, t.pointer);
    if (name && linksToCommon(t.node)) {
      linked.add(name);
      return { node: merged, file: t.file, link: { name, anchor: slug(name), def: t.node } };
    }
    if (ctx.stack.includes(t.node)) return { node: merged, file: t.file, recursive: home.get(t.node)?.path };
    if (t.file !== ctx.file && t.file !== COMMON && hasChildren(t.node)) {
      const where = state.home.get(t.node);
      if (where) return { node: merged, file: t.file, elsewhere: where };
    }
    return { node: merged, file: t.file, target: t.node };
  }

  function linkText(v) {
    if (v.link) {
      const l = `[${v.link.name}](#${v.link.anchor})`;
      const d = v.link.def;
      if (d.enum || isObjectShape(d)) return l;
      return `${baseType(d, COMMON, { stack: [], file: COMMON }, true)} (${l})`;
    }
    const w = v.elsewhere;
    return `as ${code(w.path)} in [${w.title}](#${slug(w.title)})`;
  }

  function typeOf(schema, file, ctx) {
    const v = view(schema, file, ctx);
    if (v.link || v.elsewhere) return linkText(v);
    if (v.recursive !== undefined) return `same as ${code(v.recursive)} (recursive)`;
    return baseType(v.node, v.file, ctx);
  }

  function numberRange(n, t) {
    if (n.minimum !== undefined && n.maximum !== undefined) return `${t}, ${n.minimum} to ${n.maximum}`;
    if (n.minimum !== undefined) return `${t} ≥ ${n.minimum}`;
    if (n.exclusiveMinimum !== undefined) return `${t} > ${n.exclusiveMinimum}`;
    if (n.maximum !== undefined) return `${t} ≤ ${n.maximum}`;
    return t;
  }

  function baseType(n, file, ctx, bare = false) {
    if (n.const !== undefined) return json(n.const);
    if (n.enum) return join2(n.enum.map((e) => json(e)));
    const alts = n.oneOf ?? n.anyOf;
    if (alts) {
      const nonNull = alts.filter((a) => a.type !== "null");
      const nullable = nonNull.length < alts.length ? ", nullable" : "";
      const disc = n.discriminator?.propertyName;
      if (disc) {
        const values = nonNull.map((a) => {
          const t = a.$ref ? resolveRef(a.$ref, file).node : a;
          return json(t.properties?.[disc]?.const);
        });
        return `object, one of (by ${code(disc)}): ${values.join(", ")}${nullable}`;
      }
      return nonNull.map((a) => typeOf(a, file, ctx)).join(" or ") + nullable;
    }
    let types = Array.isArray(n.type) ? [...n.type] : n.type ? [n.type] : [];
    const nullable = types.includes("null") && types.length > 1;
    types = types.filter((t) => t !== "null" || !nullable);
    if (types.length === 0) return n.properties ? "object" : "any";
    const shown = types.map((t) => {
      if (t === "integer" || t === "number") return numberRange(n, t);
      if (t === "string") {
        if (bare) return "string";
        if (n.pattern) return `string matching ${code(n.pattern)}`;
        if (n.format) return `string (${n.format})`;
        if (n.minLength) return "string, non-empty";
        return "string";
      }
      if (t === "array") {
        const items = n.items ? itemType(n.items, file, ctx) : "any";
        const extra = [n.minItems ? `at least ${n.minItems}` : "", n.uniqueItems ? "unique" : ""].filter(Boolean);
        return `array of ${items}${extra.length ? ` (${extra.join(", ")})` : ""}`;
      }
      if (t === "object") {
        if (n.then?.$ref && types.length > 1) return typeOf(n.then, file, ctx);
        if (n.properties) return "object";
        if (n.additionalProperties && typeof n.additionalProperties === "object") {
          return `map of ${itemType(n.additionalProperties, file, ctx)}`;
        }
        return "object";
      }
      return t;
    });
    return join2(shown) + (nullable ? ", nullable" : "");
  }

  function itemType(schema, file, ctx) {
    const v = view(schema, file, ctx);
    if (v.link || v.elsewhere) return linkText(v);
    if (v.recursive !== undefined) return `${code(v.recursive)} (recursive)`;
    if (v.node.properties) return "objects";
    const t = baseType(v.node, v.file, ctx);
    return /, nullable$| \\\| /.test(t) ? `(${t})` : t;
  }

  /** Rows (and notes) for the fields below `path` of the object/array/map/union `n`. */
  function children(n, file, path, ctx, depth, out) {
    if (depth > MAX_DEPTH) return;
    const at = (k) => (path ? `${path}.${k}` : k);
    if (n.properties) {
      const required = new Set(n.required ?? []);
      for (const [k, p] of Object.entries(n.properties)) field(p, file, at(k), required.has(k), ctx, depth, out);
      notes(n, path, out);
      return;
    }
    const alts = n.oneOf ?? n.anyOf;
    if (alts) {
      const views = alts.filter((a) => a.type !== "null").map((a) => view(a, file, ctx));
      if (views.some((v) => v.link || v.elsewhere || v.recursive !== undefined)) return;
      if (views.length === 1) return descend(views[0], path, ctx, depth, out);
      const disc = n.discriminator?.propertyName;
      // Properties of the alternatives, merged by name; a field of some alternatives only says which.
      const merged = new Map();
      for (const v of views) {
        const which = disc ? v.node.properties?.[disc]?.const : v.node.title;
        for (const [k, p] of Object.entries(v.node.properties ?? {})) {
          if (!merged.has(k)) merged.set(k, { schemas: [], which: [], required: true, file: v.file });
          const m = merged.get(k);
          m.schemas.push(p);
          m.which.push(which);
          m.required &&= (v.node.required ?? []).includes(k);
        }
      }
      for (const [k, m] of merged) {
        if (k === disc) {
          out.rows.push({
            field: at(k),
            type: join2(m.schemas.map((s) => json(s.const))),
            required: m.required ? "yes" : "no",
            description: "Selects the alternative.",
          });
          continue;
        }
        const only =
          m.which.length < views.length ? `Only when ${code(disc ?? "it")} is ${m.which.join(" or ")}. ` : "";
        field(m.schemas[0], m.file, at(k), m.required, ctx, depth, out, only);
      }
      return;
    }
    if (n.items && typeof n.items === "object") return descend(view(n.items, file, ctx), `${path}[]`, ctx, depth, out);
    if (n.then?.$ref) return descend(view(n.then, file, ctx), path, ctx, depth, out);
    if (n.additionalProperties && typeof n.additionalProperties === "object") {
      return descend(view(n.additionalProperties, file, ctx), `${path}.*`, ctx, depth, out);
    }
  }

  function descend(v, path, ctx, depth, out) {
    if (v.link || v.elsewhere || v.recursive !== undefined) return;
    if (v.target) {
      if (v.file === ctx.file && !home.has(v.target)) home.set(v.target, { title: ctx.title, path });
    }
    if (ctx.file === v.file && !home.has(v.node)) home.set(v.node, { title: ctx.title, path });
    const inner = { ...ctx, stack: v.target ? [...ctx.stack, v.target] : ctx.stack };
    children(v.node, v.file, path, inner, depth + 1, out);
  }

  function field(schema, file, path, required, ctx, depth, out, prefix = "") {
    const v = view(schema, file, ctx);
    if (file === ctx.file && !home.has(schema)) home.set(schema, { title: ctx.title, path });
    const n = v.node;
    let description = n.description;
    if (v.link && !Object.hasOwn(schema, "description")) description = firstSentence(description);
    if (description === undefined && (n.anyOf ?? n.oneOf)) {
      // X or null: the description of X
      const alts = (n.anyOf ?? n.oneOf).filter((a) => a.type !== "null");
      if (alts.length === 1) {
        const a = view(alts[0], v.file, ctx);
        description = a.link ? firstSentence(a.node.description) : a.node.description;
      }
    }
    out.rows.push({
      field: path,
      type: typeOf(schema, file, ctx),
      required: required ? "yes" : "no",
      default: n.default,
      description: (prefix + (description ?? "")).trim(),
    });
    descend(v, path, ctx, depth, out);
  }

  /** Conditional checks with a hand-written message (if/then/else, allOf), as notes under the table. */
  function notes(n, path, out) {
    const branches = [n.then, n.else, ...(n.allOf ?? []).flatMap((a) => [a.then, a.else])].filter(Boolean);
    for (const b of branches) {
      for (const [k, p] of Object.entries(b.properties ?? {})) {
        if (p["x-message"]) out.notes.push(`${code(path ? `${path}.${k}` : k)}: ${text(p["x-message"])}.`);
      }
    }
  }

  function table(rows) {
    const lines = ["| field | type | required | default | description |", "|---|---|---|---|---|"];
    for (const r of rows) {
      const dflt = r.default === undefined ? "" : json(r.default);
      lines.push(`| ${code(r.field)} | ${r.type} | ${r.required} | ${dflt} | ${text(r.description)} |`);
    }
    return lines.join("\n");
  }

  function objectBody(schema, file, title) {
    const out = { rows: [], notes: [] };
    const ctx = { file, title, stack: [schema] };
    home.set(schema, { title, path: "" });
    children(schema, file, "", ctx, 0, out);
    const parts = [table(out.rows)];
    if (out.notes.length) parts.push(["Also checked:", "", ...out.notes.map((x) => `- ${x}`)].join("\n"));
    return parts;
  }

  function section(file) {
    const s = schemas[file];
    const parts = [`### ${s.title}`, text(s.description), `Schema: ${code(`schemas/${file}`)}.`];
    parts.push(...objectBody(s, file, s.title));
    return parts.join("\n\n");
  }

  function commonSection(name) {
    const d = schemas[COMMON].$defs[name];
    const parts = [`### ${name}`];
    if (d.description) parts.push(text(d.description));
    const alts = d.oneOf ?? d.anyOf;
    if (alts) {
      const disc = d.discriminator?.propertyName;
      const lines = alts.map((a) => {
        const t = resolveRef(a.$ref, COMMON);
        const n = commonDefName(t.file, t.pointer);
        linked.add(n);
        const sel = disc ? `${code(`${disc}: ${t.node.properties[disc].const}`)}: ` : "";
        return `- [${n}](#${slug(n)}) — ${sel}${text(t.node.description)}`;
      });
      parts.push(`One of${disc ? `, selected by ${code(disc)}` : ""}:\n\n${lines.join("\n")}`);
    } else if (d.properties) {
      parts.push(...objectBody(d, COMMON, name));
    } else if (d.enum) {
      parts.push(`Type: ${d.type ?? "any"}, one of ${d.enum.map((e) => code(e)).join(", ")}.`);
    } else {
      parts.push(`Type: ${baseType(d, COMMON, { stack: [], file: COMMON })}.`);
    }
    return parts.join("\n\n");
  }

  const doc = schemas["document.schema.json"];
  const kindList = kinds.map((k) => `[${k}](#${slug(k)})`).join(", ");
  const out = [
    "# Configuration reference",
    "<!-- Generated from schemas/*.schema.json by scripts/gen-config-docs.mjs. Do not edit by hand: run `npm run gen:docs`. -->",
    [
      `This reference is generated from the JSON Schemas in ${code("schemas/")}, the single source of the shapes of`,
      `ScadaLink's files; do not edit it by hand, regenerate it with ${code("npm run gen:docs")}.`,
      `The config repository holds YAML documents of the kinds ${kindList}; each names its kind in ${code("kind")}.`,
      `${code("schemas/document.schema.json")} — ${text(doc.description)}`,
      "The controller writes the deploy-branch files and the sites write their status-branch files described",
      `further down; ${code("scadalink validate --format json")} prints a [ValidateResult](#validateresult).`,
    ].join(" "),
    [
      `Reading the tables: ${code("field")} is the path of the field inside the document, dotted for nested objects;`,
      `${code("[]")} stands for every item of an array and ${code("*")} for every key of a map (e.g.`,
      `${code("dataConnections[].auth.passwordSecret")}). ${code("required")} is relative to the object the field is in.`,
      "A type written as a link is a shared definition, described once under [Common definitions](#common-definitions).",
    ].join(" "),
    "## Documents you write",
    ...userFiles.map(section),
    "## Files the controller and sites write",
    "The controller writes the deploy branch; each site writes its own status branch. These files are contracts between them and for your own tooling; never edit them by hand.",
    ...writtenFiles.map(section),
    "## `validate --format json` result",
    ...resultFiles.map(section),
    "## Common definitions",
    `Shared by the schemas above (${code(`schemas/${COMMON}`)}).`,
  ];
  // Subsections for the linked common definitions, in common.schema.json order; rendering one may link others.
  const done = new Set();
  const bodies = new Map();
  while ([...linked].some((n) => !done.has(n))) {
    for (const n of [...linked]) {
      if (done.has(n)) continue;
      done.add(n);
      bodies.set(n, commonSection(n));
    }
  }
  for (const n of Object.keys(schemas[COMMON].$defs)) if (bodies.has(n)) out.push(bodies.get(n));

  const md = out.join("\n\n") + "\n";
  const headings = [...md.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]));
  const dup = headings.find((h, i) => headings.indexOf(h) !== i);
  if (dup) throw new Error(`two headings share the anchor #${dup}`);
  return { md, home };
}

// Cross-file links point at the field where a definition is described inline; render until that is stable.
let state = { home: new Map() };
let md = "";
for (let i = 0; i < 5; i++) {
  const r = render(state);
  if (r.md === md) break;
  md = r.md;
  state = { home: r.home };
}

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(outFile, "utf8");
  } catch {}
  if (current !== md) {
    console.error(
      "docs/configuration.md is out of date with schemas/*.schema.json: run `npm run gen:docs` and commit the result.",
    );
    process.exit(1);
  }
  console.log("docs/configuration.md is up to date");
} else {
  writeFileSync(outFile, md);
  console.log("wrote docs/configuration.md");
}
