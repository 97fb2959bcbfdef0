import { looksLikeCredential } from "../../contract/credential-names.js";
import type { Report } from "../diagnostics.js";
import { atKey, atValue } from "../load/positions.js";

const USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]+@/i;

/** Kinds whose documents reach outside systems: their secret references carry credential words in their keys. */
const INTEGRATION_DOCS = new Set(["ExternalSystem", "NotificationList", "DatabaseConnection", "ApiMethod"]);
/**
 * Keys of those documents that name a secret (their schema holds them to secret names, and a value that is no
 * name is secret-literal there), or that are no credential at all (an OAuth2 token endpoint).
 */
const INTEGRATION_REFERENCES = new Set(["tokenSecret", "clientSecretSecret", "tokenUrl"]);

/** Whether key, in obj, names a secret rather than holding one. apiKey auth names its secret under `secret`. */
function isReference(key: string, obj: Record<string, unknown>, integration: boolean): boolean {
  if (!integration) return false;
  return INTEGRATION_REFERENCES.has(key) || (key === "secret" && obj.type === "apiKey");
}

function isLiteral(v: unknown): boolean {
  return (typeof v === "string" && v.length > 0) || typeof v === "number";
}

/**
 * secret-literal: credential-looking literals anywhere in a document: a credential-named key with a literal
 * value (or an override/attribute setting a value on a credential-named member), and userinfo in a URL.
 * Messages never include the value.
 */
export function checkSecretLiterals(data: unknown, report: Report, kind?: unknown): void {
  walk(data, report, 0, typeof kind === "string" && INTEGRATION_DOCS.has(kind));
}

function walk(node: unknown, report: Report, depth: number, integration: boolean): void {
  if (node === null || typeof node !== "object" || depth > 80) return;
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      if (typeof item === "string" && item.includes("@") && USERINFO.test(item)) {
        report.add(
          "secret-literal",
          atValue(node, i),
          "URL with credentials (user:password@) in it: name a secret instead",
        );
      } else walk(item, report, depth + 1, integration);
    });
    return;
  }
  const obj = node as Record<string, unknown>;
  // An attribute definition named like a credential holding a literal default.
  if (typeof obj.name === "string" && looksLikeCredential(obj.name) && isLiteral(obj.value) && "dataType" in obj) {
    report.add(
      "secret-literal",
      atValue(obj, "value"),
      `attribute "${obj.name}" holds a literal credential (value hidden): provide it on the site as a named secret`,
    );
  }
  // Object.keys and an index: Object.entries builds a pair per key, which for a 300,000-key map is most of the cost.
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = obj[key];
    if (looksLikeCredential(key) && !isReference(key, obj, integration)) {
      if (isLiteral(value)) {
        report.add(
          "secret-literal",
          atKey(obj, key),
          `"${key}" holds a literal credential (value hidden): never put secrets in the repository; reference one by name (passwordSecret: NAME)`,
        );
        continue;
      }
      if (
        value &&
        typeof value === "object" &&
        !Array.isArray(value) &&
        isLiteral((value as Record<string, unknown>).value)
      ) {
        report.add(
          "secret-literal",
          atKey(obj, key),
          `"${key}" is given a literal credential value (value hidden): provide it on the site as a named secret`,
        );
      }
    }
    if (typeof value === "string" && value.includes("@") && USERINFO.test(value)) {
      report.add(
        "secret-literal",
        atValue(obj, key),
        `"${key}" is a URL with credentials (user:password@) in it: name a secret instead`,
      );
    } else walk(value, report, depth + 1, integration);
  }
}
