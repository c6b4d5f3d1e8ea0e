// How a session's loop waits (session.ts): for its one read in flight, a timer, or a wake-up,
// whichever comes first. A member's read, and the wait for it, last until the member's next input:
// for most of the session. Things that live that long are copied by every young-generation
// collection, so their callbacks are made once per session rather than for each read and wait.

// Input handled before the loop lets the event loop turn, whatever the flags. A read of a socket
// that always has data can settle without a turn, and would otherwise hold up every timer, write
// and other member for as long as the data lasts. Checked once per read, so a turn handles at most
// this much and one read more; one timer per turn is all it costs.
export const TURN_BYTES = 64 * 1024;

/** A read in flight; `done` once `chunk` holds its result. */
export interface Read {
  done: boolean;
  chunk: Uint8Array | null;
  promise: Promise<Uint8Array | null>;
}

export class ReadWait {
  #reading: Read | null = null; // the read in flight, if any: one at a time
  #endSleep: (() => void) | null = null; // set while waiting; see wake
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Input counted since a timer last fired: since the event loop last turned for this wait. */
  turnBytes = 0;

  /** Follows `promise` as the read in flight; its settling ends the wait. */
  start(promise: Promise<Uint8Array | null>): Read {
    const read: Read = { done: false, chunk: null, promise };
    this.#reading = read;
    promise.then(this.#settled, this.#failed);
    return read;
  }

  #settled = (chunk: Uint8Array | null): void => {
    const read = this.#reading!;
    read.done = true;
    read.chunk = chunk;
    this.wake();
  };

  #failed = (): void => this.#settled(null);

  /** Waits `ms` (for ever if undefined), or until the read is in or `wake` is called. */
  sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.#endSleep = resolve;
      this.#timer = ms === undefined ? undefined : setTimeout(this.#timerFired, Math.max(0, ms));
    });
  }

  // A timer runs only once the event loop has turned: whatever waited for that has had its turn.
  #timerFired = (): void => {
    this.turnBytes = 0;
    this.wake();
  };

  /** Ends the wait, if there is one. */
  wake = (): void => {
    const endSleep = this.#endSleep;
    if (!endSleep) return;
    this.#endSleep = null;
    clearTimeout(this.#timer);
    endSleep();
  };
}
