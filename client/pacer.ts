// The client's side of flood control: what it sends goes out no faster than the server said in
// its welcome it takes (`rate` messages a second, `burst` at once), so that a paste or a piped file
// is never held up, warned or cut off by the server (issue 17, items 11 and 12). No I/O and no
// clock of its own: the caller passes the time.
//
// It keeps below the server's figures, as the server's clock and ours differ and TCP may bring two
// frames at once: a tenth below the rate, and half the burst, the rest being the server's slack.
const RATE_SHARE = 0.9;
const BURST_SHARE = 0.5;
/** Bytes each message's allowance covers on the server (server/flood_gate.ts). */
export const BYTES_PER_MESSAGE = 4096;

export class Pacer {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.#perMs = (ratePerSecond * RATE_SHARE) / 1000;
    this.#burst = Math.max(1, Math.floor(burst * BURST_SHARE));
    this.#tokens = this.#burst;
    this.#updatedAt = now;
  }

  /** Messages a second this pacer sends at, at most, on average. */
  get perSecond(): number {
    return this.#perMs * 1000;
  }

  /** How long until one more message may go; 0 for now. */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.#perMs;
  }

  /** Counts a frame of `bytes` sent at `now`, whether or not it waited its turn. */
  spend(now: number, bytes: number): void {
    this.#refill(now);
    this.#tokens -= Math.max(1, bytes / BYTES_PER_MESSAGE);
  }

  #refill(now: number): void {
    const earned = Math.max(0, now - this.#updatedAt) * this.#perMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + earned);
    this.#updatedAt = now;
  }
}
