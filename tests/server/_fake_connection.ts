// A Connection with no socket behind it, for driving a Session or a SendQueue directly.
import type { Connection, WriteDone } from "../../runtime.ts";
import type { ServerMessage } from "../../protocol.ts";
import { FrameDecoder } from "../../protocol/native.ts";

/**
 * A connection whose peer sends `input`, then waits until it is closed. A write finishes a
 * microtask later, as with a runtime that takes the bytes later; with `holdWrites`, only when the
 * test calls `finishWrite`.
 */
export class FakeConnection implements Connection {
  readonly remoteHost = "192.0.2.1";
  readonly remotePort = 4242;
  /** A copy of each write's bytes, in order. */
  readonly written: Uint8Array[] = [];
  closed = false;
  halfClosed = false;
  holdWrites = false;
  /** The most writes that were ever in flight at once. */
  mostInFlight = 0;
  #held: WriteDone[] = [];
  #inFlight = 0;
  #input: Uint8Array[];
  #ended: (() => void) | null = null;

  constructor(input: Uint8Array[] = []) {
    this.#input = input;
  }

  read(): Promise<Uint8Array | null> {
    const next = this.#input.shift();
    if (next) return Promise.resolve(next);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#ended = () => resolve(null));
  }

  write(bytes: Uint8Array, done: WriteDone): void {
    this.written.push(bytes.slice());
    this.mostInFlight = Math.max(this.mostInFlight, ++this.#inFlight);
    const finish = (error?: Error) => {
      this.#inFlight--;
      done(error);
    };
    if (this.holdWrites) this.#held.push(finish);
    else queueMicrotask(() => finish());
  }

  /** Writes begun and not yet finished, while writes are held. */
  get heldWrites(): number {
    return this.#held.length;
  }

  /** Finishes the oldest held write: with `error`, as when the connection failed. */
  finishWrite(error?: Error): void {
    this.#held.shift()!(error);
  }

  closeWrite(): Promise<void> {
    this.halfClosed = true;
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.#ended?.();
  }

  /** What was written, read as native frames. */
  messages(): ServerMessage[] {
    const decoder = new FrameDecoder();
    return this.written.flatMap((bytes) => decoder.push(bytes))
      .map((frame) => (frame.ok ? frame.value : frame.error) as ServerMessage);
  }
}
