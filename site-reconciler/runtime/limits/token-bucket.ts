/**
 * A token bucket: `ratePerSec` tokens a second, at most `burst` saved up. take(n) spends n tokens when there are
 * enough and says whether it did; a caller over its rate is refused at once, so a loop cannot outrun it.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  take(n = 1): boolean {
    const t = this.now();
    if (t > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#at) * this.ratePerSec) / 1000);
      this.#at = t;
    }
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
