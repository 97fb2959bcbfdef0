import { type Loc, withEnd } from "../diagnostics.js";

/** One source file: its repo-relative path, its text and the offsets where its lines start. */
export class SourceText {
  private lineStarts: number[] | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** 1-based line and column of a character offset. */
  loc(offset: number): Loc {
    const starts = (this.lineStarts ??= computeLineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.path, line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  /**
   * The Loc of the text from start to end (exclusive), its end moved back over trailing blanks and line breaks;
   * without an end when nothing is left (an empty value).
   */
  range(start: number, end: number): Loc {
    const loc = this.loc(start);
    const t = this.text;
    let e = Math.min(end, t.length);
    for (
      let c = t.charCodeAt(e - 1);
      e > start && (c === 32 || c === 9 || c === 10 || c === 13);
      c = t.charCodeAt(e - 1)
    )
      e--;
    if (e <= start) return loc;
    const last = this.loc(e - 1);
    return withEnd(loc, last.line, last.column + 1);
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** Offsets of a key and of its value: where each starts and ends (exclusive). */
export interface KeyOffsets {
  key: number;
  keyEnd: number;
  value: number;
  valueEnd: number;
}

/** Where a map or sequence of loaded data came from: offsets of the node, its keys and its values. */
interface NodeInfo {
  src: SourceText;
  at: number;
  end: number;
  keys?: Map<string, KeyOffsets>;
  /**
   * Or the keys in order and their offsets in fours (key, key end, value, value end, …): most maps are never asked,
   * most are small.
   */
  names?: string[];
  offsets?: number[];
  /** Each item's start and end, in pairs. */
  items?: number[];
}

const infos = new WeakMap<object, NodeInfo>();

/** A map's start and end, and each key's offsets. */
export function recordMap(obj: object, src: SourceText, at: number, end: number, keys: Map<string, KeyOffsets>) {
  infos.set(obj, { src, at, end, keys });
}

/** recordMap with the keys in order and their offsets in fours (KeyOffsets' fields in order); no map is made. */
export function recordMapKeys(
  obj: object,
  src: SourceText,
  at: number,
  end: number,
  names: string[],
  offsets: number[],
) {
  infos.set(obj, { src, at, end, names, offsets });
}

const offsetsAt = (o: number[], i: number): KeyOffsets => ({
  key: o[4 * i]!,
  keyEnd: o[4 * i + 1]!,
  value: o[4 * i + 2]!,
  valueEnd: o[4 * i + 3]!,
});

function keyOf(info: NodeInfo, key: string): KeyOffsets | undefined {
  const { names, offsets } = info;
  if (!names || !offsets) return info.keys?.get(key);
  // A small map is searched; a large one gets its Map the first time it is asked.
  if (names.length > 16) {
    info.keys = new Map(names.map((n, i) => [n, offsetsAt(offsets, i)]));
    info.names = info.offsets = undefined;
    return info.keys.get(key);
  }
  const i = names.indexOf(key);
  return i === -1 ? undefined : offsetsAt(offsets, i);
}

/** A sequence's start and end, and each item's start and end in pairs. */
export function recordSeq(arr: unknown[], src: SourceText, at: number, end: number, items: number[]) {
  infos.set(arr, { src, at, end, items });
}

const UNKNOWN: Loc = { file: "<unknown>", line: 1, column: 1 };

/** A loaded map or sequence. */
export function at(obj: object): Loc {
  const info = infos.get(obj);
  return info ? info.src.range(info.at, info.end) : UNKNOWN;
}

/** A key of a loaded map (the offending key), or the map itself when the key is absent. */
export function atKey(obj: object, key: string): Loc {
  const info = infos.get(obj);
  if (!info) return UNKNOWN;
  const k = keyOf(info, key);
  return k ? info.src.range(k.key, k.keyEnd) : info.src.range(info.at, info.end);
}

/** The value under a key of a loaded map (or an item of a sequence); falls back to the key, then the map. */
export function atValue(obj: object, key: string | number): Loc {
  const info = infos.get(obj);
  if (!info) return UNKNOWN;
  if (typeof key === "number") {
    const start = info.items?.[2 * key];
    return start === undefined ? info.src.range(info.at, info.end) : info.src.range(start, info.items![2 * key + 1]!);
  }
  const k = keyOf(info, key);
  return k ? info.src.range(k.value, k.valueEnd) : info.src.range(info.at, info.end);
}

/**
 * Position of (line, column) inside a string scalar (e.g. script code) stored under key.
 * Exact for block scalars (| and >) and single-line scalars; other multi-line scalars map to their start.
 */
export function atTextPos(obj: object, key: string, line: number, column: number): Loc {
  const info = infos.get(obj);
  const k = info ? keyOf(info, key) : undefined;
  if (!info || !k) return info ? info.src.loc(info.at) : UNKNOWN;
  const text = info.src.text;
  const start = k.value;
  const ch = text[start];
  if (ch === "|" || ch === ">") {
    const headerEnd = text.indexOf("\n", start);
    if (headerEnd === -1) return info.src.loc(start);
    const indent = blockIndent(text, headerEnd + 1);
    const header = info.src.loc(start);
    return { file: header.file, line: header.line + line, column: indent + column };
  }
  const scalar = info.src.loc(start);
  if (line === 1) return { ...scalar, column: scalar.column + column - 1 + (ch === '"' || ch === "'" ? 1 : 0) };
  return scalar;
}

/** Indentation of the first non-empty line from offset on (a block scalar's content indentation). */
function blockIndent(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    let n = 0;
    while (text[i + n] === " ") n++;
    const c = text[i + n];
    if (c !== "\n" && c !== "\r") return n;
    i += n + (c === "\r" && text[i + n + 1] === "\n" ? 2 : 1);
  }
  return 0;
}
