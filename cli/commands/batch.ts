import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { toJson } from "../../controller/contract/layout.js";
import { selectedIds } from "../../controller/deploy/batches.js";
import { prepare } from "../../controller/deploy/prepare.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { palette } from "../output/color.js";
import { formatText } from "../output/formats.js";
import { repoRoot, UsageError } from "./validate.js";

export interface BatchPrepareOptions {
  repo: string;
  out?: string;
}

/** `scadalink batch prepare NAME`: the preparation artifacts of 2.9 from the working tree, locally. */
export async function batchPrepareCommand(name: string, o: BatchPrepareOptions): Promise<number> {
  const root = await repoRoot(o.repo);
  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const c = compileFiles(await readWorkingTree(root));
  if (c.errorCount > 0) {
    process.stderr.write(
      formatText({ diagnostics: c.diagnostics, stats: c.stats, durationMs: 0 }, palette(process.stderr)),
    );
    return 1;
  }
  const doc = c.index.batches.get(name);
  if (!doc)
    throw new UsageError(
      `no batch ${name}${c.index.batches.size ? ` (batches: ${[...c.index.batches.keys()].join(", ")})` : ""}`,
    );
  const ids = selectedIds(doc.data, c);
  const hashes = new Map(c.packages(ids).map((p) => [`${p.instance.site}/${p.instance.name}`, p.revisionHash]));
  const selection = Object.fromEntries(ids.map((id) => [id, hashes.get(id) ?? null]));
  const p = prepare(doc.data, null, c, selection);
  if (!o.out) {
    process.stdout.write(p.report);
    return 0;
  }
  const dir = resolve(o.out);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "handoff.json"), toJson(p.handoff));
  await writeFile(join(dir, "evidence-checklist.json"), toJson(p.checklist));
  await writeFile(join(dir, "execution-record-template.json"), toJson(p.template));
  await writeFile(join(dir, "report.md"), p.report);
  process.stderr.write(`wrote the preparation of batch ${name} (${ids.length} instances) to ${o.out}\n`);
  return 0;
}
