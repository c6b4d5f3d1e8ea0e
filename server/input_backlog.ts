// Input that has been read but waits for its turn under flood control, in order (session.ts): at
// most what one read brought, since nothing more is read while any of it waits. No I/O.
import type { ProtocolError } from "../protocol.ts";
import type { Input } from "./wire.ts";

export class InputBacklog {
  #held: Array<Input | ProtocolError> = [];
  #head = 0; // entries before it are taken: taking one is O(1), whatever the length

  get empty(): boolean {
    return this.#head === this.#held.length;
  }

  /** The next entry, left in place. */
  get next(): Input | ProtocolError | undefined {
    return this.#held[this.#head];
  }

  hold(input: Input | ProtocolError): void {
    this.#held.push(input);
  }

  /** Takes out the next entry. */
  take(): Input | ProtocolError | undefined {
    const held = this.#held[this.#head];
    if (held !== undefined && ++this.#head === this.#held.length) this.clear();
    return held;
  }

  clear(): void {
    this.#held = [];
    this.#head = 0;
  }
}
