// A WebSocket member as a Connection, so that it is served by the same Session as a TCP one in
// native mode: the same decoder, flood control, limits, history and errors. Each text message
// received reads as one native frame (its length, then its UTF-8); each native frame written goes
// out as one text message (PROTOCOL.md, "WebSocket").
import { Buffer } from "node:buffer";
import {
  Arrivals,
  type Connection,
  type HttpServer,
  type Listener,
  type SendStatus,
  type TlsCredentials,
  type WebSocketEvents,
  type WebSocketPeer,
  type WriteDone,
} from "../runtime.ts";
import { FRAME_HEADER_BYTES, isFrameSlab } from "../protocol/native.ts";
import type { ServerMessage } from "../protocol.ts";

// Past this many unread bytes the socket is paused where the runtime can; where it cannot (Deno),
// past UNREAD_LIMIT_BYTES the member is closed: flood control would have closed it long before
// so much of its input was read (30 s behind at 4 KiB a message is some 1.2 MiB).
const PAUSE_AT_UNREAD_BYTES = 256 * 1024;
const UNREAD_LIMIT_BYTES = 4 * 1024 * 1024;

// WebSocket close codes (RFC 6455, 7.4.1).
const CLOSE_NORMAL = 1000;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_POLICY_VIOLATION = 1008;

const BINARY_ERROR = {
  type: "error",
  code: "binary_message",
  message: "Cannot accept a binary message: send each JSON message as text",
} satisfies ServerMessage;
const FLOOD_ERROR = {
  type: "error",
  code: "flood",
  message: "Disconnected for flooding",
} satisfies ServerMessage;

const utf8 = new TextEncoder();

// A broadcast hands every member the same frame, cut from a slab whose bytes never change, and
// the send queue hands it on still in that slab (writeParts): its text is decoded once, for the
// first member written to, and kept with its slab, for as long as anything holds the slab. Frames
// copied elsewhere (a slow member's outbox copies what it holds) are decoded each time.
const slabTexts = new WeakMap<ArrayBufferLike, Map<number, string>>(); // by the frame's offset

function textsOf(slab: ArrayBufferLike): Map<number, string> | null {
  let texts = slabTexts.get(slab);
  if (texts === undefined && isFrameSlab(slab)) slabTexts.set(slab, texts = new Map());
  return texts ?? null;
}

// Each text message read is made a native frame in a slab shared by all members, cut once and
// never written again (a chunk read stays valid until the reader's next read, and unread ones
// wait). An array of its own per message would cost more on Bun than the encoding: its `buffer`,
// which the decoder reads, is made on first use.
const INPUT_SLAB_BYTES = 64 * 1024;
let inputSlab = new Uint8Array(INPUT_SLAB_BYTES);
let inputUsed = 0;

function inputFrame(text: string): Uint8Array {
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  const most = FRAME_HEADER_BYTES + text.length * 3;
  if (inputSlab.length - inputUsed < most) {
    inputSlab = new Uint8Array(Math.max(INPUT_SLAB_BYTES, most));
    inputUsed = 0;
  }
  const start = inputUsed;
  const { written } = utf8.encodeInto(text, inputSlab.subarray(start + FRAME_HEADER_BYTES));
  inputSlab[start] = written >>> 24;
  inputSlab[start + 1] = (written >>> 16) & 0xff;
  inputSlab[start + 2] = (written >>> 8) & 0xff;
  inputSlab[start + 3] = written & 0xff;
  inputUsed = start + FRAME_HEADER_BYTES + written;
  return inputSlab.subarray(start, inputUsed);
}

export class WebSocketMember implements Connection, WebSocketEvents {
  readonly remoteHost: string;
  readonly remotePort: number;
  #peer: WebSocketPeer;
  #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  #paused = false;
  #ended = false; // nothing more will be read
  #closed = false;
  #reader: ((chunk: Uint8Array | null) => void) | null = null;
  #waitingWrite: WriteDone | null = null; // a write that waits for the runtime to drain
  refused: { code: string; reason: string } | null = null;

  constructor(peer: WebSocketPeer) {
    this.#peer = peer;
    this.remoteHost = peer.remoteHost;
    this.remotePort = peer.remotePort;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#unread.shift();
    if (chunk) {
      this.#unreadBytes -= chunk.length;
      if (this.#paused && this.#unreadBytes < PAUSE_AT_UNREAD_BYTES / 2) {
        this.#paused = false;
        this.#peer.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#reader = resolve);
  }

  // The bytes are whole native frames (the send queue cuts its writes where a send ended): each
  // is sent as one text message. One the runtime says it holds too much after is finished only
  // once it has drained, so what waits is counted by the send queue, never by the runtime alone.
  write(bytes: Uint8Array, done: WriteDone): void {
    this.writeParts([bytes], done);
  }

  writeParts(parts: readonly Uint8Array[], done: WriteDone): void {
    this.#writing = parts;
    this.#status = "sent";
    this.#peer.batch(this.#sendWriting);
    this.#writing = null;
    const status = this.#status as SendStatus; // set by #sendWriting, which TypeScript cannot see
    if (status === "closed") done(new Error("connection closed"));
    else if (status === "wait") this.#waitingWrite = done;
    else done();
  }

  // The write in flight, sent by #sendWriting; made once per member, for `batch`.
  #writing: readonly Uint8Array[] | null = null;
  #status: SendStatus = "sent";

  #sendWriting = (): void => {
    for (const part of this.#writing!) {
      const texts = textsOf(part.buffer);
      const offset = part.byteOffset;
      const buffer = Buffer.from(part.buffer, offset, part.length);
      for (let at = 0; at + FRAME_HEADER_BYTES <= part.length;) {
        const start = at + FRAME_HEADER_BYTES;
        const end = start + buffer.readUInt32BE(at);
        let text = texts?.get(offset + at);
        if (text === undefined) {
          text = buffer.toString("utf8", start, end);
          texts?.set(offset + at, text);
        }
        const status = this.#closed ? "closed" : this.#peer.send(text);
        if (status === "closed") return void (this.#status = "closed");
        if (status === "wait") this.#status = "wait";
        at = end;
      }
    }
  };

  closeWrite(): Promise<void> {
    if (!this.#closed) this.#peer.close(CLOSE_NORMAL, "");
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#peer.terminate();
    this.closed();
  }

  message(data: string | Uint8Array): void {
    if (this.#ended) return;
    if (typeof data !== "string") {
      // Nothing in it can be read as the protocol's, and nothing after it can be trusted to be.
      return this.#refuse(BINARY_ERROR, CLOSE_UNSUPPORTED_DATA, "binary message");
    }
    const frame = inputFrame(data);
    if (this.#reader) {
      const reader = this.#reader;
      this.#reader = null;
      return reader(frame);
    }
    this.#unread.push(frame);
    this.#unreadBytes += frame.length;
    if (!this.#paused && this.#unreadBytes >= PAUSE_AT_UNREAD_BYTES) {
      this.#paused = this.#peer.pause();
      if (!this.#paused && this.#unreadBytes > UNREAD_LIMIT_BYTES) {
        this.#refuse(FLOOD_ERROR, CLOSE_POLICY_VIOLATION, "flood");
      }
    }
  }

  drain(): void {
    const done = this.#waitingWrite;
    this.#waitingWrite = null;
    done?.();
  }

  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endInput();
    const done = this.#waitingWrite;
    this.#waitingWrite = null;
    done?.(new Error("connection closed"));
  }

  // Says `error` and closes with `closeCode`, ahead of whatever the session still has to send: the
  // session, which reads the end of input next, counts the close by `refused`.
  #refuse(error: ServerMessage & { type: "error" }, closeCode: number, why: string): void {
    this.refused = { code: error.code, reason: why };
    this.#peer.send(JSON.stringify(error));
    this.#peer.close(closeCode, why);
    this.#endInput();
  }

  #endInput(): void {
    this.#ended = true;
    this.#unread = [];
    this.#unreadBytes = 0;
    this.#reader?.(null);
    this.#reader = null;
  }
}

/** The WebSocket members that an HTTP server's /ws accepts, as a Listener for the ChatServer. */
export class WebSocketListener implements Listener {
  readonly transport = "ws";
  /** Served over HTTPS (WSS): see openWeb. */
  secure = false;
  #arrivals = new Arrivals<WebSocketMember>();
  #http: HttpServer | null = null;

  get hostname(): string {
    return this.#http?.hostname ?? "";
  }

  get port(): number {
    return this.#http?.port ?? 0;
  }

  /** The HTTP server whose /ws hands its WebSockets to `accept`: closing this closes it. */
  serving(http: HttpServer): this {
    this.#http = http;
    return this;
  }

  /** New connections are served with `credentials`; see HttpServer.renew. */
  renew(credentials: TlsCredentials): Promise<void> {
    return this.#http?.renew(credentials) ?? Promise.resolve();
  }

  /** Takes a new WebSocket; returns where the runtime sends its events. */
  accept(peer: WebSocketPeer): WebSocketEvents {
    const member = new WebSocketMember(peer);
    if (!this.#arrivals.push(member)) member.close();
    return member;
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#arrivals[Symbol.asyncIterator]();
  }

  close(): void {
    if (this.#arrivals.closed) return;
    this.#http?.close();
    this.#arrivals.close();
  }
}
