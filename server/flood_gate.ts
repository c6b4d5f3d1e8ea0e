// Flood control, after IRC's "fakelag": a member may send a burst, then a sustained rate. Past
// that its input is not dropped but made to wait, and while it waits Parley reads only a little
// more from it (enough to see its backlog: session.ts), so TCP slows the sender down and nobody
// else notices. A member whose backlog still grows gets a warning, and past a hard bound is
// disconnected. No I/O and no clock of its own:
// the caller passes the time, so tests can drive it without waiting.
//
// Every byte is paid for, not only the bytes that form a message: input is charged by messages and
// by bytes, in two buckets that fill at the same pace (as IRC's fakelag charges by line length and
// InspIRCd bounds its recvq), and waits for whichever is further behind. A blank line, an empty
// legacy frame or an over-long line counts as a message; telnet commands and the discarded rest of
// an over-long line count by their bytes. So a member who sends what is never a message is slowed
// like one who chats too fast, and the work its input costs the server is bounded.
export interface FloodLimits {
  /** Inputs per second allowed on average; 0 turns flood control off. */
  ratePerSecond: number;
  /** Inputs allowed at once before the rate applies. */
  burst: number;
  /**
   * Bytes each message's allowance covers: a member may send up to `ratePerSecond` times this many
   * bytes a second on average, and `burst` times this many at once, whatever they hold.
   */
  bytesPerMessage: number;
  /** Backlog, in ms of waiting, past which the member is warned once. */
  warnAfterMs: number;
  /** Backlog, in ms of waiting, past which the member is disconnected. */
  disconnectAfterMs: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  ratePerSecond: 10,
  burst: 20,
  bytesPerMessage: 4096,
  warnAfterMs: 5_000,
  disconnectAfterMs: 30_000,
};

/** Handle the input after `delayMs`, and maybe warn. */
export type FloodGo = { action: "go"; delayMs: number; warn: boolean };

/** What to do with one input: let it go (in time), or disconnect now. */
export type FloodVerdict = FloodGo | { action: "disconnect" };

/**
 * The most that work charged after the fact (owe) can put a member behind: enough to price a
 * large history reply, short of the flood warning, so that a client catching up after a long
 * absence is slowed but never warned or disconnected for it.
 */
export const MAX_WORK_DEBT_MS = 2_000;

// The common verdict, shared: an input goes at once.
const GO: FloodVerdict = Object.freeze({ action: "go", delayMs: 0, warn: false });

export class FloodGate {
  #tokens: number; // messages that may come now; below zero, the debt
  #byteTokens: number; // the same for bytes, counted in messages' allowances of bytesPerMessage
  #updatedAt: number;
  #warned = false;

  constructor(readonly limits: FloodLimits, now: number) {
    this.#tokens = limits.burst;
    this.#byteTokens = limits.burst;
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

  /** Charges `messages` inputs and `bytes` bytes arriving at `now` (ms): by default, one input. */
  admit(now: number, messages = 1, bytes = 0): FloodVerdict {
    const { ratePerSecond, burst, bytesPerMessage, warnAfterMs, disconnectAfterMs } = this.limits;
    if (ratePerSecond <= 0) return GO;
    const earned = (Math.max(0, now - this.#updatedAt) * ratePerSecond) / 1000;
    this.#tokens = Math.min(burst, this.#tokens + earned) - messages;
    this.#byteTokens = Math.min(burst, this.#byteTokens + earned) - bytes / bytesPerMessage;
    this.#updatedAt = now;
    const tokens = Math.min(this.#tokens, this.#byteTokens);
    if (tokens >= 0) {
      this.#warned = false;
      return GO;
    }
    // In debt: this input may go once the debt is earned back.
    const delayMs = (-tokens * 1000) / ratePerSecond;
    if (delayMs > disconnectAfterMs) return { action: "disconnect" };
    const warn = delayMs > warnAfterMs && !this.#warned;
    if (warn) this.#warned = true;
    return { action: "go", delayMs, warn };
  }
}
