// A simulated PLC for the runtime benchmark (bench/runtime.mjs), in its own process so that serving and changing
// values does not share a core or a heap with the client measured: a node-opcua OPCUAServer on 127.0.0.1 with
// INSTANCES × TAGS Double variables ns=2;s=I<i>.T<k>, under the operation limits a real server imposes.
// Usage: node bench/plc-server.mjs PARENT_TMP_DIR INSTANCES TAGS MIN_SAMPLING_MS
// stdout: {"port":N} once listening, then one JSON line per command; commands are JSON lines on stdin:
//   {"cmd":"drive","rate":R,"seconds":S}  changes values at R changes/s in total for S s, round robin over every
//                                          variable, then answers {"done":true,"changes":n,"ms":…,"changesPerSec":…}
//   {"cmd":"mark"}                         answers {"changes":n,"at":ms,"cpuMs":…}: changes made so far, this
//                                          process's performance.now() and CPU time
//   {"cmd":"items"}                        answers {"items":n}: monitored items over all sessions
//   {"cmd":"await-items","count":n}        answers {"reached":n,"at":epochMs} once the server holds n monitored
//                                          items (checked every 20 ms): when a client's subscribing is done, on the
//                                          wall clock
//   {"cmd":"stop"}                         shuts the server down and exits
// Each instance's T0 alternates between 40 and 60 on every change (across the benchmark's threshold of 50), every
// other variable takes a value different from its last one.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as debug from "node-opcua-debug";
import { emit, log, onExit, onLines, r1 } from "./common.mjs";

// node-opcua prints warnings to stdout, which carries JSON lines only.
debug.setWarningLogger(() => {});
debug.setErrorLogger(() => {});
debug.setDebugLogger(() => {});
const { DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, Variant } = await import("node-opcua");

const [parent = os.tmpdir(), instancesArg = "500", tagsArg = "75", minSamplingArg = "0"] = process.argv.slice(2);
const INSTANCES = Number(instancesArg);
const TAGS = Number(tagsArg);
const MIN_SAMPLING_MS = Number(minSamplingArg);
// A drive tick: changes due are made every TICK_MS, at most MAX_TICK_SHARE of a second's worth in one go, so that
// publishing (on the same event loop) is never starved and a rate the server cannot make shows as a lower actual rate.
const TICK_MS = 5;
const MAX_TICK_SHARE = 0.02;

const tmp = mkdtempSync(join(parent, "scadalink-bench-plc-"));
onExit(() => rmSync(tmp, { recursive: true, force: true }));

const t0 = performance.now();
const server = new OPCUAServer({
  port: 0,
  hostname: "127.0.0.1",
  allowAnonymous: true,
  serverCertificateManager: new OPCUACertificateManager({
    rootFolder: join(tmp, "pki"),
    automaticallyAcceptUnknownCertificate: true,
  }),
  // Its own user PKI too: by default node-opcua keeps one under the user's ~/.config.
  userCertificateManager: new OPCUACertificateManager({ rootFolder: join(tmp, "user-pki") }),
  serverCapabilities: {
    maxSessions: 20,
    maxMonitoredItems: 200_000,
    maxMonitoredItemsPerSubscription: 100_000,
    // What the runtime must respect: no more than 1,000 nodes per Read and per CreateMonitoredItems.
    operationLimits: { maxMonitoredItemsPerCall: 1000, maxNodesPerRead: 1000 },
  },
});
await server.initialize();
const ns = server.engine.addressSpace.registerNamespace("urn:scadalink:bench-plc");
const objects = server.engine.addressSpace.rootFolder.objects;
/** Every variable in change order, instance by instance: each instance's T0 changes once per round, and the T0
 * changes (the alarm transitions) are spread evenly over the round rather than made in one burst. */
const nodes = [];
for (let i = 0; i < INSTANCES; i++) {
  const folder = ns.addObject({ organizedBy: objects, browseName: `I${i}`, nodeId: `s=I${i}` });
  for (let k = 0; k < TAGS; k++)
    nodes.push({
      t0: k === 0,
      node: ns.addVariable({
        componentOf: folder,
        browseName: `T${k}`,
        nodeId: `s=I${i}.T${k}`,
        dataType: "Double",
        minimumSamplingInterval: MIN_SAMPLING_MS,
        accessLevel: "CurrentRead",
        userAccessLevel: "CurrentRead",
        value: new Variant({ dataType: DataType.Double, value: k === 0 ? 40 : 50 }),
      }),
    });
}
await server.start();
log(`plc: ${nodes.length} variables served in ${r1(performance.now() - t0)} ms`);
emit({ port: server.endpoints[0].port });

let next = 0;
let round = 0;
/** One change of the next variable in round-robin order, stamped with the time it is made. */
function change() {
  const { node, t0: alarmTag } = nodes[next];
  // A value per round that differs from the last round's: T0 crosses 50 on each change.
  const value = alarmTag ? (round % 2 ? 60 : 40) + (next % 7) / 10 : ((round * 37 + next) % 1000) / 10;
  node.setValueFromSource(new Variant({ dataType: DataType.Double, value }), StatusCodes.Good, new Date());
  if (++next === nodes.length) {
    next = 0;
    round++;
  }
}

let driving = false;
let made = 0;
function drive(rate, seconds) {
  if (driving) return emit({ error: "already driving" });
  driving = true;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const perTick = Math.max(1, Math.round(rate * MAX_TICK_SHARE));
  const made0 = made;
  const tick = () => {
    const now = performance.now();
    const elapsed = now - start;
    if (elapsed >= seconds * 1000) {
      driving = false;
      const cpu = process.cpuUsage(cpu0);
      emit({
        done: true,
        changes: made - made0,
        ms: r1(elapsed),
        changesPerSec: Math.round(((made - made0) / elapsed) * 1000),
        cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsed) * 100),
      });
      return;
    }
    const due = Math.min(Math.floor((rate * elapsed) / 1000) - (made - made0), perTick);
    for (let n = 0; n < due; n++) change();
    made += Math.max(0, due);
    setTimeout(tick, TICK_MS);
  };
  tick();
}

function monitoredItems() {
  let n = 0;
  for (const s of server.engine.getSessions())
    for (const sub of s.publishEngine.subscriptions) n += sub.monitoredItemCount;
  return n;
}

onLines(process.stdin, (line) => {
  let c;
  try {
    c = JSON.parse(line);
  } catch {
    return emit({ error: `not JSON: ${line.slice(0, 200)}` });
  }
  if (c.cmd === "drive") drive(c.rate, c.seconds);
  else if (c.cmd === "mark") {
    const cpu = process.cpuUsage();
    emit({ changes: made, at: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 });
  } else if (c.cmd === "items") emit({ items: monitoredItems() });
  else if (c.cmd === "await-items") {
    const timer = setInterval(() => {
      if (monitoredItems() < c.count) return;
      clearInterval(timer);
      emit({ reached: c.count, at: Date.now() });
    }, 20);
  } else if (c.cmd === "stop") void server.shutdown(0).finally(() => process.exit(0));
  else emit({ error: `unknown command ${c.cmd}` });
});
// The parent gone (stdin closed) means the benchmark is over, however it ended.
process.stdin.on("end", () => process.exit(0));
