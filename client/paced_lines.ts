// Lines the user typed, pasted or piped in, on their way out at the pace the server takes them
// (pacer.ts): each goes at once while the pace allows, else waits its turn, in order. The client
// shows how many wait, and pauses a pipe while many do. Timers are its only I/O.
import { Pacer } from "./pacer.ts";

// Lines waiting past which a pipe is paused: a few seconds' worth at any usual rate.
const FULL_LINES = 100;

export interface PacedLinesEvents {
  /** A line's turn has come: send it (or act on it). */
  go(line: string): void;
  /** The number of lines waiting changed. */
  changed(): void;
}

export class PacedLines {
  readonly #events: PacedLinesEvents;
  readonly #clock: () => number;
  #pacer: Pacer | null = null; // none while the server has no flood control
  #lines: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(events: PacedLinesEvents, clock = () => performance.now()) {
    this.#events = events;
    this.#clock = clock;
  }

  /** Lines waiting their turn. */
  get waiting(): number {
    return this.#lines.length;
  }

  /** Whether so many lines wait that input should pause. */
  get full(): boolean {
    return this.#lines.length >= FULL_LINES;
  }

  /** What to show while lines wait: "sending 37 more lines at 9 a second...", or null. */
  get status(): string | null {
    const waiting = this.#lines.length;
    if (waiting === 0) return null;
    const pace = this.#pacer ? ` at ${Math.floor(this.#pacer.perSecond * 10) / 10} a second` : "";
    return `sending ${waiting} more line${waiting === 1 ? "" : "s"}${pace}...`;
  }

  /** The server's flood control, from its welcome: a new connection starts a new allowance. */
  paceTo(rate: unknown, burst: unknown): void {
    const valid = (n: unknown): n is number => typeof n === "number" && n > 0 && n < Infinity;
    this.#pacer = valid(rate) && valid(burst) ? new Pacer(rate, burst, this.#clock()) : null;
  }

  /** Sends `line` now if it may go, or puts it in line. */
  push(line: string): void {
    if (this.#lines.length === 0 && (this.#pacer?.waitMs(this.#clock()) ?? 0) === 0) {
      return this.#events.go(line);
    }
    this.#lines.push(line);
    this.#pump();
  }

  /** Counts a frame of `bytes` that went out, a line's or not. */
  spent(bytes: number): void {
    this.#pacer?.spend(this.#clock(), bytes);
  }

  /** Takes every waiting line out, in order (the connection is lost: they wait for the next). */
  takeAll(): string[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const lines = this.#lines;
    this.#lines = [];
    if (lines.length > 0) this.#events.changed();
    return lines;
  }

  #pump = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#lines.length > 0) {
      const waitMs = this.#pacer?.waitMs(this.#clock()) ?? 0;
      if (waitMs > 0) {
        this.#timer = setTimeout(this.#pump, waitMs);
        break;
      }
      this.#events.go(this.#lines.shift()!); // which may take the rest out (leaving, say)
    }
    this.#events.changed();
  };
}
