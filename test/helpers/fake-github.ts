import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A loopback stand-in for the parts of GitHub's REST API scadalink uses (check runs, issue comments,
 * commit statuses). Point octokit at it with `baseUrl: gh.url`. State lives in memory; every request is
 * recorded, including rejected ones.
 *
 * It runs on the test's own event loop: clients must be asynchronous (octokit, `spawn`), since a
 * `spawnSync`ed client would block the thread that has to answer it.
 */
// biome-ignore lint/suspicious/noExplicitAny: GitHub JSON as tests read it; they assert shapes loosely.
type Json = any;
type Obj = Record<string, Json>;

export interface FakeGitHub {
  url: string;
  /** Every request in arrival order; path includes the query string, header names are lower case. */
  requests: RecordedRequest[];
  /** Check runs by id; `annotations` holds every annotation sent by create and updates, in order. */
  checkRuns: Map<number, Json>;
  /** Comments on issue/PR `issue`, oldest first. */
  comments(issue: number): Json[];
  /** Statuses of commit `sha`, newest first. */
  statuses(sha: string): Json[];
  stop(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

const DOCS = "https://docs.github.com/rest";
const BOT = { login: "scadalink-bot", id: 1, type: "Bot" };
const ANNOTATION_LEVELS = ["notice", "warning", "failure"];
const CHECK_STATUSES = ["queued", "in_progress", "completed", "waiting", "requested", "pending"];
const CONCLUSIONS = ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"];
const STATUS_STATES = ["error", "failure", "pending", "success"];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

const notFound = () => new HttpError(404, { message: "Not Found", documentation_url: DOCS });
function invalid(resource: string, errors: { field: string; code: string; message?: string }[]): HttpError {
  return new HttpError(422, {
    message: "Validation Failed",
    errors: errors.map((e) => ({ resource, ...e })),
    documentation_url: DOCS,
  });
}

/** GitHub's timestamps have no milliseconds. */
const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown) => Number.isInteger(v);
const isText = (v: unknown) => typeof v === "string" && v.length > 0;

export async function startFakeGitHub(opts: { token: string }): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const checkRuns = new Map<number, Json>();
  const comments = new Map<number, Json[]>();
  const statuses = new Map<string, Json[]>();
  let nextId = 1000;
  let url = "";

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { message: String(e) }));
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    let badJson = false;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        badJson = true;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = [v].flat().join(", ");
    const method = req.method ?? "GET";
    requests.push({ method, path: req.url ?? "/", body, headers });

    try {
      const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? "");
      if (auth?.[1] !== opts.token) throw new HttpError(401, { message: "Bad credentials", documentation_url: DOCS });
      if (badJson) throw new HttpError(400, { message: "Problems parsing JSON", documentation_url: DOCS });
      const u = new URL(req.url ?? "/", url);
      const [status, result, extraHeaders] = route(method, u, body);
      send(res, status, result, extraHeaders);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      send(res, e.status, e.body);
    }
  }

  function route(method: string, u: URL, body: unknown): [number, unknown, Record<string, string>?] {
    const p = u.pathname.replace(/\/+$/, "");
    let m: RegExpExecArray | null;
    const repo = (m: RegExpExecArray) => `${m[1]}/${m[2]}`;
    const R = "/repos/([^/]+)/([^/]+)";

    if ((m = new RegExp(`^${R}/check-runs$`).exec(p)) && method === "POST") {
      const b = checkRunBody(body, true);
      const id = nextId++;
      const run = {
        id,
        node_id: `CR_${id}`,
        repository: repo(m),
        url: `${url}/repos/${repo(m)}/check-runs/${id}`,
        html_url: `https://github.com/${repo(m)}/runs/${id}`,
        status: "queued",
        conclusion: null,
        started_at: now(),
        completed_at: null,
        app: { slug: "scadalink" },
        pull_requests: [],
        annotations: [] as unknown[],
      };
      return [201, applyCheckRun(run, b)];
    }
    if ((m = new RegExp(`^${R}/check-runs/(\\d+)$`).exec(p)) && method === "PATCH") {
      const run = checkRuns.get(Number(m[3]));
      if (!run || run.repository !== repo(m)) throw notFound();
      return [200, applyCheckRun(run, checkRunBody(body, false))];
    }
    if ((m = new RegExp(`^${R}/commits/([^/]+)/check-runs$`).exec(p)) && method === "GET") {
      const ref = decodeURIComponent(m[3]!);
      const name = u.searchParams.get("check_name");
      const runs = [...checkRuns.values()]
        .filter((r) => r.repository === repo(m!) && r.head_sha === ref && (!name || r.name === name))
        .reverse();
      const [page, headers] = paginate(u, runs);
      return [200, { total_count: runs.length, check_runs: page.map(publicRun) }, headers];
    }

    if ((m = new RegExp(`^${R}/issues/(\\d+)/comments$`).exec(p))) {
      const issue = Number(m[3]);
      const list = comments.get(issue) ?? [];
      if (method === "GET") {
        const [page, headers] = paginate(
          u,
          list.filter((c) => c.repository === repo(m!)),
        );
        return [200, page.map(publicComment), headers];
      }
      if (method === "POST") {
        if (!isObject(body) || typeof body.body !== "string") {
          throw invalid("IssueComment", [{ field: "body", code: "missing_field" }]);
        }
        const id = nextId++;
        const comment = {
          id,
          node_id: `IC_${id}`,
          repository: repo(m),
          issue_number: issue,
          url: `${url}/repos/${repo(m)}/issues/comments/${id}`,
          html_url: `https://github.com/${repo(m)}/issues/${issue}#issuecomment-${id}`,
          issue_url: `${url}/repos/${repo(m)}/issues/${issue}`,
          body: body.body,
          user: BOT,
          author_association: "NONE",
          created_at: now(),
          updated_at: now(),
        };
        comments.set(issue, [...list, comment]);
        return [201, publicComment(comment)];
      }
    }
    if ((m = new RegExp(`^${R}/issues/comments/(\\d+)$`).exec(p))) {
      const id = Number(m[3]);
      const found = [...comments.values()].flat().find((c) => c.id === id && c.repository === repo(m!));
      if (!found) throw notFound();
      if (method === "GET") return [200, publicComment(found)];
      if (method === "PATCH") {
        if (!isObject(body) || typeof body.body !== "string") {
          throw invalid("IssueComment", [{ field: "body", code: "missing_field" }]);
        }
        found.body = body.body;
        found.updated_at = now();
        return [200, publicComment(found)];
      }
      if (method === "DELETE") {
        const list = comments.get(found.issue_number)!;
        list.splice(list.indexOf(found), 1);
        return [204, undefined];
      }
    }

    if ((m = new RegExp(`^${R}/statuses/([0-9a-fA-F]{4,40})$`).exec(p)) && method === "POST") {
      const sha = m[3]!.toLowerCase();
      const errors: { field: string; code: string; message?: string }[] = [];
      const b = isObject(body) ? body : {};
      if (!STATUS_STATES.includes(b.state)) errors.push({ field: "state", code: "invalid" });
      if (!isText(b.context)) errors.push({ field: "context", code: "missing_field" });
      if (b.description != null && (typeof b.description !== "string" || b.description.length > 140)) {
        errors.push({
          field: "description",
          code: "custom",
          message: "description is too long (maximum is 140 characters)",
        });
      }
      if (b.target_url != null && typeof b.target_url !== "string")
        errors.push({ field: "target_url", code: "invalid" });
      if (errors.length) throw invalid("Status", errors);
      const id = nextId++;
      const status = {
        id,
        node_id: `SC_${id}`,
        repository: repo(m),
        sha,
        url: `${url}/repos/${repo(m)}/statuses/${sha}`,
        state: b.state,
        context: b.context,
        description: b.description ?? null,
        target_url: b.target_url ?? null,
        creator: BOT,
        created_at: now(),
        updated_at: now(),
      };
      statuses.set(sha, [status, ...(statuses.get(sha) ?? [])]);
      return [201, publicStatus(status)];
    }
    if ((m = new RegExp(`^${R}/commits/([^/]+)/statuses$`).exec(p)) && method === "GET") {
      const sha = decodeURIComponent(m[3]!).toLowerCase();
      const [page, headers] = paginate(
        u,
        (statuses.get(sha) ?? []).filter((s) => s.repository === repo(m!)),
      );
      return [200, page.map(publicStatus), headers];
    }
    throw notFound();
  }

  /** GitHub-style page/per_page with a Link header, so octokit.paginate works. */
  function paginate<T>(u: URL, items: T[]): [T[], Record<string, string>] {
    const perPage = Math.min(Math.max(Number(u.searchParams.get("per_page") ?? 30) || 30, 1), 100);
    const page = Math.max(Number(u.searchParams.get("page") ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (n: number, rel: string) => {
      const q = new URLSearchParams(u.searchParams);
      q.set("per_page", String(perPage));
      q.set("page", String(n));
      return `<${url}${u.pathname}?${q}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
    return [items.slice((page - 1) * perPage, page * perPage), links.length ? { link: links.join(", ") } : {}];
  }

  function checkRunBody(body: unknown, create: boolean): Obj {
    const b = isObject(body) ? body : {};
    const errors: { field: string; code: string; message?: string }[] = [];
    if (create && !isText(b.name)) errors.push({ field: "name", code: "missing_field" });
    if (create && !isText(b.head_sha)) errors.push({ field: "head_sha", code: "missing_field" });
    if (b.status !== undefined && !CHECK_STATUSES.includes(b.status)) errors.push({ field: "status", code: "invalid" });
    if (b.conclusion !== undefined && b.conclusion !== null && !CONCLUSIONS.includes(b.conclusion)) {
      errors.push({ field: "conclusion", code: "invalid" });
    }
    if (b.status === "completed" && !b.conclusion) {
      errors.push({ field: "conclusion", code: "missing_field", message: "conclusion is required when completed" });
    }
    if (b.output !== undefined) {
      const o = b.output;
      // GitHub requires title and summary whenever output is given.
      if (!isObject(o) || !isText(o.title) || !isText(o.summary)) {
        errors.push({ field: "output", code: "invalid", message: "output needs title and summary" });
      } else if (o.annotations !== undefined) {
        if (!Array.isArray(o.annotations)) errors.push({ field: "output.annotations", code: "invalid" });
        else if (o.annotations.length > 50) {
          errors.push({
            field: "output.annotations",
            code: "custom",
            message: "Only 50 annotations are allowed per request",
          });
        } else {
          o.annotations.forEach((a: unknown, i: number) => {
            const bad = annotationProblem(a);
            if (bad) errors.push({ field: `output.annotations[${i}].${bad}`, code: "invalid" });
          });
        }
      }
    }
    if (errors.length) throw invalid("CheckRun", errors);
    return b;
  }

  function applyCheckRun(run: Obj, b: Obj): unknown {
    const { output, id: _id, repository: _r, annotations: _a, ...rest } = b;
    Object.assign(run, rest);
    if (b.conclusion && b.status === undefined) run.status = "completed";
    if (run.status === "completed" && !run.completed_at) run.completed_at = b.completed_at ?? now();
    if (output) {
      run.annotations.push(...(output.annotations ?? []));
      run.output = { ...output, annotations_count: run.annotations.length };
    }
    checkRuns.set(run.id, run);
    return publicRun(run);
  }

  const publicRun = ({ repository: _r, annotations: _a, ...run }: Obj) => structuredClone(run);
  const publicComment = ({ repository: _r, issue_number: _i, ...c }: Obj) => structuredClone(c);
  const publicStatus = ({ repository: _r, sha: _s, ...s }: Obj) => structuredClone(s);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    checkRuns,
    comments: (issue) => comments.get(issue) ?? [],
    statuses: (sha) => statuses.get(sha.toLowerCase()) ?? [],
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Name of the first missing or invalid annotation field, if any. */
function annotationProblem(a: unknown): string | undefined {
  if (!isObject(a)) return "annotation";
  if (!isText(a.path)) return "path";
  if (!isInt(a.start_line) || a.start_line < 1) return "start_line";
  if (!isInt(a.end_line) || a.end_line < a.start_line) return "end_line";
  if (!ANNOTATION_LEVELS.includes(a.annotation_level)) return "annotation_level";
  if (!isText(a.message)) return "message";
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { "content-type": "application/json; charset=utf-8" } : {}),
    "x-github-media-type": "github.v3; format=json",
    ...headers,
  });
  res.end(text);
}
