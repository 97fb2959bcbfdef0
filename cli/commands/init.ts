import { copyFile, lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { REPOSITORY_FILE } from "../../controller/contract/api.js";
import { packageRoot } from "../../controller/package-root.js";
import { readWorkingTree } from "../../controller/sources/working-tree.js";
import { UsageError } from "./validate.js";

/** Where init puts the JSON Schemas, for editors (the template's .vscode/settings.json maps them). */
export const SCHEMA_DIR = ".scadalink/schemas";

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** Regular files under dir (relative paths); symbolic links are skipped. */
async function filesUnder(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

/** `scadalink init [dir]`: a new config repo from config-repo-template/, valid out of the box. Never overwrites. */
export async function initCommand(dir: string | undefined): Promise<number> {
  const target = resolve(dir ?? ".");
  const root = packageRoot();
  const template = join(root, "config-repo-template");
  if (await exists(join(target, REPOSITORY_FILE)))
    throw new UsageError(`${target} is already a config repo (it has ${REPOSITORY_FILE})`);

  const schemaFiles = (await readdir(join(root, "schemas"))).filter((f) => f.endsWith(".schema.json")).sort();
  const copies: [string, string][] = (await filesUnder(template))
    .filter((f) => !f.startsWith(`${SCHEMA_DIR}/`))
    .map((f) => [join(template, f), join(target, f)]);
  for (const f of schemaFiles) copies.push([join(root, "schemas", f), join(target, SCHEMA_DIR, f)]);

  const conflicts: string[] = [];
  for (const [, dest] of copies) if (await exists(dest)) conflicts.push(relative(target, dest));
  if (conflicts.length) {
    const shown = conflicts.slice(0, 5).join(", ") + (conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : "");
    throw new UsageError(`init would overwrite ${shown} in ${target}: choose an empty directory`);
  }
  for (const [src, dest] of copies) {
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(src, dest);
  }

  const { compileFiles } = await import("../../controller/compiler/compile.js");
  const c = compileFiles(await readWorkingTree(target));
  const s = c.stats;
  process.stdout.write(
    `Created a ScadaLink config repo in ${target}: ${s.sites} sites, ${s.templates} templates, ${s.instances} instances` +
      ` (${c.errorCount === 0 ? "valid" : `${c.errorCount} errors`}).\n\nNext:\n  cd ${relative(process.cwd(), target) || "."}\n  git init && git add -A && git commit -m "ScadaLink config"\n  scadalink validate\n` +
      "\nSigned releases (docs/security.md#signed-releases): on the controller host, make a key and keep it secret,\n" +
      "  ssh-keygen -t ed25519 -N '' -C scadalink-release -f release-key\n" +
      "  scadalink controller ... --signing-key release-key\n" +
      "and give every site its public half, in git's allowed_signers format:\n" +
      `  echo "release@scadalink namespaces=\\"git\\" $(cut -d' ' -f1,2 release-key.pub)" > allowed_signers\n` +
      "  scadalink site ... --trusted-keys allowed_signers\n" +
      "A site without --trusted-keys applies no release (--allow-unsigned: unchecked, for labs and tests only).\n" +
      "Rotation: add the new key's line to allowed_signers everywhere, switch the controller, then drop the old line.\n",
  );
  return c.errorCount === 0 ? 0 : 1;
}
