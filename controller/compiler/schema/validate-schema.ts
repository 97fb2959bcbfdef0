import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ErrorObject } from "ajv";
import { validatorFor } from "../../contract/schemas.js";
import { packageRoot } from "../../package-root.js";
import type { Diagnostic, Loc } from "../diagnostics.js";
import { diagnostic } from "../diagnostics.js";
import { at, atKey, atValue } from "../load/positions.js";
import { isRuleId, type RuleId } from "../rules/registry.js";
import { didYouMean, typeName } from "../text.js";

export const CONFIG_KINDS = {
  Repository: "repository.schema.json",
  Site: "site.schema.json",
  Template: "template.schema.json",
  Instance: "instance.schema.json",
  InstanceSet: "instance-set.schema.json",
  SharedScript: "shared-script.schema.json",
  Batch: "batch.schema.json",
  ExternalSystem: "external-system.schema.json",
  NotificationList: "notification-list.schema.json",
  DatabaseConnection: "database-connection.schema.json",
  ApiMethod: "api-method.schema.json",
  ParkedMessages: "parked-messages.schema.json",
} as const;
export type ConfigKind = keyof typeof CONFIG_KINDS;

export function isConfigKind(kind: unknown): kind is ConfigKind {
  return typeof kind === "string" && Object.hasOwn(CONFIG_KINDS, kind);
}

type AnySchema = Record<string, unknown>;
let schemas: Map<string, AnySchema> | undefined;

/** Every schema of schemas/, by file name (read only when a message needs a schema's details). */
export function loadSchemas(): Map<string, AnySchema> {
  if (schemas) return schemas;
  const dir = join(packageRoot(), "schemas");
  schemas = new Map();
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith(".schema.json")) schemas.set(f, JSON.parse(readFileSync(join(dir, f), "utf8")));
  }
  return schemas;
}

export interface SchemaResult {
  diagnostics: Diagnostic[];
  /** false when the document's shape is wrong enough that semantic checks must skip it. */
  usable: boolean;
}

/** Validates a config document's data against the schema of its kind. */
export function checkDocumentSchema(kind: ConfigKind, data: Record<string, unknown>): SchemaResult {
  const validate = validatorFor(CONFIG_KINDS[kind]);
  if (validate(data)) return { diagnostics: [], usable: true };
  return translateErrors(validate.errors ?? [], data);
}

/** Errors that leave the document's structure intact: the rest of it is still checked. */
const SOFT = new Set(["additionalProperties", "unevaluatedProperties"]);
const NOISE = new Set(["if", "oneOf", "anyOf", "allOf", "propertyNames"]);

export function translateErrors(errors: ErrorObject[], root: Record<string, unknown>): SchemaResult {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  let usable = true;
  const meaningful = errors.filter((e) => !NOISE.has(e.keyword));
  for (const e of meaningful.length ? meaningful : errors) {
    const t = translate(e, root);
    if (!t) continue;
    if (t.rule === "schema" && !SOFT.has(e.keyword)) usable = false;
    const key = `${t.loc.line}:${t.loc.column}:${t.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(diagnostic(t.rule, t.loc, t.message));
  }
  return { diagnostics: out, usable };
}

function segments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function walk(root: unknown, segs: string[]): unknown {
  let cur = root;
  for (const s of segs) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(s)] : (cur as Record<string, unknown>)[s];
  }
  return cur;
}

/** The JSON path of a value for messages: attributes[2].trigger.op ("document" for the root). */
function label(segs: string[]): string {
  let out = "";
  for (const s of segs) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || "document";
}

interface Translated {
  rule: RuleId;
  loc: Loc;
  message: string;
}

function translate(e: ErrorObject, root: Record<string, unknown>): Translated | undefined {
  const segs = segments(e.instancePath);
  const parentSchema = (e.parentSchema ?? {}) as AnySchema;
  const mapped = (parentSchema["x-rule"] as Record<string, string> | undefined)?.[e.keyword];
  const rule: RuleId = mapped && isRuleId(mapped) ? mapped : "schema";
  const target = walk(root, segs);
  const parent = walk(root, segs.slice(0, -1));
  const last = segs[segs.length - 1];
  const field = label(segs);
  const valueLoc = (): Loc => {
    if (parent && typeof parent === "object" && last !== undefined) {
      return atValue(parent, Array.isArray(parent) ? Number(last) : last);
    }
    return at(root);
  };
  const containerLoc = (): Loc => (target && typeof target === "object" ? at(target) : valueLoc());
  const message = (m: string): Translated => ({ rule, loc: valueLoc(), message: m });
  const xMessage = parentSchema["x-message"];

  if (e.propertyName !== undefined && target && typeof target === "object") {
    return {
      rule,
      loc: atKey(target, e.propertyName),
      message: `invalid key "${e.propertyName}" in ${field}: ${schemaHint(parentSchema)}`,
    };
  }
  switch (e.keyword) {
    case "required": {
      const p = (e.params as { missingProperty: string }).missingProperty;
      return {
        rule,
        loc: containerLoc(),
        message: `missing required field "${p}"${field === "document" ? "" : ` in ${field}`}`,
      };
    }
    case "additionalProperties":
    case "unevaluatedProperties": {
      const p =
        (e.params as { additionalProperty?: string; unevaluatedProperty?: string }).additionalProperty ??
        (e.params as { unevaluatedProperty?: string }).unevaluatedProperty ??
        "";
      const known = Object.keys((parentSchema.properties as AnySchema | undefined) ?? {});
      const where = field === "document" ? "" : ` in ${field}`;
      return {
        rule,
        loc: target && typeof target === "object" ? atKey(target, p) : containerLoc(),
        message: `unknown field "${p}"${where}${didYouMean(p, known)}`,
      };
    }
    case "type": {
      if (target === null) return message(`${field} is empty: give it a value or remove the key`);
      const expected = String((e.params as { type: string | string[] }).type).replace(/,/g, " or ");
      return message(`${field} must be ${article(expected)}, not ${article(typeName(target))}`);
    }
    case "enum": {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const hint = typeof target === "string" ? didYouMean(target, allowed) : "";
      return message(`${field} must be one of ${allowed.join(", ")}${hint}`);
    }
    case "const": {
      const allowed = String((e.params as { allowedValue: unknown }).allowedValue);
      if (rule === "unsupported-version") return message(`unsupported apiVersion: only ${allowed} is known`);
      if (rule === "unsupported-protocol") return message(`unsupported protocol: only ${allowed} is supported`);
      return message(`${field} must be ${allowed}`);
    }
    case "pattern": {
      const shown = typeof target === "string" ? ` "${target.slice(0, 80)}"` : "";
      if (rule === "invalid-name") return message(`invalid name${shown}: ${schemaHint(parentSchema)}`);
      if (rule === "secret-literal")
        return message(
          `${field} holds what looks like a credential (value hidden): it takes the name of a secret (letters, digits, underscores), provided on the site`,
        );
      return message(`${field} is not valid: ${schemaHint(parentSchema)}`);
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const { comparison, limit } = e.params as { comparison: string; limit: number };
      return message(`${field} must be ${comparison.replace(">=", "≥").replace("<=", "≤")} ${limit}`);
    }
    case "minItems":
    case "minProperties":
    case "minLength":
      return message(`${field} must not be empty`);
    case "maxLength":
      return message(`${field} is too long (at most ${(e.params as { limit: number }).limit} characters)`);
    case "uniqueItems": {
      const { i, j } = e.params as { i: number; j: number };
      const arr = target as unknown[];
      return {
        rule,
        loc: Array.isArray(arr) ? atValue(arr, i) : valueLoc(),
        message: `${field} lists the same entry twice (items ${j + 1} and ${i + 1})`,
      };
    }
    case "discriminator": {
      const { tag, tagValue } = e.params as { tag: string; tagValue: unknown };
      const options = discriminatorValues(parentSchema, tag);
      if (tagValue === undefined) {
        return {
          rule,
          loc: containerLoc(),
          message: `missing required field "${tag}" in ${field} (one of ${options.join(", ")})`,
        };
      }
      const hint = typeof tagValue === "string" ? didYouMean(tagValue, options) : "";
      const loc = target && typeof target === "object" ? atValue(target, tag) : valueLoc();
      return { rule, loc, message: `${field}.${tag} must be one of ${options.join(", ")}${hint}` };
    }
    case "not":
    case "false schema": {
      const loc =
        parent && typeof parent === "object" && last !== undefined && !Array.isArray(parent)
          ? atKey(parent, last)
          : valueLoc();
      return { rule, loc, message: typeof xMessage === "string" ? xMessage : `${field} is not allowed here` };
    }
    case "format":
      return message(`${field} must be ${article(String((e.params as { format: string }).format))}`);
    default:
      return message(`${field}: ${e.message ?? "does not match the schema"}`);
  }
}

function article(w: string): string {
  return /^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`;
}

function schemaHint(s: AnySchema): string {
  const d = s.description;
  return typeof d === "string" ? d.replace(/\.$/, "") : `must match ${String(s.pattern)}`;
}

/** The values a discriminator accepts, read from its oneOf branches. */
function discriminatorValues(s: AnySchema, tag: string): string[] {
  const out: string[] = [];
  const all = loadSchemas();
  for (const branch of (s.oneOf as AnySchema[] | undefined) ?? []) {
    const resolved = resolveRef(branch, all);
    const c = ((resolved?.properties as AnySchema | undefined)?.[tag] as AnySchema | undefined)?.const;
    if (typeof c === "string") out.push(c);
  }
  return out;
}

function resolveRef(s: AnySchema, all: Map<string, AnySchema>): AnySchema | undefined {
  const ref = s.$ref;
  if (typeof ref !== "string") return s;
  const [file, pointer = ""] = ref.split("#");
  // Local refs inside oneOf branches point into the file that declared the discriminator: search every schema.
  const candidates = file ? [all.get(file)] : [...all.values()];
  for (const doc of candidates) {
    const found = walk(doc, segments(pointer)) as AnySchema | undefined;
    if (found && typeof found === "object") return found;
  }
  return undefined;
}
