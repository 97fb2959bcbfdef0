import { Octokit, RequestError } from "octokit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../helpers/fake-github.js";

const token = "ghs_test_token";
const owner = "acme";
const repo = "plant-config";
const sha = "a".repeat(40);

let gh: FakeGitHub;
let octokit: Octokit;
beforeAll(async () => {
  gh = await startFakeGitHub({ token });
  // octokit's throttling spaces writes 1-3 s apart; a test has no rate limit to respect.
  octokit = new Octokit({ auth: token, baseUrl: gh.url, throttle: { enabled: false } });
});
afterAll(() => gh.stop());

function annotations(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    path: `sites/s${i}.yaml`,
    start_line: i + 1,
    end_line: i + 1,
    annotation_level: "failure" as const,
    message: `problem ${i}`,
  }));
}

/** Status of a rejected octokit call. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RequestError) return e.status;
    throw e;
  }
  throw new Error("expected the request to fail");
}

describe("fake GitHub API", () => {
  it("creates and updates a check run with annotations", async () => {
    gh.requests.length = 0;
    const created = await octokit.rest.checks.create({
      owner,
      repo,
      name: "scadalink/validate",
      head_sha: sha,
      status: "in_progress",
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name: "scadalink/validate", head_sha: sha, status: "in_progress" });
    const id = created.data.id;

    const updated = await octokit.rest.checks.update({
      owner,
      repo,
      check_run_id: id,
      conclusion: "failure",
      output: { title: "2 errors", summary: "Validation failed", annotations: annotations(2) },
    });
    expect(updated.status).toBe(200);
    expect(updated.data).toMatchObject({ id, status: "completed", conclusion: "failure" });
    expect(updated.data.output.annotations_count).toBe(2);
    expect(gh.checkRuns.get(id).annotations.map((a: { path: string }) => a.path)).toEqual([
      "sites/s0.yaml",
      "sites/s1.yaml",
    ]);

    const list = await octokit.rest.checks.listForRef({ owner, repo, ref: sha });
    expect(list.data.total_count).toBe(1);
    expect(list.data.check_runs[0]).toMatchObject({ id, conclusion: "failure" });

    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${owner}/${repo}/check-runs`,
      `PATCH /repos/${owner}/${repo}/check-runs/${id}`,
      `GET /repos/${owner}/${repo}/commits/${sha}/check-runs`,
    ]);
    expect(gh.requests[0]!.headers.authorization).toBe(`token ${token}`);
    expect(gh.requests[1]!.body).toMatchObject({ conclusion: "failure", output: { title: "2 errors" } });
  });

  it("rejects more than 50 annotations and malformed ones with 422", async () => {
    const id = (await octokit.rest.checks.create({ owner, repo, name: "big", head_sha: sha })).data.id;
    const output = { title: "t", summary: "s" };
    expect(
      await statusOf(
        octokit.rest.checks.update({
          owner,
          repo,
          check_run_id: id,
          output: { ...output, annotations: annotations(51) },
        }),
      ),
    ).toBe(422);
    await octokit.rest.checks.update({
      owner,
      repo,
      check_run_id: id,
      output: { ...output, annotations: annotations(50) },
    });
    expect(gh.checkRuns.get(id).annotations).toHaveLength(50);

    const bad = [{ ...annotations(1)[0]!, annotation_level: "error" as "failure" }];
    expect(
      await statusOf(
        octokit.rest.checks.update({ owner, repo, check_run_id: id, output: { ...output, annotations: bad } }),
      ),
    ).toBe(422);
    expect(await statusOf(octokit.rest.checks.create({ owner, repo, name: "no sha" } as never))).toBe(422);
    expect(await statusOf(octokit.rest.checks.update({ owner, repo, check_run_id: 999_999, status: "queued" }))).toBe(
      404,
    );
  });

  it("lists, creates, updates and deletes issue comments", async () => {
    gh.requests.length = 0;
    expect((await octokit.rest.issues.listComments({ owner, repo, issue_number: 7 })).data).toEqual([]);
    const c = await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: "plan: 3 changes" });
    expect(c.status).toBe(201);
    expect(c.data).toMatchObject({ body: "plan: 3 changes", user: { login: "scadalink-bot" } });
    expect(c.data.html_url).toContain(`#issuecomment-${c.data.id}`);

    const u = await octokit.rest.issues.updateComment({ owner, repo, comment_id: c.data.id, body: "plan: 4 changes" });
    expect(u.data.body).toBe("plan: 4 changes");
    expect(gh.comments(7).map((x) => x.body)).toEqual(["plan: 4 changes"]);

    for (let i = 0; i < 4; i++)
      await octokit.rest.issues.createComment({ owner, repo, issue_number: 7, body: `n${i}` });
    const page2 = await octokit.rest.issues.listComments({ owner, repo, issue_number: 7, per_page: 2, page: 2 });
    expect(page2.data.map((x) => x.body)).toEqual(["n1", "n2"]);
    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: 7, per_page: 2 });
    expect(all).toHaveLength(5);

    const del = await octokit.rest.issues.deleteComment({ owner, repo, comment_id: c.data.id });
    expect(del.status).toBe(204);
    expect(gh.comments(7)).toHaveLength(4);
    expect(await statusOf(octokit.rest.issues.updateComment({ owner, repo, comment_id: c.data.id, body: "x" }))).toBe(
      404,
    );

    expect(gh.requests.slice(0, 3).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /repos/${owner}/${repo}/issues/7/comments`,
      `POST /repos/${owner}/${repo}/issues/7/comments`,
      `PATCH /repos/${owner}/${repo}/issues/comments/${c.data.id}`,
    ]);
    expect(gh.requests[1]!.body).toEqual({ body: "plan: 3 changes" });
    expect(gh.requests.some((r) => r.path === `/repos/${owner}/${repo}/issues/7/comments?per_page=2&page=2`)).toBe(
      true,
    );
  });

  it("creates commit statuses and lists them newest first", async () => {
    const s1 = await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state: "pending",
      context: "scadalink",
    });
    expect(s1.status).toBe(201);
    const s2 = await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state: "success",
      context: "scadalink",
      description: "3 sites deployed",
      target_url: "https://ci.example/1",
    });
    expect(s2.data).toMatchObject({
      state: "success",
      context: "scadalink",
      description: "3 sites deployed",
      target_url: "https://ci.example/1",
    });
    const list = await octokit.rest.repos.listCommitStatusesForRef({ owner, repo, ref: sha });
    expect(list.data.map((s) => s.state)).toEqual(["success", "pending"]);
    expect(gh.statuses(sha).map((s) => s.id)).toEqual([s2.data.id, s1.data.id]);

    const long = "x".repeat(141);
    expect(
      await statusOf(
        octokit.rest.repos.createCommitStatus({ owner, repo, sha, state: "success", context: "c", description: long }),
      ),
    ).toBe(422);
    expect(
      await statusOf(octokit.rest.repos.createCommitStatus({ owner, repo, sha, state: "done" as "success" })),
    ).toBe(422);
    expect(gh.statuses(sha)).toHaveLength(2);
  });

  it("rejects a wrong or missing token with 401 and unknown routes with 404", async () => {
    const wrong = new Octokit({ auth: "nope", baseUrl: gh.url, throttle: { enabled: false } });
    expect(await statusOf(wrong.rest.issues.listComments({ owner, repo, issue_number: 1 }))).toBe(401);
    const anonymous = new Octokit({ baseUrl: gh.url, throttle: { enabled: false } });
    expect(await statusOf(anonymous.rest.checks.listForRef({ owner, repo, ref: sha }))).toBe(401);
    const bearer = await fetch(`${gh.url}/repos/${owner}/${repo}/issues/1/comments`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bearer.status).toBe(200);

    const res = await fetch(`${gh.url}/repos/${owner}/${repo}/pulls`, { headers: { authorization: `token ${token}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: "Not Found", documentation_url: expect.any(String) });
    const last = gh.requests.at(-1)!;
    expect(last).toMatchObject({ method: "GET", path: `/repos/${owner}/${repo}/pulls`, body: undefined });
  });
});
