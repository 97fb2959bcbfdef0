// Durability rounds for store-and-forward: a child site process (saf-crash-child.mjs) enqueues and delivers to a
// loopback receiver and is SIGKILLed at a random moment; the store it leaves must pass PRAGMA integrity_check. After
// the last round a child drains the store, and every message acknowledged to a caller must have reached the
// receiver, duplicates only with the same Idempotency-Key, each target's first deliveries in enqueue order.
// Plain JS, shared by test/site/saf-crash.test.ts and bench/store-and-forward.mjs (which runs 100 rounds).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { onLines } from "../../bench/common.mjs";
import { prng } from "../../bench/generate.mjs";

const CHILD = fileURLToPath(new URL("./saf-crash-child.mjs", import.meta.url));

/** PRAGMA integrity_check and the message rows of a store, read-only. */
export function integrity(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    const ok = db
      .pragma("integrity_check")
      .map((r) => r.integrity_check)
      .join("; ");
    const { n } = db.prepare("SELECT count(*) AS n FROM saf_messages").get();
    return { integrity: ok, rows: n };
  } finally {
    db.close();
  }
}

/** The child site process: `produce` (enqueue without end) or `drain` (deliver, exit 0 once empty). */
export function spawnSafChild(file, url, mode, round) {
  const c = spawn(process.execPath, [CHILD, file, url, mode, String(round)], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  let stderr = "";
  let onReady;
  const ready = new Promise((r) => (onReady = r));
  onLines(c.stdout, (line) => {
    if (line === "ready") onReady();
    else lines.push(line);
  });
  c.stderr.on("data", (d) => (stderr += d));
  const exit = new Promise((r) => c.on("exit", (code, signal) => r({ code, signal })));
  exit.then(() => onReady());
  return { c, lines, ready, exit, stderr: () => stderr };
}

/**
 * rounds SIGKILLs, then a drain. server: a startFaultServer() receiver (its behaviour is set here: a small random
 * delay, so kills land mid-request, and some 503s, so retries are under way too).
 */
export async function runSafCrashRounds({ dir, server, rounds, seed, killWindowMs = [50, 400], onRound }) {
  const file = join(dir, "site.db");
  const rand = prng(seed);
  server.behave(() =>
    rand() < 0.05 ? { status: 503, delayMs: 1, unrecorded: true } : { status: 200, delayMs: Math.floor(rand() * 4) },
  );
  const acked = new Map(); // id → { target, nonce }
  const results = [];
  for (let round = 1; round <= rounds; round++) {
    const ch = spawnSafChild(file, server.url, "produce", round);
    await ch.ready;
    const delayMs = killWindowMs[0] + Math.floor(rand() * (killWindowMs[1] - killWindowMs[0]));
    await new Promise((r) => setTimeout(r, delayMs));
    const inFlightBefore = server.requests.length;
    ch.c.kill("SIGKILL");
    const { code, signal } = await ch.exit;
    let acks = 0;
    for (const line of ch.lines) {
      const [word, id, target, nonce] = line.split(" ");
      if (word !== "ack" || !nonce) continue;
      acked.set(id, { target, nonce });
      acks++;
    }
    const r = {
      round,
      delayMs,
      killed: signal === "SIGKILL",
      code,
      acks,
      ...integrity(file),
      received: inFlightBefore,
    };
    results.push(r);
    onRound?.(r, ch.stderr());
  }
  const drain = spawnSafChild(file, server.url, "drain", rounds + 1);
  const timer = setTimeout(() => drain.c.kill("SIGKILL"), 120_000);
  const end = await drain.exit;
  clearTimeout(timer);
  const final = integrity(file);
  return { results, acked, drain: { ...end, stderr: drain.stderr(), ...final }, check: check(acked, server.requests) };
}

/** The properties every run must have; each problem is a sentence. */
export function check(acked, requests) {
  const problems = [];
  const keyOfNonce = new Map();
  const nonceOfKey = new Map();
  const firstOrder = new Map(); // target → [round, n] of first deliveries
  const seenKeys = new Set();
  let duplicates = 0;
  for (const r of requests) {
    const { nonce, round, n } = r.body ?? {};
    const target = r.path.slice(1);
    if (keyOfNonce.has(nonce) && keyOfNonce.get(nonce) !== r.key)
      problems.push(`message ${nonce} arrived with two keys: ${keyOfNonce.get(nonce)} and ${r.key}`);
    if (nonceOfKey.has(r.key) && nonceOfKey.get(r.key) !== nonce)
      problems.push(`key ${r.key} carried two messages: ${nonceOfKey.get(r.key)} and ${nonce}`);
    keyOfNonce.set(nonce, r.key);
    nonceOfKey.set(r.key, nonce);
    if (seenKeys.has(r.key)) {
      duplicates++;
      continue;
    }
    seenKeys.add(r.key);
    const order = firstOrder.get(target) ?? [];
    const prev = order.at(-1);
    if (prev && (round < prev[0] || (round === prev[0] && n <= prev[1])))
      problems.push(`${target}: ${round}-${n} first arrived after ${prev[0]}-${prev[1]}`);
    order.push([round, n]);
    firstOrder.set(target, order);
  }
  let lost = 0;
  for (const [id, m] of acked) {
    if (!seenKeys.has(id)) {
      lost++;
      if (lost <= 5) problems.push(`acknowledged message ${id} (${m.nonce} to ${m.target}) never arrived`);
    } else if (nonceOfKey.get(id) !== m.nonce)
      problems.push(`key ${id} arrived with ${nonceOfKey.get(id)}, not ${m.nonce}`);
  }
  if (lost > 5) problems.push(`${lost} acknowledged messages never arrived`);
  // Delivered but not acknowledged: committed, killed before the caller heard back. Allowed (at least once).
  const unacked = [...seenKeys].filter((k) => !acked.has(k)).length;
  return { problems, delivered: seenKeys.size, duplicates, unacked, lost };
}
