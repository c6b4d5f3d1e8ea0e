// What a member's mode means for its connection: how its bytes become inputs, and how server
// messages become bytes for it. One Wire per session, chosen once its first bytes are in.
import type { Buffer } from "node:buffer";
import { parseClientMessage, ProtocolError } from "../protocol.ts";
import {
  decodePayload,
  encodeFrame,
  FrameDecoder,
  parsePayload,
  REPLACEMENT_CHAR,
} from "../protocol/native.ts";
import { encodeLine, LineDecoder } from "../protocol/line.ts";
import { type LineInput } from "../protocol/slash_commands.ts";
import { parseLine, slashCommandOf } from "../protocol/typed_lines.ts";
import { encodeLegacy, LegacyDecoder } from "../protocol/legacy.ts";
import { linePrefix } from "../protocol/greeting.ts";
import type { Mode } from "../protocol/mode.ts";
import type { Encoder } from "./chat.ts";

/** Whatever a member can ask for, in any mode. */
export type Input = LineInput | PlainChat;

/**
 * A chat message read the quick way (plainMsg), with its text's bytes as they came: UTF-8 with no
 * control characters and nothing that JSON escapes, which a frame can take as they are. They lie
 * in the read buffer, so they are good only until the next read: see `detached`.
 */
export interface PlainChat {
  type: "msg";
  text: string;
  room?: string;
  textUtf8: Uint8Array;
  to?: undefined;
  action?: undefined;
}

/** `input` without what refers to the read buffer, to keep it past the next read. */
export function detached(input: Input): Input {
  if (!("textUtf8" in input)) return input;
  const { text, room } = input;
  return room === undefined ? { type: "msg", text } : { type: "msg", text, room };
}

export interface InputDecoder {
  /** The inputs and errors that `chunk` completes, in order. Keeps no reference to `chunk`. */
  push(chunk: Uint8Array): Array<Input | ProtocolError>;
  /** Bytes held for an input not yet complete. */
  readonly bufferedBytes: number;
  /** Whether an input has begun to arrive and is not complete. */
  readonly partial: boolean;
  /**
   * Inputs the last `push` read that ask for nothing (blank lines, empty legacy frames): not
   * returned, but to be charged by flood control like any other.
   */
  readonly skipped: number;
}

export interface Wire {
  readonly mode: Mode;
  readonly decoder: InputDecoder;
  readonly encoder: Encoder;
}

export interface WireLimits {
  maxFrameBytes: number;
  maxLineBytes: number;
}

// One object per mode, for the life of the process: deliver() tells encodings apart by identity.
export const nativeEncoder: Encoder = { encode: encodeFrame };
const lineEncoder: Encoder = { encode: encodeLine };
const legacyEncoder: Encoder = { encode: encodeLegacy };

/** The wire for `mode`; `greeted`, in line mode, is the name a greeting client prefixes lines with. */
export function createWire(mode: Mode, limits: WireLimits, greeted?: string): Wire {
  switch (mode) {
    case "native":
      return { mode, decoder: new NativeInputs(limits.maxFrameBytes), encoder: nativeEncoder };
    case "line": {
      const decoder = new LineInputs(limits.maxLineBytes, greeted);
      return { mode, decoder, encoder: lineEncoder };
    }
    case "legacy":
      return { mode, decoder: new LegacyInputs(limits.maxFrameBytes), encoder: legacyEncoder };
  }
}

function attempt(parse: () => Input | null): Input | ProtocolError | null {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
}

// A chat message as a client sends it with JSON.stringify({ type, text, room }), when its strings
// hold nothing that JSON escapes and no control characters: nearly every message. It is taken
// apart where it lies in the read buffer, with the same result as JSON.parse and
// parseClientMessage in a fraction of their time, and only its strings are decoded; anything
// else, down to a space between the fields, goes the general way.
const PLAIN_MSG_HEAD = new TextEncoder().encode('{"type":"msg","text":"');
const PLAIN_MSG_ROOM = new TextEncoder().encode(',"room":"');
const QUOTE = 0x22, BACKSLASH = 0x5c, CLOSE_BRACE = 0x7d, DELETE = 0x7f;

function plainMsg(bytes: Buffer, start: number, end: number): PlainChat | null {
  let at = skipBytes(PLAIN_MSG_HEAD, bytes, start, end);
  const textAt = at;
  if (at < 0 || (at = plainStringEnd(bytes, at, end)) < 0) return null;
  const textEnd = at;
  const text = bytes.toString("utf8", textAt, textEnd);
  // A plain Uint8Array, not a Buffer: Buffer's subarray is several times dearer.
  const textUtf8 = new Uint8Array(bytes.buffer, bytes.byteOffset + textAt, textEnd - textAt);
  if (bytes[++at] === CLOSE_BRACE && at + 1 === end) {
    return text.includes(REPLACEMENT_CHAR) ? null : { type: "msg", text, textUtf8 };
  }
  at = skipBytes(PLAIN_MSG_ROOM, bytes, at, end);
  const roomAt = at;
  if (at < 0 || (at = plainStringEnd(bytes, at, end)) < 0) return null;
  if (bytes[at + 1] !== CLOSE_BRACE || at + 2 !== end) return null;
  const room = bytes.toString("utf8", roomAt, at);
  // Bytes that are not UTF-8 decode to U+FFFD: the general way tells them from the real one.
  if (text.includes(REPLACEMENT_CHAR) || room.includes(REPLACEMENT_CHAR)) return null;
  return { type: "msg", text, room, textUtf8 };
}

// Where `expected` ends if `bytes` hold it from `at`; else -1.
function skipBytes(expected: Uint8Array, bytes: Buffer, at: number, end: number): number {
  if (end - at < expected.length) return -1;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return -1;
  return at + expected.length;
}

// Where the string that begins at `at` ends: its closing quote, when nothing before it is an
// escape or a control character (C0, DEL, or C1 as UTF-8's C2 80 to C2 9F); else -1.
function plainStringEnd(bytes: Buffer, at: number, end: number): number {
  for (; at < end; at++) {
    const byte = bytes[at];
    if (byte === QUOTE) return at;
    if (byte < 0x20 || byte === BACKSLASH || byte === DELETE) return -1;
    if (byte === 0xc2 && bytes[at + 1] < 0xa0) return -1;
  }
  return -1;
}

// A native frame's input: a plain chat message the quick way, anything else through JSON.parse.
function nativeInput(bytes: Buffer, start: number, end: number): Input | ProtocolError {
  const plain = plainMsg(bytes, start, end);
  if (plain) return plain;
  const frame = parsePayload(decodePayload(bytes, start, end));
  return frame.ok ? attempt(() => parseClientMessage(frame.value))! : frame.error;
}

class NativeInputs implements InputDecoder {
  #frames: FrameDecoder;
  constructor(maxFrameBytes: number) {
    this.#frames = new FrameDecoder(maxFrameBytes);
  }
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }
  get partial(): boolean {
    return this.#frames.partial;
  }
  get skipped(): number {
    return 0; // an empty frame is an error
  }
  push(chunk: Uint8Array): Array<Input | ProtocolError> {
    return this.#frames.pushWith(chunk, nativeInput);
  }
}

// A client that greeted with its name (protocol/greeting.ts) puts `NAME : ` before every line:
// that is taken off, so that others do not read the name twice.
class LineInputs implements InputDecoder {
  #lines: LineDecoder;
  #prefix: string | null;
  skipped = 0;
  constructor(maxLineBytes: number, greeted?: string) {
    this.#lines = new LineDecoder(maxLineBytes);
    this.#prefix = greeted === undefined ? null : linePrefix(greeted);
  }
  get bufferedBytes(): number {
    return this.#lines.bufferedBytes;
  }
  get partial(): boolean {
    return this.#lines.bufferedBytes > 0;
  }
  push(chunk: Uint8Array): Array<Input | ProtocolError> {
    const inputs: Array<Input | ProtocolError> = [];
    const lines = this.#lines.push(chunk);
    this.skipped = this.#lines.skipped;
    for (const line of lines) {
      if (line instanceof ProtocolError) {
        inputs.push(line);
        continue;
      }
      const prefix = this.#prefix;
      const text = prefix !== null && line.startsWith(prefix) ? line.slice(prefix.length) : line;
      const input = attempt(() => parseLine(text, "line"));
      if (input) inputs.push(input);
      else this.skipped++; // spaces only
    }
    return inputs;
  }
}

// What the classic client may type besides chat: proving a registered nick (a line that is one of
// these is never said to the room with its password), and the commands that need no second room
// or nick of its own, whose answers come back as notices from `*`. Anything else is said as it is
// typed, as the tutorial's server would say it.
const LEGACY_COMMANDS = new Set(["/identify", "/login", "/away", "/whois", "/ignore", "/unignore"]);

// The classic client names itself in its first frame and can only chat after that, or type one of
// LEGACY_COMMANDS.
class LegacyInputs implements InputDecoder {
  #frames: LegacyDecoder;
  #named = false;
  skipped = 0;
  constructor(maxPayloadBytes: number) {
    this.#frames = new LegacyDecoder(maxPayloadBytes);
  }
  get bufferedBytes(): number {
    return this.#frames.bufferedBytes;
  }
  get partial(): boolean {
    return this.#frames.bufferedBytes > 0; // a legacy header stays buffered until its payload
  }
  push(chunk: Uint8Array): Array<Input | ProtocolError> {
    const inputs: Array<Input | ProtocolError> = [];
    this.skipped = 0;
    for (const text of this.#frames.push(chunk)) {
      if (text instanceof ProtocolError) {
        inputs.push(text);
      } else if (!this.#named) {
        this.#named = true;
        inputs.push({ type: "hello", nick: text });
      } else if (LEGACY_COMMANDS.has(slashCommandOf(text, "line")?.name ?? "")) {
        inputs.push(attempt(() => parseLine(text, "line"))!);
      } else if (text !== "") {
        inputs.push({ type: "msg", text });
      } else {
        this.skipped++;
      }
    }
    return inputs;
  }
}
