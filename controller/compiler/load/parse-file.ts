import { type Document, isAlias, isMap, isPair, isScalar, isSeq, Lexer, type Node, parseAllDocuments } from "yaml";
import type { Diagnostic } from "../diagnostics.js";
import { diagnostic } from "../diagnostics.js";
import { type PlainDoc, parsePlainYaml } from "./plain-yaml.js";
import { type KeyOffsets, recordMap, recordSeq, SourceText } from "./positions.js";

/** Files larger than this are rejected (yaml-syntax) before parsing. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Alias expansion may add at most this many nodes to a document (billion-laughs guard). */
export const MAX_ALIAS_EXPANSION = 100_000;
/** Deepest nesting of maps and sequences accepted. */
export const MAX_DEPTH = 64;
/**
 * Most tokens (yaml's Lexer) in a file that the plain reader does not take: yaml's parser takes about 2 µs a
 * token, so this keeps such a file under a second. A 60,000-key map with an anchor in it is 480,000.
 */
export const MAX_YAML_TOKENS = 500_000;

export interface LoadedDocument {
  src: SourceText;
  /** 0-based index of the document within its file. */
  index: number;
  /** Offset of the document's content. */
  at: number;
  /** The document's content as plain data; maps are objects, sequences arrays. */
  data: unknown;
}

/** What can still be read from a document that failed to parse: enough to know which names it defines. */
export interface Sketch {
  kind?: string;
  name?: string;
  site?: string;
  /** Names of an InstanceSet's entries. */
  entries: string[];
}

export interface ParsedFile {
  src: SourceText;
  docs: LoadedDocument[];
  /** Documents dropped for YAML errors, as far as they can be read. */
  sketches: Sketch[];
  diagnostics: Diagnostic[];
}

/** Options of the loader's YAML parse; the benchmark's parse floor uses exactly these. */
export const PARSE_OPTIONS = {
  merge: true,
  prettyErrors: false,
  // yaml's own check compares every key with every other (quadratic: a 60,000-key map took 34 s); the Converter
  // finds duplicates with a Map in one pass and reports them with the same rule, file and line.
  uniqueKeys: false,
  strict: true,
  version: "1.2",
  schema: "core",
} as const;

/** Parses one YAML file into documents of plain data with positions. Never throws. */
export function parseFile(path: string, text: string): ParsedFile {
  const src = new SourceText(path, text);
  const diagnostics: Diagnostic[] = [];
  const fail = (offset: number, message: string) =>
    diagnostics.push(diagnostic("yaml-syntax", src.loc(offset), message));

  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_FILE_BYTES) {
    fail(0, `file is ${bytes} bytes, over the ${MAX_FILE_BYTES}-byte limit: split it into several files`);
    return { src, docs: [], sketches: [], diagnostics };
  }

  // Most files are within the subset the plain reader takes, in one pass; the others go through yaml, whose cost
  // per token is many times higher: only files of a bounded number of tokens may take that path.
  const plain = parsePlainYaml(src, MAX_DEPTH - 1);
  if (Array.isArray(plain)) return fromPlain(src, plain, diagnostics, fail);
  const tokens = countTokens(text, MAX_YAML_TOKENS);
  if (tokens > MAX_YAML_TOKENS) {
    fail(
      plain.outside,
      `file too large for the YAML it uses from here on (anchors, aliases, tags, merge keys, multi-line or escaped ` +
        `strings, multi-line flow collections, tabs, …): over ${MAX_YAML_TOKENS} tokens; split it into several ` +
        `files, or write it in plain block style (single-line values, | or > for text)`,
    );
    return { src, docs: [], sketches: [], diagnostics };
  }
  return parseWithYaml(src, diagnostics, fail);
}

/** yaml's tokens in text, counting up to just over max. */
function countTokens(text: string, max: number): number {
  let n = 0;
  for (const _ of new Lexer().lex(text)) if (++n > max) break;
  return n;
}

/** The full path: yaml's parser and the Converter. Exported for the tests that hold the plain reader to it. */
export function parseFileWithYaml(path: string, text: string): ParsedFile {
  const src = new SourceText(path, text);
  const diagnostics: Diagnostic[] = [];
  return parseWithYaml(src, diagnostics, (offset, message) =>
    diagnostics.push(diagnostic("yaml-syntax", src.loc(offset), message)),
  );
}

type Fail = (offset: number, message: string) => void;

function fromPlain(src: SourceText, plain: PlainDoc[], diagnostics: Diagnostic[], fail: Fail): ParsedFile {
  const docs: LoadedDocument[] = [];
  const sketches: Sketch[] = [];
  for (const d of plain) {
    if (d.duplicates.length) {
      for (const dup of d.duplicates) fail(dup.offset, duplicateKey(dup.key));
      sketches.push(sketchOfPairs(d.pairs));
    } else docs.push({ src, index: d.index, at: d.at, data: d.data });
  }
  return { src, docs, sketches, diagnostics };
}

function parseWithYaml(src: SourceText, diagnostics: Diagnostic[], fail: Fail): ParsedFile {
  const text = src.text;
  let parsed: Document.Parsed[];
  try {
    const all = parseAllDocuments(text, PARSE_OPTIONS);
    parsed = Array.isArray(all) ? all : [];
  } catch (e) {
    // The parser recurses per nesting level; absurd nesting exhausts the stack.
    fail(0, e instanceof RangeError ? "nesting too deep to parse" : `cannot parse: ${String(e)}`);
    return { src, docs: [], sketches: [], diagnostics };
  }

  const docs: LoadedDocument[] = [];
  const sketches: Sketch[] = [];
  parsed.forEach((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    for (const p of problems) fail(p.pos[0], yamlMessage(p.code, p.message));
    if (doc.contents === null) return;
    if (problems.length === 0) {
      const conv = new Converter(src, doc, fail);
      const data = conv.value(doc.contents, 0);
      if (!conv.failed) {
        // A document holding only comments (or nothing) is no document.
        if (data !== null) docs.push({ src, index, at: doc.contents.range?.[0] ?? 0, data });
        return;
      }
    }
    sketches.push(sketchOf(doc.contents));
  });
  return { src, docs, sketches, diagnostics };
}

const duplicateKey = (key: string) => `duplicate key "${key}": each key may appear once in a map`;

/** sketchOf for the plain reader: the same reading of a top-level map's pairs (a later kind, name or site wins). */
function sketchOfPairs(pairs: [string, unknown][]): Sketch {
  const sketch: Sketch = { entries: [] };
  for (const [key, value] of pairs) {
    if (key === "kind" || key === "name" || key === "site") sketch[key] = typeof value === "string" ? value : undefined;
    if (key === "instances" && Array.isArray(value)) {
      for (const entry of value) {
        if (!entry || typeof entry !== "object" || Array.isArray(entry)) continue;
        const n = (entry as { name?: unknown }).name;
        if (typeof n === "string" && n) sketch.entries.push(n);
      }
    }
  }
  return sketch;
}

/** Reads kind, name, site and entry names from a document's (possibly partial) syntax tree. */
function sketchOf(node: unknown): Sketch {
  const sketch: Sketch = { entries: [] };
  if (!isMap(node)) return sketch;
  const str = (n: unknown) => (isScalar(n) && typeof n.value === "string" ? n.value : undefined);
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key === "kind" || key === "name" || key === "site") sketch[key] = str(pair.value);
    if (key === "instances" && isSeq(pair.value)) {
      for (const entry of pair.value.items) {
        if (!isMap(entry)) continue;
        const name = entry.items.find((p) => isScalar(p.key) && p.key.value === "name");
        const n = str(name?.value);
        if (n) sketch.entries.push(n);
      }
    }
  }
  return sketch;
}

function yamlMessage(code: string, message: string): string {
  if (code === "DUPLICATE_KEY") return "duplicate key: each key may appear once in a map";
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "");
}

/** Converts the yaml AST to plain data, recording positions, resolving aliases and merge keys with limits. */
class Converter {
  failed = false;
  private expansion = 0;
  private readonly sizes = new Map<Node, number>();
  private readonly anchored = new Map<Node, unknown>();

  constructor(
    private readonly src: SourceText,
    private readonly doc: Document.Parsed,
    private readonly report: (offset: number, message: string) => void,
  ) {}

  private fail(node: { range?: [number, number, number] | null } | null | undefined, message: string) {
    this.failed = true;
    this.report(node?.range?.[0] ?? 0, message);
  }

  value(node: unknown, depth: number): unknown {
    if (this.failed) return null;
    if (depth > MAX_DEPTH) {
      this.fail(node as Node, `nested more than ${MAX_DEPTH} levels deep`);
      return null;
    }
    if (isAlias(node)) return this.alias(node, depth);
    if (isScalar(node)) return this.scalar(node);
    if (isMap(node)) return this.map(node, depth);
    if (isSeq(node)) {
      const arr: unknown[] = [];
      const items: number[] = [];
      const at = node.range?.[0] ?? 0;
      for (const item of node.items) {
        const start = (item as Node | null)?.range?.[0] ?? at;
        items.push(start, endOf(item, start));
        arr.push(this.value(item, depth + 1));
      }
      recordSeq(arr, this.src, at, endOf(node, at), items);
      return arr;
    }
    return null;
  }

  private alias(node: Node & { resolve(doc: Document): unknown; source: string }, depth: number): unknown {
    const target = node.resolve(this.doc) as Node | undefined;
    if (!target) {
      this.fail(node, `unknown alias *${node.source}`);
      return null;
    }
    this.expansion += this.sizeOf(target, 0);
    if (this.expansion > MAX_ALIAS_EXPANSION) {
      this.fail(node, `aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (alias bomb)`);
      return null;
    }
    if (!this.anchored.has(target)) this.anchored.set(target, this.value(target, depth));
    return this.anchored.get(target);
  }

  /** Number of nodes a node stands for once every alias inside it is expanded. */
  private sizeOf(node: unknown, depth: number): number {
    if (depth > MAX_DEPTH) return MAX_ALIAS_EXPANSION + 1;
    if (isAlias(node)) {
      const t = node.resolve(this.doc) as Node | undefined;
      return t ? this.sizeOf(t, depth + 1) : 1;
    }
    const known = this.sizes.get(node as Node);
    if (known !== undefined) return known;
    let n = 1;
    if (isMap(node)) for (const p of node.items) n += this.sizeOf(p.key, depth + 1) + this.sizeOf(p.value, depth + 1);
    else if (isSeq(node)) for (const i of node.items) n += this.sizeOf(i, depth + 1);
    n = Math.min(n, MAX_ALIAS_EXPANSION + 1);
    this.sizes.set(node as Node, n);
    return n;
  }

  private scalar(node: { value: unknown; source?: string; range?: [number, number, number] | null }): unknown {
    const v = node.value;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) {
        this.fail(node, "infinite and not-a-number values (.inf, .nan) are not allowed");
        return null;
      }
      if (Number.isInteger(v) && !Number.isSafeInteger(v) && /^[-+]?(0|[1-9][0-9]*)$/.test(node.source ?? "")) {
        this.fail(node, "integer beyond ±9007199254740991 (2^53-1) cannot be represented exactly");
        return null;
      }
      return v;
    }
    if (typeof v === "string" || typeof v === "boolean" || v === null) return v;
    this.fail(node, "unsupported value type");
    return null;
  }

  private map(node: Node & { items: unknown[] }, depth: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    const keys = new Map<string, KeyOffsets>();
    const merges: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && typeof keyNode.value === "symbol") {
        merges.push(pair.value);
        continue;
      }
      const key = this.key(keyNode);
      if (key === undefined) return obj;
      if (keys.has(key)) {
        this.fail(keyNode, duplicateKey(key));
        return obj;
      }
      const keyAt = keyNode?.range?.[0] ?? node.range?.[0] ?? 0;
      const keyEnd = keyNode?.range?.[1] ?? keyAt;
      const valueAt = (pair.value as Node | null)?.range?.[0] ?? keyAt;
      keys.set(key, {
        key: keyAt,
        keyEnd,
        value: valueAt,
        valueEnd: pair.value ? endOf(pair.value, valueAt) : keyEnd,
      });
      setOwn(obj, key, this.value(pair.value, depth + 1));
    }
    // Merge keys (<<): explicit keys win; among merged maps the first wins.
    for (const m of merges) {
      const sources = isSeq(m) ? m.items : [m];
      for (const s of sources) {
        const merged = this.value(s, depth + 1);
        if (merged === null || typeof merged !== "object" || Array.isArray(merged)) {
          this.fail(s as Node, "a merge key (<<) takes a map or a list of maps");
          return obj;
        }
        const mergeAt = (s as Node | null)?.range?.[0] ?? 0;
        for (const [k, v] of Object.entries(merged)) {
          if (keys.has(k)) continue;
          keys.set(k, { key: mergeAt, keyEnd: mergeAt, value: mergeAt, valueEnd: mergeAt });
          setOwn(obj, k, v);
        }
      }
    }
    const at = node.range?.[0] ?? 0;
    recordMap(obj, this.src, at, endOf(node, at), keys);
    return obj;
  }

  private key(node: Node | null): string | undefined {
    const k = isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
    if (isScalar(k) && (typeof k.value === "string" || typeof k.value === "number" || typeof k.value === "boolean")) {
      return String(k.value);
    }
    this.fail(node, isScalar(k) ? "empty key" : "keys must be plain values, not maps or lists");
    return undefined;
  }
}

/**
 * Offset just after a node's content. A block collection ends where its last entry does: yaml's own range of it
 * also takes in the comments and blank lines after that, which the plain reader's positions never include.
 */
function endOf(node: unknown, fallback: number): number {
  if ((isMap(node) || isSeq(node)) && !node.flow) {
    const last = node.items[node.items.length - 1];
    if (isPair(last)) return last.value ? endOf(last.value, fallback) : endOf(last.key, fallback);
    if (last !== undefined) return endOf(last, fallback);
  }
  return (node as Node | null)?.range?.[1] ?? fallback;
}

/** Sets an own property even for keys such as __proto__, which plain assignment would treat specially. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown) {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
