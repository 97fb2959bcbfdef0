// The baseline of the runtime benchmark (bench/runtime.mjs): a bare node-opcua client in its own process (its RSS
// is its own) that monitors the same items as the site runtime, with the same subscription settings, and does
// nothing with the values but count them. It resolves nothing and evaluates nothing.
// Usage: node bench/bare-client.mjs PARENT_TMP_DIR ENDPOINT INSTANCES TAGS SAMPLING_MS PUBLISHING_MS
// stdout: JSON lines; {"subscribed":…} once every item has its first value, then one answer per command on stdin:
//   {"cmd":"mark","start":bool}  answers {"count":n,"at":ms,"cpuMs":…}: notifications so far, when (this process's
//                    performance.now()) and the CPU time used so far; a start mark begins recording latencies
//                    (server source time to receipt) of the T0 items afresh, an end mark stops
//   {"cmd":"report"} answers latency percentiles of what was recorded between the last marks and the peak RSS
//   {"cmd":"stop"}   disconnects and exits
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as debug from "node-opcua-debug";
import pMap from "p-map";
import { emit, onExit, onLines, r1 } from "./common.mjs";

debug.setWarningLogger(() => {});
debug.setErrorLogger(() => {});
debug.setDebugLogger(() => {});
const { AttributeIds, MessageSecurityMode, OPCUAClient, SecurityPolicy, TimestampsToReturn, resolveNodeId } =
  await import("node-opcua-client");
const { OPCUACertificateManager } = await import("node-opcua-certificate-manager");

const [parent, endpoint, instancesArg, tagsArg, samplingArg, publishingArg] = process.argv.slice(2);
const INSTANCES = Number(instancesArg);
const TAGS = Number(tagsArg);
// As the runtime does: at most 1,000 items per CreateMonitoredItems (the server's limit), 4 calls in flight.
const PER_CALL = 1000;
const CONCURRENCY = 4;

const tmp = mkdtempSync(join(parent ?? os.tmpdir(), "scadalink-bench-bare-"));
onExit(() => rmSync(tmp, { recursive: true, force: true }));

const certificates = new OPCUACertificateManager({
  rootFolder: join(tmp, "pki"),
  automaticallyAcceptUnknownCertificate: true,
  disableFileWatchers: true,
});
await certificates.initialize();
// Timed like the runtime's converge: from creating the client (its certificate already made) to every first value.
const t0 = performance.now();
const client = OPCUAClient.create({
  applicationName: "ScadaLink bench bare client",
  endpointMustExist: false,
  securityMode: MessageSecurityMode.None,
  securityPolicy: SecurityPolicy.None,
  connectionStrategy: { maxRetry: 0 },
  keepSessionAlive: true,
  requestedSessionTimeout: 60_000,
  clientCertificateManager: certificates,
});
await client.connect(endpoint);
const session = await client.createSession();
const subscription = await session.createSubscription2({
  requestedPublishingInterval: Number(publishingArg),
  requestedLifetimeCount: 600,
  requestedMaxKeepAliveCount: 20,
  maxNotificationsPerPublish: 0,
  publishingEnabled: true,
  priority: 10,
});

// Item i*TAGS+k is I<i>.T<k>; T0 items are the ones whose latency is recorded (the runtime's alarm tags).
const ids = [];
for (let i = 0; i < INSTANCES; i++) for (let k = 0; k < TAGS; k++) ids.push(`ns=2;s=I${i}.T${k}`);
const seen = new Uint8Array(ids.length);
let firstValues = 0;
let count = 0;
let recording = false;
const latencies = [];
let allFirst;
const allFirstSeen = new Promise((r) => {
  allFirst = r;
});

const chunks = [];
for (let i = 0; i < ids.length; i += PER_CALL) chunks.push(i);
let refused = 0;
await pMap(
  chunks,
  async (base) => {
    const group = await subscription.monitorItems(
      ids.slice(base, base + PER_CALL).map((id) => ({ nodeId: resolveNodeId(id), attributeId: AttributeIds.Value })),
      { samplingInterval: Number(samplingArg), discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    );
    for (const item of group.monitoredItems) if (item.statusCode && !item.statusCode.isGood()) refused++;
    group.on("changed", (_item, dv, i) => {
      count++;
      const n = base + i;
      if (!seen[n]) {
        seen[n] = 1;
        if (++firstValues === ids.length) allFirst();
      }
      if (recording && n % TAGS === 0) latencies.push(Date.now() - dv.sourceTimestamp.getTime());
    });
  },
  { concurrency: CONCURRENCY },
);
const monitoredMs = performance.now() - t0;
if (refused) emit({ error: `${refused} monitored items refused` });
await allFirstSeen;
emit({ subscribed: true, items: ids.length, monitoredMs: r1(monitoredMs), ms: r1(performance.now() - t0) });

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null);
onLines(process.stdin, (line) => {
  const c = JSON.parse(line);
  if (c.cmd === "mark") {
    if (c.start) latencies.length = 0;
    recording = c.start;
    const cpu = process.cpuUsage();
    emit({ count, at: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 });
  } else if (c.cmd === "report") {
    const sorted = [...latencies].sort((a, b) => a - b);
    emit({
      latencyP50Ms: pct(sorted, 0.5),
      latencyP99Ms: pct(sorted, 0.99),
      latencySamples: sorted.length,
      peakRssMb: r1(process.resourceUsage().maxRSS / 1024),
    });
  } else if (c.cmd === "stop")
    void client
      .disconnect()
      .catch(() => undefined)
      .finally(() => process.exit(0));
});
process.stdin.on("end", () => process.exit(0));
