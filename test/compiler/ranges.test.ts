import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Loc } from "../../controller/compiler/diagnostics.js";
import { MAX_DEPTH, parseFile, parseFileWithYaml } from "../../controller/compiler/load/parse-file.js";
import { parsePlainYaml } from "../../controller/compiler/load/plain-yaml.js";
import { at, atKey, atValue, SourceText } from "../../controller/compiler/load/positions.js";
import { packageRoot } from "../../controller/package-root.js";

// Where YAML nodes end, as diagnostics carry it (endLine, endColumn: the column after the last character): exact
// for keys, scalars and collections, and the same from the plain reader as from the full path (yaml's parser).

/** A Loc as [line, column, endLine, endColumn] (the end fields are not enumerable, so they are read one by one). */
const span = (l: Loc) => [l.line, l.column, l.endLine, l.endColumn];

function spans(node: unknown, out: unknown[] = []): unknown[] {
  if (node === null || typeof node !== "object") return out;
  out.push(span(at(node)));
  if (Array.isArray(node))
    node.forEach((v, i) => {
      out.push(span(atValue(node, i)));
      spans(v, out);
    });
  else
    for (const [k, v] of Object.entries(node)) {
      out.push(k, span(atKey(node, k)), span(atValue(node, k)));
      spans(v, out);
    }
  return out;
}

const taken = (text: string) => Array.isArray(parsePlainYaml(new SourceText("f.yaml", text), MAX_DEPTH - 1));

function agrees(text: string) {
  const fast = parseFile("f.yaml", text);
  const full = parseFileWithYaml("f.yaml", text);
  expect(fast.docs.length, text).toBe(full.docs.length);
  for (const [i, d] of fast.docs.entries()) expect(spans(d.data), text).toEqual(spans(full.docs[i]!.data));
}

const TAKEN = [
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
  "x: | # comment\n    indented\n      more\n    back\n",
  "x: |\n  # not a comment\n  a: b\n# a comment\ny: 1\n",
  "a: [ ]\nb: {}\n",
  "- a: 1\n  b: 2\n-   c: 3\n",
  "a: 1\r\nb:\r\n  - x\r\n  - y: 2\r\n    z: |\r\n      t\r\n",
  "n: [1, -2, +3, 0o17, 0x1F, 1.5, .5, 1e3, -1.5E-2, 007, 1., true, False, TRUE, null, Null, ~, x]\n",
  "s: ['a b', 'it''s', \"q\", '', \"\", 'x: y', '#', \"[x]\"]\n",
  "url: http://example.com:8080/x?y=z#frag\ntime: 12:30\nm: {u: http://x/y, v: a:b}\n",
  "1: one\n0x10: sixteen\ntrue: yes\n\"quoted key\": v\n'single key': w\n",
  "a b c: spaced key\nk  : trailing spaces before the colon\n",
  "deep:\n  a:\n    b:\n      c:\n        - x: 1\n",
  "nested: [[1, [2, []]], {a: {b: [c]}}]\n",
  "trailing: value   # comment\nother: 'x'  # comment\n",
  "seq:\n  -   spaced\n  -\n    nested: map\n  - # comment\n    k: v\n",
  "a:\n\n  # comment between\n\n  b: 1\n\n# after\n",
  "unicode: ümlaut ✓ 日本\nemoji: 😀\n",
  'e: "\\t\\u00e9\\U0001F600"\n"k\\ty": "v\\"w"\n',
  "a: 1\n---\nb:\n  c: [x]   # c\n",
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
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

const SCALARS = [
  "x",
  "Pump 1",
  "12",
  "-2.5",
  "true",
  "null",
  "",
  "'q r'",
  '"d\\q"',
  "a:b",
  "[1, a]",
  "{k: v, l: [m]}",
  "[]",
];
const AFTER = ["", "", "   ", " # c", "  # c: d"];

/** A random document of block maps and sequences, scalars, block scalars, comments and blank lines. */
function randomDoc(r: ReturnType<typeof rng>): string {
  const lines: string[] = [];
  const value = (indent: number, depth: number, inSeq: boolean): void => {
    const pad = " ".repeat(indent);
    const head = lines.length - 1;
    const kind = depth > 3 ? 0 : Math.floor(r.next() * 5);
    if (kind === 0) lines[head] += ` ${r.pick(SCALARS)}${r.pick(AFTER)}`.replace(/ $/, "");
    else if (kind === 1) {
      lines[head] += ` ${r.pick(["|", ">", "|-"])}${r.pick(["", " # c"])}`;
      for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) lines.push(`${pad}  line ${i}`);
      if (r.next() < 0.3) lines.push("");
    } else if (kind === 2 || (kind === 3 && inSeq)) block(indent + 2, depth + 1, "map");
    else if (kind === 3) block(indent + 2, depth + 1, "seq");
    else if (r.next() < 0.5) lines[head] += r.pick(AFTER);
    if (r.next() < 0.15) lines.push(r.pick(["", `${pad}# between`]));
  };
  const block = (indent: number, depth: number, kind: "map" | "seq"): void => {
    const pad = " ".repeat(indent);
    for (let i = 0, n = 1 + Math.floor(r.next() * 3); i < n; i++) {
      lines.push(kind === "map" ? `${pad}k${i}:` : `${pad}-`);
      value(indent, depth, kind === "seq");
    }
  };
  block(0, 0, "map");
  return `${lines.join("\n")}\n${r.pick(["", "# end\n", "\n"])}`;
}

/** Every YAML file under dir (the template repo, fixtures, demos). */
function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === ".git" || name === "dist") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

describe("the ends of YAML nodes", () => {
  it("are exact for keys, scalars, flow and block collections; an empty value has none", () => {
    const text = [
      "kind: Template # c", // 1
      "name: 'Pump 1'", // 2
      "empty:", // 3
      "tags: [a, {b: c}]", // 4
      "code: |", // 5
      "  let x = 1;", // 6
      "  x += 2;", // 7
      "", // 8
      "attrs:", // 9
      "  - name: Speed", // 10
      "    units: rpm   ", // 11
      "  # a comment", // 12
      "",
    ].join("\n");
    expect(taken(text)).toBe(true);
    const d = parseFile("f.yaml", text).docs[0]!.data as Record<string, unknown>;
    expect(span(atKey(d, "kind"))).toEqual([1, 1, 1, 5]);
    expect(span(atValue(d, "kind"))).toEqual([1, 7, 1, 15]);
    expect(span(atValue(d, "name"))).toEqual([2, 7, 2, 15]);
    expect(span(atValue(d, "empty"))).toEqual([3, 7, undefined, undefined]);
    expect(span(atValue(d, "tags"))).toEqual([4, 7, 4, 18]);
    const tags = d.tags as unknown[];
    expect(span(atValue(tags, 1))).toEqual([4, 11, 4, 17]);
    expect(span(atKey(tags[1] as object, "b"))).toEqual([4, 12, 4, 13]);
    expect(span(atValue(d, "code"))).toEqual([5, 7, 7, 10]);
    expect(span(atValue(d, "attrs"))).toEqual([10, 3, 11, 15]);
    const attr = (d.attrs as object[])[0]!;
    expect(span(at(attr))).toEqual([10, 5, 11, 15]);
    expect(span(atValue(attr, "units"))).toEqual([11, 12, 11, 15]);
    expect(span(at(d))).toEqual([1, 1, 11, 15]);
    // A Loc still compares and serializes as { file, line, column }.
    expect(atValue(d, "kind")).toEqual({ file: "f.yaml", line: 1, column: 7 });
    expect(JSON.stringify(atValue(d, "kind"))).toBe('{"file":"f.yaml","line":1,"column":7}');
  });

  it("of what only the full path reads: multi-line scalars and anchors", () => {
    const f = parseFile("f.yaml", "a: multi\n  line # c\nb: &x [1,\n  2]\nc: *x\nd: 'q\n  r'\n");
    expect(f.diagnostics).toEqual([]);
    const d = f.docs[0]!.data as Record<string, unknown>;
    expect(span(atValue(d, "a"))).toEqual([1, 4, 2, 7]);
    expect(span(atValue(d, "b"))).toEqual([3, 7, 4, 5]); // the node starts after its anchor
    expect(span(atValue(d, "c"))).toEqual([5, 4, 5, 6]);
    expect(span(atValue(d, "d"))).toEqual([6, 4, 7, 5]);
  });

  it("are the same from the plain reader as from the full path", () => {
    for (const text of TAKEN) {
      expect(taken(text), text).toBe(true);
      agrees(text);
    }
  });

  it("are the same from both on 1,000 generated documents", () => {
    const r = rng(12);
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      const text = randomDoc(r);
      if (!taken(text)) continue;
      n++;
      agrees(text);
    }
    expect(n).toBeGreaterThan(500);
  });

  it("are the same from both on every YAML file of the repository", () => {
    const files = yamlFiles(packageRoot());
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      if (taken(text)) agrees(text);
    }
  });
});
