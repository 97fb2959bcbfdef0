import { describe, expect, it } from "vitest";
import { type FleetInputs, fleetView, OFFLINE_AFTER_HEARTBEATS } from "../../dashboard/model.js";
import { batchBody, esc, fleetBody, siteBody } from "../../dashboard/render.js";
import type { BatchStatus, ExecutionRecord, SiteManifest, SiteStatus } from "../../schemas/types.js";

const H = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const NOW = Date.parse("2026-12-07T12:00:00Z");
const HEARTBEAT = 60_000;

function manifest(site: string, instances: Record<string, string | null>): SiteManifest {
  return { site, siteRevisionHash: H(9), instances } as unknown as SiteManifest;
}

function status(
  site: string,
  ageMs: number,
  instances: SiteStatus["instances"],
  extra: Partial<SiteStatus> = {},
): SiteStatus {
  return {
    apiVersion: "scadalink/v1",
    kind: "SiteStatus",
    site,
    sequence: 1,
    reportedAt: new Date(NOW - ageMs).toISOString(),
    deployCommit: "d".repeat(40),
    siteRevisionHash: H(9),
    instances,
    health: {
      lastPoll: null,
      connections: [],
      tags: { resolved: 0, unresolved: 0, bad: 0 },
      sync: { state: "ok", message: null, deployHead: null },
    },
    ...extra,
  } as SiteStatus;
}

function inputs(over: Partial<FleetInputs> = {}): FleetInputs {
  return {
    deployCommit: "d".repeat(40),
    sourceCommit: "s".repeat(40),
    manifests: new Map([
      ["north", manifest("north", { P1: H(1), P2: H(2) })],
      ["south", manifest("south", { T1: H(3) })],
    ]),
    statuses: new Map([
      [
        "north",
        status("north", 10_000, {
          P1: { revisionHash: H(1), state: "enabled", result: "pass", message: null },
          P2: {
            revisionHash: H(1),
            state: "enabled",
            result: "runtime-error",
            message: "old",
            activeAlarms: [{ path: "OverSpeed", since: null, priority: 700 }],
          },
        }),
      ],
    ]),
    batches: new Map(),
    now: NOW,
    heartbeatMs: HEARTBEAT,
    ...over,
  };
}

describe("the fleet view", () => {
  it("lists every site and instance of the manifests and the reports, desired against applied", () => {
    const v = fleetView(inputs());
    expect(v.sites.map((s) => s.site)).toEqual(["north", "south"]);
    const north = v.sites[0]!;
    expect(north.instances.map((i) => [i.name, i.pending, i.activeAlarms])).toEqual([
      ["P1", false, 0],
      ["P2", true, 1],
    ]);
    expect(north.converged).toBe(false);
    expect(north.activeAlarms).toBe(1);
    expect(v.sites[1]!.instances).toEqual([
      expect.objectContaining({ name: "T1", desired: H(3), applied: null, pending: true }),
    ]);
  });

  it(`marks a site offline after ${OFFLINE_AFTER_HEARTBEATS} heartbeat intervals without a report, or with none ever`, () => {
    const at = (ageMs: number) =>
      fleetView(inputs({ statuses: new Map([["north", status("north", ageMs, {})]]) })).sites[0]!.offline;
    expect(at(OFFLINE_AFTER_HEARTBEATS * HEARTBEAT)).toBe(false);
    expect(at(OFFLINE_AFTER_HEARTBEATS * HEARTBEAT + 1)).toBe(true);
    expect(at(1_000)).toBe(false);
    expect(fleetView(inputs()).sites[1]!.offline).toBe(true); // south never reported
  });

  it("sums a site's store-and-forward backlog and passes its pair's nodes through", () => {
    const s = status("north", 1_000, {}, {
      health: {
        lastPoll: null,
        connections: [],
        tags: { resolved: 0, unresolved: 0, bad: 0 },
        sync: { state: "ok", message: null, deployHead: null },
        storeAndForward: {
          "externalSystem/Mes": {
            queued: 4,
            parked: 1,
            oldestQueuedAt: "2026-12-07T11:00:00.000Z",
            bytes: 10,
            configured: true,
          },
          "notificationList/Ops": {
            queued: 2,
            parked: 0,
            oldestQueuedAt: "2026-12-07T10:00:00.000Z",
            bytes: 5,
            configured: false,
          },
        },
      },
      nodes: [
        { node: "a", role: "active", epoch: 3, lastHeartbeat: null, replicationLagMs: 4, replicationBacklog: 0 },
        { node: "b", role: "standby", epoch: 3, lastHeartbeat: null, replicationLagMs: null, replicationBacklog: null },
      ],
    } as Partial<SiteStatus>);
    const north = fleetView(inputs({ statuses: new Map([["north", s]]) })).sites[0]!;
    expect(north.storeAndForward).toEqual({
      queued: 6,
      parked: 1,
      oldestQueuedAt: "2026-12-07T10:00:00.000Z",
      held: 1,
    });
    expect(north.nodes?.map((n) => `${n.node}:${n.role}`)).toEqual(["a:active", "b:standby"]);
    expect(siteBody(fleetView(inputs({ statuses: new Map([["north", s]]) })), "north")).toContain(
      '<td>a</td><td class="">active</td><td>3</td>',
    );
  });
});

describe("the rendered pages", () => {
  it("escape everything the branches hold: a hostile instance name or message is text, never markup", () => {
    const evil = `<img src=x onerror="alert(1)">`;
    const v = fleetView(
      inputs({
        manifests: new Map([["north", manifest("north", { [evil]: H(1) })]]),
        statuses: new Map([
          [
            "north",
            status("north", 1_000, { [evil]: { revisionHash: H(1), state: "enabled", result: "pass", message: evil } }),
          ],
        ]),
      }),
    );
    const html = fleetBody(v) + siteBody(v, "north");
    expect(html).not.toContain("<img");
    expect(html).toContain(esc(evil));
  });

  it("colour only the abnormal: a normal site shows the word normal and no alarm class", () => {
    const v = fleetView(
      inputs({
        manifests: new Map([["north", manifest("north", { P1: H(1) })]]),
        statuses: new Map([
          [
            "north",
            status("north", 1_000, { P1: { revisionHash: H(1), state: "enabled", result: "pass", message: null } }),
          ],
        ]),
      }),
    );
    const html = fleetBody(v);
    expect(html).toContain(`<span class="ok">normal</span>`);
    expect(html).not.toMatch(/class="[^"]*alarm/);
  });
});

describe("the batch page", () => {
  it("shows the batch's progress and each selected instance with its result and the site's record", () => {
    const batch: BatchStatus = {
      apiVersion: "scadalink/v1",
      kind: "BatchStatus",
      batch: "wave-2",
      phase: "execute",
      state: "in-progress",
      reason: null,
      releasedAt: "2026-12-07T11:00:00.000Z",
      deadline: "2026-12-07T13:00:00.000Z",
      maxFailed: 0,
      counts: { selected: 3, passed: 1, failed: 1, pending: 1 },
      instances: {
        "north/P1": { revisionHash: H(1), result: "pass", message: null },
        "north/P2": { revisionHash: H(2), result: "runtime-error", message: "script threw" },
        "south/T1": { revisionHash: H(3), result: null, message: null },
      },
    };
    const record = {
      batch: "wave-2",
      site: "north",
      instance: "P1",
      revisionHash: H(1),
      result: "pass",
      recordedAt: "2026-12-07T11:05:00.000Z",
      evidence: [{ item: "values-snapshot", path: "evidence/x.json" }],
    } as unknown as ExecutionRecord;
    const v = fleetView(
      inputs({
        batches: new Map([["wave-2", batch]]),
        records: new Map([["north", new Map([["wave-2", new Map([["P1", record]])]])]]),
      }),
    );
    expect(v.batches[0]!.instances.map((i) => [i.id, i.result, i.recordedAt])).toEqual([
      ["north/P1", "pass", "2026-12-07T11:05:00.000Z"],
      ["north/P2", "runtime-error", null],
      ["south/T1", null, null],
    ]);
    const html = batchBody(v, "wave-2")!;
    expect(html).toContain('<progress id="progress" max="3" value="2">');
    expect(html).toContain("1 passed, ");
    expect(html).toMatch(/<td class="alarm">runtime-error<\/td><td>script threw<\/td>/);
    expect(html).toMatch(/<td class="warn">pending<\/td>/);
    expect(html).toContain("values-snapshot");
    expect(batchBody(v, "nope")).toBeUndefined();
    expect(fleetBody(v)).toContain('href="/batches/wave-2"');
  });
});

describe("parked messages on the site page", () => {
  it("lists what the site reported, with the total when more are parked than listed", () => {
    const s = status("north", 1_000, {}, {
      parked: {
        total: 3,
        messages: [
          {
            id: "m-1",
            kind: "externalSystem",
            target: "Mes",
            label: "POST /lines/L1/counts",
            instance: "P1",
            attempts: 20,
            lastError: "HTTP 400: bad count",
            enqueuedAt: "2026-12-07T10:00:00.000Z",
            lastAttemptAt: "2026-12-07T10:10:00.000Z",
            parkedAt: "2026-12-07T10:10:00.000Z",
          },
        ],
        actions: [],
      },
    } as Partial<SiteStatus>);
    const html = siteBody(fleetView(inputs({ statuses: new Map([["north", s]]) })), "north")!;
    expect(html).toContain("3 parked");
    expect(html).toContain("(the newest 1 shown)");
    expect(html).toContain("<code>m-1</code>");
    expect(html).toContain("HTTP 400: bad count");
    expect(siteBody(fleetView(inputs()), "north")).not.toContain("Parked messages");
  });
});
