// The bytes waiting to be written to one connection, gathered so that whatever is queued between
// two writes goes out as one array, at as little cost per frame as can be.
//
// Frames are never changed once encoded (encodeFrame cuts them from slabs it never reuses), and a
// busy room's frames lie one after another in a slab. So the outbox keeps references, not copies:
// a frame that starts where the last one ended only moves the end of a run. A member who said
// nothing in a turn of the event loop receives one run, written straight from the slab; one who
// spoke receives a run between each of its own messages, copied into one array to be written.
//
// References keep their slabs alive while they wait. So that a member who is slow to read cannot
// hold many slabs for a few bytes of each, an outbox whose references would hold more than
// PINNED_ALLOWANCE bytes of buffers, and more than twice what it has queued, copies what it holds
// into an array of its own, and copies everything after into it too until it is taken. Its arrays
// are lent from a pool that all connections share and go back to it once written, so an idle
// connection holds none.

const PINNED_ALLOWANCE = 512 * 1024; // two slabs
// Past this many runs, one copy is cheaper than keeping them apart.
const MAX_RUNS = 256;

// Arrays come in sizes of powers of two, from the smallest on, and grow by doubling: a member
// sent one notice holds 1 KiB while it waits, not the size of a busy member's write.
const SMALLEST_BYTES = 1024;
// Larger arrays were for one burst, and are left to the garbage collector.
const LARGEST_POOLED_BYTES = 256 * 1024;
// Enough to serve a busy server's writes of one turn of the event loop without allocating; at
// most 8 MiB held in all while nothing is written.
const POOLED_PER_SIZE = 16;
const pools = new Map<number, Uint8Array[]>(); // by size

function lend(bytes: number): Uint8Array {
  let size = SMALLEST_BYTES;
  while (size < bytes) size *= 2;
  return pools.get(size)?.pop() ?? new Uint8Array(size);
}

function giveBack(lent: Uint8Array): void {
  const size = lent.buffer.byteLength;
  if (size < SMALLEST_BYTES || size > LARGEST_POOLED_BYTES) return;
  let pool = pools.get(size);
  if (!pool) pools.set(size, pool = []);
  if (pool.length < POOLED_PER_SIZE) pool.push(new Uint8Array(lent.buffer));
}

// A broadcast appends the same frame to every member's outbox in turn, and on Bun reading a typed
// array's `buffer` is a call into the runtime each time: the latest frame's buffer is kept.
let latestFrame: Uint8Array | null = null;
let latestBuffer: ArrayBufferLike | null = null;

function bufferOf(frame: Uint8Array): ArrayBufferLike {
  if (frame !== latestFrame) {
    latestFrame = frame;
    latestBuffer = frame.buffer;
  }
  return latestBuffer!;
}

export class Outbox {
  #bytes = 0;
  // Referring: the runs closed so far, and the open one: the array #openFirst, extended within
  // #openBuffer (its buffer) up to #openEnd.
  #runs: Uint8Array[] = [];
  #openFirst: Uint8Array | null = null;
  #openBuffer: ArrayBufferLike | null = null;
  #openEnd = 0;
  #lastBuffer: ArrayBufferLike | null = null; // the buffer of the latest run
  #pinned = 0; // bytes of the different buffers that the runs refer to
  // Copying: an array of our own, #ownUsed bytes of it queued; null while referring.
  #own: Uint8Array | null = null;
  #ownUsed = 0;
  // The array of ours that the last `take` handed out, until `release`.
  #inFlight: Uint8Array | null = null;

  /** Bytes queued and not yet taken. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues `bytes`, which must not change afterwards: they may be written as they are. */
  append(bytes: Uint8Array): void {
    const length = bytes.length;
    if (length === 0) return;
    this.#bytes += length;
    if (this.#own !== null) return this.#copy(bytes);
    const buffer = bufferOf(bytes);
    if (buffer === this.#openBuffer && bytes.byteOffset === this.#openEnd) {
      this.#openEnd += length;
      return;
    }
    if (this.#openBuffer !== null) this.#closeRun();
    if (buffer !== this.#lastBuffer) this.#pinned += buffer.byteLength;
    this.#lastBuffer = buffer;
    const pinnedTooMuch = this.#pinned > PINNED_ALLOWANCE && this.#pinned > 2 * this.#bytes;
    if (pinnedTooMuch || this.#runs.length >= MAX_RUNS) {
      this.#startCopying();
      return this.#copy(bytes);
    }
    this.#openFirst = bytes;
    this.#openBuffer = buffer;
    this.#openEnd = bytes.byteOffset + length;
  }

  /**
   * Everything queued, as one array, and the outbox starts again empty. The array is valid until
   * `release`, which the caller must call once it is written (the runtime reads it until then).
   */
  take(): Uint8Array {
    let taken: Uint8Array;
    if (this.#own !== null) {
      taken = this.#own.subarray(0, this.#ownUsed);
      this.#inFlight = this.#own;
    } else if (this.#runs.length === 0) {
      taken = this.#openBuffer === null ? new Uint8Array(0) : this.#openRun();
    } else {
      this.#closeRun();
      const own = lend(this.#bytes);
      let at = 0;
      for (const run of this.#runs) {
        own.set(run, at);
        at += run.length;
      }
      taken = own.subarray(0, at);
      this.#inFlight = own;
    }
    this.#reset();
    return taken;
  }

  /**
   * Everything queued, as the arrays it was queued in: runs of frames still in their slabs, or the
   * outbox's own copy. For a connection that cuts them into frames again, this saves joining
   * them. The outbox starts again empty, and `release` is called as after `take`.
   */
  takeParts(): Uint8Array[] {
    if (this.#own !== null || this.#runs.length === 0) return [this.take()];
    this.#closeRun();
    const parts = this.#runs;
    this.#runs = [];
    this.#reset();
    return parts;
  }

  /** The array that `take` gave is written: its memory, if ours, may be lent again. */
  release(): void {
    if (this.#inFlight) giveBack(this.#inFlight);
    this.#inFlight = null;
  }

  /** Drops everything queued. */
  clear(): void {
    if (this.#own) giveBack(this.#own);
    this.#reset();
  }

  #reset(): void {
    this.#bytes = 0;
    this.#runs.length = 0;
    this.#openBuffer = null;
    this.#openFirst = null;
    this.#lastBuffer = null;
    this.#pinned = 0;
    this.#own = null;
    this.#ownUsed = 0;
  }

  #openRun(): Uint8Array {
    const first = this.#openFirst!;
    const length = this.#openEnd - first.byteOffset;
    // A run of one frame is that frame: no new view of it for each member it goes to.
    if (length === first.length) return first;
    return new Uint8Array(first.buffer, first.byteOffset, length);
  }

  #closeRun(): void {
    this.#runs.push(this.#openRun());
    this.#openBuffer = null;
  }

  // From now until `take`, everything queued is copied into an array of our own.
  #startCopying(): void {
    const runs = this.#runs;
    this.#runs = [];
    this.#openBuffer = null;
    this.#lastBuffer = null;
    this.#pinned = 0;
    this.#own = lend(this.#bytes);
    this.#ownUsed = 0;
    for (const run of runs) this.#copy(run);
  }

  #copy(bytes: Uint8Array): void {
    let own = this.#own!;
    const needed = this.#ownUsed + bytes.length;
    if (needed > own.length) {
      const larger = lend(needed);
      larger.set(own.subarray(0, this.#ownUsed));
      giveBack(own);
      own = this.#own = larger;
    }
    own.set(bytes, this.#ownUsed);
    this.#ownUsed = needed;
  }
}
