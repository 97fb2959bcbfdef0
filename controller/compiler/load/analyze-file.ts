import { API_VERSION } from "../../contract/api.js";
import { Report } from "../diagnostics.js";
import type { Doc } from "../model.js";
import { checkSecretLiterals } from "../rules/secrets.js";
import { CONFIG_KINDS, checkDocumentSchema, isConfigKind } from "../schema/validate-schema.js";
import { closest, didYouMean } from "../text.js";
import { parseFile, type Sketch } from "./parse-file.js";
import { at, atValue, type SourceText } from "./positions.js";

/** Everything that can be learned from one file alone: its documents and their per-document diagnostics. */
export interface FileAnalysis {
  path: string;
  text: string;
  src: SourceText;
  docs: Doc[];
  /**
   * Documents that could not be used (YAML errors, unsupported apiVersion, a misspelt kind), as far as their
   * kind and names can be read: references to those names are not reported again as unknown.
   */
  ghosts: Sketch[];
  report: Report;
}

const KINDS = Object.keys(CONFIG_KINDS);

function sketchOf(obj: Record<string, unknown>, kind: string): Sketch {
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const entries = Array.isArray(obj.instances)
    ? obj.instances.map((e) => str((e as { name?: unknown } | null)?.name))
    : [];
  return {
    kind,
    name: str(obj.name),
    site: str(obj.site),
    entries: entries.filter((n): n is string => n !== undefined),
  };
}

/** Parses a file and checks each document on its own: kind, apiVersion, schema, credential literals. */
export function analyzeFile(path: string, text: string): FileAnalysis {
  const parsed = parseFile(path, text);
  const report = new Report();
  report.items.push(...parsed.diagnostics);
  const docs: Doc[] = [];
  const ghosts: Sketch[] = parsed.sketches.filter((s) => isConfigKind(s.kind));
  for (const loaded of parsed.docs) {
    const data = loaded.data;
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      report.add("schema", parsed.src.loc(loaded.at), "a document must be a map with a kind (Template, Instance, …)");
      continue;
    }
    const obj = data as Record<string, unknown>;
    const kind = obj.kind;
    checkSecretLiterals(obj, report, kind);
    if (obj.apiVersion !== undefined && obj.apiVersion !== API_VERSION) {
      report.add(
        "unsupported-version",
        atValue(obj, "apiVersion"),
        `unsupported apiVersion: only ${API_VERSION} is known`,
      );
      if (isConfigKind(kind)) ghosts.push(sketchOf(obj, kind));
      continue;
    }
    if (!isConfigKind(kind)) {
      if (kind === undefined) {
        report.add("unknown-kind", at(obj), `document has no kind (one of ${KINDS.join(", ")})`);
        continue;
      }
      const hint = typeof kind === "string" ? didYouMean(kind, KINDS) : "";
      report.add("unknown-kind", atValue(obj, "kind"), `unknown kind${hint}: expected one of ${KINDS.join(", ")}`);
      // A near miss (SharedScrpt) was meant as that kind: its names still count as defined.
      const meant = typeof kind === "string" ? closest(kind, KINDS) : undefined;
      if (meant) ghosts.push(sketchOf(obj, meant));
      continue;
    }
    const schema = checkDocumentSchema(kind, obj);
    report.items.push(...schema.diagnostics);
    docs.push({ kind, data: obj as never, src: parsed.src, index: loaded.index, usable: schema.usable });
  }
  return { path, text, src: parsed.src, docs, ghosts, report };
}
