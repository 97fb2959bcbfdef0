/** Tag patterns: "{{instance}}.Speed", "ns=2;s={{param.line}}.{{module}}.{{attribute}}". */

export const PLACEHOLDERS = ["instance", "site", "area", "module", "attribute"] as const;

export type Part = string | { placeholder: (typeof PLACEHOLDERS)[number] } | { param: string };

export interface ParsedPattern {
  parts: Part[];
  /** {{param.NAME}} names used. */
  params: string[];
  usesArea: boolean;
  problems: string[];
}

const cache = new Map<string, ParsedPattern>();
const PARAM = /^param\.([A-Za-z_][A-Za-z0-9_]{0,63})$/;

/** Splits a pattern into literal text and placeholders; unknown or unclosed placeholders are problems. */
export function parseTagPattern(pattern: string): ParsedPattern {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const parts: Part[] = [];
  const params: string[] = [];
  const problems: string[] = [];
  let usesArea = false;
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf("{{", i);
    if (open === -1) {
      parts.push(pattern.slice(i));
      break;
    }
    if (open > i) parts.push(pattern.slice(i, open));
    const close = pattern.indexOf("}}", open + 2);
    if (close === -1) {
      problems.push(`unclosed "{{" in tag pattern (placeholders look like {{instance}})`);
      break;
    }
    const name = pattern.slice(open + 2, close).trim();
    const param = PARAM.exec(name);
    if (param) {
      parts.push({ param: param[1]! });
      params.push(param[1]!);
    } else if ((PLACEHOLDERS as readonly string[]).includes(name)) {
      parts.push({ placeholder: name as (typeof PLACEHOLDERS)[number] });
      if (name === "area") usesArea = true;
    } else {
      problems.push(
        `unknown placeholder {{${name}}}: use ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")} or {{param.NAME}}`,
      );
    }
    i = close + 2;
  }
  const parsed = { parts, params, usesArea, problems };
  if (cache.size < 50_000) cache.set(pattern, parsed);
  return parsed;
}

export interface TagContext {
  instance: string;
  site: string;
  area: string | undefined;
  module: string;
  attribute: string;
  parameters: Record<string, unknown>;
}

/** Expands a pattern whose problems were reported; missing values expand to "". */
export function expandTagPattern(p: ParsedPattern, ctx: TagContext): string {
  let out = "";
  for (const part of p.parts) {
    if (typeof part === "string") out += part;
    else if ("param" in part) out += String(ctx.parameters[part.param] ?? "");
    else out += ctx[part.placeholder] ?? "";
  }
  return out;
}
