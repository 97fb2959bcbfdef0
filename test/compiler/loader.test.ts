import { describe, expect, it } from "vitest";
import { MAX_ALIAS_EXPANSION, MAX_FILE_BYTES, parseFile } from "../../controller/compiler/load/parse-file.js";
import { at, atKey, atValue } from "../../controller/compiler/load/positions.js";
import { y } from "../helpers/repo.js";

const data = (text: string, i = 0) => parseFile("f.yaml", text).docs[i]!.data as Record<string, unknown>;
const yamlErrors = (text: string) => parseFile("f.yaml", text).diagnostics;

describe("positions", () => {
  const text = y`
    kind: Template
    name: Pump
    attributes:
      - name: Speed
        dataType: Double
      - { name: Flow, dataType: Double }
    overrides:
      Rated:   { value: 1800 }
  `;
  const d = data(text);

  it("gives 1-based line and column of every key and value, block and flow style", () => {
    expect(atKey(d, "name")).toEqual({ file: "f.yaml", line: 2, column: 1 });
    expect(atValue(d, "name")).toEqual({ file: "f.yaml", line: 2, column: 7 });
    const attrs = d.attributes as Record<string, unknown>[];
    expect(atValue(attrs, 1)).toEqual({ file: "f.yaml", line: 6, column: 5 });
    expect(atKey(attrs[0]!, "dataType")).toEqual({ file: "f.yaml", line: 5, column: 5 });
    expect(atValue(attrs[1]!, "dataType")).toEqual({ file: "f.yaml", line: 6, column: 29 });
    const overrides = d.overrides as Record<string, Record<string, unknown>>;
    expect(atValue(overrides, "Rated")).toEqual({ file: "f.yaml", line: 8, column: 12 });
    expect(atValue(overrides.Rated!, "value")).toEqual({ file: "f.yaml", line: 8, column: 21 });
    expect(at(d)).toEqual({ file: "f.yaml", line: 1, column: 1 });
  });

  it("counts lines of later documents from the start of the file", () => {
    const f = parseFile("m.yaml", "kind: A\n---\n# comment\nkind: B\nname: x\n");
    expect(f.docs).toHaveLength(2);
    expect(atValue(f.docs[1]!.data as object, "name")).toEqual({ file: "m.yaml", line: 5, column: 7 });
  });

  it("handles CRLF line endings", () => {
    const d2 = data("kind: Site\r\nname: a\r\nareas:\r\n  - name: L1\r\n");
    expect(atValue((d2.areas as object[])[0]!, "name")).toMatchObject({ line: 4, column: 11 });
  });
});

describe("documents", () => {
  it("reads several documents, skipping empty ones", () => {
    const f = parseFile("f.yaml", "---\nkind: A\n---\n---\n# only a comment\n---\nkind: B\n");
    expect(f.docs.map((d) => (d.data as { kind: string }).kind)).toEqual(["A", "B"]);
    expect(f.diagnostics).toEqual([]);
  });

  it("resolves anchors, aliases and merge keys; explicit keys win over merged ones", () => {
    const d = data(y`
      defaults: &d { dataType: Double, source: data, units: rpm }
      a: { <<: *d, name: A, units: "%" }
      b: *d
    `);
    expect(d.a).toEqual({ dataType: "Double", source: "data", units: "%", name: "A" });
    expect(d.b).toEqual({ dataType: "Double", source: "data", units: "rpm" });
  });

  it("keeps a __proto__ key as data instead of changing the object's prototype", () => {
    const d = data('labels: { "__proto__": x }\n');
    const labels = d.labels as Record<string, unknown>;
    expect(Object.keys(labels)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  });

  it("reads 1500 and 1500.0 as the same number", () => {
    expect(data("a: 1500\nb: 1500.0\nc: 1.5e3\n")).toEqual({ a: 1500, b: 1500, c: 1500 });
  });
});

describe("yaml-syntax", () => {
  it("rejects a duplicate key at the second occurrence", () => {
    const errs = yamlErrors("kind: Site\nname: a\nname: b\n");
    expect(errs).toMatchObject([{ rule: "yaml-syntax", line: 3, column: 1 }]);
  });

  it("finds a duplicate among 60,000 keys at its own line, without yaml's pairwise key check", () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `  k${i}: ${i}`);
    const ok = parseFile("big.yaml", `labels:\n${keys.join("\n")}\n`);
    expect(ok.diagnostics).toEqual([]);
    expect(Object.keys((ok.docs[0]!.data as { labels: object }).labels)).toHaveLength(60_000);
    const dup = parseFile("big.yaml", `labels:\n${keys.join("\n")}\n  k59998: again\n`);
    expect(dup.diagnostics).toMatchObject([
      { rule: "yaml-syntax", line: 60_002, column: 3, message: expect.stringContaining('duplicate key "k59998"') },
    ]);
  });

  it('rejects keys that only become equal as strings (1 and "1")', () => {
    expect(yamlErrors('m:\n  1: a\n  "1": b\n')).toMatchObject([{ rule: "yaml-syntax", line: 3 }]);
  });

  it("rejects unparsable YAML with its position and keeps the file's other documents", () => {
    const f = parseFile("f.yaml", "kind: A\n---\nname: a: b\n---\nkind: C\n");
    expect(f.diagnostics[0]).toMatchObject({ rule: "yaml-syntax", line: 3 });
    expect(f.docs.map((d) => (d.data as { kind: string }).kind)).toEqual(["A", "C"]);
  });

  it("rejects an alias bomb (billion laughs) quickly", () => {
    const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(",")}]`,
      );
    const t0 = performance.now();
    const errs = yamlErrors(`${lines.join("\n")}\n`);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(errs.some((e) => e.message.includes("alias bomb"))).toBe(true);
    expect(MAX_ALIAS_EXPANSION).toBeGreaterThan(1000);
  });

  it("accepts modest reuse through aliases", () => {
    expect(yamlErrors("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n")).toEqual([]);
  });

  it("rejects a file over the size limit without parsing it", () => {
    const big = `kind: Site\ndescription: "${"x".repeat(MAX_FILE_BYTES)}"\n`;
    const f = parseFile("big.yaml", big);
    expect(f.diagnostics).toMatchObject([{ rule: "yaml-syntax", line: 1, column: 1 }]);
    expect(f.diagnostics[0]!.message).toMatch(/over the \d+-byte limit/);
    expect(f.docs).toEqual([]);
  });

  it("rejects absurd nesting without crashing", () => {
    const deep = `a: ${"[".repeat(5000)}${"]".repeat(5000)}\n`;
    const errs = yamlErrors(deep);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]!.rule).toBe("yaml-syntax");
  });

  it("rejects .inf and .nan, which JSON cannot carry", () => {
    expect(yamlErrors("v: .inf\n")).toMatchObject([{ rule: "yaml-syntax", line: 1, column: 4 }]);
    expect(yamlErrors("v: .nan\n")).toMatchObject([{ rule: "yaml-syntax" }]);
  });

  it("rejects integers beyond 2^53 that would silently lose digits", () => {
    expect(yamlErrors("v: 9007199254740993\n")).toMatchObject([{ rule: "yaml-syntax", line: 1 }]);
    expect(yamlErrors("v: 9007199254740991\n")).toEqual([]);
  });

  it("rejects unknown tags and non-scalar keys", () => {
    expect(yamlErrors("v: !secret abc\n")).toMatchObject([{ rule: "yaml-syntax" }]);
    expect(yamlErrors("? [a, b]\n: 1\n")).toMatchObject([{ rule: "yaml-syntax" }]);
  });

  it("reports a tab used for indentation", () => {
    expect(yamlErrors("a:\n\tb: 1\n")[0]).toMatchObject({ rule: "yaml-syntax", line: 2 });
  });
});
