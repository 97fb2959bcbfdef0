/**
 * Tags as written in the repo, turned into the `ns=<index>;…` form node-opcua parses. `nsu=<namespace URI>;<id>`
 * (OPC UA Part 6, 5.3.1.10) names the namespace by URI: its index is looked up in the server's NamespaceArray, which
 * is read at every connect because a server may number its namespaces differently after a restart or an update.
 */
export type TagAddress = { ok: true; nodeId: string } | { ok: false; message: string };

const NSU = /^nsu=(.+?);([isgb]=[\s\S]*)$/;

/** The URI of an `nsu=` tag, undefined for any other tag. */
export function namespaceUriOf(tag: string): string | undefined {
  const m = NSU.exec(tag);
  return m ? decodeUri(m[1]!) : undefined;
}

/** Rewrites an `nsu=` tag against the server's NamespaceArray; other tags are passed through as they are. */
export function addressOf(tag: string, namespaces: readonly string[]): TagAddress {
  if (!tag.startsWith("nsu=")) return { ok: true, nodeId: tag };
  const m = NSU.exec(tag);
  if (!m) return { ok: false, message: `${tag} is not an OPC UA node id (nsu=<namespace URI>;s=… expected)` };
  const uri = decodeUri(m[1]!);
  const index = namespaces.indexOf(uri);
  if (index < 0) return { ok: false, message: `${tag}: the server has no namespace ${uri}` };
  return { ok: true, nodeId: `ns=${index};${m[2]}` };
}

/** Part 6 escapes ';' and '%' in a URI as %3B and %25; anything else is taken literally. */
function decodeUri(text: string): string {
  return text.replace(/%3B/gi, ";").replace(/%25/g, "%");
}
