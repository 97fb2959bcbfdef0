// A generated config repo on the loopback git server, and one-instance edits pushed to it: shared by the controller
// and site benchmarks (bench/controller.mjs, bench/site.mjs).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GIT_ENV } from "../test/helpers/git-http-server.mjs";
import { editOverride, generateRepo } from "./generate.mjs";

export const DEPLOY_BRANCH = "scadalink/deploy";
// Bench commits need an identity and no signing; no auto-gc in the work clones while timings run.
const GIT_OPTS = [
  ...["-c", "user.name=scadalink-bench", "-c", "user.email=bench@scadalink.invalid"],
  ...["-c", "commit.gpgsign=false", "-c", "gc.auto=0"],
];

/** Native git without the user's config; resolves trimmed stdout, rejects with stderr. */
export function gitCli(args, { cwd, input } = {}) {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? "ignore" : "pipe";
    const c = spawn("git", [...GIT_OPTS, ...args], { cwd, env: GIT_ENV, stdio: [stdin, "pipe", "pipe"] });
    const out = [];
    let err = "";
    c.stdout.on("data", (d) => out.push(d));
    c.stderr.on("data", (d) => {
      err += d;
    });
    c.on("error", reject);
    c.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString().trim());
      else reject(new Error(`git ${args.join(" ")} failed (${code}): ${err.slice(0, 2000)}`));
    });
    c.stdin?.end(input);
  });
}

/**
 * A generated repo (rollout: auto, so every change deploys) written to the work clone `work` and pushed to main of
 * the new bare repo `name` on the server.
 */
export async function generatedRepo(server, name, work, { sites, instances, tags }) {
  // The controller compiles every commit and reports errors: a separate check compile would only cost time.
  await generateRepo(work, { sites, instances, tagsPerInstance: tags, check: false });
  const settingsFile = join(work, "scadalink.yaml");
  const settings = readFileSync(settingsFile, "utf8");
  if (!/^rollout: \w+$/m.test(settings)) throw new Error("generated scadalink.yaml has no rollout line");
  writeFileSync(settingsFile, settings.replace(/^rollout: \w+$/m, "rollout: auto"));
  const bare = await server.createBareRepo(name);
  const url = server.repoUrl(name);
  await gitCli(["init", "--quiet", "--initial-branch=main", work]);
  await gitCli(["add", "-A"], { cwd: work });
  await gitCli(["commit", "--quiet", "-m", "seed"], { cwd: work });
  await gitCli(["remote", "add", "origin", url], { cwd: work });
  await gitCli(["push", "--quiet", "origin", "HEAD:refs/heads/main"], { cwd: work });
  return { name, work, bare, url, seed: await gitCli(["rev-parse", "HEAD"], { cwd: work }) };
}

/**
 * editOverride applied to the first document of file (named in errors) outside every batch: the generated repo's
 * prepare-phase batch selects the high-criticality sets, and its artifacts (handoff, report) list each selected
 * instance's revision, so an edit there is no longer a one-instance change of the deploy tree. Returns the new
 * text and the edited instance's name.
 */
function oneInstanceEdit(text, i, file) {
  const docs = text.split("\n---\n");
  const k = docs.findIndex((d) => !d.includes("criticality: high") && /ServiceIntervalHours: \d+/.test(d));
  if (k < 0) throw new Error(`${file} has no document outside the batches to edit`);
  const doc = docs[k];
  // The instance whose override editOverride changes: the last name before the document's first ServiceIntervalHours.
  const names = [...doc.slice(0, doc.search(/ServiceIntervalHours: \d+/)).matchAll(/name: (\S+)/g)];
  docs[k] = editOverride(doc, i);
  return { text: docs.join("\n---\n"), instance: names[names.length - 1][1] };
}

/** A one-instance edit of file in the work clone, committed and pushed; returns the new main sha and the instance. */
export async function pushFileEdit(repo, file, i) {
  const path = join(repo.work, file);
  const { text, instance } = oneInstanceEdit(readFileSync(path, "utf8"), i, file);
  writeFileSync(path, text);
  await gitCli(["commit", "--quiet", "-am", `bench edit ${i}`], { cwd: repo.work });
  await gitCli(["push", "--quiet", "origin", "HEAD:refs/heads/main"], { cwd: repo.work });
  return { sha: await gitCli(["rev-parse", "HEAD"], { cwd: repo.work }), instance };
}

/** The deploy branch's commit on the server: the loose ref file (cheap to poll), else packed-refs. */
export async function deployHead(bare) {
  const loose = await readFile(join(bare, "refs/heads", DEPLOY_BRANCH), "utf8").catch(() => undefined);
  if (loose) return loose.trim();
  const packed = await readFile(join(bare, "packed-refs"), "utf8").catch(() => "");
  return new RegExp(`^([0-9a-f]{40}) refs/heads/${DEPLOY_BRANCH}$`, "m").exec(packed)?.[1];
}

/** The Source-Commit trailer of a deploy commit on the server. */
export const sourceCommit = (bare, oid) =>
  gitCli(["--git-dir", bare, "log", "-1", "--format=%(trailers:key=Source-Commit,valueonly)", oid]);
