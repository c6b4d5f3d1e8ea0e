// Stream splitters for the load generator, with no I/O: Parley's native frames and Redis's RESP
// replies. Unlike FrameDecoder, they decode nothing: they hand out where each frame
// lies in the bytes, and the caller looks only at the bytes it needs. Chunks are valid only while
// they are pushed (the socket reuses its read buffer), so a partial frame is copied, and waits for
// the reads that end it.

import { concatBytes } from "../protocol/native.ts";

/** Called with a frame's payload as `bytes[start, end)`; valid only during the call. */
export type OnFrame = (bytes: Uint8Array, start: number, end: number) => void;

const HEADER_BYTES = 4;

/** Splits a byte stream into native frames: a 4-byte big-endian length, then the payload. */
export class FrameScanner {
  // The start of a frame that straddles reads; only its own bytes are ever copied.
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #need = 0; // its whole size, header included, once the header is in (else 0)
  #onFrame: OnFrame;

  constructor(onFrame: OnFrame) {
    this.#onFrame = onFrame;
  }

  /** Bytes held for a frame that has not finished arriving. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Uint8Array): void {
    let at = this.#pendingBytes > 0 ? this.#finishPending(chunk) : 0;
    if (at < 0) return;
    const end = chunk.length;
    while (end - at >= HEADER_BYTES) {
      const frameEnd = at + HEADER_BYTES + lengthAt(chunk, at);
      if (frameEnd > end) break;
      this.#onFrame(chunk, at + HEADER_BYTES, frameEnd);
      at = frameEnd;
    }
    if (at < end) this.#hold(chunk.subarray(at));
  }

  // Completes the pending frame from the start of `chunk` and hands it out; returns how much of
  // `chunk` that took, or -1 if all of it went to the pending frame.
  #finishPending(chunk: Uint8Array): number {
    let at = 0;
    if (this.#need === 0) {
      at = Math.min(HEADER_BYTES - this.#pendingBytes, chunk.length);
      this.#hold(chunk.subarray(0, at));
      if (this.#need === 0) return -1;
    }
    const missing = this.#need - this.#pendingBytes;
    if (chunk.length - at < missing) {
      this.#hold(chunk.subarray(at));
      return -1;
    }
    this.#pending.push(chunk.subarray(at, at + missing));
    const frame = concatBytes(this.#pending, this.#need);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#need = 0;
    this.#onFrame(frame, HEADER_BYTES, frame.length);
    return at + missing;
  }

  #hold(bytes: Uint8Array): void {
    this.#pending.push(bytes.slice());
    this.#pendingBytes += bytes.length;
    if (this.#need === 0 && this.#pendingBytes >= HEADER_BYTES) {
      const header = concatBytes(this.#pending, this.#pendingBytes);
      this.#pending = [header];
      this.#need = HEADER_BYTES + lengthAt(header, 0);
    }
  }
}

function lengthAt(bytes: Uint8Array, at: number): number {
  return bytes[at] * 0x1000000 + (bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3]);
}

/**
 * Called for each complete RESP reply. `type` is its first byte ("*" for an array, "+", "-", ":"
 * or "$" for the rest). For an array, `[firstStart, firstEnd)` is its first element's data and
 * `[lastStart, lastEnd)` its last's; for anything else, both are the reply's own data.
 */
export type OnReply = (
  bytes: Uint8Array,
  type: number,
  firstStart: number,
  firstEnd: number,
  lastStart: number,
  lastEnd: number,
) => void;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a; // *
const DOLLAR = 0x24; // $
const PLUS = 0x2b; // +
const MINUS = 0x2d; // -
const COLON = 0x3a; // :
const INCOMPLETE = -1;

/** Splits a stream of RESP2 replies; arrays may hold bulk strings, integers and simple strings. */
export class RespScanner {
  #rest: Uint8Array | null = null;
  #onReply: OnReply;
  // Out-parameters of #line, so that the hot path allocates nothing.
  #lineEnd = 0;
  #next = 0;
  // Out-parameters of #element.
  #dataStart = 0;
  #dataEnd = 0;

  constructor(onReply: OnReply) {
    this.#onReply = onReply;
  }

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.#rest) {
      const rest = this.#rest;
      this.#rest = null;
      bytes = concatBytes([rest, chunk], rest.length + chunk.length);
    }
    let at = 0;
    while (at < bytes.length) {
      const next = this.#reply(bytes, at);
      if (next === INCOMPLETE) break;
      at = next;
    }
    if (at < bytes.length) this.#rest = bytes.slice(at);
  }

  // Finds the CRLF that ends the line starting at `at`: sets #lineEnd (the CR) and #next (after
  // the LF). False when the line has not fully arrived.
  #line(bytes: Uint8Array, at: number): boolean {
    for (let i = at; i + 1 < bytes.length; i++) {
      if (bytes[i] === CR) {
        if (bytes[i + 1] !== LF) throw new Error("Cannot read Redis reply: CR without LF");
        this.#lineEnd = i;
        this.#next = i + 2;
        return true;
      }
    }
    return false;
  }

  #integer(bytes: Uint8Array, start: number, end: number): number {
    let value = 0;
    const negative = bytes[start] === MINUS;
    for (let i = negative ? start + 1 : start; i < end; i++) {
      const digit = bytes[i] - 0x30;
      if (digit < 0 || digit > 9) throw new Error("Cannot read Redis reply: bad length");
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }

  // One element at `at`: its data into #dataStart/#dataEnd, and the offset after it.
  #element(bytes: Uint8Array, at: number): number {
    if (at >= bytes.length || !this.#line(bytes, at)) return INCOMPLETE;
    const type = bytes[at];
    if (type === DOLLAR) {
      const length = this.#integer(bytes, at + 1, this.#lineEnd);
      const start = this.#next;
      if (length < 0) { // a null bulk string
        this.#dataStart = this.#dataEnd = start;
        return start;
      }
      if (start + length + 2 > bytes.length) return INCOMPLETE;
      this.#dataStart = start;
      this.#dataEnd = start + length;
      return start + length + 2;
    }
    if (type === PLUS || type === MINUS || type === COLON) {
      this.#dataStart = at + 1;
      this.#dataEnd = this.#lineEnd;
      return this.#next;
    }
    throw new Error(`Cannot read Redis reply: unexpected byte 0x${type.toString(16)}`);
  }

  #reply(bytes: Uint8Array, at: number): number {
    const type = bytes[at];
    if (type !== STAR) {
      const next = this.#element(bytes, at);
      if (next === INCOMPLETE) return INCOMPLETE;
      const start = this.#dataStart, end = this.#dataEnd;
      this.#onReply(bytes, type, start, end, start, end);
      return next;
    }
    if (!this.#line(bytes, at)) return INCOMPLETE;
    const count = this.#integer(bytes, at + 1, this.#lineEnd);
    let next = this.#next;
    let firstStart = next, firstEnd = next, lastStart = next, lastEnd = next;
    for (let i = 0; i < count; i++) {
      next = this.#element(bytes, next);
      if (next === INCOMPLETE) return INCOMPLETE;
      if (i === 0) {
        firstStart = this.#dataStart;
        firstEnd = this.#dataEnd;
      }
      lastStart = this.#dataStart;
      lastEnd = this.#dataEnd;
    }
    this.#onReply(bytes, STAR, firstStart, firstEnd, lastStart, lastEnd);
    return next;
  }
}
