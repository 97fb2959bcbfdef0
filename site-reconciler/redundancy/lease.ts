/**
 * The witness's lease rule, pure (the witness keeps the rows in SQLite; the election tests run it in memory).
 * One lease per site: its holder, its epoch (the fencing token) and when it expires on the witness's clock.
 */
export interface LeaseRow {
  holder: string | null;
  epoch: number;
  /** Witness clock, ms. */
  expiresAt: number;
  ttlMs: number;
}

/**
 * acquire: a node that is not active asks to become it (it sends the highest epoch it has seen). renew: the active
 * keeps the lease of its epoch.
 */
export interface LeaseRequest {
  node: string;
  epoch: number;
  ttlMs: number;
  mode: "acquire" | "renew";
}

export interface LeaseAnswer {
  granted: boolean;
  /** Who holds the lease now (null: nobody, it has expired). */
  holder: string | null;
  epoch: number;
  /** Witness clock, ms. */
  expiresAt: number;
}

export function leaseHeld(row: LeaseRow | undefined, now: number): row is LeaseRow & { holder: string } {
  return !!row && row.holder !== null && row.expiresAt > now;
}

/**
 * What the witness answers and stores. A renewal extends only the holder's own lease of the same epoch, and only
 * while it has not expired (once expired, the holder has stopped acting: it counts from when it sent). An
 * acquisition is granted when nobody else holds an unexpired lease, with a new epoch above both the stored and the
 * asked one, so epochs only grow. The holder asking again (it restarted, or stepped down) gets a new epoch too.
 */
export function decideLease(
  row: LeaseRow | undefined,
  req: LeaseRequest,
  now: number,
): { row: LeaseRow | undefined; answer: LeaseAnswer } {
  const stored = row?.epoch ?? 0;
  const held = leaseHeld(row, now);
  const refuse = () => ({
    row,
    answer: { granted: false, holder: held ? row.holder : null, epoch: stored, expiresAt: row?.expiresAt ?? 0 },
  });
  if (req.mode === "renew") {
    if (!held || row.holder !== req.node || row.epoch !== req.epoch) return refuse();
    const next = { ...row, expiresAt: now + req.ttlMs, ttlMs: req.ttlMs };
    return { row: next, answer: { granted: true, holder: req.node, epoch: next.epoch, expiresAt: next.expiresAt } };
  }
  if (held && row.holder !== req.node) return refuse();
  const next: LeaseRow = {
    holder: req.node,
    epoch: Math.max(stored, req.epoch) + 1,
    expiresAt: now + req.ttlMs,
    ttlMs: req.ttlMs,
  };
  return { row: next, answer: { granted: true, holder: req.node, epoch: next.epoch, expiresAt: next.expiresAt } };
}
