import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BUILT = join("dist", "site-reconciler", "runtime", "scripts", "script-host.js");

/**
 * The script host's entry file: beside this module in the bundle (dist/bundle/script-host.js) and in tsc's output,
 * or, when this module runs from its TypeScript source, the built one in dist/ (a child process runs JavaScript).
 */
export function hostEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, "script-host.js");
  if (existsSync(sibling)) return sibling;
  for (let dir = here; ; ) {
    const built = join(dir, BUILT);
    if (existsSync(join(dir, "package.json")) && existsSync(built)) return built;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`the script host is not built (no script-host.js beside ${here} or in dist/): run npm run build`);
}
