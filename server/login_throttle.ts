// How often a password may be tried: a few attempts a minute for each account and for each
// address, as Ergo allows, so that guessing a password over the network takes years. No I/O.

export const LOGIN_ATTEMPTS = 3;
export const LOGIN_WINDOW_MS = 60_000;
// Keys remembered at most; past it the oldest are forgotten (a flood of addresses cannot fill
// memory, and forgetting only lets a key try again sooner).
const MAX_KEYS = 100_000;

/** Attempts per key ("account:NICK", "address:HOST") in a sliding window. */
export class LoginThrottle {
  #attempts = new Map<string, number[]>();

  constructor(readonly attempts = LOGIN_ATTEMPTS, readonly windowMs = LOGIN_WINDOW_MS) {}

  /**
   * Counts an attempt against every one of `keys` at `now` and returns 0, or, when any of them has
   * had its attempts within the window already, counts nothing and returns the milliseconds until
   * it may try again.
   */
  attempt(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const key of keys) {
      const recent = this.#recent(key, now);
      if (recent.length >= this.attempts) {
        wait = Math.max(wait, recent[0] + this.windowMs - now);
      }
    }
    if (wait > 0) return wait;
    for (const key of keys) {
      const recent = this.#recent(key, now);
      recent.push(now);
      this.#attempts.delete(key); // kept in the order last tried, for forgetting the oldest
      this.#attempts.set(key, recent);
    }
    while (this.#attempts.size > MAX_KEYS) {
      this.#attempts.delete(this.#attempts.keys().next().value!);
    }
    return 0;
  }

  /** Takes back the last attempt of each of `keys`: it succeeded, and costs nothing. */
  forgive(keys: readonly string[]): void {
    for (const key of keys) {
      const recent = this.#attempts.get(key);
      recent?.pop();
      if (recent?.length === 0) this.#attempts.delete(key);
    }
  }

  #recent(key: string, now: number): number[] {
    const recent = (this.#attempts.get(key) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length === 0) this.#attempts.delete(key);
    else this.#attempts.set(key, recent);
    return recent;
  }
}
