// Probes a controller's /healthz, /readyz and /webhook (a signed ping) every 20 ms from a process of its own (in the
// controller's process the probes would wait for its main thread too), until a line arrives on stdin; then prints
// the answer times (ms) as a JSON array, every status that was not 200, 202 or 503 as "bad", and each probe as
// { name, at (Date.now() when sent), ms, status } in "probes" (to tell which probes fell inside a compile).
// Usage: node test/helpers/http-prober.mjs URL WEBHOOK_SECRET
import { createHmac } from "node:crypto";
import { performance } from "node:perf_hooks";

const [url, secret] = process.argv.slice(2);
const sig = `sha256=${createHmac("sha256", secret).update("{}").digest("hex")}`;
const requests = [
  ["healthz", () => fetch(`${url}/healthz`)],
  ["readyz", () => fetch(`${url}/readyz`)],
  [
    "webhook",
    () =>
      fetch(`${url}/webhook`, {
        method: "POST",
        body: "{}",
        headers: { "x-github-event": "ping", "x-github-delivery": `p-${Math.random()}`, "x-hub-signature-256": sig },
      }),
  ],
];
const times = [];
const probes = [];
const bad = [];
let on = true;
process.stdin.on("data", () => {
  on = false;
});
process.send?.("started");
while (on) {
  for (const [name, p] of requests) {
    const at = Date.now();
    const t0 = performance.now();
    const res = await p();
    await res.text();
    const ms = performance.now() - t0;
    times.push(ms);
    probes.push({ name, at, ms, status: res.status });
    if (![200, 202, 503].includes(res.status)) bad.push(res.status);
  }
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(JSON.stringify({ times, bad, probes }));
