// The native frame codec, with no I/O: the streaming decoder and the encoder, whose frames the
// server writes to every member. PROTOCOL.md's "native mode" is its specification.
//
// A frame is a 4-byte unsigned big-endian payload length L, then L bytes of UTF-8 JSON holding one
// object with a string field `type`. 1 <= L <= the maximum frame size.

import { Buffer } from "node:buffer";
import {
  type ChatMessage,
  type ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
  ProtocolError,
  type ServerMessage,
} from "../protocol.ts";

export const FRAME_HEADER_BYTES = 4;

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
// is freed with the last frame cut from it, and outboxes (server/outbox.ts) refer to frames only
// until they are written. Consecutive frames lie one after another, which outboxes make use of.
const SLAB_BYTES = 256 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;
const slabs = new WeakSet<ArrayBufferLike>([slab.buffer]);

/**
 * Whether `buffer` is a slab that encodeFrame cuts frames from: bytes where a frame was cut there
 * never change, so what is read from them may be kept (server/websocket_member.ts).
 */
export function isFrameSlab(buffer: ArrayBufferLike): boolean {
  return slabs.has(buffer);
}

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
    slabs.add(slab.buffer);
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

// `textUtf8`, when given, is the text's bytes, known to need no escaping (server/wire.ts): copied
// as they are, which costs a fraction of encoding the text again.
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
