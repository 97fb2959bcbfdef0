import { API_VERSION } from "../constants.js";
import { Report } from "../diagnostics.js";
import type { Doc } from "../model.js";
import { checkSecretLiterals } from "../rules/secrets.js";
import { CONFIG_KINDS, checkDocumentSchema, isConfigKind } from "../schema/validate-schema.js";
import { didYouMean } from "../text.js";
import { parseFile } from "./parse-file.js";
import { at, atValue, type SourceText } from "./positions.js";

/** Everything that can be learned from one file alone: its documents and their per-document diagnostics. */
export interface FileAnalysis {
  path: string;
  text: string;
  src: SourceText;
  docs: Doc[];
  report: Report;
}

/** Parses a file and checks each document on its own: kind, apiVersion, schema, credential literals. */
export function analyzeFile(path: string, text: string): FileAnalysis {
  const parsed = parseFile(path, text);
  const report = new Report();
  report.items.push(...parsed.diagnostics);
  const docs: Doc[] = [];
  for (const loaded of parsed.docs) {
    const data = loaded.data;
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      report.add("schema", parsed.src.loc(loaded.at), "a document must be a map with a kind (Template, Instance, …)");
      continue;
    }
    const obj = data as Record<string, unknown>;
    checkSecretLiterals(obj, report);
    if (obj.apiVersion !== undefined && obj.apiVersion !== API_VERSION) {
      report.add(
        "unsupported-version",
        atValue(obj, "apiVersion"),
        `unsupported apiVersion: only ${API_VERSION} is known`,
      );
      continue;
    }
    const kind = obj.kind;
    if (!isConfigKind(kind)) {
      const known = Object.keys(CONFIG_KINDS);
      if (kind === undefined) report.add("unknown-kind", at(obj), `document has no kind (one of ${known.join(", ")})`);
      else {
        const hint = typeof kind === "string" ? didYouMean(kind, known) : "";
        report.add("unknown-kind", atValue(obj, "kind"), `unknown kind${hint}: expected one of ${known.join(", ")}`);
      }
      continue;
    }
    const schema = checkDocumentSchema(kind, obj);
    report.items.push(...schema.diagnostics);
    docs.push({ kind, data: obj as never, src: parsed.src, index: loaded.index, usable: schema.usable });
  }
  return { path, text, src: parsed.src, docs, report };
}
