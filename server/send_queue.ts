// One connection's outgoing bytes: everything sent to a member waits here until the connection
// takes it, so that nobody who sends ever waits for a slow reader.
import type { Connection } from "../runtime.ts";
import { Outbox } from "./outbox.ts";

/** What a SendQueue tells its owner. Made once per queue: the queue keeps it for its life. */
export interface SendQueueEvents {
  /**
   * More than the cap waited behind a write in flight. The queue has dropped what it held and
   * takes nothing more; the owner closes it, with a final error if it has one (`close(last)`).
   */
  overflow(): void;
  /** A write failed: the queue has dropped what it held, takes nothing more, and closes the connection. */
  failed(): void;
}

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
 * order sent, in one write per turn of the event loop, with one write in flight at a time. A
 * reader too slow for its cap loses only its own connection: past the cap the queue drops what it
 * holds and tells its owner, who closes it, with a final error where it can. Closing delivers what
 * waits, half-closes and waits for the peer's end, all within a deadline, then closes.
 */
export class SendQueue {
  #conn: Connection;
  #capBytes: number;
  #events: SendQueueEvents;
  #outbox = new Outbox(); // not yet handed to the runtime
  #inFlightBytes = 0;
  #scheduled = false;
  #writing = false; // a write is in flight: the runtime has bytes the peer has not yet taken
  #accepting = true; // false once overflowed, failed or closing
  #failed = false;
  #drained: PromiseWithResolvers<void> | null = null; // made when close waits for the writes
  #closed: Promise<void> | null = null;

  /** `capBytes`: bytes that may wait behind a write in flight before the reader counts as too slow. */
  constructor(conn: Connection, capBytes: number, events: SendQueueEvents) {
    this.#conn = conn;
    this.#capBytes = capBytes;
    this.#events = events;
  }

  send(bytes: Uint8Array): void {
    if (!this.#accepting) return;
    // Only what waits behind a write the peer has not yet taken counts: until a write is in
    // flight, the member has had no chance to read, however much one turn fanned out to it.
    const waiting = this.#outbox.bytes + this.#inFlightBytes + bytes.length;
    if (this.#writing && waiting > this.#capBytes) {
      // What is queued will never be read in time: drop it, and let the owner say why.
      this.#accepting = false;
      this.#outbox.clear();
      this.#events.overflow();
      return;
    }
    this.#outbox.append(bytes);
    this.#scheduleWrite();
  }

  #scheduleWrite(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    if (waitingToWrite.push(this) === 1) setImmediate(writeWaitingQueues);
  }

  /** Hands everything queued to the runtime, one write at a time. Called by the write scheduler. */
  writeQueued(): void {
    this.#scheduled = false;
    if (!this.#writing) this.#writeNext();
  }

  // A write per member per event is the server's commonest step, so it is a chain of callbacks
  // made once per queue rather than an async loop, which would cost promises on every write.
  #writeNext(): void {
    if (this.#outbox.bytes === 0) return this.#stopWriting();
    const bytes = this.#outbox.take();
    this.#inFlightBytes = bytes.length;
    this.#writing = true;
    this.#conn.write(bytes, this.#written);
  }

  #written = (error?: Error): void => {
    this.#inFlightBytes = 0;
    if (error) return this.#writeFailed();
    this.#outbox.release();
    this.#writeNext();
  };

  #writeFailed(): void {
    this.#outbox.clear();
    this.#accepting = false;
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
   * connection, and a reset can destroy the final error before the peer reads it. Only the first
   * call does anything; every call returns the same promise, which never rejects.
   */
  close(last: Uint8Array | null, flushMs: number, peerEnded: Promise<void>): Promise<void> {
    this.#closed ??= this.#close(last, flushMs, peerEnded);
    return this.#closed;
  }

  async #close(last: Uint8Array | null, flushMs: number, peerEnded: Promise<void>): Promise<void> {
    this.#accepting = false;
    if (last && !this.#failed) this.#outbox.append(last);
    this.writeQueued();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, flushMs);
    });
    await Promise.race([this.#writesDone(), timeUp]);
    if (!timedOut) {
      await Promise.race([this.#conn.closeWrite().catch(() => {}), timeUp]);
      await Promise.race([peerEnded, timeUp]);
    }
    clearTimeout(timer);
    this.#conn.close();
  }
}
