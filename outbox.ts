// The bytes waiting to be written to one connection. Frames are copied in as they are queued, so
// that whatever is queued between two writes goes out as one array, with no allocation per frame
// and none per write: the arrays are lent from a pool that all connections share, and go back to
// it once written, so an idle connection holds none.

// Arrays come in sizes of powers of two, from the smallest on, and grow by doubling: a member
// sent one notice holds 1 KiB while it waits, not the size of a busy member's write.
const SMALLEST_BYTES = 1024;
// Larger arrays were for one burst, and are left to the garbage collector.
const LARGEST_POOLED_BYTES = 64 * 1024;
// Enough to serve a busy server's writes of one turn of the event loop without allocating; at
// most 4 MiB held in all while nothing is written.
const POOLED_PER_SIZE = 32;
const pools = new Map<number, Uint8Array[]>(); // by size

function lend(bytes: number): Uint8Array {
  let size = SMALLEST_BYTES;
  while (size < bytes) size *= 2;
  return pools.get(size)?.pop() ?? new Uint8Array(size);
}

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
    let buffer = this.#buffer ??= lend(needed);
    if (needed > buffer.length) {
      const larger = lend(needed);
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
  const size = taken.buffer.byteLength;
  if (size < SMALLEST_BYTES || size > LARGEST_POOLED_BYTES) return;
  let pool = pools.get(size);
  if (!pool) pools.set(size, pool = []);
  if (pool.length < POOLED_PER_SIZE) pool.push(new Uint8Array(taken.buffer));
}
