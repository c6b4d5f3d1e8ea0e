// Parley's native wire protocol, with no I/O: frame codec, message validation, and the one-line text
// form that people read. PROTOCOL.md is the specification; this file is its executable form.
//
// A frame is a 4-byte unsigned big-endian payload length L, then L bytes of UTF-8 JSON holding one
// object with a string field `type`. 1 <= L <= the maximum frame size.

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 65536;
export const MAX_NICK_CHARS = 32;
export const MAX_ROOM_CHARS = 32;
export const MAX_TEXT_BYTES = 4096;
export const DEFAULT_ROOM = "lobby";

export type ErrorCode =
  | "empty_frame"
  | "frame_too_large"
  | "invalid_utf8"
  | "invalid_json"
  | "bad_message"
  | "unknown_type"
  | "not_joined"
  | "already_joined"
  | "empty_text"
  | "text_too_long"
  | "bad_nick"
  | "nick_taken"
  | "bad_room"
  | "unknown_command"
  | "line_too_long"
  | "bad_header"
  | "flood"
  | "read_timeout"
  | "hello_timeout"
  | "idle_timeout"
  | "too_many_connections"
  | "send_queue_full"
  | "server_shutdown"
  | "internal_error";

/** A protocol violation: `code` goes on the wire; `fatal` means the byte stream cannot go on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fatal = false,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

export type ClientMessage =
  | { type: "hello"; nick: string; room?: string }
  | { type: "msg"; text: string; action?: boolean }
  | { type: "nick"; nick: string }
  | { type: "who" }
  | { type: "ping" }
  | { type: "pong" };

export type ServerMessage =
  | { type: "welcome"; nick: string; room: string; members: string[] }
  | { type: "msg"; from: string; room: string; text: string; ts: number; action?: true }
  | { type: "join"; nick: string; room: string }
  | { type: "leave"; nick: string; room: string }
  | { type: "nick"; from: string; nick: string; room: string }
  | { type: "who"; room: string; members: string[] }
  | { type: "notice"; text: string }
  | { type: "error"; code: ErrorCode; message: string }
  | { type: "ping" }
  | { type: "pong" };

export type DecodedFrame =
  | { ok: true; value: unknown }
  | { ok: false; error: ProtocolError };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();

/**
 * Streaming decoder for native frames. `push` takes chunks of any size and returns every frame that
 * the chunk completes. It never keeps a reference to a pushed chunk, so callers may reuse their read
 * buffer. A bad length is rejected as soon as the header is complete, before any payload is
 * buffered; after that the decoder is finished and ignores further input.
 */
export class FrameDecoder {
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #payloadBytes = -1; // -1 while waiting for a header
  #failed = false;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held for an incomplete frame: a slowloris check and a memory bound in one. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    if (this.#failed) return frames;
    let offset = 0;
    while (true) {
      if (this.#payloadBytes < 0) {
        const need = FRAME_HEADER_BYTES - this.#bufferedBytes;
        if (chunk.length - offset < need) break;
        const header = this.#take(chunk, offset, need);
        offset += need;
        const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
        const error = this.#checkLength(length);
        if (error) {
          this.#fail();
          frames.push({ ok: false, error });
          return frames;
        }
        this.#payloadBytes = length;
      }
      const need = this.#payloadBytes - this.#bufferedBytes;
      if (chunk.length - offset < need) break;
      const payload = this.#take(chunk, offset, need);
      offset += need;
      this.#payloadBytes = -1;
      frames.push(parsePayload(payload));
    }
    if (offset < chunk.length) {
      const rest = chunk.slice(offset); // a copy: the caller may reuse `chunk`
      this.#chunks.push(rest);
      this.#bufferedBytes += rest.length;
    }
    return frames;
  }

  #checkLength(length: number): ProtocolError | null {
    if (length === 0) {
      return new ProtocolError("empty_frame", "Cannot accept frame: length 0", true);
    }
    if (length > this.maxFrameBytes) {
      return new ProtocolError(
        "frame_too_large",
        `Cannot accept frame: length ${length} exceeds ${this.maxFrameBytes} bytes`,
        true,
      );
    }
    return null;
  }

  // The buffered bytes followed by `need` bytes of `chunk` from `offset`, as one array. Without
  // buffered bytes this is a view of `chunk`, which callers consume before `push` returns.
  #take(chunk: Uint8Array, offset: number, need: number): Uint8Array {
    if (this.#bufferedBytes === 0) return chunk.subarray(offset, offset + need);
    const whole = new Uint8Array(this.#bufferedBytes + need);
    let at = 0;
    for (const piece of this.#chunks) {
      whole.set(piece, at);
      at += piece.length;
    }
    whole.set(chunk.subarray(offset, offset + need), at);
    this.#chunks = [];
    this.#bufferedBytes = 0;
    return whole;
  }

  #fail(): void {
    this.#failed = true;
    this.#chunks = [];
    this.#bufferedBytes = 0;
  }
}

function parsePayload(payload: Uint8Array): DecodedFrame {
  let text: string;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    return {
      ok: false,
      error: new ProtocolError("invalid_utf8", "Frame payload is not valid UTF-8"),
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return {
      ok: false,
      error: new ProtocolError("invalid_json", "Frame payload is not valid JSON"),
    };
  }
}

/** One frame for `message`: the length header, then its JSON. */
export function encodeFrame(message: ServerMessage | ClientMessage): Uint8Array {
  const json = JSON.stringify(message);
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  const frame = new Uint8Array(FRAME_HEADER_BYTES + json.length * 3);
  const { written } = utf8.encodeInto(json, frame.subarray(FRAME_HEADER_BYTES));
  new DataView(frame.buffer).setUint32(0, written);
  return frame.subarray(0, FRAME_HEADER_BYTES + written);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badMessage(message: string): ProtocolError {
  return new ProtocolError("bad_message", message);
}

/** Checks a decoded frame from a client and narrows it to a ClientMessage, or throws ProtocolError. */
export function parseClientMessage(value: unknown): ClientMessage {
  if (!isRecord(value)) throw badMessage("A frame must hold a JSON object");
  const { type } = value;
  if (typeof type !== "string") throw badMessage('A frame needs a string field "type"');
  switch (type) {
    case "hello": {
      if (typeof value.nick !== "string") throw badMessage('"hello" needs a string "nick"');
      if (value.room !== undefined && typeof value.room !== "string") {
        throw badMessage('"room" must be a string');
      }
      return value.room === undefined
        ? { type, nick: value.nick }
        : { type, nick: value.nick, room: value.room };
    }
    case "msg":
      if (typeof value.text !== "string") throw badMessage('"msg" needs a string "text"');
      if (value.action !== undefined && typeof value.action !== "boolean") {
        throw badMessage('"action" must be true or false');
      }
      return value.action ? { type, text: value.text, action: true } : { type, text: value.text };
    case "nick":
      if (typeof value.nick !== "string") throw badMessage('"nick" needs a string "nick"');
      return { type, nick: value.nick };
    case "who":
    case "ping":
    case "pong":
      return { type };
    default:
      throw new ProtocolError("unknown_type", `Unknown message type "${type.slice(0, 32)}"`);
  }
}

/** Checks a decoded frame from a server; clients trust the server's field types but not its types. */
export function parseServerMessage(value: unknown): ServerMessage {
  if (!isRecord(value) || typeof value.type !== "string") {
    throw badMessage('A frame needs a string field "type"');
  }
  switch (value.type) {
    case "welcome":
    case "msg":
    case "join":
    case "leave":
    case "nick":
    case "who":
    case "notice":
    case "error":
    case "ping":
    case "pong":
      return value as ServerMessage;
    default:
      throw new ProtocolError("unknown_type", `Unknown message type "${value.type.slice(0, 32)}"`);
  }
}

// Whitespace, control and format characters (which can hide or reorder text), and the characters
// that frame a nick in the text form (`<alice>`, `* alice`, `/cmd`).
const FORBIDDEN_IN_NAMES = /[\s\p{Cc}\p{Cf}<>*/]/u;

function checkName(name: string, what: string, maxChars: number): string | null {
  const chars = [...name].length;
  if (chars === 0) return `${what} must not be empty`;
  if (chars > maxChars) return `${what} is longer than ${maxChars} characters`;
  if (FORBIDDEN_IN_NAMES.test(name)) {
    return `${what} must not contain spaces, control characters or any of < > * /`;
  }
  return null;
}

/** Why `nick` is not acceptable, or null when it is. */
export function nickProblem(nick: string): string | null {
  return checkName(nick, "Nick", MAX_NICK_CHARS);
}

/** Why `room` is not acceptable, or null when it is. */
export function roomProblem(room: string): string | null {
  return checkName(room, "Room name", MAX_ROOM_CHARS);
}

/** Nicks and rooms are unique ignoring case: this is the key they are compared by. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Why `text` cannot be sent as a message, as a ProtocolError, or null when it can. */
export function textProblem(text: string): ProtocolError | null {
  if (text.length === 0) return new ProtocolError("empty_text", "Cannot send an empty message");
  // A UTF-16 unit is 1 to 3 UTF-8 bytes, so most texts are decided without encoding them.
  const surelyFits = text.length * 3 <= MAX_TEXT_BYTES;
  if (!surelyFits && (text.length > MAX_TEXT_BYTES || utf8.encode(text).length > MAX_TEXT_BYTES)) {
    return new ProtocolError(
      "text_too_long",
      `Cannot send message: it exceeds ${MAX_TEXT_BYTES} bytes`,
    );
  }
  return null;
}

/** How a server message reads as one line of text, as the client and line-mode members show it. */
export function describe(message: ServerMessage): string | null {
  switch (message.type) {
    case "msg":
      return message.action
        ? `* ${message.from} ${message.text}`
        : `<${message.from}> ${message.text}`;
    case "join":
      return `* ${message.nick} joined`;
    case "leave":
      return `* ${message.nick} left`;
    case "nick":
      return `* ${message.from} is now known as ${message.nick}`;
    case "who":
      return `* in ${message.room}: ${message.members.join(", ")}`;
    case "notice":
      return `* ${message.text}`;
    case "welcome": {
      const others = message.members.filter((nick) => nick !== message.nick);
      const company = others.length === 0
        ? "nobody else is here yet"
        : `here: ${others.join(", ")}`;
      return `* you are ${message.nick} in ${message.room}; ${company}`;
    }
    case "error":
      return `* ${message.message}`;
    case "ping":
    case "pong":
      return null;
  }
}
