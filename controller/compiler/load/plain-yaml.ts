import type { SourceText } from "./positions.js";
import { recordMapKeys, recordSeq } from "./positions.js";

/**
 * A single-pass reader for the YAML that config repos are written in: one document of block maps and sequences,
 * single-line plain and quoted scalars, single-line flow collections, literal and folded block scalars, comments.
 * It gives the same data and positions as the full path (yaml's parser and the Converter in parse-file.ts) at a
 * fraction of the cost: yaml builds a token stream, a CST and a node tree for every scalar, which for a 4 MiB
 * file of short keys is seconds. Anything else (anchors, aliases, tags, merge keys, multi-line plain or quoted
 * scalars, escapes, tabs, several documents, anything yaml would warn about or the Converter refuse) makes it
 * give up, and the full path reads the file: it never decides a question the full path would decide otherwise.
 */

/** A document read, or why it cannot be used (a duplicate key, reported like the full path does). */
export interface PlainDoc {
  /** 0-based index of the document within its file (documents of only comments count). */
  index: number;
  /** Offset of the document's content. */
  at: number;
  data: unknown;
  /**
   * Duplicate keys, as the Converter reports them: the first one, then the first one of each enclosing map after
   * it (those go on reading their keys). The document is then unusable and only its sketch counts.
   */
  duplicates: { offset: number; key: string }[];
  /** Top-level pairs, duplicates included, in order (for the sketch of a document with a duplicate key). */
  pairs: [key: string, value: unknown][];
}

/** Thrown (a constant, so no stack is built) when the text leaves the subset. */
const OUTSIDE = Symbol("outside the plain subset");

/** Longest implicit key yaml accepts is 1024 characters; stay clear of the edge. */
const MAX_KEY = 1000;
/** Characters that may not start a plain scalar here (yaml indicators, and those it reserves). */
const NOT_PLAIN_START = new Set([..."[]{},#&*!|>'\"%@`\t"]);
const FLOW_STOP = new Set([..."[]{},"]);
/** YAML's one-character escapes in double-quoted scalars (\x, \u and \U take hex digits). */
const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\x85",
  _: "\xa0",
  L: "\u2028",
  P: "\u2029",
};

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const SPECIAL_FLOAT = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Characters yaml refuses or treats specially anywhere in a stream; a lone CR. */
const UNUSUAL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]|\r(?!\n)/;

/** The documents, if the text is within the subset; otherwise the offset of the line where the reader stopped. */
export function parsePlainYaml(src: SourceText, maxDepth: number): PlainDoc[] | { outside: number } {
  const unusual = UNUSUAL.exec(src.text);
  if (unusual) return { outside: unusual.index };
  const reader = new Reader(src, maxDepth);
  try {
    return reader.documents();
  } catch (e) {
    if (e === OUTSIDE) return { outside: reader.position };
    throw e;
  }
}

/** The core schema's reading of a plain scalar, as yaml resolves it (YAML 1.2). */
function resolvePlain(t: string): unknown {
  const c = t.charCodeAt(0);
  // Only these first characters can start a null, bool or number: everything else is a string.
  const maybe = t === "" || (c >= 48 && c <= 57) || "+-.~nNtTfF".includes(t[0]!);
  if (!maybe) return t;
  if (NULL.test(t)) return null;
  if (BOOL.test(t)) return c === 116 || c === 84; // t, T
  let v: number;
  if (OCT.test(t)) v = parseInt(t.substring(2), 8);
  else if (INT.test(t)) v = parseInt(t, 10);
  else if (HEX.test(t)) v = parseInt(t.substring(2), 16);
  else if (SPECIAL_FLOAT.test(t))
    throw OUTSIDE; // the Converter refuses them: the full path says why
  else if (EXP.test(t) || FLOAT.test(t)) v = parseFloat(t);
  else return t;
  // Numbers the Converter refuses or that lose digits: the full path decides.
  if (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v))) throw OUTSIDE;
  return v;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown) {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

interface Key {
  key: string;
  at: number;
  /** Offset just after the key's text (before the ':'). */
  end: number;
  /** Offset just after the ':' */
  after: number;
}

class Reader {
  private readonly s: string;
  private readonly n: number;
  /** The current line: its start, indentation, end of content (before \r\n or \n), start of the next line. */
  private line = 0;
  private ind = 0;
  private end = 0;
  private next = 0;
  /** The first tab at or after the current line (tabs are only allowed inside block scalars). */
  private tab = -1;
  private duplicates: PlainDoc["duplicates"] = [];
  private readonly pairs: PlainDoc["pairs"] = [];
  /** The current line is a document marker (---): the end of the document's content. */
  private marker = false;
  /** Offset just after the last value read (a null value: its position); a collection ends where its last value does. */
  private valueEnd = 0;

  constructor(
    private readonly src: SourceText,
    private readonly maxDepth: number,
  ) {
    this.s = src.text;
    this.n = src.text.length;
    this.tab = this.s.indexOf("\t");
    this.enter(0);
  }

  /** Start of the line being read. */
  get position(): number {
    return Math.min(this.line, this.n);
  }

  documents(): PlainDoc[] {
    const docs: PlainDoc[] = [];
    // A document marker (---) starts the next document, except the first one of a document with no content yet.
    let opened = false;
    for (let index = 0; ; ) {
      if (this.skipBlank()) {
        const at = this.line + this.ind;
        const data = this.block(this.ind, 0);
        if (this.skipBlank()) throw OUTSIDE;
        docs.push({ index, at, data, duplicates: this.duplicates, pairs: this.pairs.splice(0) });
        this.duplicates = [];
      } else if (!this.marker) break;
      else if (!opened) {
        opened = true;
        this.enter(this.next);
        this.marker = false;
        continue;
      }
      if (!this.marker) break;
      this.enter(this.next);
      this.marker = false;
      index++;
    }
    return docs;
  }

  /** Makes the line starting at offset p current. */
  private enter(p: number) {
    const s = this.s;
    this.line = p;
    let nl = s.indexOf("\n", p);
    if (nl === -1) nl = this.n;
    this.next = nl + 1;
    this.end = nl > p && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    let i = p;
    while (i < this.end && s.charCodeAt(i) === 32) i++;
    this.ind = i - p;
  }

  /** Moves past blank and comment lines; false at the end of the text. Checks each content line it stops at. */
  private skipBlank(): boolean {
    const s = this.s;
    if (this.marker) return false;
    for (;;) {
      if (this.line >= this.n) return false;
      const c = this.line + this.ind;
      if (c < this.end && s.charCodeAt(c) !== 35) break; // '#'
      this.enter(this.next);
    }
    if (this.tab !== -1 && this.tab < this.line) this.tab = s.indexOf("\t", this.line);
    if (this.tab !== -1 && this.tab < this.end) throw OUTSIDE;
    if (this.ind === 0 && (s.startsWith("---", this.line) || s.startsWith("...", this.line))) {
      // Only a bare "---" line: content after a marker, and document end markers, are for the full path.
      if (s[this.line] === "." || s.slice(this.line + 3, this.end).trim() !== "") throw OUTSIDE;
      this.marker = true;
      return false;
    }
    return true;
  }

  /** True when a '-' at p is a sequence entry indicator. */
  private isEntry(p: number): boolean {
    return this.s.charCodeAt(p) === 45 && (p + 1 === this.end || this.s.charCodeAt(p + 1) === 32);
  }

  /** A block collection starting on the current (content) line at indentation n. */
  private block(n: number, depth: number): unknown {
    if (depth > this.maxDepth) throw OUTSIDE;
    const c = this.line + n;
    return this.isEntry(c) ? this.seq(n, depth) : this.map(c, n, depth);
  }

  /** A block map whose first key is at start (first: that key, when the caller has read it already). */
  private map(start: number, n: number, depth: number, first?: Key): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    const names: string[] = [];
    const offsets: number[] = [];
    let p = start;
    // The Converter does not look into a map met after a duplicate key, and stops at a map's first duplicate.
    let checks = this.duplicates.length === 0;
    for (let k = first ?? this.key(p) ?? this.outside(); ; k = this.key(p) ?? this.outside()) {
      const seen = Object.hasOwn(obj, k.key);
      if (checks && seen) {
        this.duplicates.push({ offset: k.at, key: k.key });
        checks = false;
      }
      const { value, at } = this.valueAfter(k.after, n, depth, true);
      const end = this.valueEnd;
      if (depth === 0) this.pairs.push([k.key, value]);
      if (!seen) {
        names.push(k.key);
        offsets.push(k.at, k.end, at, end);
        setOwn(obj, k.key, value);
      }
      if (!this.skipBlank() || this.ind < n) break;
      if (this.ind > n || this.isEntry(this.line + n)) throw OUTSIDE;
      p = this.line + n;
    }
    recordMapKeys(obj, this.src, start, this.valueEnd, names, offsets);
    return obj;
  }

  private seq(n: number, depth: number): unknown[] {
    const arr: unknown[] = [];
    const items: number[] = [];
    const start = this.line + n;
    for (;;) {
      const after = this.line + n + 1;
      const p = this.skipSpaces(after);
      let item: { value: unknown; at: number };
      if (p < this.end && this.s.charCodeAt(p) !== 35 && !this.isEntry(p)) {
        const k = this.key(p);
        item = k ? { value: this.map(p, p - this.line, depth + 1, k), at: p } : this.valueAfter(after, n, depth, false);
      } else item = this.valueAfter(after, n, depth, false);
      const end = this.valueEnd;
      arr.push(item.value);
      items.push(item.at, end);
      if (!this.skipBlank() || this.ind < n) break;
      if (this.ind > n) throw OUTSIDE;
      if (!this.isEntry(this.line + n)) break;
    }
    recordSeq(arr, this.src, start, this.valueEnd, items);
    return arr;
  }

  /**
   * The value after an indicator (a key's ':' or an entry's '-') ending at offset `after - 1` on the current line,
   * in a collection at indentation n; leaves the reader on the line after the value.
   */
  private valueAfter(after: number, n: number, depth: number, inMap: boolean): { value: unknown; at: number } {
    const s = this.s;
    const p = this.skipSpaces(after);
    if (p === this.end || s.charCodeAt(p) === 35) {
      if (p < this.end && p === after) throw OUTSIDE; // '#' right after the indicator
      // Nothing on this line: the value is the block below, or null.
      this.enter(this.next);
      if (this.skipBlank()) {
        const at = this.line + this.ind;
        if (this.ind > n) return { value: this.block(this.ind, depth + 1), at };
        // A sequence may sit at its key's indentation (key:\n- a).
        if (inMap && this.ind === n && this.isEntry(at)) return { value: this.seq(n, depth + 1), at };
      }
      this.valueEnd = p;
      return { value: null, at: p };
    }
    if (p === after) throw OUTSIDE;
    return { value: this.inline(p, n, depth + 1), at: p };
  }

  /** A value starting at p on the current line: a scalar, a flow collection or a block scalar. */
  private inline(p: number, n: number, depth: number): unknown {
    const s = this.s;
    const ch = s[p]!;
    if (ch === "|" || ch === ">") return this.blockScalar(p, n); // sets valueEnd
    let value: unknown;
    let end: number;
    if (ch === "[" || ch === "{") [value, end] = this.flow(p, depth);
    else if (ch === '"' || ch === "'") [value, end] = this.quoted(p);
    else {
      if (NOT_PLAIN_START.has(ch) || this.indicator(p)) throw OUTSIDE;
      let q = p;
      for (; q < this.end; q++) {
        const c = s.charCodeAt(q);
        if (c === 58 && (q + 1 === this.end || s.charCodeAt(q + 1) === 32)) throw OUTSIDE; // a: b: c
        if (c === 35 && s.charCodeAt(q - 1) === 32) break; // ' #'
      }
      let e = q;
      while (s.charCodeAt(e - 1) === 32) e--;
      value = resolvePlain(s.slice(p, e));
      end = e;
    }
    this.valueEnd = end;
    this.restOfLine(end);
    return value;
  }

  /** '-', '?' or ':' followed by a space or the end of the line is an indicator, not the start of a scalar. */
  private indicator(p: number): boolean {
    const c = this.s[p];
    return (c === "-" || c === "?" || c === ":") && (p + 1 === this.end || this.s.charCodeAt(p + 1) === 32);
  }

  /** After a value: only spaces and a comment may follow on its line. Moves to the next line. */
  private restOfLine(p: number) {
    const q = this.skipSpaces(p);
    if (q < this.end && !(this.s.charCodeAt(q) === 35 && q > p)) throw OUTSIDE;
    this.enter(this.next);
  }

  private skipSpaces(p: number): number {
    while (p < this.end && this.s.charCodeAt(p) === 32) p++;
    return p;
  }

  private outside(): never {
    throw OUTSIDE;
  }

  /** A block key at p (plain or quoted, then ': ' or ':' at the end of the line), or undefined if none is there. */
  private key(p: number): Key | undefined {
    const s = this.s;
    const ch = s[p]!;
    let key: string;
    let colon: number;
    if (ch === '"' || ch === "'") {
      const [v, e] = this.quoted(p);
      if (s.charCodeAt(e) !== 58) return undefined;
      key = v;
      colon = e;
    } else {
      if (NOT_PLAIN_START.has(ch) || this.indicator(p)) return undefined;
      let q = p;
      for (; q < this.end; q++) {
        const c = s.charCodeAt(q);
        if (c === 58 && (q + 1 === this.end || s.charCodeAt(q + 1) === 32)) break;
        if (c === 35 && s.charCodeAt(q - 1) === 32) return undefined;
      }
      if (q === this.end) return undefined;
      let e = q;
      while (s.charCodeAt(e - 1) === 32) e--;
      const text = s.slice(p, e);
      for (const c of text) if (FLOW_STOP.has(c)) throw OUTSIDE;
      if (text === "<<") throw OUTSIDE; // a merge key
      const v = resolvePlain(text);
      if (v === null) throw OUTSIDE; // an empty key: the full path reports it
      key = String(v);
      colon = q;
    }
    if (colon - p > MAX_KEY) throw OUTSIDE;
    if (colon + 1 < this.end && s.charCodeAt(colon + 1) !== 32) throw OUTSIDE;
    let end = colon;
    while (s.charCodeAt(end - 1) === 32) end--;
    return { key, at: p, end, after: colon + 1 };
  }

  /** A single-line quoted scalar at p: its value and the offset after its closing quote. */
  private quoted(p: number): [string, number] {
    const s = this.s;
    const q = s[p];
    if (q === '"') {
      let out = "";
      let from = p + 1;
      for (let i = p + 1; i < this.end; i++) {
        const c = s.charCodeAt(i);
        if (c === 34) return [out + s.slice(from, i), i + 1];
        if (c !== 92) continue;
        const e = s[i + 1];
        const simple = e === undefined ? undefined : ESCAPES[e];
        let ch: string;
        let len = 2;
        if (simple !== undefined) ch = simple;
        else {
          const digits = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
          const hex = s.slice(i + 2, i + 2 + digits);
          if (!digits || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits || i + 2 + digits > this.end)
            throw OUTSIDE;
          const cp = parseInt(hex, 16);
          // Surrogates and points beyond Unicode: the full path decides.
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw OUTSIDE;
          ch = String.fromCodePoint(cp);
          len += digits;
        }
        out += s.slice(from, i) + ch;
        from = i + len;
        i += len - 1;
      }
      throw OUTSIDE;
    }
    let out = "";
    let from = p + 1;
    for (let i = p + 1; i < this.end; i++) {
      if (s.charCodeAt(i) !== 39) continue;
      if (s.charCodeAt(i + 1) === 39 && i + 1 < this.end) {
        out += s.slice(from, i + 1);
        from = i + 2;
        i++;
        continue;
      }
      return [out + s.slice(from, i), i + 1];
    }
    throw OUTSIDE;
  }

  /** A flow collection opened at p that closes on the same line: its value and the offset after it. */
  private flow(p: number, depth: number): [unknown, number] {
    if (depth > this.maxDepth) throw OUTSIDE;
    const s = this.s;
    const isSeq = s[p] === "[";
    const close = isSeq ? "]" : "}";
    let i = this.flowSpaces(p + 1);
    const arr: unknown[] = [];
    const items: number[] = [];
    const obj: Record<string, unknown> = {};
    const names: string[] = [];
    const offsets: number[] = [];
    let checks = this.duplicates.length === 0;
    if (s[i] !== close) {
      for (;;) {
        if (isSeq) {
          const [v, e, end] = this.flowValue(i, depth);
          arr.push(v);
          items.push(i, end);
          i = e;
        } else {
          const [k, colon] = this.flowKey(i);
          if (s.charCodeAt(colon + 1) !== 32) throw OUTSIDE;
          const at = this.flowSpaces(colon + 1);
          if (s[at] === "," || s[at] === "}") throw OUTSIDE; // a key without a value
          const seen = Object.hasOwn(obj, k);
          if (checks && seen) {
            this.duplicates.push({ offset: i, key: k });
            checks = false;
          }
          const [v, e, end] = this.flowValue(at, depth);
          if (!seen) {
            names.push(k);
            offsets.push(i, colon, at, end);
            setOwn(obj, k, v);
          }
          i = e;
        }
        i = this.flowSpaces(i);
        if (s[i] === ",") {
          i = this.flowSpaces(i + 1);
          if (s[i] === close) throw OUTSIDE; // a trailing comma
          continue;
        }
        if (s[i] === close) break;
        throw OUTSIDE;
      }
    }
    if (isSeq) {
      recordSeq(arr, this.src, p, i + 1, items);
      return [arr, i + 1];
    }
    recordMapKeys(obj, this.src, p, i + 1, names, offsets);
    return [obj, i + 1];
  }

  /** Spaces inside a flow collection; the collection must not reach the end of the line. */
  private flowSpaces(p: number): number {
    const i = this.skipSpaces(p);
    if (i >= this.end) throw OUTSIDE;
    return i;
  }

  /** A value in a flow collection: the value, the offset where reading goes on, and the offset after the value. */
  private flowValue(p: number, depth: number): [unknown, number, number] {
    const ch = this.s[p]!;
    if (ch === "[" || ch === "{") {
      const [v, e] = this.flow(p, depth + 1);
      return [v, e, e];
    }
    if (ch === '"' || ch === "'") {
      const [v, e] = this.quoted(p);
      return [v, e, e];
    }
    const [text, e] = this.flowPlain(p);
    if (this.s.charCodeAt(e) === 58) throw OUTSIDE; // a single-pair map or "a: b: c"
    return [resolvePlain(text), e, p + text.length];
  }

  private flowKey(p: number): [string, number] {
    const s = this.s;
    const ch = s[p]!;
    if (ch === '"' || ch === "'") {
      const [v, e] = this.quoted(p);
      if (s.charCodeAt(e) !== 58) throw OUTSIDE;
      return [v, e];
    }
    const [text, e] = this.flowPlain(p);
    if (s.charCodeAt(e) !== 58 || text === "<<") throw OUTSIDE;
    const v = resolvePlain(text);
    if (v === null) throw OUTSIDE;
    return [String(v), e];
  }

  /** A plain scalar in a flow collection: its text and the offset where it ends (at ':', ',', ']', '}'). */
  private flowPlain(p: number): [string, number] {
    const s = this.s;
    const ch = s[p]!;
    if (NOT_PLAIN_START.has(ch) || ((ch === "-" || ch === "?" || ch === ":") && !this.plainNext(p + 1))) throw OUTSIDE;
    let q = p;
    for (; q < this.end; q++) {
      const c = s[q]!;
      if (FLOW_STOP.has(c)) break;
      if (c === ":" && !this.plainNext(q + 1)) break;
      if (c === "#" && s[q - 1] === " ") throw OUTSIDE;
    }
    if (q === this.end) throw OUTSIDE;
    let e = q;
    while (s.charCodeAt(e - 1) === 32) e--;
    if (s[q] === ":" && e !== q) throw OUTSIDE; // "a : b"
    return [s.slice(p, e), q];
  }

  /** True when the character at p continues a plain scalar after '-', '?' or ':' in a flow collection. */
  private plainNext(p: number): boolean {
    if (p >= this.end) return false;
    const c = this.s[p]!;
    return c !== " " && !FLOW_STOP.has(c);
  }

  /** A literal (|) or folded (>) block scalar whose header is at p, in a collection at indentation n. */
  private blockScalar(p: number, n: number): string {
    const s = this.s;
    const folded = s[p] === ">";
    let h = p + 1;
    let chomp = "";
    if (s[h] === "-" || s[h] === "+") chomp = s[h++]!;
    // Keep chomping and explicit indentation: the full path reads them.
    if (chomp === "+" || (h < this.end && s.charCodeAt(h) !== 32)) throw OUTSIDE;
    this.restOfLine(h);
    const lines: string[] = [];
    let indent = -1;
    let blanks = 0;
    let lastEnd = -1;
    while (this.line < this.n) {
      const blank = this.line + this.ind === this.end;
      if (blank) {
        if (indent === -1 || this.ind > indent) throw OUTSIDE; // leading blank lines, or spaces beyond the indent
        blanks++;
      } else {
        if (indent === -1) {
          if (this.ind <= n) throw OUTSIDE; // an empty block scalar
          indent = this.ind;
        } else if (this.ind < indent) break;
        if (s.charCodeAt(this.line + this.ind) === 9) throw OUTSIDE;
        if (folded && this.ind > indent) throw OUTSIDE; // more-indented lines fold differently
        for (let i = 0; i < blanks; i++) lines.push("");
        blanks = 0;
        lines.push(s.slice(this.line + indent, this.end));
        lastEnd = this.end;
      }
      this.enter(this.next);
    }
    if (indent === -1) throw OUTSIDE;
    // The final line break must be there for clip chomping to keep it.
    if (lastEnd >= this.n) throw OUTSIDE;
    this.valueEnd = lastEnd;
    const body = folded ? fold(lines) : lines.join("\n");
    return chomp === "-" ? body : `${body}\n`;
  }
}

/** Folded scalar content (no more-indented lines): lines join with a space, n empty lines become n line breaks. */
function fold(lines: string[]): string {
  let out = lines[0]!;
  let breaks = 0;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === "") {
      breaks++;
      continue;
    }
    out += breaks ? "\n".repeat(breaks) : " ";
    out += l;
    breaks = 0;
  }
  return out;
}
