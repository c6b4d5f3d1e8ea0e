// The bytes waiting to be written to one connection. Frames are copied in as they are queued, so
// that whatever is queued between two writes goes out as one array, with no allocation per frame
// and none per write: the arrays are lent from a pool that all connections share, and go back to
// it once written, so an idle connection holds none.

const BUFFER_BYTES = 64 * 1024;
// Enough to serve a busy server's writes of one turn of the event loop without allocating; at
// most 4 MiB held while nothing is written.
const POOL_SIZE = 64;
const pool: Uint8Array[] = [];

export class Outbox {
  #buffer: Uint8Array | null = null;
  #used = 0;

  /** Bytes queued and not yet taken. */
  get bytes(): number {
    return this.#used;
  }

  /** Queues a copy of `bytes`: the caller may reuse them. */
  append(bytes: Uint8Array): void {
    const needed = this.#used + bytes.length;
    let buffer = this.#buffer ??= pool.pop() ?? new Uint8Array(BUFFER_BYTES);
    if (needed > buffer.length) {
      const larger = new Uint8Array(Math.max(needed, buffer.length * 2));
      larger.set(buffer.subarray(0, this.#used));
      giveBack(buffer);
      buffer = this.#buffer = larger;
    }
    buffer.set(bytes, this.#used);
    this.#used = needed;
  }

  /**
   * Everything queued, as one array, and the outbox starts again empty. Once the array is written
   * (and only then: the runtime reads it until its write is done), `giveBack` lends it again.
   */
  take(): Uint8Array {
    const taken = (this.#buffer ?? new Uint8Array(0)).subarray(0, this.#used);
    this.#buffer = null;
    this.#used = 0;
    return taken;
  }

  /** Drops everything queued. */
  clear(): void {
    if (this.#buffer) giveBack(this.#buffer);
    this.#buffer = null;
    this.#used = 0;
  }
}

/** Returns an array that `take` gave, once it is written, so another connection can use it. */
export function giveBack(taken: Uint8Array): void {
  // Arrays grown past the usual size were for one burst: they are left to the garbage collector.
  if (taken.buffer.byteLength === BUFFER_BYTES && pool.length < POOL_SIZE) {
    pool.push(new Uint8Array(taken.buffer));
  }
}
