/** C0 and C1 control characters, DEL, and the Unicode controls that reorder or hide text (bidi, zero-width). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Text from the runtime or the repo (script logs, event and refusal messages) made safe for a terminal: every control
 * character is shown as an escape (`\x1b`, `\n`, `\u202e`), so nothing it holds can move the cursor, clear the
 * screen, set the window title, reorder the line or start a hyperlink. JSON output needs none of this: JSON escapes
 * them itself.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
