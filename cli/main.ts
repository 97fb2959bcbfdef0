import { Command, CommanderError, Option } from "commander";
import { packageVersion } from "../controller/package-root.js";
import { flattenCommand } from "./commands/flatten.js";
import { initCommand } from "./commands/init.js";
import { UsageError, validateCommand } from "./commands/validate.js";
import { FORMATS, type Format } from "./output/formats.js";

const collect = (value: string, previous: string[]) => [...previous, value];

function program(run: (p: Promise<number>) => void): Command {
  const cmd = new Command("scadalink")
    .description("GitOps for SCADA configuration: validate, flatten and deploy ScadaLink config repos")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showSuggestionAfterError(true)
    .exitOverride();

  cmd
    .command("init")
    .description(
      "create a new config repo from the bundled template (a water-treatment plant); it validates out of the box",
    )
    .argument("[dir]", "where to create it", ".")
    .action((dir: string) => run(initCommand(dir)));

  cmd
    .command("validate")
    .description("run every validation rule over a config repo (always the whole repo: the rules cross files)")
    .option("--repo <dir>", "config repo root", ".")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS as string[]).default("text"))
    .option("--watch", "re-validate on every change, re-checking only what the change affects")
    .option("--no-cache", "ignore and do not write the result cache")
    .option("--cache-location <file>", "cache file (default: $SCADALINK_CACHE_DIR or ~/.cache/scadalink)")
    .addHelpText(
      "after",
      "\nExit codes: 0 no errors (warnings allowed), 1 validation errors, 2 usage or internal error.\nNO_COLOR disables colours.",
    )
    .action((o: { repo: string; format: Format; watch?: boolean; cache: boolean; cacheLocation?: string }) =>
      run(validateCommand(o)),
    );

  cmd
    .command("flatten")
    .description("print or write the deployment packages of instances (JSON), or explain where each field came from")
    .option("--repo <dir>", "config repo root", ".")
    .option("--instance <site/name>", "only this instance (repeatable)", collect, [])
    .option("--out <dir>", "write <dir>/<site>/<name>.json instead of printing")
    .option("--explain", "show, for every field, the file, line and layer its value came from")
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 the repo has validation errors (no package is produced), 2 usage error.",
    )
    .action((o: { repo: string; instance: string[]; out?: string; explain?: boolean }) => run(flattenCommand(o)));

  return cmd;
}

/** Runs the CLI; resolves to the exit code: 0 success, 1 validation errors, 2 usage or internal error. */
export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  try {
    await program((p) => {
      pending = p;
    }).parseAsync(argv, { from: "user" });
    return pending ? await pending : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every other parse problem is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`scadalink: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`scadalink: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 2;
  }
}
