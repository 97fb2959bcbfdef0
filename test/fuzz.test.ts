import { describe, expect, it } from "vitest";
import { isMap, isPair, isScalar, isSeq, type Node, parseDocument, Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { Compiler, compileFiles } from "../controller/compiler/compile.js";
import { RULES } from "../controller/compiler/rules/registry.js";
import { validatorFor } from "../controller/contract/schemas.js";
import { rng, templateFiles } from "./helpers/template-repo.js";

const ITERATIONS = Number(process.env.SCADALINK_FUZZ_ITERATIONS ?? 3000);
const NASTY = [
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  "&a",
  "*a",
  "!!",
  "|",
  ">",
  "'",
  '"',
  "%",
  "@",
  "`",
  "#",
  "- ",
  "\t",
  "\u0000",
  "\uFEFF",
  "é",
  "😀",
  "\\",
  "---",
  "...",
  "<<:",
  "? ",
  "\r",
];

type Mutation = (text: string, pick: () => number) => string;
const int = (pick: () => number, n: number) => Math.floor(pick() * n);

const textMutations: Mutation[] = [
  (t, p) => t.slice(0, int(p, t.length + 1)), // truncated file
  (t, p) => {
    const at = int(p, t.length + 1);
    const junk = Array.from({ length: 1 + int(p, 6) }, () =>
      p() < 0.5 ? NASTY[int(p, NASTY.length)] : String.fromCharCode(int(p, 0x3000)),
    ).join("");
    return t.slice(0, at) + junk + t.slice(at);
  }, // random bytes
  (t, p) => {
    const lines = t.split("\n");
    lines.splice(int(p, lines.length), 1 + int(p, 3));
    return lines.join("\n");
  }, // deleted lines
  (t, p) => {
    const lines = t.split("\n");
    const i = int(p, lines.length);
    const j = int(p, lines.length);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    return lines.join("\n");
  }, // swapped lines
];

/** Every map and sequence node of a parsed YAML file. */
function collections(node: unknown, out: (YAMLMap | YAMLSeq)[] = []): (YAMLMap | YAMLSeq)[] {
  if (isMap(node) || isSeq(node)) {
    out.push(node);
    for (const item of node.items) collections(isPair(item) ? item.value : item, out);
  }
  return out;
}

const randomValue = (p: () => number): unknown =>
  [
    () => int(p, 2000) - 1000,
    () => p() * 1e6,
    () => "text",
    () => true,
    () => null,
    () => [1, "a"],
    () => ({ a: 1 }),
    () => "",
    () => "{{param.x}}",
    () => -0.5,
  ][int(p, 10)]!();

const structural: Mutation = (t, p) => {
  const doc = parseDocument(t.split("\n---")[0] ?? t);
  const nodes = collections(doc.contents);
  if (!nodes.length) return t;
  const node = nodes[int(p, nodes.length)]!;
  if (!node.items.length) return t;
  const i = int(p, node.items.length);
  const choice = int(p, 4);
  if (choice === 0)
    node.items.splice(i, 1); // deleted key or item
  else if (choice === 1) {
    // swapped type
    const value = doc.createNode(randomValue(p)) as Node;
    if (isMap(node)) (node.items[i] as { value: unknown }).value = value;
    else node.items[i] = value;
  } else if (choice === 2 && isMap(node)) {
    const pair = node.items[i]!;
    node.items.push(doc.createPair(isScalar(pair.key) ? `${(pair.key as Scalar).value}` : "k", randomValue(p))); // duplicate key
  } else if (isMap(node)) {
    const keys = [
      "name",
      "kind",
      "template",
      "extends",
      "site",
      "attribute",
      "value",
      "code",
      "trigger",
      "locked",
      "overrides",
      "type",
    ];
    (node.items[i] as { key: unknown }).key = new Scalar(keys[int(p, keys.length)]); // renamed key
  }
  return `${doc.toString()}${t.includes("\n---") ? t.slice(t.indexOf("\n---")) : ""}`;
};

describe("fuzzing the template repo", () => {
  it(`${ITERATIONS} mutated repos give diagnostics, never an exception or a hang`, async () => {
    const files = await templateFiles();
    const pick = rng(Number(process.env.SCADALINK_FUZZ_SEED ?? 0x5ca1ab1e));
    const compiler = new Compiler();
    compiler.setFiles(files);
    const packageSchema = validatorFor("deployment-package.schema.json");
    const paths = new Set(files.map((f) => f.path));
    let slowest = 0;
    let valid = 0;
    const seenRules = new Set<string>();
    for (let i = 0; i < ITERATIONS; i++) {
      const target = files[int(pick, files.length)]!;
      const mutate = pick() < 0.35 ? structural : textMutations[int(pick, textMutations.length)]!;
      let mutated = target.text;
      try {
        for (let k = 0, n = 1 + int(pick, 2); k < n; k++) mutated = mutate(mutated, pick);
      } catch {
        continue; // the mutator itself could not rewrite this file
      }
      const t0 = performance.now();
      compiler.setFile(target.path, mutated);
      let result: ReturnType<Compiler["compile"]>;
      try {
        result = compiler.compile();
        if (result.errorCount === 0) {
          valid++;
          for (const p of result.packages()) expect(packageSchema(p), `iteration ${i}`).toBe(true);
        }
      } catch (e) {
        throw new Error(`iteration ${i}: ${target.path} threw ${(e as Error).stack}\n--- mutated file ---\n${mutated}`);
      }
      slowest = Math.max(slowest, performance.now() - t0);
      if (i % 25 === 0) {
        // The incremental compiler must agree with a cold compile of the same files.
        const cold = compileFiles(files.map((f) => (f.path === target.path ? { path: f.path, text: mutated } : f)));
        expect(result.diagnostics, `iteration ${i}: incremental and cold compiles differ`).toEqual(cold.diagnostics);
      }
      for (const d of result.diagnostics) {
        seenRules.add(d.rule);
        expect(Object.hasOwn(RULES, d.rule)).toBe(true);
        expect(paths.has(d.file) || d.file === "scadalink.yaml", d.file).toBe(true);
        expect(d.line >= 1 && d.column >= 1, `${d.file}:${d.line}:${d.column}`).toBe(true);
        expect(typeof d.message === "string" && d.message.length > 0).toBe(true);
      }
      compiler.setFile(target.path, target.text);
    }
    // A hang would have tripped the test timeout; a pathological slow input shows here.
    expect(slowest).toBeLessThan(5000);
    expect(valid).toBeGreaterThan(0);
    expect(seenRules.size).toBeGreaterThan(10);
  }, 600_000);
});
