// One measurement in a fresh process (so no JIT or module cache carries over between repetitions).
// Prints one JSON object on stdout. Modes:
//   compile REPO                 cold compileFiles(files), reading excluded
//   parse REPO                   YAML parse floor: parseAllDocuments of the same files
//   incremental REPO FILE EDITS  Compiler.setFile + compile() after EDITS one-instance edits of FILE
import { performance } from "node:perf_hooks";
import { editOverride } from "./generate.mjs";

const [mode, repo, file, edits] = process.argv.slice(2);
const { readWorkingTree } = await import("../dist/controller/sources/working-tree.js");
const files = await readWorkingTree(repo);
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);

// Exactly the options of the compiler's loader.
const { PARSE_OPTIONS } = await import("../dist/controller/compiler/load/parse-file.js");

const out = { mode, files: files.length, bytes };
if (mode === "compile") {
  // Imported before the clock starts: module loading is not compiling (the parse floor excludes it too).
  const { compileFiles } = await import("../dist/controller/compiler/compile.js");
  const t0 = performance.now();
  const c = compileFiles(files);
  out.ms = performance.now() - t0;
  Object.assign(out, { errorCount: c.errorCount, instances: c.stats.instances });
} else if (mode === "parse") {
  const { parseAllDocuments } = await import("yaml");
  const t0 = performance.now();
  let documents = 0;
  for (const f of files) documents += parseAllDocuments(f.text, PARSE_OPTIONS).length;
  out.ms = performance.now() - t0;
  out.documents = documents;
} else if (mode === "incremental") {
  const { Compiler } = await import("../dist/controller/compiler/compile.js");
  const c = new Compiler();
  let t0 = performance.now();
  c.setFiles(files);
  let r = c.compile();
  out.coldMs = performance.now() - t0;
  if (r.errorCount) throw new Error(`cold compile: ${r.errorCount} errors`);
  let text = files.find((f) => f.path === file)?.text;
  if (text === undefined) throw new Error(`no file ${file} in ${repo}`);
  out.editMs = [];
  for (let i = 1; i <= Number(edits); i++) {
    text = editOverride(text, i);
    t0 = performance.now();
    if (!c.setFile(file, text)) throw new Error("edit did not change the file");
    r = c.compile();
    out.editMs.push(performance.now() - t0);
    if (r.errorCount) throw new Error(`edit ${i}: ${r.errorCount} errors`);
  }
  out.instances = r.stats.instances;
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
