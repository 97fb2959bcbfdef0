/** Paths on the deploy branch (section 4.4). Names are validated, so they are safe as path segments. */

export const siteDir = (site: string) => `sites/${site}`;
export const manifestPath = (site: string) => `sites/${site}/manifest.json`;
export const siteArtifactsPath = (site: string) => `sites/${site}/site.json`;
export const packagePath = (site: string, name: string) => `sites/${site}/instances/${name}.json`;
export const batchDir = (batch: string) => `batches/${batch}`;
export const releasePath = (batch: string) => `batches/${batch}/release.json`;
export const batchStatusPath = (batch: string) => `batches/${batch}/status.json`;
/** Packages of a batch waiting for its after: fixed at the commit where it became execute. */
export const pendingPackagePath = (batch: string, site: string, name: string) =>
  `batches/${batch}/pending/${site}/${name}.json`;

/** A site's execution record of a batch: written on its status branch, collected by the controller. */
export const recordPath = (batch: string, instance: string) => `batches/${batch}/${instance}.json`;
/** An evidence item of an execution record, on the site's status branch. */
export const evidencePath = (batch: string, instance: string, item: string) =>
  `evidence/${batch}/${instance}/${item}${item === "event-log" ? ".jsonl" : ".json"}`;

/** `<site>/<name>` → [site, name]. */
export function splitId(id: string): [string, string] {
  const i = id.indexOf("/");
  return [id.slice(0, i), id.slice(i + 1)];
}

/** JSON as stored on the branches: two-space indentation and a final newline, so plain git diffs read well. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
