// Input that flood control has charged and holds until its turn, in order (session.ts). No I/O.
import type { ProtocolError } from "../protocol.ts";
import type { Input } from "./wire.ts";

/**
 * One entry, due at `releaseAt` (clock ms): an input, or, with `input` null, bytes that formed
 * none and whose debt is paid then. `bytes` are the read bytes it lets go of once taken.
 */
export interface Held {
  readonly input: Input | ProtocolError | null;
  readonly releaseAt: number;
  readonly bytes: number;
}

export class InputBacklog {
  #held: Held[] = [];
  #head = 0; // entries before it are taken: taking one is O(1), whatever the length
  #bytes = 0;

  get empty(): boolean {
    return this.#head === this.#held.length;
  }

  /** Read bytes held: the measure of how far ahead of its turn a member has been read. */
  get bytes(): number {
    return this.#bytes;
  }

  /** When the next entry is due, if there is one. */
  get nextAt(): number | undefined {
    return this.#held[this.#head]?.releaseAt;
  }

  hold(input: Input | ProtocolError | null, releaseAt: number, bytes: number): void {
    this.#held.push({ input, releaseAt, bytes });
    this.#bytes += bytes;
  }

  /** Takes out the next entry if it is due by `now`. */
  takeDue(now: number): Held | undefined {
    const held = this.#held[this.#head];
    if (held === undefined || held.releaseAt > now) return undefined;
    this.#bytes -= held.bytes;
    if (++this.#head === this.#held.length) this.clear();
    return held;
  }

  clear(): void {
    this.#held = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
