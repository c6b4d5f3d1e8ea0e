// One member's connection: its read loop, which works out the member's mode from its first bytes,
// decodes its input and acts on it; and its send queue, which collects everything addressed to the
// member and writes it out in as few writes as possible without ever making anyone else wait.
import type { Connection } from "../runtime.ts";
import type { Chat, Encoder, Member, Room } from "./chat.ts";
import { nameKey, ProtocolError, type ServerMessage } from "../protocol.ts";
import { Outbox } from "./outbox.ts";
import { detectMode, type Mode, SILENT_LINE_CLIENT_MS } from "../protocol/mode.ts";
import { LINE_HELP } from "../protocol/slash_commands.ts";
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
  /** Bytes queued or in flight to one member before it counts as too slow and is closed. */
  sendQueueBytes: number;
  /** How long a closing session may spend delivering what is queued for it. */
  closeFlushMs: number;
  log: (line: string) => void;
}

// Sessions with queued bytes and no write in flight. They are written out together once the
// current turn of the event loop is over, so that everything queued for a member in that turn
// goes out in one write.
const waitingToWrite: Session[] = [];

function writeWaitingSessions(): void {
  const sessions = waitingToWrite.splice(0);
  for (const session of sessions) session.writeQueued();
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

export class Session implements Member {
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
  #outbox = new Outbox(); // not yet handed to the runtime
  #inFlightBytes = 0;
  #scheduled = false;
  #writing = false; // a write is in flight: the runtime has bytes the peer has not yet taken
  #drained: PromiseWithResolvers<void> | null = null; // made when #finish waits for the writes
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
    await this.#finish();
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
    // A person at nc or telnet is in at once, as a guest, and told how to go on.
    this.sendMessage(this.#chat.join(this, this.#chat.guestNick()));
    this.#joinedAs = this.nick!;
    this.#replay(this.room!.name);
    const count = this.room!.members.size;
    this.sendMessage({
      type: "notice",
      text: `${count} here. Type to chat; /nick NAME changes your nick, /help lists commands`,
    });
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
    if (this.#closing) return;
    // Only what waits behind a write the peer has not yet taken counts: until a write is in
    // flight, the member has had no chance to read, however much one turn fanned out to it.
    const waiting = this.#outbox.bytes + this.#inFlightBytes + bytes.length;
    if (this.#writing && waiting > this.#options.sendQueueBytes) {
      this.#overflow();
      return;
    }
    this.#outbox.append(bytes);
    this.#scheduleWrite();
  }

  /** Says `message` last, then closes once it is delivered or the flush time is up. */
  closeWith(message: ServerMessage, reason: string): void {
    if (this.#closing) return;
    this.#markClosing();
    this.#closeReason = reason;
    // Queued past the cap, which would otherwise refuse it when the cap is why we close (and
    // recurse through #overflow): it is small, and nothing follows it.
    const bytes = this.encoder.encode(message);
    if (bytes) this.#outbox.append(bytes);
    // A read may be pending: #finish half-closes our side once the queue is delivered, so that
    // the peer sees the end, and closes the connection, which ends that read.
    this.#finish();
  }

  #handle(input: Input): void {
    const chat = this.#chat;
    try {
      switch (input.type) {
        case "hello":
          this.#hello(input.nick, input.room, input.since, input.echo);
          break;
        case "msg":
          if (input.to !== undefined) {
            chat.whisper(this, input.to, input.text, Date.now(), input.action);
          } else {
            const utf8 = "textUtf8" in input ? input.textUtf8 : undefined;
            chat.say(this, input.text, Date.now(), input.action, input.room, utf8);
          }
          break;
        case "join":
          if (this.mode === "legacy") {
            throw new ProtocolError("bad_room", "The classic protocol has one room only");
          }
          {
            // Switching to a room the member is in already replays nothing it has seen, unless
            // it asks with `since`.
            const switching = [...this.rooms].some((r) => nameKey(r.name) === nameKey(input.room));
            this.sendMessage(chat.enter(this, input.room));
            if (!switching || input.since !== undefined) this.#replay(this.room!.name, input.since);
            break;
          }
        case "part":
          chat.part(this, input.room ?? this.room?.name ?? "");
          if (this.mode === "line") {
            this.sendMessage({ type: "notice", text: `you are now in ${this.room!.name}` });
          }
          break;
        case "rooms":
          this.sendMessage(chat.rooms());
          break;
        case "who":
          this.sendMessage(chat.who(this, input.room));
          break;
        case "history": {
          const { room, missed } = chat.history(this, input.room, input.after);
          this.#sendHistory(missed, "oldest");
          this.sendMessage({ type: "history_end", room });
          break;
        }
        case "nick":
          chat.rename(this, input.nick);
          break;
        case "help":
          for (const text of LINE_HELP) this.sendMessage({ type: "notice", text });
          break;
        case "quit":
          this.closeWith({ type: "notice", text: "bye" }, "quit");
          break;
        case "ping":
          this.sendMessage({ type: "pong" });
          break;
        case "pong":
          break;
      }
    } catch (error) {
      if (error instanceof ProtocolError) this.#reject(error);
      else throw error;
    }
    this.#joinedAs = this.nick ?? this.#joinedAs;
  }

  // The room's remembered messages, straight after the answer to a join and before anything live:
  // all in one turn of the event loop, so nothing is missed or doubled at the boundary. The newest
  // ones when the member asks for none in particular; those after `since` when it does.
  #replay(room: string, since?: number): void {
    this.#sendHistory(this.#chat.replay(room, since), since === undefined ? "newest" : "oldest");
  }

  // History goes out only as far as it fits in half the send queue, so that a member who joins a
  // busy room is not closed as a slow reader before it has read anything. Whoever wants more asks
  // again after the last id it got.
  #sendHistory(messages: ServerMessage[], keep: "newest" | "oldest"): void {
    const budget = this.#options.sendQueueBytes / 2;
    const ordered = keep === "newest" ? messages.toReversed() : messages;
    const fitting: Uint8Array[] = [];
    let total = 0;
    for (const message of ordered) {
      const bytes = this.encoder.encode(message);
      if (!bytes) continue;
      if (total + bytes.length > budget) break;
      fitting.push(bytes);
      total += bytes.length;
    }
    if (keep === "newest") fitting.reverse();
    for (const bytes of fitting) this.send(bytes);
  }

  #hello(nick: string, room: string | undefined, since: number | undefined, echo = false): void {
    if (this.mode === "legacy" && this.nick === null) {
      // The classic client cannot choose again: a taken nick gets a number, a bad one a close.
      try {
        this.sendMessage(this.#chat.join(this, this.#chat.freeVariant(nick), room));
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.#reject(new ProtocolError(error.code, error.message, true));
        return;
      }
    } else {
      this.sendMessage(this.#chat.join(this, nick, room));
      this.echo = echo;
    }
    this.#replay(this.room!.name, since);
  }

  #reject(error: ProtocolError): void {
    if (error.fatal) this.closeWith(errorMessage(error), error.message);
    else this.sendMessage(errorMessage(error));
  }

  #overflow(): void {
    // What is queued will never be read in time: drop it, and try to say why before closing.
    this.#outbox.clear();
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
    if (!this.#writing) this.#writeNext();
  }

  // A write per member per event is the server's commonest step, so it is a chain of callbacks
  // made once per session rather than an async loop, which would cost promises on every write.
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
    this.#markClosing();
    this.#closeReason ||= "write failed";
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

  #finished: Promise<void> | null = null;
  #inputEnded = Promise.withResolvers<void>(); // resolved once run() has read its last byte

  // Delivers what is queued, half-closes, and waits for the peer to end its side, all within the
  // flush time; then closes. Closing while the peer's bytes are still arriving (say, the payload
  // of a frame that was too large) would reset the connection, and a reset can destroy the final
  // error before the peer reads it. Idempotent.
  #finish(): Promise<void> {
    this.#finished ??= (async () => {
      this.#markClosing();
      this.writeQueued();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let timedOut = false;
      const timeUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, this.#options.closeFlushMs);
      });
      await Promise.race([this.#writesDone(), timeUp]);
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
