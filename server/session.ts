// One member's connection, as the loop it is served by: work out its mode from its first bytes,
// read, decode, let each input through flood control, handle it (handlers.ts), and close, with
// what is queued for it delivered first (send_queue.ts).
import type { Connection, Transport } from "../runtime.ts";
import type { Chat, Encoder, Room } from "./chat.ts";
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { SendQueue } from "./send_queue.ts";
import { type Asker, type ChatService, localService } from "./handlers.ts";
import type { SessionOptions } from "./session_options.ts";
import { detectMode, type Mode, SILENT_LINE_CLIENT_MS } from "../protocol/mode.ts";
import { type Greeting, GREETING_SO_FAR, readGreeting } from "../protocol/greeting.ts";
import { createWire, detached, type Input, nativeEncoder, type Wire } from "./wire.ts";
import { FloodGate, type FloodLimits, type FloodVerdict } from "./flood_gate.ts";
import { InputBacklog } from "./input_backlog.ts";
import { ReadWait, TURN_BYTES } from "./read_wait.ts";
import { Liveness, type LivenessVerdict } from "./liveness.ts";
import { Social } from "./social.ts";

// How long the silence that picks line mode is listened to again once its window is up; see
// #chooseWire.
const LISTEN_AGAIN_MS = 50;

export type { SessionOptions } from "./session_options.ts";

function errorMessage(error: ProtocolError): ServerMessage {
  return { type: "error", code: error.code, message: error.message };
}

const LIVENESS_MESSAGES: Record<Exclude<LivenessVerdict, "ok" | "ping">, string> = {
  read_timeout: "Closed: a message began to arrive but did not finish in time",
  hello_timeout: "Closed: no hello in time",
  idle_timeout: "Closed: idle for too long",
};

// Input read on while the member is in debt for what forms no message (bytes, blank lines) and no
// input waits: enough that a flood of noise shows its size at once, and is disconnected at its
// first read (flood_gate.ts), whatever size of reads the runtime makes; past it nothing more is
// read until the debt is paid.
const READ_AHEAD_BYTES = 64 * 1024;

// Input read and dropped once closing, so that a peer that was still sending sees an orderly end
// rather than a reset that may destroy our last words; past it a flooder is not read at all, and
// the connection is reset once the flush time is up.
const DROP_BYTES = 64 * 1024;

export class Session implements Asker {
  nick: string | null = null;
  room: Room | null = null;
  echo = false;
  account: string | null = null;
  readonly rooms = new Set<Room>();
  readonly social = new Social(Date.now()); // what /whois shows as "since" is wall-clock time
  readonly address: string;

  #conn: Connection;
  #service: ChatService;
  #busy = false; // the service is still acting on an input: the next ones wait
  #options: SessionOptions;
  #wire: Wire | null = null; // chosen from the first bytes
  #carriedRead: Promise<Uint8Array | null> | null = null; // a read begun while choosing the mode
  #queue: SendQueue;
  #closing = false; // no more input is acted on and no more output accepted
  #closeReason = "";
  #closeCode = "peer_closed"; // the reason, for metrics: the final error's code, if any
  #joinedAs = ""; // for the disconnect log, after Chat has cleared `nick`
  #refusal: ProtocolError | null = null;
  #floodGate: FloodGate;
  #liveness: Liveness;
  #backlog = new InputBacklog(); // read, waiting for their turn under flood control
  #listening = true; // false while flood control keeps us from reading: that silence is ours
  #readAhead = 0; // bytes read since the member was last out of debt
  #wait = new ReadWait(); // counts the input of each turn; see TURN_BYTES

  constructor(
    conn: Connection,
    chat: Chat,
    options: SessionOptions,
    address: string,
    readonly transport: Transport = "tcp",
  ) {
    this.#conn = conn;
    this.#service = options.service ?? localService(chat, options.accounts ?? null);
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

  get flood(): FloodLimits {
    return this.#options.flood;
  }

  get sendQueueBytes(): number {
    return this.#queue.softBytes;
  }

  /** Serves the connection until it ends; never throws. */
  async run(): Promise<void> {
    let ended = true; // the peer has ended its side: closing will not reset the connection
    try {
      const first = await this.#chooseWire();
      if (first !== null) {
        if (this.#refusal) this.closeWith(errorMessage(this.#refusal), this.#refusal.message);
        ended = await this.#serve(first);
      }
      const refused = this.#conn.refused;
      if (refused && !this.#closeReason) {
        this.#closeReason = refused.reason;
        this.#closeCode = refused.code;
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
    if (ended) this.#inputEnded.resolve(); // else the flush time is waited out, then a reset
    this.#service.leave(this);
    await this.#finish(null);
  }

  // Picks the wire from the connection's first bytes (or the pinned mode), returning the bytes read
  // so far, or null if the peer left first. A peer that stays silent is a person at a line client,
  // waiting for a banner: it gets line mode, and the read begun meanwhile carries over. So do the
  // first bytes of a line client that are not yet a whole greeting (protocol/greeting.ts).
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
    let greeting: Greeting | typeof GREETING_SO_FAR | null = null;
    try {
      while (true) {
        const reading = this.#conn.read();
        const mayBeSilent = prefix.length === 0 || greeting === GREETING_SO_FAR;
        const chunk = mayBeSilent ? await Promise.race([reading, silence]) : await reading;
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
        const mode = detectMode(prefix, this.#options.maxFrameBytes);
        if (mode === "line") greeting = readGreeting(prefix, this.#options.maxLineBytes);
        if (mode && greeting !== GREETING_SO_FAR) {
          this.#begin(mode, greeting);
          return greeting ? prefix.subarray(greeting.bytes) : prefix;
        }
        // A header, a line or a greeting has begun, and must finish.
        this.#liveness.heard(this.#options.clock(), true);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #begin(mode: Mode, greeting: Greeting | null = null): void {
    this.#wire = createWire(mode, this.#options, greeting?.name);
    this.#options.metrics?.accepted(this.transport, mode);
    if (mode !== "line" || this.#refusal) return;
    this.#awaitService(this.#service.welcomeGuest(this, greeting?.name));
    this.#joinedAs = this.nick ?? "";
  }

  // Reads, charges and handles input until the peer ends it or the session closes. Each input is
  // charged by flood control when its turn comes, and waits for it if the member is over its rate;
  // nothing more is read while any input waits, or the member is in debt past READ_AHEAD_BYTES, so
  // TCP holds the rest of a paste, or of a flood, in the sender's buffers (IRC's fakelag). Once closing, held input is
  // dropped, and the rest is read and dropped until the peer ends, DROP_BYTES are dropped, or the
  // flush time is up: see #finish. After TURN_BYTES of input, the next read waits for a timer, so
  // that the event loop turns. Returns whether the peer ended its side.
  async #serve(first: Uint8Array): Promise<boolean> {
    let read = this.#carriedRead ? this.#wait.start(this.#carriedRead) : null;
    this.#carriedRead = null;
    let ended = false;
    if (!this.#closing) this.#arrive(first);
    while (!this.#closing) {
      if (read?.done) {
        if (read.chunk === null) ended = true;
        else this.#arrive(read.chunk);
        read = null;
      }
      let wakeIn = this.#handleDue();
      if (this.#closing || (ended && this.#backlog.empty)) break;
      if (wakeIn === undefined && !ended) {
        const verdict = this.#floodGate.mayRead(this.#options.clock());
        if (!this.#heed(verdict)) break;
        if (verdict.action === "go") this.#readAhead = 0;
        else if (this.#readAhead >= READ_AHEAD_BYTES) wakeIn = verdict.ms;
      }
      // While the service acts on an input, nothing more is read: the next inputs wait for it.
      this.#listen(!ended && wakeIn === undefined && !this.#busy);
      if (this.#listening && !read) {
        if (this.#wait.turnBytes < TURN_BYTES) read = this.#wait.start(this.#conn.read());
        else wakeIn = 0; // a turn first; the timer starts a new one
      }
      await this.#wait.sleep(wakeIn);
    }
    this.#backlog.clear();
    if (this.#closing) this.#service.leave(this);
    if (read?.done) ended ||= read.chunk === null;
    else if (read) ended = (await read.promise) === null;
    for (let dropped = 0; !ended && dropped < DROP_BYTES;) {
      const chunk = await this.#conn.read();
      if (chunk === null) ended = true;
      else dropped += chunk.length;
    }
    return ended;
  }

  // Decodes a chunk, charges its bytes and what in it forms no message, and acts on each input at
  // once while the member is within its rate; the rest waits its turn, in order.
  #arrive(chunk: Uint8Array): void {
    const decoder = this.#wire!.decoder;
    const inputs = decoder.push(chunk);
    const now = this.#options.clock();
    this.#wait.turnBytes += chunk.length;
    this.#readAhead += chunk.length;
    this.#liveness.heard(now, decoder.partial);
    if (!this.#heed(this.#floodGate.arrived(now, decoder.skipped, chunk.length))) return;
    for (const input of inputs) {
      // Nothing waits before it, and it need not wait: it is acted on now, while what it refers to
      // in the read buffer is still there.
      if (this.#backlog.empty && !this.#busy && this.#floodGate.take(now).action === "go") {
        if (this.#closing) return;
        this.#act(input);
      } else {
        if (this.#options.metrics && !this.#busy) this.#options.metrics.floodDelays++;
        this.#backlog.hold(input instanceof ProtocolError ? input : detached(input));
      }
    }
  }

  // Says what flood control decided, if anything; false once the member is disconnected.
  #heed(verdict: FloodVerdict): verdict is Exclude<FloodVerdict, { action: "disconnect" }> {
    if (verdict.action === "disconnect") {
      this.#reject(new ProtocolError("flood", "Disconnected for flooding", true));
      return false;
    }
    if (verdict.action === "wait" && verdict.warn) {
      this.#reject(new ProtocolError("flood", "You are sending too fast; your input is delayed"));
    }
    return true;
  }

  #act(input: Input | ProtocolError): void {
    if (input instanceof ProtocolError) {
      this.#reject(input);
    } else {
      this.#handle(input);
    }
  }

  // Handles, in order, every held input whose turn has come; returns how long until the next one's
  // turn, or undefined when none waits.
  #handleDue(): number | undefined {
    const now = this.#options.clock();
    for (let held; !this.#closing && !this.#busy && (held = this.#backlog.next);) {
      const verdict = this.#floodGate.take(now);
      if (!this.#heed(verdict)) return undefined;
      if (verdict.action === "wait") return verdict.ms;
      this.#backlog.take();
      this.#act(held);
    }
    return undefined;
  }

  // While flood control keeps us from reading, the member's silence is ours: liveness is not judged,
  // and its clocks start again when we read again.
  #listen(listening: boolean): void {
    if (listening && !this.#listening) this.#liveness.resumed(this.#options.clock());
    this.#listening = listening;
  }

  #markClosing(): void {
    this.#closing = true;
    this.#wait.wake();
  }

  /** Pings a quiet member, or closes one that is too quiet. Called by the server's sweep. */
  checkLiveness(now: number): void {
    if (this.#closing || !this.#listening) return;
    // Joined, not merely talking: pings or refused hellos do not keep a slot (PROTOCOL.md).
    const verdict = this.#liveness.check(now, this.mode, this.nick !== null);
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
    const bytes = this.encoder.encode(message, undefined, this.nick ?? undefined);
    if (bytes) this.send(bytes);
  }

  send(bytes: Uint8Array): void {
    const metrics = this.#options.metrics;
    if (metrics) {
      metrics.deliveriesOut++;
      metrics.bytesOut += bytes.length;
    }
    this.#queue.send(bytes);
  }

  charge(inputs: number): void {
    this.#floodGate.owe(inputs);
  }

  /** Says `message` last, then closes once it is delivered or the flush time is up. */
  closeWith(message: ServerMessage, reason: string): void {
    if (this.#closing) return this.#queue.stopLingering(); // a second close (shutdown) waits for no one
    this.#markClosing();
    this.#closeReason = reason;
    if (message.type === "error") this.#closeCode = message.code;
    // A read may be pending: the queue half-closes our side once it is delivered, so that the
    // peer sees the end, and closes the connection, which ends that read.
    this.#finish(this.encoder.encode(message));
  }

  #handle(input: Input): void {
    if (this.#options.metrics) this.#options.metrics.messagesIn++;
    try {
      this.#awaitService(this.#service.handle(this, input));
    } catch (error) {
      if (error instanceof ProtocolError) this.#reject(error);
      else throw error;
    }
    this.#joinedAs = this.nick ?? this.#joinedAs;
  }

  // A service that answers later holds the member's next inputs until it has (see ChatService).
  #awaitService(acting: void | Promise<void>): void {
    if (!acting) return;
    this.#busy = true;
    acting.catch((error) => {
      if (this.#closing) return;
      if (error instanceof ProtocolError) return this.#reject(error);
      this.#options.log(`error serving ${this.address}: ${(error as Error)?.stack ?? error}`);
      this.closeWith(
        { type: "error", code: "internal_error", message: "The server failed; sorry" },
        `internal error: ${error}`,
      );
    }).finally(() => {
      this.#busy = false;
      this.#joinedAs = this.nick ?? this.#joinedAs;
      this.#wait.wake();
    });
  }

  #reject(error: ProtocolError): void {
    if (error.fatal) this.closeWith(errorMessage(error), error.message);
    else this.sendMessage(errorMessage(error));
  }

  // Called by the queue, which has dropped what it held: the member cannot read in time.
  #overflow(why: string): void {
    this.#service.leave(this);
    this.closeWith(
      { type: "error", code: "send_queue_full", message: `You were too slow to read: ${why}` },
      "send queue full",
    );
  }

  // Called by the queue, which closes the connection next.
  #writeFailed(): void {
    this.#markClosing();
    if (this.#closeReason) return;
    this.#closeReason = "write failed";
    this.#closeCode = "write_failed";
  }

  #finished: Promise<void> | null = null;
  #inputEnded = Promise.withResolvers<void>(); // resolved once run() has read its last byte

  // Stops serving, lets the queue deliver what waits (then `last`), half-close and wait for the
  // peer to end its side, all within the flush time, and logs the disconnect. Idempotent.
  #finish(last: Uint8Array | null): Promise<void> {
    this.#finished ??= (async () => {
      this.#markClosing();
      await this.#queue.close(last, this.#options.closeFlushMs, this.#inputEnded.promise);
      if (!this.#wire) this.#options.metrics?.accepted(this.transport, "none");
      this.#options.metrics?.closed(this.#closeCode);
      const who = this.#joinedAs ? ` ${this.#joinedAs}` : "";
      this.#options.log(`disconnect ${this.address}${who} (${this.#closeReason})`);
    })();
    return this.#finished;
  }
}
