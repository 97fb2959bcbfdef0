/**
 * The delivery ids seen most recently, at most `size`: GitHub retries and replays carry the id of the original
 * delivery (X-GitHub-Delivery), so a second sight of one is a replay.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  constructor(private readonly size: number) {}

  /** True the first time an id is seen (and remembers it), false for a repeat. */
  first(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.#ids.size > this.size) this.#ids.delete(this.#ids.values().next().value as string);
    return true;
  }
}
