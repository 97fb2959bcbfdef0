import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import nodeHttp from "isomorphic-git/http/node";

/**
 * isomorphic-git's HTTP client, with one repair to what a server advertises. After every fetch, isomorphic-git
 * resolves the remote's HEAD, even when the fetch names its branch (isomorphic-git #1654), and it does so after
 * moving the refs but before writing the pack. A repository made by `git init --bare` has HEAD on an unborn
 * `master` while the config lives on `main`; its server lists no HEAD, and every fetch failed with "Could not
 * find HEAD" (leaving refs at objects it never wrote). When the advertisement names no HEAD, this client adds
 * the capability `symref=HEAD:<first branch>` to it: the name isomorphic-git looks up and never uses for a
 * named branch. Nothing here ever depends on the remote's HEAD.
 */
export const http: HttpClient = {
  async request(req: GitHttpRequest): Promise<GitHttpResponse> {
    const res = await nodeHttp.request(req);
    if (res.statusCode !== 200 || !isUploadPackAdvertisement(req) || !res.body) return res;
    const chunks: Uint8Array[] = [];
    for await (const c of res.body) chunks.push(c);
    const fixed = withHeadSymref(Buffer.concat(chunks));
    return {
      ...res,
      body: (async function* () {
        yield fixed;
      })(),
    };
  },
};

function isUploadPackAdvertisement(req: GitHttpRequest): boolean {
  return (req.method ?? "GET") === "GET" && /\/info\/refs\?service=git-upload-pack$/.test(req.url);
}

/**
 * A smart-HTTP v0/v1 ref advertisement (pkt-lines: `# service=…`, flush, `<oid> <ref>\0<caps>`, `<oid> <ref>`,
 * …, flush) with `symref=HEAD:refs/heads/<first>` added when it has neither a HEAD line nor a HEAD symref.
 * Anything it does not understand (protocol v2, a malformed body) is returned as it came.
 */
export function withHeadSymref(body: Buffer): Buffer {
  const lines: (Buffer | null)[] = [];
  for (let i = 0; i < body.length; ) {
    const len = Number.parseInt(body.subarray(i, i + 4).toString("latin1"), 16);
    if (!Number.isInteger(len) || (len !== 0 && len < 4) || i + Math.max(len, 4) > body.length) return body;
    lines.push(len === 0 ? null : body.subarray(i + 4, i + len));
    i += len === 0 ? 4 : len;
  }
  // The first ref line follows the service line and its flush.
  const first = lines.findIndex((l, k) => k > 0 && l !== null);
  if (first < 0) return body;
  const line = lines[first]!;
  const nul = line.indexOf(0);
  if (nul < 0) return body;
  const caps = line
    .subarray(nul + 1)
    .toString("utf8")
    .replace(/\n$/, "");
  if (/(^| )symref=HEAD:/.test(caps)) return body;
  const refs = lines.slice(first).map((l) => (l === null ? undefined : refName(l)));
  if (refs.includes("HEAD")) return body;
  const branch = refs.find((r) => r?.startsWith("refs/heads/"));
  if (!branch) return body;
  const replaced = Buffer.concat([line.subarray(0, nul + 1), Buffer.from(`${caps} symref=HEAD:${branch}\n`)]);
  lines[first] = replaced;
  return Buffer.concat(
    lines.map((l) =>
      l === null ? Buffer.from("0000") : Buffer.concat([Buffer.from((l.length + 4).toString(16).padStart(4, "0")), l]),
    ),
  );
}

function refName(line: Buffer): string | undefined {
  const text = line.toString("utf8").replace(/\n$/, "");
  const nul = text.indexOf("\0");
  const m = /^[0-9a-f]{40,64} (\S+)$/.exec(nul < 0 ? text : text.slice(0, nul));
  return m?.[1];
}
