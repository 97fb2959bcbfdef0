import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { packageVersion } from "../../controller/package-root.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { palette } from "../output/color.js";
import { formatText } from "../output/formats.js";
import { repoRoot, UsageError } from "./validate.js";

export interface FlattenOptions {
  repo: string;
  instance: string[];
  out?: string;
  explain?: boolean;
}

/**
 * `scadalink flatten`: print the packages as a JSON array, write them to <out>/<site>/<name>.json, or explain
 * where each field came from. A repo with errors produces no package (exit 1), like the controller.
 */
export async function flattenCommand(opts: FlattenOptions): Promise<number> {
  const started = performance.now();
  const root = await repoRoot(opts.repo);
  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const c = compileFiles(await readWorkingTree(root));
  if (c.errorCount > 0) {
    process.stderr.write(
      formatText(
        { diagnostics: c.diagnostics, stats: c.stats, durationMs: performance.now() - started },
        palette(process.stderr),
      ),
    );
    process.stderr.write("no packages: fix the errors above first\n");
    return 1;
  }
  for (const id of opts.instance) {
    if (!c.index.instances.has(id)) throw new UsageError(`--instance ${id}: no such instance (use <site>/<name>)`);
  }
  const ids = opts.instance.length ? opts.instance : undefined;
  const packages = c.packages(ids);

  if (opts.explain) {
    const { explain } = await import("../explain.js");
    const p = palette(process.stdout);
    for (const pkg of packages) {
      const r = c.resolve(`${pkg.instance.site}/${pkg.instance.name}`);
      if (r) process.stdout.write(`${explain(r, pkg, p)}\n`);
    }
    return 0;
  }
  if (opts.out) {
    await writePackages(resolve(opts.out), packages);
    process.stderr.write(
      `wrote ${packages.length} package${packages.length === 1 ? "" : "s"} to ${opts.out} (scadalink ${packageVersion()})\n`,
    );
    return 0;
  }
  process.stdout.write(`${JSON.stringify(packages, null, 2)}\n`);
  return 0;
}

/**
 * Writes every package to a staging directory first and only then moves the files into place, so a failure
 * while writing leaves the output directory as it was.
 */
async function writePackages(out: string, packages: { instance: { site: string; name: string } }[]): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), ".scadalink-flatten-"));
  try {
    for (const p of packages) {
      const file = join(staging, p.instance.site, `${p.instance.name}.json`);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${JSON.stringify(p, null, 2)}\n`);
    }
    for (const p of packages) {
      const dest = join(out, p.instance.site, `${p.instance.name}.json`);
      await mkdir(dirname(dest), { recursive: true });
      await rename(join(staging, p.instance.site, `${p.instance.name}.json`), dest);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
