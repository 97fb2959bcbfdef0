// Helpers shared by the benchmark scripts. stdout carries one JSON object per line and nothing else;
// progress goes to stderr.

export const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
export const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
export const r1 = (x) => Math.round(x * 10) / 10;
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const stats = (xs) => ({
  medianMs: r1(median(xs)),
  minMs: r1(Math.min(...xs)),
  maxMs: r1(Math.max(...xs)),
});

/** target/pass fields; figures without a target in the brief are reported with target and pass null. */
export const target = (applies, ok, text) => (applies ? { target: text, pass: ok } : { target: null, pass: null });

/** Runs cleanup however the process ends: normal exit or a signal (then exit 130). */
export function onExit(cleanup) {
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
}

/** Calls fn with every complete line the stream sends; the returned function gives what follows the last newline. */
export function onLines(stream, fn) {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      fn(line);
    }
  });
  return () => buf;
}
