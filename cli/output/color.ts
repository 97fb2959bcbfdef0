/** ANSI colours for terminals; off when NO_COLOR is set (any value) or the stream is not a terminal. */
export interface Palette {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const plain = (s: string) => s;

export function palette(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Palette {
  const on =
    !("NO_COLOR" in env && env.NO_COLOR !== "") && (env.FORCE_COLOR ? env.FORCE_COLOR !== "0" : stream.isTTY === true);
  if (!on) return { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
