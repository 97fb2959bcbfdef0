import { revisionHash } from "../../controller/contract/hash.js";
import { validatorFor } from "../../controller/contract/schemas.js";
import type { DeploymentPackage, SiteArtifacts, SiteManifest } from "../../schemas/types.js";

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** Parses a deploy-branch document and checks it against its schema; the message names the first problem. */
function parse<T>(text: string, schema: string, what: string): Checked<T> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: `${what} is not JSON (${(e as Error).message})` };
  }
  const validate = validatorFor(schema);
  if (!validate(data)) {
    const err = validate.errors?.[0];
    return {
      ok: false,
      message: `${what} does not match ${schema}: ${err?.instancePath || "/"} ${err?.message ?? ""}`.trim(),
    };
  }
  return { ok: true, value: data as T };
}

/** The hash the document claims, the hash its content has, and the one the manifest expects must all agree. */
function hashCheck(doc: { revisionHash: string }, expected: string, what: string): string | undefined {
  const actual = revisionHash(doc);
  if (actual !== expected) return `${what} hashes to ${actual}, the manifest says ${expected}`;
  if (doc.revisionHash !== expected) return `${what} claims ${doc.revisionHash}, the manifest says ${expected}`;
  return undefined;
}

export function checkManifest(text: string, site: string): Checked<SiteManifest> {
  const m = parse<SiteManifest>(text, "site-manifest.schema.json", "manifest.json");
  if (m.ok && m.value.site !== site) return { ok: false, message: `manifest.json is for site ${m.value.site}` };
  return m;
}

export function checkSiteArtifacts(text: string, site: string, expected: string): Checked<SiteArtifacts> {
  const a = parse<SiteArtifacts>(text, "site-artifacts.schema.json", "site.json");
  if (!a.ok) return a;
  if (a.value.site !== site) return { ok: false, message: `site.json is for site ${a.value.site}` };
  const bad = hashCheck(a.value, expected, "site.json");
  return bad ? { ok: false, message: bad } : a;
}

/** A package is applied only when it is the named instance of this site and hashes to the manifest's revision. */
export function checkPackage(text: string, site: string, name: string, expected: string): Checked<DeploymentPackage> {
  const p = parse<DeploymentPackage>(text, "deployment-package.schema.json", "the package");
  if (!p.ok) return p;
  const { instance } = p.value;
  if (instance.site !== site || instance.name !== name)
    return { ok: false, message: `the package is for ${instance.site}/${instance.name}` };
  const bad = hashCheck(p.value, expected, "the package");
  return bad ? { ok: false, message: bad } : p;
}
