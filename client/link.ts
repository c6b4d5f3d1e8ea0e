// The client's side of one connection to the server: frames out, one write at a time, and frames in,
// decoded; and when to try again once a connection is lost. chat_client.ts decides what to say;
// this file only carries it.
import { type ClientMessage, parseServerMessage, type ServerMessage } from "../protocol.ts";
import { concatBytes, encodeFrame, FrameDecoder } from "../protocol/native.ts";
import { type Connection, systemProblem, writeAll } from "../runtime.ts";
import { printable } from "./format.ts";

// Larger than any frame a client sends: a welcome lists every member of the room.
const MAX_SERVER_FRAME_BYTES = 1024 * 1024;

export interface LinkEvents {
  /** A message from the server, in the order sent. A type this client does not know is skipped. */
  message(message: ServerMessage): void;
  /** Some queued bytes were written: input paused for a full outbox may go on. */
  written(): void;
}

/**
 * One connection. `send` never blocks: frames wait in an outbox and go out together, one write at
 * a time. `receive` reads until the connection ends. A Link is used once; reconnecting makes a new
 * one, so that nothing meant for one connection is written to the next.
 */
export class Link {
  readonly #conn: Connection;
  readonly #events: LinkEvents;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0; // queued or being written
  #writing: Promise<void> | null = null;
  #ended = false;
  #leaveTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #answerTimeoutMs: number;
  #unanswered = false; // closed because the server said nothing in time
  /** The last message the server sent, for what follows a close (after_close.ts). */
  lastMessage: ServerMessage | null = null;

  /** The server must send a whole frame within `answerTimeoutMs`, or receive() gives up. */
  constructor(conn: Connection, events: LinkEvents, answerTimeoutMs = Infinity) {
    this.#conn = conn;
    this.#events = events;
    this.#answerTimeoutMs = answerTimeoutMs;
  }

  /** Bytes sent but not yet written. */
  get queuedBytes(): number {
    return this.#outboxBytes;
  }

  /** Queues `message`; returns its size in bytes, 0 once the link is closed. */
  send(message: ClientMessage): number {
    if (this.#ended) return 0;
    const bytes = encodeFrame(message);
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.length;
    this.#writing ??= this.#writeOutbox();
    return bytes.length;
  }

  // One write at a time, of everything queued since the last one.
  async #writeOutbox(): Promise<void> {
    try {
      while (this.#outbox.length > 0) {
        const bytes = concatBytes(this.#outbox.splice(0));
        await writeAll(this.#conn, bytes);
        this.#outboxBytes -= bytes.length;
        this.#events.written();
      }
    } catch {
      this.close(); // receive() then ends, and the client hears the connection was lost
    } finally {
      this.#writing = null;
    }
  }

  /**
   * Hands each message to the events until the connection ends. Resolves with null when the
   * server closed it (or it failed), or with why the server's byte stream cannot be read: it said
   * nothing in time, or its first bytes are not a Parley frame (a line-mode server, or no Parley
   * server at all), or a later frame is broken.
   */
  async receive(): Promise<string | null> {
    const decoder = new FrameDecoder(MAX_SERVER_FRAME_BYTES);
    let answered = false;
    const answerTimer = Number.isFinite(this.#answerTimeoutMs)
      ? setTimeout(() => {
        this.#unanswered = true;
        this.close();
      }, this.#answerTimeoutMs)
      : undefined;
    try {
      while (true) {
        const chunk = await this.#conn.read();
        if (chunk === null) {
          if (!this.#unanswered) return null;
          return `no answer from the server within ${this.#answerTimeoutMs / 1000} s`;
        }
        for (const frame of decoder.push(chunk)) {
          if (this.#ended) return null; // closed by a handler
          if (!answered) {
            if (!frame.ok) return notParley(chunk);
            answered = true;
            clearTimeout(answerTimer);
          }
          if (frame.ok) {
            let message: ServerMessage;
            try {
              message = parseServerMessage(frame.value);
            } catch {
              continue; // a type from a newer server, or fields of wrong types: skipped
            }
            this.lastMessage = message;
            this.#events.message(message);
          } else if (frame.error.fatal) {
            return `the server sent a broken frame (${frame.error.message})`;
          }
          // A frame that is not JSON spoils only itself.
        }
      }
    } finally {
      clearTimeout(answerTimer);
      this.close();
    }
  }

  /**
   * Half-closes once everything queued is written, so the server reads every message and then the
   * end; it tells the rooms we left and closes, which ends receive(). A server that never closes
   * is given `timeoutMs`.
   */
  async leave(timeoutMs: number): Promise<void> {
    while (this.#writing) await this.#writing;
    try {
      await this.#conn.closeWrite();
    } catch {
      this.close();
    }
    if (!this.#ended) this.#leaveTimer = setTimeout(() => this.close(), timeoutMs);
  }

  /** Drops what waits to be written and closes; receive() resolves. Safe to call twice. */
  close(): void {
    this.#ended = true;
    clearTimeout(this.#leaveTimer);
    this.#outbox = [];
    this.#conn.close();
  }
}

const PREVIEW_CHARS = 40;

// A Parley frame's first byte is 0 (PROTOCOL.md); text, such as a line-mode server's banner, is
// read as an absurd length. The start of what it said tells the user what it is.
function notParley(chunk: Uint8Array): string {
  const line = new TextDecoder().decode(chunk.subarray(0, 4 * PREVIEW_CHARS)).split(/\r?\n/)[0];
  const shown = printable(line).trim();
  const said = shown.length > PREVIEW_CHARS ? `${shown.slice(0, PREVIEW_CHARS)}...` : shown;
  return `this server does not speak Parley's protocol${said ? ` (it said "${said}")` : ""}`;
}

export const FIRST_RETRY_MS = 500;
export const MAX_RETRY_MS = 10_000;

/**
 * Delays between attempts to reconnect: none before the first, since a dropped connection is often
 * a blip; then 0.5 s doubling up to 10 s. Each delay is cut by up to a half at random, so that the
 * members of a server that restarts do not all come back in the same instant.
 */
export class Backoff {
  #attempts = 0;
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Milliseconds to wait before the next attempt. */
  next(): number {
    const attempt = this.#attempts++;
    if (attempt === 0) return 0;
    const full = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1));
    return Math.round(full * (1 - this.#random() / 2));
  }
}

/**
 * One series of attempts to reconnect, from a lost connection until a welcome or giving up: each
 * waits as a Backoff says, and the series ends `withinMs` after it began.
 */
export class Reconnection {
  /** Why the last attempt failed, for the message on giving up. */
  problem: string;
  readonly #connect: () => Promise<Connection>;
  readonly #deadline: number;
  readonly #backoff: Backoff;
  #wake: (() => void) | null = null;

  constructor(connect: () => Promise<Connection>, withinMs: number, problem: string) {
    this.#connect = connect;
    this.#deadline = Date.now() + withinMs;
    this.#backoff = new Backoff();
    this.problem = problem;
  }

  /**
   * Waits and connects, again and again until it works, the time is up, or `stillWanted` says no;
   * null for the last two. A connection that comes too late is closed.
   */
  async next(stillWanted: () => boolean): Promise<Connection | null> {
    while (stillWanted()) {
      const wait = this.#backoff.next();
      const left = this.#deadline - Date.now();
      if (wait >= left) return null;
      await this.#pause(wait);
      if (!stillWanted()) return null;
      const connecting = this.#connect();
      const conn = await this.#pause(left - wait, connecting).catch((error) => {
        this.problem = systemProblem(error);
        return null;
      });
      if (conn && stillWanted()) return conn;
      if (conn === undefined) this.problem = "timed out";
      connecting.then((late) => late.close(), () => {}); // too late, or not wanted any more
    }
    return null;
  }

  /** Ends the current wait at once, so that next() can see it is no longer wanted. */
  wake(): void {
    this.#wake?.();
  }

  // Resolves with `what`, or with undefined after `ms` or when woken.
  #pause<T>(ms: number, what?: Promise<T>): Promise<T | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = new Promise<undefined>((resolve) => {
      this.#wake = () => resolve(undefined);
      timer = setTimeout(this.#wake, ms);
    });
    return Promise.race(what ? [what, ended] : [ended]).finally(() => {
      clearTimeout(timer);
      this.#wake = null;
    });
  }
}
