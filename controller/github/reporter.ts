import { Octokit } from "octokit";
import type { Diagnostic } from "../compiler/diagnostics.js";
import { PLAN_MARKER } from "../plan/render.js";

export interface GitHubOptions {
  owner: string;
  repo: string;
  token: string;
  /** The REST API base URL (GitHub Enterprise, or a local server in tests). */
  apiUrl: string;
  /** octokit's request throttling, which spaces writes to respect GitHub's limits (default on). */
  throttle?: boolean;
}

/** GitHub accepts at most 50 annotations per check-run request. */
const ANNOTATIONS_PER_REQUEST = 50;
const CHECK_NAME = "scadalink";
const DESCRIPTION_MAX = 140;

export type CommitState = "success" | "failure" | "pending" | "error";

/**
 * Reports to GitHub through octokit: one check run per pull-request head (diagnostics as file/line annotations),
 * one plan comment per pull request (updated in place), and one commit status per site on main.
 */
export class GitHubReporter {
  readonly octokit: Octokit;
  private readonly where: { owner: string; repo: string };

  constructor(opts: GitHubOptions) {
    this.octokit = new Octokit({
      auth: opts.token,
      baseUrl: opts.apiUrl,
      request: { retries: 0 },
      throttle: { enabled: opts.throttle ?? true },
    });
    this.where = { owner: opts.owner, repo: opts.repo };
  }

  /** One check run on the head commit with every diagnostic as an annotation (sent 50 at a time). */
  async checkRun(headSha: string, title: string, summary: string, diagnostics: Diagnostic[]): Promise<number> {
    const errors = diagnostics.some((d) => d.severity === "error");
    const annotations = diagnostics.map((d) => ({
      path: d.file,
      ...annotationRange(d),
      annotation_level: d.severity === "error" ? ("failure" as const) : ("warning" as const),
      title: d.rule,
      message: d.message,
    }));
    const first = annotations.slice(0, ANNOTATIONS_PER_REQUEST);
    const created = await this.octokit.rest.checks.create({
      ...this.where,
      name: CHECK_NAME,
      head_sha: headSha,
      status: "completed",
      conclusion: errors ? "failure" : "success",
      output: { title, summary, annotations: first },
    });
    for (let i = ANNOTATIONS_PER_REQUEST; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) {
      await this.octokit.rest.checks.update({
        ...this.where,
        check_run_id: created.data.id,
        output: { title, summary, annotations: annotations.slice(i, i + ANNOTATIONS_PER_REQUEST) },
      });
    }
    return created.data.id;
  }

  /** Creates the plan comment, or updates the one already there (found by its marker). */
  async upsertPlanComment(issue: number, body: string): Promise<{ id: number; created: boolean }> {
    const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      ...this.where,
      issue_number: issue,
      per_page: 100,
    });
    const ours = comments.find((c) => typeof c.body === "string" && c.body.includes(PLAN_MARKER));
    if (ours) {
      await this.octokit.rest.issues.updateComment({ ...this.where, comment_id: ours.id, body });
      return { id: ours.id, created: false };
    }
    const created = await this.octokit.rest.issues.createComment({ ...this.where, issue_number: issue, body });
    return { id: created.data.id, created: true };
  }

  /** A commit status; one context per site, so sites never overwrite each other. */
  async commitStatus(sha: string, context: string, state: CommitState, description: string): Promise<void> {
    const text = description.length > DESCRIPTION_MAX ? `${description.slice(0, DESCRIPTION_MAX - 1)}…` : description;
    await this.octokit.rest.repos.createCommitStatus({ ...this.where, sha, context, state, description: text });
  }
}

/** "owner/name" → its parts. */
export function parseRepoName(spec: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(spec);
  if (!m) throw new Error(`--github-repo ${spec}: expected OWNER/NAME`);
  return { owner: m[1]!, repo: m[2]! };
}

/**
 * Where a check-run annotation points: the diagnostic's YAML range. GitHub takes columns only on a one-line
 * annotation, and its end_column is the last character (a diagnostic's endColumn is just after it).
 */
export function annotationRange(d: Diagnostic): {
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
} {
  const endLine = d.endLine ?? d.line;
  if (endLine !== d.line) return { start_line: d.line, end_line: endLine };
  const last = d.endColumn !== undefined ? Math.max(d.column, d.endColumn - 1) : d.column;
  return { start_line: d.line, end_line: d.line, start_column: d.column, end_column: last };
}
