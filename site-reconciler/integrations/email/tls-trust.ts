import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

/**
 * The CAs a site trusts for the TLS of its SMTP servers and token endpoints: undefined (Node's defaults: its bundled
 * Mozilla roots plus NODE_EXTRA_CA_CERTS) when no CA file is given, otherwise those defaults and the file's PEM
 * certificates. An explicit `ca` replaces Node's defaults, so they are put back here: adding a plant CA never
 * drops trust in a public server.
 */
export function trustedCas(caFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (!caFile) return undefined;
  const extra = env.NODE_EXTRA_CA_CERTS ? [readFileSync(env.NODE_EXTRA_CA_CERTS, "utf8")] : [];
  const own = readFileSync(caFile, "utf8");
  if (!own.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${caFile} holds no PEM certificate`);
  return [...rootCertificates, ...extra, own];
}
