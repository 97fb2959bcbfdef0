// A site process for the store-and-forward SIGKILL rounds: opens the site store, runs the engine (from dist/) against
// the receiver at URL, and in `produce` mode enqueues messages to three targets without end, printing
// `ack <id> <target> <nonce>` on stdout after each enqueue has returned (so every printed line is an acknowledged
// message); in `drain` mode it only delivers, and exits 0 once the store is empty.
// Usage: node saf-crash-child.mjs DB_FILE URL produce|drain ROUND
import { writeSync } from "node:fs";
import { httpDeliverer, StoreAndForward } from "../../dist/site-reconciler/integrations/store-and-forward/index.js";
import { Store } from "../../dist/site-reconciler/store/store.js";

const [file, url, mode, round] = process.argv.slice(2);
export const TARGETS = ["Mes", "Erp", "Historian"];

const store = Store.open(file);
const engine = new StoreAndForward({
  db: store.db,
  deliverers: { externalSystem: httpDeliverer({ secrets: () => undefined }) },
  caps: { maxMessages: 1_000_000, maxBytes: 2 ** 30 },
});
engine.setTargets(
  TARGETS.map((name) => ({
    kind: "externalSystem",
    name,
    retry: { intervalMs: 30, maxAttempts: 1_000_000 },
    timeoutMs: 2000,
    maxPerSecond: 100_000,
  })),
);
engine.start();
const say = (line) => writeSync(1, `${line}\n`);
say("ready");

if (mode === "drain") {
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    if (engine.totals().messages === 0) break;
  }
  await engine.stop();
  store.close();
  say("drained");
  process.exit(0);
}

// produce: bursts of enqueues with the event loop free in between, so deliveries run alongside.
let n = 0;
for (;;) {
  for (let i = 0; i < 10; i++, n++) {
    const target = TARGETS[n % TARGETS.length];
    const nonce = `${round}-${n}`;
    const id = engine.enqueue({
      target: { kind: "externalSystem", name: target },
      label: "Report",
      payload: { method: "POST", url: `${url}/${target}`, body: { nonce, round: Number(round), n } },
    });
    say(`ack ${id} ${target} ${nonce}`);
  }
  await new Promise((r) => setTimeout(r, 2));
}
