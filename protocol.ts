// Parley's native wire protocol, with no I/O: frame codec, message validation, and the one-line text
// form that people read. PROTOCOL.md is the specification; this file is its executable form.
//
// A frame is a 4-byte unsigned big-endian payload length L, then L bytes of UTF-8 JSON holding one
// object with a string field `type`. 1 <= L <= the maximum frame size.

import { Buffer } from "node:buffer";

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
  | "no_such_nick"
  | "no_such_room"
  | "not_in_room"
  | "too_many_rooms"
  | "last_room"
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
  | { type: "hello"; nick: string; room?: string; since?: number; echo?: boolean }
  | { type: "msg"; text: string; action?: boolean; room?: string; to?: string }
  | { type: "join"; room: string; since?: number }
  | { type: "part"; room: string }
  | { type: "rooms" }
  | { type: "who"; room?: string }
  | { type: "history"; room: string; after: number }
  | { type: "nick"; nick: string }
  | { type: "ping" }
  | { type: "pong" };

/** A chat message as members receive it. `room` for a room's message, `to` for a private one. */
export type ChatMessage = {
  type: "msg";
  id: number;
  from: string;
  room?: string;
  to?: string;
  text: string;
  ts: number;
  action?: true;
  history?: true;
};

export type ServerMessage =
  // `count` only where `members` names some of them: a large room (room.ts).
  | { type: "welcome"; nick: string; room: string; members: string[]; count?: number }
  | { type: "joined"; room: string; members: string[]; count?: number }
  | ChatMessage
  | { type: "history_end"; room: string }
  | { type: "join"; nick: string; room: string }
  | { type: "leave"; nick: string; room: string }
  | { type: "nick"; from: string; nick: string; room: string }
  | { type: "who"; room: string; members: string[]; count?: number }
  | { type: "rooms"; rooms: Array<{ name: string; members: number }> }
  | { type: "notice"; text: string }
  | { type: "error"; code: ErrorCode; message: string }
  | { type: "ping" }
  | { type: "pong" };

/** Makes something of a frame's payload, `bytes[start, end)`. */
export type PayloadReader<T> = (bytes: Buffer, start: number, end: number) => T;

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

  /** Bytes held for an incomplete frame: a memory bound. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /**
   * Whether a frame has begun and is not complete: a slowloris check. Unlike `bufferedBytes`, true
   * once a header is in and before any of its payload.
   */
  get partial(): boolean {
    return this.#bufferedBytes > 0 || this.#payloadBytes >= 0;
  }

  /** The frames that `chunk` completes, parsed. */
  push(chunk: Uint8Array): DecodedFrame[] {
    return this.pushText(chunk).map(parsePayload);
  }

  /** The frames that `chunk` completes, as their payloads' text, not yet parsed. */
  pushText(chunk: Uint8Array): Array<string | ProtocolError> {
    return this.pushWith(chunk, decodePayload);
  }

  /**
   * What `read` makes of each frame that `chunk` completes, given its payload as `bytes[start,
   * end)`, bytes that are valid only during the call; a bad length ends the list with its error.
   */
  pushWith<T>(chunk: Uint8Array, read: PayloadReader<T>): Array<T | ProtocolError> {
    const payloads: Array<T | ProtocolError> = [];
    if (this.#failed) return payloads;
    let chunkBuffer: Buffer | null = null; // `chunk` as a Buffer, for its quick decoding
    let offset = 0;
    while (true) {
      if (this.#payloadBytes < 0) {
        const need = FRAME_HEADER_BYTES - this.#bufferedBytes;
        if (chunk.length - offset < need) break;
        // Read in place when it is all in `chunk`: a view per frame costs more than the read.
        const header = this.#bufferedBytes === 0 ? chunk : this.#take(chunk, offset, need);
        const at = header === chunk ? offset : 0;
        offset += need;
        const length =
          ((header[at] << 24) | (header[at + 1] << 16) | (header[at + 2] << 8) | header[at + 3]) >>>
          0;
        const error = this.#checkLength(length);
        if (error) {
          this.#fail();
          payloads.push(error);
          return payloads;
        }
        this.#payloadBytes = length;
      }
      const need = this.#payloadBytes - this.#bufferedBytes;
      if (chunk.length - offset < need) break;
      if (this.#bufferedBytes === 0) {
        chunkBuffer ??= Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
        payloads.push(read(chunkBuffer, offset, offset + need));
      } else {
        const payload = this.#take(chunk, offset, need);
        const view = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
        payloads.push(read(view, 0, payload.length));
      }
      offset += need;
      this.#payloadBytes = -1;
    }
    if (offset < chunk.length) {
      const rest = chunk.slice(offset); // a copy: the caller may reuse `chunk`
      this.#chunks.push(rest);
      this.#bufferedBytes += rest.length;
    }
    return payloads;
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

/** What Buffer's UTF-8 decoding puts where bytes are not UTF-8 (and what real text may hold too). */
export const REPLACEMENT_CHAR = "\uFFFD";
const BYTE_ORDER_MARK = 0xfeff;

// The text of `bytes[start, end)`, or invalid_utf8. Buffer's decoding is the quickest in both
// runtimes, several times quicker than a strict TextDecoder for short payloads, but it replaces
// what is not UTF-8 with U+FFFD: only a payload that decodes to that character (rare, and maybe
// genuine) is checked again strictly. A byte order mark is ignored, as TextDecoder ignores it.
export function decodePayload(bytes: Buffer, start: number, end: number): string | ProtocolError {
  let text = bytes.toString("utf8", start, end);
  if (text.includes(REPLACEMENT_CHAR)) {
    try {
      strictUtf8.decode(bytes.subarray(start, end));
    } catch {
      return new ProtocolError("invalid_utf8", "Frame payload is not valid UTF-8");
    }
  }
  if (text.charCodeAt(0) === BYTE_ORDER_MARK) text = text.slice(1);
  return text;
}

/** A payload's JSON, parsed: what `push` gives for each frame. */
export function parsePayload(payload: string | ProtocolError): DecodedFrame {
  if (typeof payload !== "string") return { ok: false, error: payload };
  try {
    return { ok: true, value: JSON.parse(payload) };
  } catch {
    return {
      ok: false,
      error: new ProtocolError("invalid_json", "Frame payload is not valid JSON"),
    };
  }
}

/** `chunks` as one array; `chunks[0]` itself when it is the only one. */
export function concatBytes(
  chunks: Uint8Array[],
  totalBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0),
): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const whole = new Uint8Array(totalBytes);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}

// Frames are cut from shared slabs, which are never written again where a frame was cut. In V8 a
// typed array of its own costs a separate allocation of its memory, more than the encoding; a slab
// is freed with the last frame cut from it, and outboxes (outbox.ts) refer to frames only until
// they are written. Consecutive frames lie one after another, which outboxes make use of.
const SLAB_BYTES = 256 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** One frame for `message`: the length header, then its JSON. The bytes are never reused. */
export function encodeFrame(
  message: ServerMessage | ClientMessage,
  textUtf8?: Uint8Array,
): Uint8Array {
  if (message.type === "msg" && "from" in message) {
    const frame = encodeChatFrame(message, textUtf8);
    if (frame) return frame;
  }
  const json = JSON.stringify(message);
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  const start = reserve(FRAME_HEADER_BYTES + json.length * 3);
  const { written } = utf8.encodeInto(json, slab.subarray(start + FRAME_HEADER_BYTES));
  return cutFrame(start, start + FRAME_HEADER_BYTES + written);
}

// Where a frame of at most `most` bytes may begin: in the current slab, or in a new one.
function reserve(most: number): number {
  if (slab.length - slabUsed < most) {
    slab = new Uint8Array(Math.max(SLAB_BYTES, most));
    slabUsed = 0;
  }
  return slabUsed;
}

// The frame written from `start` to `end`, its header filled in; the slab is used up to `end`.
function cutFrame(start: number, end: number): Uint8Array {
  const length = end - start - FRAME_HEADER_BYTES;
  slab[start] = length >>> 24;
  slab[start + 1] = (length >>> 16) & 0xff;
  slab[start + 2] = (length >>> 8) & 0xff;
  slab[start + 3] = length & 0xff;
  slabUsed = end;
  return slab.subarray(start, end);
}

// Chat messages are nearly all that a busy server writes, and on Deno JSON.stringify with
// encodeInto costs twice what writing their bytes directly does (on Bun, about the same). The
// bytes are JSON.stringify's for the fields in this order; a message with anything JSON would
// escape, or a number that is not a whole one, goes the general way.
const ascii = (text: string) => utf8.encode(text);
const CHAT_TYPE_ID = ascii('{"type":"msg","id":');
const CHAT_FROM = ascii(',"from":"');
const CHAT_ROOM = ascii('","room":"');
const CHAT_TO = ascii('","to":"');
const CHAT_TEXT = ascii('","text":"');
const CHAT_TS = ascii('","ts":');
const CHAT_ACTION = ascii(',"action":true');
const CHAT_HISTORY = ascii(',"history":true');
const CHAT_END = 0x7d; // }
// The most bytes of a chat frame besides its strings: header, keys, two numbers of up to 16 digits.
const CHAT_FIXED_BYTES = 160;

// `textUtf8`, when given, is the text's bytes, known to need no escaping (wire.ts): copied as they
// are, which costs a fraction of encoding the text again.
function encodeChatFrame(message: ChatMessage, textUtf8?: Uint8Array): Uint8Array | null {
  const { id, from, room, to, text, ts } = message;
  if (!isCount(id) || !isCount(ts) || (room === undefined) === (to === undefined)) return null;
  const where = room ?? to!;
  const start = reserve(CHAT_FIXED_BYTES + (from.length + where.length + text.length) * 3);
  let at = putBytes(CHAT_TYPE_ID, start + FRAME_HEADER_BYTES);
  at = putCount(id, at);
  at = putBytes(CHAT_FROM, at);
  if ((at = putPlainString(from, at)) < 0) return null;
  at = putBytes(room === undefined ? CHAT_TO : CHAT_ROOM, at);
  if ((at = putPlainString(where, at)) < 0) return null;
  at = putBytes(CHAT_TEXT, at);
  if (textUtf8) {
    slab.set(textUtf8, at);
    at += textUtf8.length;
  } else if ((at = putPlainString(text, at)) < 0) return null;
  at = putBytes(CHAT_TS, at);
  at = putTimestamp(ts, at);
  if (message.action) at = putBytes(CHAT_ACTION, at);
  if (message.history) at = putBytes(CHAT_HISTORY, at);
  slab[at++] = CHAT_END;
  return cutFrame(start, at);
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

// Each writes into the slab at `at` and returns where it ended. Short copies by hand: a call to
// TypedArray.set costs more than copying a few bytes.
function putBytes(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < bytes.length; i++) slab[at + i] = bytes[i];
  return at + bytes.length;
}

// A busy room's frames mostly carry the same millisecond as the frame before: its digits are kept.
let lastTs = -1;
let lastTsDigits = new Uint8Array(0);

function putTimestamp(ts: number, at: number): number {
  if (ts !== lastTs) {
    const end = putCount(ts, at);
    lastTs = ts;
    lastTsDigits = slab.slice(at, end);
    return end;
  }
  return putBytes(lastTsDigits, at);
}

function putCount(value: number, at: number): number {
  let digits = 1;
  for (let power = 10; power <= value; power *= 10) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const rest = Math.floor(value / 10);
    slab[i] = 0x30 + (value - rest * 10);
    value = rest;
  }
  return end;
}

// `text`'s UTF-8 bytes, when JSON.stringify would write them unescaped between quotes; else -1.
// ASCII is copied a character at a time; from the first other character encodeInto takes over,
// and what it wrote is checked instead. A lone surrogate, which JSON escapes and encodeInto
// replaces with U+FFFD, is caught by looking for U+FFFD, which real text seldom holds.
function putPlainString(text: string, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) return putEncodedRest(text.slice(i), at);
    if (unit < 0x20 || unit === QUOTE || unit === BACKSLASH) return -1;
    slab[at++] = unit;
  }
  return at;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function putEncodedRest(text: string, at: number): number {
  const end = at + utf8.encodeInto(text, slab.subarray(at)).written;
  for (let i = at; i < end; i++) {
    const byte = slab[i];
    if (byte < 0x20 || byte === QUOTE || byte === BACKSLASH) return -1;
    if (byte === 0xef && slab[i + 1] === 0xbf && slab[i + 2] === 0xbd && i + 2 < end) return -1;
  }
  return end;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badMessage(message: string): ProtocolError {
  return new ProtocolError("bad_message", message);
}

// Field checks for parseClientMessage: each returns the field, or throws a bad_message error.
function text(value: Record<string, unknown>, field: string): string {
  if (typeof value[field] !== "string") {
    throw badMessage(`"${value.type}" needs a string "${field}"`);
  }
  return value[field] as string;
}

function optionalText(value: Record<string, unknown>, field: string): string | undefined {
  return value[field] === undefined ? undefined : text(value, field);
}

function optionalFlag(value: Record<string, unknown>, field: string): boolean {
  const flag = value[field];
  if (flag !== undefined && typeof flag !== "boolean") {
    throw badMessage(`"${field}" must be true or false`);
  }
  return flag === true;
}

function optionalId(value: Record<string, unknown>, field: string): number | undefined {
  const id = value[field];
  if (id === undefined) return undefined;
  if (!Number.isSafeInteger(id) || (id as number) < 0) {
    throw badMessage(`"${field}" must be a message id, a whole number from 0`);
  }
  return id as number;
}

/**
 * `message` without the fields that were not given, so that messages compare and print cleanly.
 * A copy, not `delete`: an object that loses a field is slow to read ever after.
 */
function defined<T extends object>(message: T): T {
  const given = {} as T;
  for (const key in message) {
    if (message[key] !== undefined) given[key] = message[key];
  }
  return given;
}

/** Checks a decoded frame from a client and narrows it to a ClientMessage, or throws ProtocolError. */
export function parseClientMessage(value: unknown): ClientMessage {
  if (!isRecord(value)) throw badMessage("A frame must hold a JSON object");
  const { type } = value;
  if (typeof type !== "string") throw badMessage('A frame needs a string field "type"');
  switch (type) {
    case "hello":
      return defined({
        type,
        nick: text(value, "nick"),
        room: optionalText(value, "room"),
        since: optionalId(value, "since"),
        echo: optionalFlag(value, "echo") || undefined,
      });
    case "msg": {
      return defined({
        type,
        text: text(value, "text"),
        action: optionalFlag(value, "action") || undefined,
        room: optionalText(value, "room"),
        to: optionalText(value, "to"),
      });
    }
    case "join":
      return defined({ type, room: text(value, "room"), since: optionalId(value, "since") });
    case "part":
      return { type, room: text(value, "room") };
    case "who":
      return defined({ type, room: optionalText(value, "room") });
    case "history":
      return { type, room: text(value, "room"), after: optionalId(value, "after") ?? 0 };
    case "nick":
      return { type, nick: text(value, "nick") };
    case "rooms":
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
    case "joined":
    case "msg":
    case "history_end":
    case "rooms":
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

// C0 and C1 control characters would let one member move others' cursors or clear their screens.
// Tabs become spaces so that text stays aligned with what the sender saw.
const CONTROL_CHARS = /\p{Cc}/gu;
const CONTROL_CHAR = /\p{Cc}/u;

/** Removes what a terminal would act on rather than show. */
export function cleanText(text: string): string {
  // Testing first spares the common clean text a copy.
  if (!CONTROL_CHAR.test(text)) return text;
  return text.replace(CONTROL_CHARS, (c) => c === "\t" ? " " : "");
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

function clock(ts: number): string {
  const time = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

// The default room goes unnamed in text, however the member who opened it spelt it.
function isDefaultRoom(room: string): boolean {
  return nameKey(room) === DEFAULT_ROOM;
}

function describeChat(message: ChatMessage): string {
  const said = message.to !== undefined
    ? (message.action ? `*${message.from}* * ${message.text}` : `*${message.from}* ${message.text}`)
    : message.action
    ? `* ${message.from} ${message.text}`
    : `<${message.from}> ${message.text}`;
  // Rooms other than the default are named, so that a member of several can tell them apart.
  const where = message.room !== undefined && !isDefaultRoom(message.room)
    ? `[${message.room}] `
    : "";
  const when = message.history ? `[${clock(message.ts)}] ` : "";
  return `${when}${where}${said}`;
}

// Nicks as a list, saying how many more there are when a large room named only some of `count`.
function listed(nicks: string[], count = nicks.length): string {
  const more = count - nicks.length;
  return more > 0 ? `${nicks.join(", ")} and ${more} more` : nicks.join(", ");
}

/**
 * How a server message reads as one line of text, as the client and line-mode members show it;
 * null for messages that people need not see.
 */
export function describe(message: ServerMessage): string | null {
  const where = "room" in message && message.room !== undefined && !isDefaultRoom(message.room)
    ? ` ${message.room}`
    : "";
  switch (message.type) {
    case "msg":
      return describeChat(message);
    case "join":
      return `* ${message.nick} joined${where}`;
    case "leave":
      return `* ${message.nick} left${where}`;
    case "nick":
      return `* ${message.from} is now known as ${message.nick}`;
    case "who":
      return `* in ${message.room}: ${listed(message.members, message.count)}`;
    case "rooms":
      return `* rooms: ${
        message.rooms.map((room) => `${room.name} (${room.members})`).join(", ") || "none"
      }`;
    case "notice":
      return `* ${message.text}`;
    case "welcome": {
      const others = message.members.filter((nick) => nick !== message.nick);
      const othersInAll = message.count === undefined ? others.length : message.count - 1;
      const company = othersInAll === 0
        ? "nobody else is here yet"
        : `here: ${listed(others, othersInAll)}`;
      return `* you are ${message.nick} in ${message.room}; ${company}`;
    }
    case "joined":
      return `* you joined ${message.room}; here: ${listed(message.members, message.count)}`;
    case "error":
      return `* ${message.message}`;
    case "history_end":
    case "ping":
    case "pong":
      return null;
  }
}
