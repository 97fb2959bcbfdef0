import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpcuaConnection, TagBinding } from "../../site-reconciler/runtime/opcua/connection.js";
import type { Declared } from "../../site-reconciler/runtime/opcua/data-types.js";
import type { Quality } from "../../site-reconciler/runtime/view.js";
import { type FixtureServer, type FixtureType, startFixtureServer } from "../helpers/opcua-fixture-server.js";
import { directConnection, until } from "./runtime-helpers.js";

const SAFE = Number.MAX_SAFE_INTEGER; // 2^53 − 1

interface Case {
  type: FixtureType;
  declared: Declared;
  start: unknown;
  /** Values set on the server and read by the runtime, then written by the runtime and read back. */
  values: unknown[];
  /** Values the runtime refuses to write to this variable, with the words it says. */
  refused?: [unknown, RegExp][];
}

const DATE = "2026-03-04T05:06:07.890Z";
const CASES: Case[] = [
  { type: "Boolean", declared: "Boolean", start: false, values: [true, false], refused: [[1, /not a Boolean/]] },
  {
    type: "Int16",
    declared: "Int32",
    start: 0,
    values: [-32768, 32767, -1],
    refused: [
      [32768, /Int16/],
      [-32769, /Int16/],
    ],
  },
  {
    type: "UInt16",
    declared: "Int32",
    start: 0,
    values: [0, 65535, 40000],
    refused: [
      [-1, /UInt16/],
      [65536, /UInt16/],
    ],
  },
  {
    type: "Int32",
    declared: "Int32",
    start: 0,
    values: [-(2 ** 31), 2 ** 31 - 1, -200],
    refused: [[2 ** 31, /not a Int32/]],
  },
  {
    type: "UInt32",
    declared: "Int64",
    start: 0,
    values: [0, 2 ** 32 - 1, 2 ** 31],
    refused: [
      [-1, /UInt32/],
      [2 ** 32, /UInt32/],
    ],
  },
  {
    type: "Int64",
    declared: "Int64",
    start: 0,
    values: [-200, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), 2 ** 40 + 7, SAFE, -SAFE, 0],
    refused: [
      [2 ** 53, /not a Int64/],
      [1.5, /not a Int64/],
    ],
  },
  {
    type: "UInt64",
    declared: "Int64",
    start: 0,
    values: [0, 2 ** 32 + 1, SAFE],
    refused: [[-1, /UInt64/]],
  },
  {
    type: "Float",
    declared: "Float",
    start: 0,
    values: [1.5, -2.75, 0.1, 3.4e38],
    refused: [[Number.NaN, /not a Float/]],
  },
  {
    type: "Double",
    declared: "Double",
    start: 0,
    values: [0.1, -Number.MAX_VALUE, Number.MIN_VALUE, -0.5],
    refused: [["1", /not a Double/]],
  },
  {
    type: "String",
    declared: "String",
    start: "",
    values: ["", "Δ ✓ 😀", "x".repeat(10_000)],
    refused: [[3, /String/]],
  },
  {
    type: "DateTime",
    declared: "DateTime",
    start: DATE,
    values: ["1970-01-01T00:00:00.000Z", "2038-01-19T03:14:08.000Z", DATE],
    refused: [["not a date", /DateTime/]],
  },
];

/** What the attribute table holds for a value of the case's type. */
function expected(c: Case, v: unknown): unknown {
  if (c.type === "Float") return Math.fround(v as number);
  if (c.type === "DateTime") return new Date(v as string).toISOString();
  return v;
}

/** The server's own words for a 64-bit value: [high, low], both unsigned, worked out independently of the runtime. */
function words(v: number): [number, number] {
  const x = BigInt.asUintN(64, BigInt(v));
  return [Number(x >> 32n), Number(x & 0xffffffffn)];
}

function serverHolds(c: Case, raw: unknown, v: unknown): boolean {
  if (c.type === "Int64" || c.type === "UInt64") return JSON.stringify(raw) === JSON.stringify(words(v as number));
  if (c.type === "DateTime") return raw instanceof Date && raw.toISOString() === expected(c, v);
  return raw === expected(c, v);
}

describe("the data-type matrix through a real OPC UA server", () => {
  let plc: FixtureServer;
  let direct: Awaited<ReturnType<typeof directConnection>>;
  let conn: OpcuaConnection;
  let seen: Map<string, { value: unknown; quality: Quality }>;
  let statuses: Map<string, { status: string; message: string | null }>;
  const tag = (type: string) => `ns=${plc.namespaceIndex};s=M.${type}`;

  beforeAll(async () => {
    plc = await startFixtureServer({
      variables: [
        ...CASES.map((c) => ({ id: `M.${c.type}`, dataType: c.type, value: c.start })),
        { id: "M.Int64Big", dataType: "Int64" as const, value: 0 },
      ],
    });
    direct = await directConnection(plc.endpoint);
    ({ conn, seen, statuses } = direct);
    conn.start();
    const tags: TagBinding[] = [
      ...CASES.map((c) => ({ path: c.type, tag: tag(c.type), declared: c.declared })),
      { path: "Int64Big", tag: tag("Int64Big"), declared: "Int64" },
    ];
    conn.watch("M", tags, direct.sink);
    await until(
      "every type settled",
      () => tags.every((t) => statuses.has(t.path) && statuses.get(t.path)?.status !== "pending"),
      10_000,
    );
  }, 30_000);

  afterAll(async () => {
    await direct?.close();
    await plc?.stop();
  });

  for (const c of CASES)
    it(`${c.type} (declared ${c.declared}) reads and writes its edge values`, async () => {
      const at = () => seen.get(c.type);
      expect(statuses.get(c.type)).toEqual({ status: "monitored", message: null });
      for (const v of c.values) {
        plc.set(`M.${c.type}`, v);
        await until(`${c.type} ${String(v).slice(0, 40)} read`, () => Object.is(at()?.value, expected(c, v)), 5000);
        expect(at()?.quality).toBe("good");
      }
      // Written by the runtime in reverse order, so every write changes the value; read back through the subscription.
      for (const v of [...c.values].reverse()) {
        expect(await conn.write("M", c.type, v)).toBeUndefined();
        expect(serverHolds(c, plc.get(`M.${c.type}`), v), `the server holds ${String(v).slice(0, 40)}`).toBe(true);
        await until(
          `${c.type} ${String(v).slice(0, 40)} read back`,
          () => Object.is(at()?.value, expected(c, v)),
          5000,
        );
      }
      for (const [v, words] of c.refused ?? []) {
        const before = plc.get(`M.${c.type}`);
        expect(await conn.write("M", c.type, v)).toMatch(words);
        expect(plc.get(`M.${c.type}`)).toEqual(before);
      }
    });

  it("the whole matrix ran on one session: nothing was rebuilt while the server answered", () => {
    expect(plc.requests.count("CreateSessionRequest")).toBe(1);
    expect(plc.requests.count("CreateSubscriptionRequest")).toBe(1);
    expect(conn.health()).toMatchObject({ state: "connected", error: null });
  });

  it("an Int64 beyond ±(2^53 − 1) is not shown as a wrong number: bad, with the reason", async () => {
    plc.set("M.Int64Big", [0x7fffffff, 0xffffffff]);
    await until("reported", () => statuses.get("Int64Big")?.status === "mismatch", 5000);
    expect(statuses.get("Int64Big")?.message).toMatch(/9223372036854775807.*2\^53/);
    plc.set("M.Int64Big", [0xffffffff, 0xffffff38]);
    await until("-200 read", () => seen.get("Int64Big")?.value === -200, 5000);
    expect(statuses.get("Int64Big")?.status).toBe("monitored");
  });
});
