// Flood control, after IRC's "fakelag": a member may send a burst, then a sustained rate. Past
// that its input is not dropped but made to wait its turn, and while it waits nothing more is read
// from it (session.ts), so TCP holds the rest and slows the sender down, and nobody else notices.
// A paste of hundreds of lines is thus delivered whole, in order, at the rate (issue 17, item 11).
// No I/O and no clock of its own: the caller passes the time, so tests can drive it without waiting.
//
// Every byte is paid for, not only the bytes that form a message: input is charged by messages and
// by bytes, in two buckets that fill at the same pace (as IRC's fakelag charges by line length and
// InspIRCd bounds its recvq), and waits for whichever is further behind. A message is charged when
// its turn comes; what forms no message (a blank line, an empty legacy frame, an over-long line,
// telnet commands) and the bytes of each read are charged as they arrive, since nothing else holds
// them back. So a member who sends what is never a message is slowed like one who chats too fast.
//
// Two rules disconnect, and a person pasting a log meets neither: what is charged on arrival may put
// a member at most `maxDebtMs` behind (300 blank lines at once, at the default rate: no log is
// mostly blank lines), and a member may be behind, without a break, for at most `floodTimeoutMs`
// (ten minutes: a paste of 6,000 lines at the default rate). A break is having half its burst, and
// one message more, unused. Being behind costs the server nothing past the rate, since nothing more is read,
// so the second rule only ends a flood that never stops.
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
  /** Time behind past which the member is warned, once for each time it falls behind. */
  warnAfterMs: number;
  /** Debt charged on arrival (bytes, inputs that form no message) past which it is disconnected. */
  maxDebtMs: number;
  /** Time behind, without a break, past which the member is disconnected. */
  floodTimeoutMs: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  ratePerSecond: 10,
  burst: 20,
  bytesPerMessage: 4096,
  warnAfterMs: 5_000,
  maxDebtMs: 30_000,
  floodTimeoutMs: 600_000,
};

/**
 * What to do now: go on; wait `ms` first (with a warning to give, the first time the member has
 * been behind for long); or disconnect the member.
 */
export type FloodVerdict =
  | { action: "go" }
  | { action: "wait"; ms: number; warn: boolean }
  | { action: "disconnect" };

/**
 * The most that work charged after the fact (owe) can put a member behind: enough to price a
 * large history reply, short of the flood warning, so that a client catching up after a long
 * absence is slowed but never warned or disconnected for it.
 */
export const MAX_WORK_DEBT_MS = 2_000;

// The common verdict, shared.
const GO: FloodVerdict = Object.freeze({ action: "go" });
const DISCONNECT: FloodVerdict = Object.freeze({ action: "disconnect" });

export class FloodGate {
  #tokens: number; // messages that may come now; below zero, the debt
  #byteTokens: number; // the same for bytes, counted in messages' allowances of bytesPerMessage
  #updatedAt: number;
  #owed = 0; // of the debt, what work charged after the fact (owe) and not yet earned back
  #behindSince: number | null = null; // since when input has waited, with no break
  #warned = false;

  constructor(readonly limits: FloodLimits, now: number) {
    this.#tokens = limits.burst;
    this.#byteTokens = limits.burst;
    this.#updatedAt = now;
  }

  /** Whether flood control is on at all. */
  get on(): boolean {
    return this.limits.ratePerSecond > 0;
  }

  /**
   * Charges `inputs` more for work an input turned out to cost (a history reply's messages): the
   * member's next inputs wait for it, but never more than MAX_WORK_DEBT_MS on its account.
   */
  owe(inputs: number): void {
    if (!this.on) return;
    const floor = -(this.limits.ratePerSecond * MAX_WORK_DEBT_MS) / 1000;
    const before = this.#tokens;
    this.#tokens = Math.max(this.#tokens - inputs, Math.min(this.#tokens, floor));
    this.#owed += before - this.#tokens;
  }

  /**
   * Charges a read's `bytes`, and the `messages` in it that form no message, as they arrive at
   * `now` (ms). The verdict says how long reading must now wait.
   */
  arrived(now: number, messages: number, bytes: number): FloodVerdict {
    if (!this.on) return GO;
    this.#refill(now);
    this.#tokens -= messages;
    this.#byteTokens -= bytes / this.limits.bytesPerMessage;
    const debtMs = this.#debtMs(0);
    if (debtMs > this.limits.maxDebtMs) return DISCONNECT;
    return this.#verdict(now, debtMs);
  }

  /** One message whose turn has come: it goes now (and is charged), or must wait. */
  take(now: number): FloodVerdict {
    if (!this.on) return GO;
    this.#refill(now);
    const waitMs = this.#debtMs(1);
    if (waitMs > 0) return this.#verdict(now, waitMs);
    this.#tokens -= 1;
    return GO;
  }

  /** Whether more may be read now: go, or wait until the member's debt is paid. */
  mayRead(now: number): FloodVerdict {
    if (!this.on) return GO;
    this.#refill(now);
    return this.#verdict(now, this.#debtMs(0));
  }

  // How long until the message bucket holds `messages` and the byte bucket is out of debt.
  #debtMs(messages: number): number {
    const short = Math.max(messages - this.#tokens, -this.#byteTokens);
    return short > 0 ? (short * 1000) / this.limits.ratePerSecond : 0;
  }

  // Earns what the time since the last charge brings, up to the burst. A member that has had half
  // its burst and a message more to spare (before the cap) has had a break: it is no longer behind.
  #refill(now: number): void {
    const { ratePerSecond, burst } = this.limits;
    const earned = (Math.max(0, now - this.#updatedAt) * ratePerSecond) / 1000;
    this.#owed = Math.max(0, this.#owed - earned);
    if (Math.min(this.#tokens, this.#byteTokens) + earned >= burst / 2 + 1) {
      this.#behindSince = null;
      this.#warned = false;
    }
    this.#tokens = Math.min(burst, this.#tokens + earned);
    this.#byteTokens = Math.min(burst, this.#byteTokens + earned);
    this.#updatedAt = now;
  }

  // The verdict on a wait of `waitMs`. While work charged after the fact (a history reply's) is
  // being paid for, which earned allowance pays first, waiting is no sign of flooding: the member
  // is slowed, and not counted behind.
  #verdict(now: number, waitMs: number): FloodVerdict {
    if (waitMs <= 0) return GO;
    if (this.#owed > 0 && this.#byteTokens >= 0) return { action: "wait", ms: waitMs, warn: false };
    this.#behindSince ??= now;
    const behindMs = now - this.#behindSince;
    if (behindMs > this.limits.floodTimeoutMs) return DISCONNECT;
    const warn = !this.#warned && behindMs + waitMs > this.limits.warnAfterMs;
    if (warn) this.#warned = true;
    return { action: "wait", ms: waitMs, warn };
  }
}
