import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  MAX_DEPTH,
  MAX_FILE_BYTES,
  MAX_YAML_TOKENS,
  parseFile,
  parseFileWithYaml,
} from "../../controller/compiler/load/parse-file.js";
import { parsePlainYaml } from "../../controller/compiler/load/plain-yaml.js";
import { at, atKey, atValue, SourceText } from "../../controller/compiler/load/positions.js";

// The plain reader (controller/compiler/load/plain-yaml.ts) against the full path (yaml and the Converter): for
// every text it takes, the same data, key order, positions of every map, key, sequence and item, diagnostics and
// sketches; and it leaves alone what it does not take.

const taken = (text: string) => Array.isArray(parsePlainYaml(new SourceText("f.yaml", text), MAX_DEPTH - 1));

/** Every position the loader records, as plain data. */
function positions(node: unknown, out: unknown[] = []): unknown[] {
  if (node === null || typeof node !== "object") return out;
  out.push(at(node));
  if (Array.isArray(node))
    node.forEach((v, i) => {
      out.push(atValue(node, i));
      positions(v, out);
    });
  else
    for (const [k, v] of Object.entries(node)) {
      out.push(k, atKey(node, k), atValue(node, k));
      positions(v, out);
    }
  return out;
}

/** The plain reader's result equals the full path's. */
function agrees(text: string) {
  const fast = parseFile("f.yaml", text);
  const full = parseFileWithYaml("f.yaml", text);
  expect(fast.diagnostics, text).toEqual(full.diagnostics);
  expect(fast.sketches, text).toEqual(full.sketches);
  expect(fast.docs.length, text).toBe(full.docs.length);
  fast.docs.forEach((d, i) => {
    const f = full.docs[i]!;
    expect(JSON.stringify(d.data), text).toBe(JSON.stringify(f.data));
    expect(d.data, text).toStrictEqual(f.data);
    expect([d.index, d.at], text).toEqual([f.index, f.at]);
    expect(positions(d.data), text).toEqual(positions(f.data));
  });
}

const TAKEN = [
  "",
  "# only a comment\n\n",
  "a: 1\n",
  "a: 1",
  "kind: Template\nname: Pump\nattributes:\n  - name: Speed\n    dataType: Double\n  - { name: Flow, dataType: Double }\noverrides:\n  Rated:   { value: 1800 }\n",
  "a:\nb: 1\n",
  "a: # c\nb:\n",
  "- \n- x\n-\n",
  "k:\n- a\n- b\nz: 1\n",
  "x: |\n  a\n  b\n\ny: 2\n",
  "x: |-\n  a\n\n  b\n\n\ny: 2\n",
  "x: >\n  a\n  b\n\n  c\n\n\n  d\ny: 2\n",
  "x: >-\n  one\n  two\n",
  "x: | # comment\n    indented\n      more\n    back\n",
  "x: |\n  # not a comment\n  a: b\n# a comment\ny: 1\n",
  "# c\n\n  a: 1\n  b: 2\n",
  "a: [ ]\nb: {}\n",
  "- a: 1\n  b: 2\n-   c: 3\n",
  "a: 1\r\nb:\r\n  - x\r\n  - y: 2\r\n    z: |\r\n      t\r\n",
  "n: [1, -2, +3, 0o17, 0x1F, 1.5, .5, 1e3, -1.5E-2, 007, 1., true, False, TRUE, null, Null, ~, x]\n",
  "s: ['a b', 'it''s', \"q\", '', \"\", 'x: y', '#', \"[x]\"]\n",
  "q1: 'single ''quoted'''\nq2: \"double # not a comment\"\nq3: '  spaced  '\n",
  "url: http://example.com:8080/x?y=z#frag\ntime: 12:30\nm: {u: http://x/y, v: a:b}\n",
  "1: one\n0x10: sixteen\ntrue: yes\n1.0: float key\n\"quoted key\": v\n'single key': w\n-1: neg\n",
  "a b c: spaced key\nk  : trailing spaces before the colon\n",
  "deep:\n  a:\n    b:\n      c:\n        - x: 1\n",
  "nested: [[1, [2, []]], {a: {b: [c]}}]\n",
  "trailing: value   # comment\nother: 'x'  # comment\n",
  "__proto__: x\nlabels: { __proto__: y }\n",
  "plain: -x\nq: ?y\nc: :z\n",
  "seq:\n  -   spaced\n  -\n    nested: map\n  - # comment\n    k: v\n",
  "a:\n\n  # comment between\n\n  b: 1\n",
  "unicode: ümlaut ✓ 日本\nemoji: 😀\n",
  "dup: 1\ndup: 2\n",
  "kind: Site\nname: a\nname: b\nsite: s\n",
  "kind: InstanceSet\ninstances:\n  - name: A\n  - name: B\n    x: 1\n    x: 2\n",
  "m: { a: 1, a: 2 }\n",
  "m:\n  1: a\n  '1': b\n",
  "k: 9007199254740991\n",
  'e: "\\0\\a\\b\\t\\n\\v\\f\\r\\e\\ \\"\\/\\\\\\N\\_\\L\\P"\nx: "\\x41\\u00e9\\U0001F600 \\u001b[2J"\n',
  '"k\\ty": "v\\"w"\nflow: ["a\\nb", {"c\\"d": "\\\\"}]\n',
  "---\na: 1\n",
  "# c\n---\na: 1\n",
  "a: 1\n---\nb: 2\n",
  "---\nkind: A\n---\n---\n# only a comment\n---\nkind: B\n",
  "a: 1\n---\n",
  "---\n---\n",
  "kind: A\n---\nname: x\nname: y\n---\nkind: B\nkind: C\n",
];

const LEFT_TO_YAML = [
  "- - 1\n",
  "--- a: 1\n",
  "a: 1\n...\n",
  "%YAML 1.2\n---\na: 1\n",
  "a: &x 1\nb: *x\n",
  "a: !!str 1\n",
  "<<: {a: 1}\n",
  "a: multi\n  line\n",
  'a: "\\q"\n',
  'a: "\\x4"\n',
  'a: "\\ud800"\n',
  'a: "trailing\\"\n',
  "a: 'multi\n  line'\n",
  "a: [1,\n  2]\n",
  "a:\tb\n",
  "a: .inf\n",
  "a: 9007199254740993\n",
  "? a\n: b\n",
  "a: |+\n  x\n\n",
  "a: |2\n   x\n",
  "a: b: c\n",
  "[1, 2]\n",
  "just a scalar\n",
  "a: 1\n  b: 2\n",
  "a:\n    b: 1\n  c: 2\n",
  "a: [1, 2, ]\n",
  "a: {b}\n",
  "a: {b: }\n",
  'a: "unterminated\n',
  "a: |\n  no final break",
  "~: null key\n",
  "\ufeffa: 1\n",
  "a: 1\rb: 2\n",
];

/** A small seeded generator (mulberry32), so a failure is reproducible from its seed. */
function rng(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, pick };
}

const SCALARS = [
  "x",
  "Pump 1",
  "1",
  "-2",
  "0o17",
  "0x1F",
  "1.5",
  ".5",
  "1e3",
  "007",
  "true",
  "False",
  "null",
  "~",
  "",
  "'q'",
  '"e\\n\\x41\\u00e9"',
  '"bad\\q"',
  "'it''s'",
  '"dq"',
  '""',
  "a:b",
  "http://h:1/p",
  "-x",
  "?y",
  ":z",
  "a #not",
  "12:30",
  "[1, a]",
  "{k: v}",
  "[]",
  "{}",
  "[[1], {a: [b]}]",
  "{a: 1, b: [2, 3]}",
  "1.",
  "+3",
  ".inf",
  "&a x",
  "*a",
  "!t x",
  "a: b",
  "a,b",
];
const KEYS = [
  "name",
  "kind",
  "site",
  "value",
  "k1",
  "1",
  "true",
  "'q k'",
  '"dq"',
  "a b",
  "__proto__",
  "instances",
  "x",
];

/** A random document in (and around) the subset: nested maps and sequences, comments, block scalars. */
function generate(seed: number): string {
  const r = rng(seed);
  const nl = r.next() < 0.2 ? "\r\n" : "\n";
  const lines: string[] = [];
  const node = (indent: number, depth: number, inSeq: boolean) => {
    const pad = " ".repeat(indent);
    const count = 1 + Math.floor(r.next() * 4);
    const seq = r.next() < 0.35;
    for (let i = 0; i < count; i++) {
      if (r.next() < 0.1) lines.push(`${pad}# comment ${i}`);
      if (r.next() < 0.05) lines.push("");
      const head = seq ? `${pad}- ` : `${pad}${r.pick(KEYS)}:`;
      const roll = r.next();
      if (depth < 4 && roll < 0.3) {
        lines.push(seq ? `${pad}-` : head);
        node(indent + 1 + Math.floor(r.next() * 3), depth + 1, seq);
      } else if (!seq && depth < 4 && roll < 0.38) {
        lines.push(head);
        node(indent, depth + 1, true);
      } else if (roll < 0.46) {
        lines.push(`${seq ? head : `${head} `}${r.pick(["|", "|-", ">", ">-", "| # c"])}`);
        const n = 1 + Math.floor(r.next() * 3);
        for (let j = 0; j < n; j++)
          lines.push(r.next() < 0.2 ? "" : `${pad}  ${r.pick(["line", "a: b", "# hash", "  more"])} ${j}`);
      } else if (seq && roll < 0.55) {
        lines.push(`${head}${r.pick(KEYS)}: ${r.pick(SCALARS)}`);
        if (r.next() < 0.5) lines.push(`${pad}  ${r.pick(KEYS)}: ${r.pick(SCALARS)}`);
      } else {
        lines.push(`${seq ? head : `${head} `}${r.pick(SCALARS)}${r.next() < 0.1 ? "  # trailing" : ""}`);
      }
    }
    void inSeq;
  };
  node(0, 0, false);
  let text = lines.join(nl) + nl;
  // Some mutations, to reach the edges of the subset and beyond.
  const m = r.next();
  if (m < 0.15) text = text.replace(/: /, ":");
  else if (m < 0.25) text = text.replace(/\n {2}/, "\n ");
  else if (m < 0.3) text = text.replace(/\n/, "\n\t");
  else if (m < 0.35) text = `---${nl}${text}---${nl}${text}`;
  else if (m < 0.4) text = text.slice(0, Math.floor(r.next() * text.length));
  return text;
}

describe("the plain YAML reader", () => {
  it("agrees with the full path on 3,000 generated documents, a third of which it takes", () => {
    let plain = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const text = generate(seed);
      if (taken(text)) plain++;
      try {
        agrees(text);
      } catch (e) {
        throw new Error(`seed ${seed}: ${JSON.stringify(text)}\n${(e as Error).message}`);
      }
    }
    expect(plain).toBeGreaterThan(800);
  });

  it("takes the YAML config repos are written in, with the full path's data, positions and diagnostics", () => {
    for (const text of TAKEN) {
      expect(taken(text), text).toBe(true);
      agrees(text);
    }
  });

  it("leaves everything else to the full path, which reads it as before", () => {
    for (const text of LEFT_TO_YAML) {
      expect(taken(text), text).toBe(false);
      agrees(text);
    }
  });

  it("agrees on every YAML file of the repository (template repo, demos, fixtures)", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir)) {
        if (e === "node_modules" || e === "dist" || e === ".git") continue;
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e)) files.push(p);
      }
    };
    walk(process.cwd());
    expect(files.length).toBeGreaterThan(10);
    let plain = 0;
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      if (taken(text)) plain++;
      agrees(text);
    }
    expect(plain).toBeGreaterThan(files.length / 2);
  });

  it("reads a 4 MiB file of 300,000 short keys in one pass (a bound that catches a quadratic step)", () => {
    const lines = ["labels:"];
    for (let i = 0, size = 8; size < MAX_FILE_BYTES - 100; i++) size += lines[lines.push(`  k${i}: v`) - 1]!.length + 1;
    const text = `${lines.join("\n")}\n`;
    const t0 = performance.now();
    const f = parseFile("big.yaml", text);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(f.diagnostics).toEqual([]);
    expect(Object.keys((f.docs[0]!.data as { labels: object }).labels)).toHaveLength(lines.length - 1);
    expect(atKey((f.docs[0]!.data as { labels: object }).labels, "k299999")).toEqual({
      file: "big.yaml",
      line: 300_001,
      column: 3,
    });
  });

  it("refuses a file beyond the subset with more tokens than yaml may take, at the line where plain YAML ends", () => {
    const keys = Array.from({ length: MAX_YAML_TOKENS / 4 }, (_, i) => `  k${i}: v`).join("\n");
    const t0 = performance.now();
    const f = parseFile("big.yaml", `labels:\n${keys}\nanchored: &a 1\n`);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(f.docs).toEqual([]);
    expect(f.diagnostics).toMatchObject([
      { rule: "yaml-syntax", line: MAX_YAML_TOKENS / 4 + 2, column: 1, message: expect.stringMatching(/too large/) },
    ]);
    expect(f.diagnostics[0]!.message).toContain(`over ${MAX_YAML_TOKENS} tokens`);
  });

  it("still reads a file beyond the subset that is under the token bound", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: v`).join("\n");
    const f = parseFile("f.yaml", `labels:\n${keys}\nanchored: &a 1\nagain: *a\n`);
    expect(f.diagnostics).toEqual([]);
    expect((f.docs[0]!.data as { again: number }).again).toBe(1);
  });
});
