// One member's connection, as the loop it is served by: work out its mode from its first bytes,
// read, decode, let each input through flood control, handle it (handlers.ts), and close, with
// what is queued for it delivered first (send_queue.ts).
import type { Connection } from "../runtime.ts";
import type { Chat, Encoder, Room } from "./chat.ts";
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { SendQueue } from "./send_queue.ts";
import { type Asker, handle, welcomeGuest } from "./handlers.ts";
import { detectMode, type Mode, SILENT_LINE_CLIENT_MS } from "../protocol/mode.ts";
import {
  createWire,
  detached,
  type Input,
  nativeEncoder,
  type Wire,
  type WireLimits,
} from "./wire.ts";
import { FloodGate, type FloodLimits } from "./flood_gate.ts";
import { Liveness, type LivenessLimits, type LivenessVerdict } from "./liveness.ts";

// How long the silence that picks line mode is listened to again once its window is up; see
// #chooseWire.
const LISTEN_AGAIN_MS = 50;

export interface SessionOptions extends WireLimits {
  /** A pinned mode, or "auto" to tell from the first bytes. */
  mode: Mode | "auto";
  flood: FloodLimits;
  liveness: LivenessLimits;
  /** Milliseconds from any fixed origin; tests may drive it. */
  clock: () => number;
  /** Bytes queued or in flight to one member past which it is closed at once as too slow. */
  sendQueueBytes: number;
  /** Bytes that may wait for one member for up to `sendQueueGraceMs` (default: the cap). */
  sendQueueSoftBytes?: number;
  sendQueueGraceMs?: number;
  /** How long a closing session may spend delivering what is queued for it. */
  closeFlushMs: number;
  log: (line: string) => void;
}

function errorMessage(error: ProtocolError): ServerMessage {
  return { type: "error", code: error.code, message: error.message };
}

const LIVENESS_MESSAGES: Record<Exclude<LivenessVerdict, "ok" | "ping">, string> = {
  read_timeout: "Closed: a message began to arrive but did not finish in time",
  hello_timeout: "Closed: no hello in time",
  idle_timeout: "Closed: idle for too long",
};

// Input read while earlier input waits its turn under flood control: enough that a flooder's whole
// backlog is charged at once, whatever size of reads the runtime makes, and no more.
const READ_AHEAD_BYTES = 64 * 1024;

/** An input charged by flood control, waiting to be handled at `releaseAt` (clock ms). */
interface Held {
  input: Input | ProtocolError;
  releaseAt: number;
  /** Bytes of input let go once it is handled: its chunk's, for the chunk's last input. */
  bytes: number;
}

/** A read in flight; `done` once `chunk` holds its result. */
interface Read {
  done: boolean;
  chunk: Uint8Array | null;
  promise: Promise<Uint8Array | null>;
}

export class Session implements Asker {
  nick: string | null = null;
  room: Room | null = null;
  echo = false;
  readonly rooms = new Set<Room>();
  readonly address: string;

  #conn: Connection;
  #chat: Chat;
  #options: SessionOptions;
  #wire: Wire | null = null; // chosen from the first bytes
  #carriedRead: Promise<Uint8Array | null> | null = null; // a read begun while choosing the mode
  #queue: SendQueue;
  #closing = false; // no more input is acted on and no more output accepted
  #closeReason = "";
  #joinedAs = ""; // for the disconnect log, after Chat has cleared `nick`
  #greeted = false; // has sent a valid input: hello, its username, or any native frame
  #refusal: ProtocolError | null = null;
  #floodGate: FloodGate;
  #liveness: Liveness;
  #held: Held[] = []; // charged by flood control, in order, waiting their turn
  #heldBytes = 0;
  #listening = true; // false while held input keeps us from reading: that silence is ours
  #reading: Read | null = null; // the read in flight, if any: one at a time
  #endSleep: (() => void) | null = null; // set while #serve waits; see #wake
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: Connection, chat: Chat, options: SessionOptions, address: string) {
    this.#conn = conn;
    this.#chat = chat;
    this.#options = options;
    this.address = address;
    const now = options.clock();
    this.#floodGate = new FloodGate(options.flood, now);
    this.#liveness = new Liveness(options.liveness, now);
    const { sendQueueBytes: capBytes, sendQueueSoftBytes: softBytes = capBytes } = options;
    this.#queue = new SendQueue(conn, { capBytes, softBytes, graceMs: options.sendQueueGraceMs }, {
      overflow: (why) => this.#overflow(why),
      failed: () => this.#writeFailed(),
    });
  }

  /** Turns the connection away, in its own mode, once that is known: the server is full. */
  refuse(error: ProtocolError): void {
    this.#refusal = error;
  }

  get encoder(): Encoder {
    return this.#wire?.encoder ?? nativeEncoder;
  }

  get mode(): Mode | null {
    return this.#wire?.mode ?? null;
  }

  get sendQueueBytes(): number {
    return this.#queue.softBytes;
  }

  /** Serves the connection until it ends; never throws. */
  async run(): Promise<void> {
    try {
      const first = await this.#chooseWire();
      if (first !== null) {
        if (this.#refusal) this.closeWith(errorMessage(this.#refusal), this.#refusal.message);
        await this.#serve(first);
      }
      this.#closeReason ||= "end of stream";
    } catch (error) {
      this.#closeReason = `internal error: ${error}`;
      this.#options.log(`error serving ${this.address}: ${(error as Error)?.stack ?? error}`);
      this.closeWith(
        { type: "error", code: "internal_error", message: "The server failed; sorry" },
        this.#closeReason,
      );
    }
    this.#inputEnded.resolve();
    this.#chat.leave(this);
    await this.#finish(null);
  }

  // Picks the wire from the connection's first bytes (or the pinned mode), returning the bytes read
  // so far, or null if the peer left first. A peer that stays silent is a person at a line client,
  // waiting for a banner: it gets line mode, and the read begun meanwhile carries over.
  async #chooseWire(): Promise<Uint8Array | null> {
    if (this.#options.mode !== "auto") {
      this.#begin(this.#options.mode);
      return new Uint8Array(0);
    }
    let prefix = new Uint8Array(0);
    // The silence is looked at twice: once the window is up, and again LISTEN_AGAIN_MS after that
    // first timer has fired, so while this process is running. A server held up past the window
    // (a loaded machine, a long pause, a stopped process) finds the first timer due at the same
    // moment as a native client's hello that waited unread meanwhile, and the hello must win.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<"silent">((resolve) => {
      timer = setTimeout(() => {
        timer = setTimeout(() => resolve("silent"), LISTEN_AGAIN_MS);
      }, SILENT_LINE_CLIENT_MS);
    });
    try {
      while (true) {
        const reading = this.#conn.read();
        const chunk = prefix.length === 0 ? await Promise.race([reading, silence]) : await reading;
        if (this.#closing) {
          // Turned away or shut down meanwhile: no mode is needed to read the rest and drop it.
          if (chunk === "silent") this.#carriedRead = reading;
          return chunk === null ? null : prefix;
        }
        if (chunk === "silent") {
          this.#carriedRead = reading;
          this.#begin("line");
          return prefix;
        }
        if (chunk === null) return null;
        const longer = new Uint8Array(prefix.length + chunk.length); // a copy: reads reuse buffers
        longer.set(prefix);
        longer.set(chunk, prefix.length);
        prefix = longer;
        const mode = detectMode(prefix);
        if (mode) {
          this.#begin(mode);
          return prefix;
        }
        // Digits that may yet be a legacy header or a line: an input has begun, and must finish.
        this.#liveness.heard(this.#options.clock(), true);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #begin(mode: Mode): void {
    this.#wire = createWire(mode, this.#options);
    if (mode !== "line" || this.#refusal) return;
    welcomeGuest(this.#chat, this);
    this.#joinedAs = this.nick!;
  }

  // Reads, charges and handles input until the peer ends it or the session closes. Flood control
  // charges each input as it arrives and holds it until its turn. Meanwhile reading goes on, up to
  // READ_AHEAD_BYTES held, so that a flooder's backlog shows at once; past that nothing more is
  // read, and TCP slows the sender down. Once closing, held input is dropped, and the rest is read
  // and dropped until the peer ends or the flush time is up: see #finish.
  async #serve(first: Uint8Array): Promise<void> {
    let read = this.#carriedRead ? this.#startRead(this.#carriedRead) : null;
    this.#carriedRead = null;
    let ended = false;
    if (!this.#closing) this.#arrive(first);
    while (!this.#closing) {
      if (read?.done) {
        if (read.chunk === null) ended = true;
        else this.#arrive(read.chunk);
        read = null;
      }
      this.#handleDue();
      if (this.#closing || (ended && this.#held.length === 0)) break;
      this.#listen(!ended && this.#heldBytes < READ_AHEAD_BYTES);
      if (this.#listening && !read) read = this.#startRead(this.#conn.read());
      await this.#sleep(this.#held[0]?.releaseAt);
    }
    this.#held = [];
    this.#heldBytes = 0;
    if (this.#closing) this.#chat.leave(this);
    if (read?.done) ended ||= read.chunk === null;
    else if (read) ended = (await read.promise) === null;
    while (!ended) ended = (await this.#conn.read()) === null;
  }

  // A member's read, and #serve's wait for it, last until the member's next input: for most of the
  // session. Things that live that long are copied by every young-generation collection, so their
  // callbacks are made once per session rather than for each read and each wait.
  #startRead(promise: Promise<Uint8Array | null>): Read {
    const read: Read = { done: false, chunk: null, promise };
    this.#reading = read;
    promise.then(this.#readSettled, this.#readFailed);
    return read;
  }

  #readSettled = (chunk: Uint8Array | null): void => {
    const read = this.#reading!;
    read.done = true;
    read.chunk = chunk;
    this.#wake();
  };

  #readFailed = (): void => this.#readSettled(null);

  // Waits until `at` (clock ms), or until a read is in or the session starts closing.
  #sleep(at: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.#endSleep = resolve;
      this.#sleepTimer = at === undefined
        ? undefined
        : setTimeout(this.#wake, Math.max(0, at - this.#options.clock()));
    });
  }

  // Ends #serve's wait, if it is waiting.
  #wake = (): void => {
    const endSleep = this.#endSleep;
    if (!endSleep) return;
    this.#endSleep = null;
    clearTimeout(this.#sleepTimer);
    endSleep();
  };

  // Decodes a chunk and charges each of its inputs on arrival, so that the backlog a flooder builds
  // shows at once.
  #arrive(chunk: Uint8Array): void {
    const decoder = this.#wire!.decoder;
    const inputs = decoder.push(chunk);
    const now = this.#options.clock();
    this.#liveness.heard(now, decoder.partial);
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const verdict = this.#floodGate.admit(now);
      if (verdict.action === "disconnect") {
        this.#reject(new ProtocolError("flood", "Disconnected for flooding", true));
        return;
      }
      if (verdict.warn) {
        this.#reject(new ProtocolError("flood", "You are sending too fast; your input is delayed"));
      }
      // Nothing waits before it, and it need not wait: it is acted on now, while what it refers to
      // in the read buffer is still there.
      if (verdict.delayMs === 0 && this.#held.length === 0) {
        if (this.#closing) return;
        this.#act(input);
        continue;
      }
      const bytes = i === inputs.length - 1 ? chunk.length : 0;
      const held = input instanceof ProtocolError ? input : detached(input);
      this.#held.push({ input: held, releaseAt: now + verdict.delayMs, bytes });
      this.#heldBytes += bytes;
    }
  }

  #act(input: Input | ProtocolError): void {
    if (input instanceof ProtocolError) {
      this.#reject(input);
    } else {
      this.#greeted = true;
      this.#handle(input);
    }
  }

  // Handles, in order, every held input whose turn has come.
  #handleDue(): void {
    let handled = 0;
    const now = this.#options.clock();
    for (const { input, releaseAt, bytes } of this.#held) {
      if (this.#closing || releaseAt > now) break;
      handled++;
      this.#heldBytes -= bytes;
      this.#act(input);
    }
    this.#held.splice(0, handled);
  }

  // While held input keeps us from reading, the member's silence is ours: liveness is not judged,
  // and its clocks start again when we read again.
  #listen(listening: boolean): void {
    if (listening && !this.#listening) this.#liveness.resumed(this.#options.clock());
    this.#listening = listening;
  }

  #markClosing(): void {
    this.#closing = true;
    this.#wake();
  }

  /** Pings a quiet member, or closes one that is too quiet. Called by the server's sweep. */
  checkLiveness(now: number): void {
    if (this.#closing || !this.#listening) return;
    const verdict = this.#liveness.check(now, this.mode, this.#greeted);
    if (verdict === "ok") return;
    if (verdict === "ping") return this.sendMessage({ type: "ping" });
    // No mode yet: only digits have come, which may begin a legacy header or a line. A person at
    // telnet may have typed them, so the answer is a line.
    this.#wire ??= createWire("line", this.#options);
    const error = new ProtocolError(verdict, LIVENESS_MESSAGES[verdict], true);
    this.#reject(error);
  }

  /** Queues a message for this member. */
  sendMessage(message: ServerMessage): void {
    const bytes = this.encoder.encode(message);
    if (bytes) this.send(bytes);
  }

  send(bytes: Uint8Array): void {
    this.#queue.send(bytes);
  }

  /** Says `message` last, then closes once it is delivered or the flush time is up. */
  closeWith(message: ServerMessage, reason: string): void {
    if (this.#closing) return this.#queue.stopLingering(); // a second close (shutdown) waits for no one
    this.#markClosing();
    this.#closeReason = reason;
    // A read may be pending: the queue half-closes our side once it is delivered, so that the
    // peer sees the end, and closes the connection, which ends that read.
    this.#finish(this.encoder.encode(message));
  }

  #handle(input: Input): void {
    try {
      handle(this.#chat, this, input);
    } catch (error) {
      if (error instanceof ProtocolError) this.#reject(error);
      else throw error;
    }
    this.#joinedAs = this.nick ?? this.#joinedAs;
  }

  #reject(error: ProtocolError): void {
    if (error.fatal) this.closeWith(errorMessage(error), error.message);
    else this.sendMessage(errorMessage(error));
  }

  // Called by the queue, which has dropped what it held: the member cannot read in time.
  #overflow(why: string): void {
    this.#chat.leave(this);
    this.closeWith(
      { type: "error", code: "send_queue_full", message: `You were too slow to read: ${why}` },
      "send queue full",
    );
  }

  // Called by the queue, which closes the connection next.
  #writeFailed(): void {
    this.#markClosing();
    this.#closeReason ||= "write failed";
  }

  #finished: Promise<void> | null = null;
  #inputEnded = Promise.withResolvers<void>(); // resolved once run() has read its last byte

  // Stops serving, lets the queue deliver what waits (then `last`), half-close and wait for the
  // peer to end its side, all within the flush time, and logs the disconnect. Idempotent.
  #finish(last: Uint8Array | null): Promise<void> {
    this.#finished ??= (async () => {
      this.#markClosing();
      await this.#queue.close(last, this.#options.closeFlushMs, this.#inputEnded.promise);
      const who = this.#joinedAs ? ` ${this.#joinedAs}` : "";
      this.#options.log(`disconnect ${this.address}${who} (${this.#closeReason})`);
    })();
    return this.#finished;
  }
}
