// One connection's outgoing bytes: everything sent to a member waits here until the connection
// takes it, so that nobody who sends ever waits for a slow reader.
import type { Connection } from "../runtime.ts";
import { Outbox } from "./outbox.ts";

/** How much may wait for one member, and for how long. */
export interface SendQueueLimits {
  /** Bytes that may wait (queued or being written): one more and the member is dropped at once. */
  capBytes: number;
  /**
   * Bytes that may wait for up to `graceMs` (default 0): above them for longer, the member is
   * dropped. Taken as the cap where it is more.
   */
  softBytes: number;
  graceMs?: number;
}

/** What a SendQueue tells its owner. Made once per queue: the queue keeps it for its life. */
export interface SendQueueEvents {
  /**
   * The member fell too far behind (`why` says how, for the member to read). The queue has
   * dropped what it held and takes nothing more; the owner closes it, with a final error if it
   * has one (`close(last)`).
   */
  overflow(why: string): void;
  /** A write failed: the queue has dropped what it held, takes nothing more, and closes the connection. */
  failed(): void;
}

/**
 * The most bytes handed to the runtime in one write, unless a single frame is larger. What is
 * queued is cut into writes only where one `send` ended, so a member who is dropped loses whole
 * frames, and its final error waits behind at most this much.
 */
export const MAX_WRITE_BYTES = 256 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * How long a closing connection whose peer does not read is kept past the flush, for the peer to
 * take the rest of the write in flight (at most MAX_WRITE_BYTES, or one frame) and the final error.
 */
export const LINGER_MS = 30_000;
// Outboxes kept for reuse by a queue once a burst is written: more would be held for nothing.
const SPARE_OUTBOXES = 2;

// Queues with bytes waiting and no write in flight. They are written out together once the
// current turn of the event loop is over, so that everything queued for a member in that turn
// goes out in one write.
const waitingToWrite: SendQueue[] = [];

function writeWaitingQueues(): void {
  const queues = waitingToWrite.splice(0);
  for (const queue of queues) queue.writeQueued();
}

/**
 * The bytes on their way to one connection.
 *
 * `send` never blocks, never reorders and never throws: it appends, and the bytes go out in the
 * order sent, one write in flight at a time. What one turn of the event loop queues goes out in
 * one write once the turn is over, or as soon as a write's worth (MAX_WRITE_BYTES) waits. Every
 * `send` is counted against the limits, whether a write is in flight or not, so what waits for a
 * member never passes its cap. A reader too slow for them loses only its own connection: past the
 * cap, or above the soft limit for longer than the grace, the queue drops what waits (whole frames:
 * the write in flight is finished) and tells its owner, who closes it, with a final error where
 * it can. Closing delivers what waits, half-closes and waits for the peer's end, all within a
 * deadline, then closes.
 */
export class SendQueue {
  #conn: Connection;
  #limits: Required<SendQueueLimits>;
  #events: SendQueueEvents;
  // Not yet handed to the runtime, in order; bytes are appended to the last outbox, and each holds
  // at most one write's worth (one frame may be more).
  #outboxes: Outbox[] = [new Outbox()];
  #spare: Outbox[] = [];
  #writingFrom: Outbox | null = null; // the outbox the write in flight was taken from
  #queuedBytes = 0; // in #outboxes
  #inFlightBytes = 0;
  #scheduled = false;
  #writing = false; // a write is in flight: the runtime has bytes the peer has not yet taken
  #accepting = true; // false once overflowed, failed or closing
  #failed = false;
  #overSoft = false; // above the soft limit since the grace timer was set
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: PromiseWithResolvers<void> | null = null; // made when close waits for the writes
  #lingerCut: PromiseWithResolvers<boolean> | null = null; // made when close lingers
  #noLinger = false;
  #closed: Promise<void> | null = null;

  constructor(conn: Connection, limits: SendQueueLimits, events: SendQueueEvents) {
    this.#conn = conn;
    const { capBytes, softBytes, graceMs = 0 } = limits;
    // A grace longer than a timer can wait (some 24 days) is no limit at all.
    const soft = graceMs > MAX_TIMER_MS ? capBytes : Math.min(softBytes, capBytes);
    this.#limits = { capBytes, softBytes: soft, graceMs };
    this.#events = events;
  }

  /** Bytes that may wait for as long as the member likes. */
  get softBytes(): number {
    return this.#limits.softBytes;
  }

  send(bytes: Uint8Array): void {
    if (!this.#accepting) return;
    const waiting = this.#queuedBytes + this.#inFlightBytes + bytes.length;
    if (waiting > this.#limits.capBytes) {
      // What is queued would never be read in time: drop it, and let the owner say why.
      return this.#overflow(`over ${this.#limits.capBytes} bytes waited`);
    }
    this.#append(bytes);
    if (waiting > this.#limits.softBytes && !this.#overSoft) this.#startGrace();
    if (this.#writing) return;
    // A write's worth is waiting: nothing is gained by waiting for the turn to end, and a turn
    // that goes on (a busy read loop) would hold it all in memory meanwhile.
    if (this.#outboxes.length > 1) this.#writeNext();
    else this.#scheduleWrite();
  }

  #append(bytes: Uint8Array): void {
    let outbox = this.#outboxes[this.#outboxes.length - 1];
    if (outbox.bytes > 0 && outbox.bytes + bytes.length > MAX_WRITE_BYTES) {
      outbox = this.#spare.pop() ?? new Outbox();
      this.#outboxes.push(outbox);
    }
    outbox.append(bytes);
    this.#queuedBytes += bytes.length;
  }

  #overflow(why: string): void {
    this.#accepting = false;
    this.#endGrace();
    this.#dropQueued();
    this.#events.overflow(why);
  }

  #dropQueued(): void {
    for (const outbox of this.#outboxes) outbox.clear();
    this.#outboxes.length = 1;
    this.#queuedBytes = 0;
  }

  // Over the soft limit: the member has the grace to read below it, or is dropped.
  #startGrace(): void {
    this.#overSoft = true;
    this.#graceTimer = setTimeout(this.#graceOver, this.#limits.graceMs);
  }

  #endGrace(): void {
    if (!this.#overSoft) return;
    this.#overSoft = false;
    clearTimeout(this.#graceTimer);
  }

  #graceOver = (): void => {
    this.#overSoft = false;
    if (!this.#accepting) return;
    const seconds = this.#limits.graceMs / 1000;
    this.#overflow(`over ${this.#limits.softBytes} bytes waited for ${seconds} s`);
  };

  #scheduleWrite(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (waitingToWrite.push(this) === 1) setImmediate(writeWaitingQueues);
  }

  /** Hands what is queued to the runtime, one write at a time. Called by the write scheduler. */
  writeQueued(): void {
    this.#scheduled = false;
    if (!this.#writing) this.#writeNext();
  }

  // A write per member per event is the server's commonest step, so it is a chain of callbacks
  // made once per queue rather than an async loop, which would cost promises on every write.
  #writeNext(): void {
    const outbox = this.#outboxes[0];
    const length = outbox.bytes;
    if (length === 0) return this.#stopWriting();
    // A connection that cuts the bytes into messages again (WebSocket) takes them unjoined.
    const parts = this.#conn.writeParts ? outbox.takeParts() : null;
    const bytes = parts === null ? outbox.take() : null;
    // A full outbox is done with once written; the last one goes on being filled meanwhile.
    if (this.#outboxes.length > 1) this.#outboxes.shift();
    this.#writingFrom = outbox;
    this.#queuedBytes -= length;
    this.#inFlightBytes = length;
    this.#writing = true;
    if (parts !== null) this.#conn.writeParts!(parts, this.#written);
    else this.#conn.write(bytes!, this.#written);
  }

  #written = (error?: Error): void => {
    this.#inFlightBytes = 0;
    const outbox = this.#writingFrom!;
    this.#writingFrom = null;
    outbox.release();
    if (outbox !== this.#outboxes[0] && this.#spare.length < SPARE_OUTBOXES) {
      this.#spare.push(outbox);
    }
    if (error) return this.#writeFailed();
    if (this.#overSoft && this.#queuedBytes <= this.#limits.softBytes) this.#endGrace();
    this.#writeNext();
  };

  #writeFailed(): void {
    this.#dropQueued();
    this.#accepting = false;
    this.#endGrace();
    this.#failed = true;
    this.#events.failed();
    this.#conn.close();
    this.#stopWriting();
  }

  #stopWriting(): void {
    this.#writing = false;
    this.#drained?.resolve();
    this.#drained = null;
  }

  /** Settles once nothing queued is left to write, or writing failed. */
  #writesDone(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    this.#drained ??= Promise.withResolvers<void>();
    return this.#drained.promise;
  }

  /**
   * Takes nothing more; delivers what waits, then `last` (queued past the cap: it is small, and
   * often the reason for closing), half-closes, and waits for `peerEnded`, all within `flushMs`;
   * then closes the connection. Closing while the peer's bytes are still arriving would reset the
   * connection, and a reset can destroy the final error before the peer reads it.
   *
   * A peer that has not read for the whole flush has most likely had a write taken in part, as
   * far as its buffers went: closing then would end its stream inside a frame. So what waits
   * behind that write is dropped, but `last`, and the peer has LINGER_MS more to read the rest
   * of the write and then `last`; unless `stopLingering` is called meanwhile. Only the first call
   * does anything; every call returns the same promise, which never rejects.
   */
  close(last: Uint8Array | null, flushMs: number, peerEnded: Promise<void>): Promise<void> {
    this.#closed ??= this.#close(last, flushMs, peerEnded);
    return this.#closed;
  }

  /** Closes at once a connection that close() is lingering over (the server is shutting down). */
  stopLingering(): void {
    this.#noLinger = true;
    this.#lingerCut?.resolve(false);
  }

  async #close(last: Uint8Array | null, flushMs: number, peerEnded: Promise<void>): Promise<void> {
    this.#accepting = false;
    this.#endGrace();
    if (last && !this.#failed) this.#append(last);
    this.writeQueued();
    let deadline = performance.now() + flushMs;
    if (!await this.#within(this.#writesDone(), flushMs)) {
      // `last` is the latest append, and outboxes are taken whole: it waits while anything does.
      const lastWaits = last !== null && this.#queuedBytes > 0;
      this.#dropQueued();
      if (lastWaits) this.#append(last);
      this.#lingerCut = Promise.withResolvers<boolean>();
      if (this.#noLinger || !await this.#within(this.#writesDone(), LINGER_MS)) {
        return this.#conn.close();
      }
      deadline = performance.now() + flushMs; // for the peer, who reads again, to end its side
    }
    const left = Math.max(0, deadline - performance.now());
    if (await this.#within(this.#conn.closeWrite().catch(() => {}), left)) {
      await this.#within(peerEnded, Math.max(0, deadline - performance.now()));
    }
    this.#conn.close();
  }

  // True once `promise` has settled, or false once `ms` have passed or lingering was stopped.
  async #within(promise: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp = new Promise<boolean>((resolve) => timer = setTimeout(resolve, ms, false));
    const stopped = this.#lingerCut?.promise ?? timeUp;
    const settled = await Promise.race([promise.then(() => true), timeUp, stopped]);
    clearTimeout(timer);
    return settled;
  }
}
