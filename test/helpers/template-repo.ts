import { join } from "node:path";
import type { SourceFile } from "../../controller/compiler/compile.js";
import { packageRoot } from "../../controller/package-root.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";

export const TEMPLATE_DIR = join(packageRoot(), "config-repo-template");

/** The files of config-repo-template/, read like any config repo. */
export function templateFiles(): Promise<SourceFile[]> {
  return readWorkingTree(TEMPLATE_DIR);
}

/** A small deterministic PRNG (mulberry32), so random tests replay exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
