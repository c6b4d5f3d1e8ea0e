// One member's connection: its read loop, which decodes frames and acts on them, and its send
// queue, which collects everything addressed to the member and writes it out in as few writes as
// possible without ever making anyone else wait.
import type { Connection } from "./runtime.ts";
import { type Chat, type Encoder, type Member, Room } from "./room.ts";
import {
  type ClientMessage,
  encodeFrame,
  FrameDecoder,
  parseClientMessage,
  ProtocolError,
  type ServerMessage,
} from "./protocol.ts";

export interface SessionOptions {
  maxFrameBytes: number;
  /** Bytes queued or in flight to one member before it counts as too slow and is closed. */
  sendQueueBytes: number;
  /** How long a closing session may spend delivering what is queued for it. */
  closeFlushMs: number;
  log: (line: string) => void;
}

export const nativeEncoder: Encoder = { encode: encodeFrame };

// Sessions with queued bytes and no write in flight. They are written out together once the
// current turn of the event loop is over, so that everything queued for a member in that turn
// goes out in one write.
const waitingToWrite: Session[] = [];

function writeWaitingSessions(): void {
  const sessions = waitingToWrite.splice(0);
  for (const session of sessions) session.writeQueued();
}

function concat(chunks: Uint8Array[], totalBytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const whole = new Uint8Array(totalBytes);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}

export class Session implements Member {
  nick: string | null = null;
  room: Room | null = null;
  readonly encoder: Encoder = nativeEncoder;
  readonly address: string;

  #conn: Connection;
  #chat: Chat;
  #options: SessionOptions;
  #decoder: FrameDecoder;
  #queue: Uint8Array[] = [];
  #queueBytes = 0; // not yet handed to the runtime
  #inFlightBytes = 0;
  #scheduled = false;
  #writing: Promise<void> | null = null;
  #closing = false; // no more input is read and no more output accepted
  #closeReason = "";
  #joinedAs = ""; // for the disconnect log, after Chat has cleared `nick`

  constructor(conn: Connection, chat: Chat, options: SessionOptions, address: string) {
    this.#conn = conn;
    this.#chat = chat;
    this.#options = options;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    this.address = address;
  }

  /** Serves the connection until it ends; never throws. */
  async run(): Promise<void> {
    try {
      while (true) {
        const chunk = await this.#conn.read();
        if (chunk === null) {
          this.#closeReason ||= "end of stream";
          break;
        }
        // While closing, input is read and dropped until the peer ends or the flush time is up:
        // see #finish.
        if (this.#closing) continue;
        for (const frame of this.#decoder.push(chunk)) {
          if (this.#closing) break;
          if (frame.ok) this.#handle(frame.value);
          else this.#reject(frame.error);
        }
        if (this.#closing) this.#chat.leave(this);
      }
    } catch (error) {
      this.#closeReason = `internal error: ${error}`;
      this.#options.log(`error serving ${this.address}: ${(error as Error)?.stack ?? error}`);
    }
    this.#inputEnded.resolve();
    this.#chat.leave(this);
    await this.#finish();
  }

  /** Queues a message for this member. */
  sendMessage(message: ServerMessage): void {
    const bytes = this.encoder.encode(message);
    if (bytes) this.send(bytes);
  }

  send(bytes: Uint8Array): void {
    if (this.#closing) return;
    if (this.#queueBytes + this.#inFlightBytes + bytes.length > this.#options.sendQueueBytes) {
      this.#overflow();
      return;
    }
    this.#queue.push(bytes);
    this.#queueBytes += bytes.length;
    this.#scheduleWrite();
  }

  /** Says `message` last, then closes once it is delivered or the flush time is up. */
  closeWith(message: ServerMessage, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeReason = reason;
    // Queued past the cap, which would otherwise refuse it when the cap is why we close (and
    // recurse through #overflow): it is small, and nothing follows it.
    const bytes = this.encoder.encode(message);
    if (bytes) {
      this.#queue.push(bytes);
      this.#queueBytes += bytes.length;
    }
    // A read may be pending: #finish half-closes our side once the queue is delivered, so that
    // the peer sees the end, and closes the connection, which ends that read.
    this.#finish();
  }

  #handle(value: unknown): void {
    let message: ClientMessage;
    try {
      message = parseClientMessage(value);
      switch (message.type) {
        case "hello":
          this.sendMessage(this.#chat.join(this, message.nick, message.room));
          this.#joinedAs = message.nick;
          return;
        case "msg":
          this.#chat.say(this, message.text, Date.now());
          return;
        case "ping":
          this.sendMessage({ type: "pong" });
          return;
        case "pong":
          return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) this.#reject(error);
      else throw error;
    }
  }

  #reject(error: ProtocolError): void {
    const frame: ServerMessage = { type: "error", code: error.code, message: error.message };
    if (error.fatal) this.closeWith(frame, error.message);
    else this.sendMessage(frame);
  }

  #overflow(): void {
    // What is queued will never be read in time: drop it, and try to say why before closing.
    this.#queue = [];
    this.#queueBytes = 0;
    this.#chat.leave(this);
    this.closeWith(
      {
        type: "error",
        code: "send_queue_full",
        message: `You were too slow to read: over ${this.#options.sendQueueBytes} bytes waited`,
      },
      "send queue full",
    );
  }

  #scheduleWrite(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    if (waitingToWrite.push(this) === 1) setImmediate(writeWaitingSessions);
  }

  /** Hands everything queued to the runtime, one write at a time. Called by the write scheduler. */
  writeQueued(): void {
    this.#scheduled = false;
    if (!this.#writing && this.#queue.length > 0) this.#writing = this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const bytes = concat(this.#queue, this.#queueBytes);
        this.#queue = [];
        this.#queueBytes = 0;
        this.#inFlightBytes = bytes.length;
        await this.#conn.write(bytes);
        this.#inFlightBytes = 0;
      }
    } catch {
      this.#queue = [];
      this.#queueBytes = 0;
      this.#closing = true;
      this.#closeReason ||= "write failed";
      this.#conn.close();
    } finally {
      this.#inFlightBytes = 0;
      this.#writing = null;
    }
  }

  #finished: Promise<void> | null = null;
  #inputEnded = Promise.withResolvers<void>(); // resolved once run() has read its last byte

  // Delivers what is queued, half-closes, and waits for the peer to end its side, all within the
  // flush time; then closes. Closing while the peer's bytes are still arriving (say, the payload
  // of a frame that was too large) would reset the connection, and a reset can destroy the final
  // error before the peer reads it. Idempotent.
  #finish(): Promise<void> {
    this.#finished ??= (async () => {
      this.#closing = true;
      this.writeQueued();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let timedOut = false;
      const timeUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, this.#options.closeFlushMs);
      });
      await Promise.race([this.#writing ?? Promise.resolve(), timeUp]);
      if (!timedOut) {
        await Promise.race([this.#conn.closeWrite().catch(() => {}), timeUp]);
        await Promise.race([this.#inputEnded.promise, timeUp]);
      }
      clearTimeout(timer);
      this.#conn.close();
      const who = this.#joinedAs ? ` ${this.#joinedAs}` : "";
      this.#options.log(`disconnect ${this.address}${who} (${this.#closeReason})`);
    })();
    return this.#finished;
  }
}
