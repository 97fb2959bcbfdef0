import { resolve } from "node:path";
import { DEFAULT_DEPLOY_BRANCH, DEFAULT_STATUS_PREFIX } from "../../controller/contract/branches.js";
import { recordsOf, StatusReader } from "../../controller/deploy/records.js";
import { packageVersion } from "../../controller/package-root.js";
import { buildPlan } from "../../controller/plan/plan.js";
import { renderPlanMarkdown, renderPlanText } from "../../controller/plan/render.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { palette } from "../output/color.js";
import { deployOptions, deployState, openRepo } from "../repo-access.js";
import { repoRoot } from "./validate.js";

export interface PlanOptions {
  repo: string;
  against?: string;
  format: "text" | "json" | "markdown";
}

/** `scadalink plan`: what deploying the working tree would change against the deploy branch (or REF). */
export async function planCommand(o: PlanOptions): Promise<number> {
  const root = await repoRoot(o.repo);
  const repo = await openRepo(root);
  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const files = await readWorkingTree(root);
  const first = compileFiles(files);
  const r = first.index.repository?.usable ? first.index.repository.data : undefined;
  const previous = await deployState(repo, r?.deployBranch ?? DEFAULT_DEPLOY_BRANCH, o.against);
  const c = compileFiles(files, deployOptions(previous));
  const reports = await new StatusReader(repo).read(r?.statusBranchPrefix ?? DEFAULT_STATUS_PREFIX);
  const head = (await repo.resolve("HEAD")) ?? "0000000000000000000000000000000000000000";
  const plan = await buildPlan({
    commit: head,
    compilation: c,
    previous,
    records: recordsOf(reports),
    now: new Date(),
    blob: (oid) => repo.readText(oid),
  });
  if (o.format === "json")
    process.stdout.write(`${JSON.stringify({ ...plan, tool: packageVersion(), repo: resolve(root) }, null, 2)}\n`);
  else if (o.format === "markdown") process.stdout.write(renderPlanMarkdown(plan));
  else process.stdout.write(renderPlanText(plan, palette(process.stdout)));
  return plan.ok ? 0 : 1;
}
