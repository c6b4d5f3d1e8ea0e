// Flood control, after IRC's "fakelag": a member may send a burst, then a sustained rate. Past
// that its input is not dropped but made to wait, and while it waits Parley reads only a little
// more from it (enough to see its backlog: session.ts), so TCP slows the sender down and nobody
// else notices. A member whose backlog still grows gets a warning, and past a hard bound is
// disconnected. No I/O and no clock of its own:
// the caller passes the time, so tests can drive it without waiting.

export interface FloodLimits {
  /** Inputs per second allowed on average; 0 turns flood control off. */
  ratePerSecond: number;
  /** Inputs allowed at once before the rate applies. */
  burst: number;
  /** Backlog, in ms of waiting, past which the member is warned once. */
  warnAfterMs: number;
  /** Backlog, in ms of waiting, past which the member is disconnected. */
  disconnectAfterMs: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  ratePerSecond: 10,
  burst: 20,
  warnAfterMs: 5_000,
  disconnectAfterMs: 30_000,
};

/** What to do with one input: handle it after `delayMs`, and maybe warn, or disconnect now. */
export type FloodVerdict =
  | { action: "go"; delayMs: number; warn: boolean }
  | { action: "disconnect" };

/**
 * The most that work charged after the fact (owe) can put a member behind: enough to price a
 * large history reply, short of the flood warning, so that a client catching up after a long
 * absence is slowed but never warned or disconnected for it.
 */
export const MAX_WORK_DEBT_MS = 2_000;

// The common verdict, shared: an input goes at once.
const GO: FloodVerdict = Object.freeze({ action: "go", delayMs: 0, warn: false });

export class FloodGate {
  #tokens: number;
  #updatedAt: number;
  #warned = false;

  constructor(readonly limits: FloodLimits, now: number) {
    this.#tokens = limits.burst;
    this.#updatedAt = now;
  }

  /**
   * Charges `inputs` more for work an input turned out to cost (a history reply's messages): the
   * member's next inputs wait for it, but never more than MAX_WORK_DEBT_MS on its account.
   */
  owe(inputs: number): void {
    const floor = -(this.limits.ratePerSecond * MAX_WORK_DEBT_MS) / 1000;
    this.#tokens = Math.max(this.#tokens - inputs, Math.min(this.#tokens, floor));
  }

  /** Charges one input arriving at `now` (ms). */
  admit(now: number): FloodVerdict {
    const { ratePerSecond, burst, warnAfterMs, disconnectAfterMs } = this.limits;
    if (ratePerSecond <= 0) return GO;
    const earned = (Math.max(0, now - this.#updatedAt) * ratePerSecond) / 1000;
    this.#tokens = Math.min(burst, this.#tokens + earned) - 1;
    this.#updatedAt = now;
    if (this.#tokens >= 0) {
      this.#warned = false;
      return GO;
    }
    // In debt: this input may go once the debt is earned back.
    const delayMs = (-this.#tokens * 1000) / ratePerSecond;
    if (delayMs > disconnectAfterMs) return { action: "disconnect" };
    const warn = delayMs > warnAfterMs && !this.#warned;
    if (warn) this.#warned = true;
    return { action: "go", delayMs, warn };
  }
}
