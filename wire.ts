// What a member's mode means for its connection: how its bytes become inputs, and how server
// messages become bytes for it. One Wire per session, chosen once its first bytes are in.
import {
  encodeFrame,
  FrameDecoder,
  parseClientMessage,
  parsePayload,
  ProtocolError,
} from "./protocol.ts";
import { LineDecoder, lineEncoder, type LineInput, parseLine } from "./line_mode.ts";
import { LegacyDecoder, legacyEncoder } from "./legacy_mode.ts";
import type { Mode } from "./mode.ts";
import type { Encoder } from "./room.ts";

/** Whatever a member can ask for, in any mode. */
export type Input = LineInput;

export interface InputDecoder {
  /** The inputs and errors that `chunk` completes, in order. Keeps no reference to `chunk`. */
  push(chunk: Uint8Array): Array<Input | ProtocolError>;
  /** Bytes held for an input not yet complete. */
  readonly bufferedBytes: number;
  /** Whether an input has begun to arrive and is not complete. */
  readonly partial: boolean;
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

export const nativeEncoder: Encoder = { encode: encodeFrame };

export function createWire(mode: Mode, limits: WireLimits): Wire {
  switch (mode) {
    case "native":
      return { mode, decoder: new NativeInputs(limits.maxFrameBytes), encoder: nativeEncoder };
    case "line":
      return { mode, decoder: new LineInputs(limits.maxLineBytes), encoder: lineEncoder };
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
// hold nothing that JSON escapes: nearly every message. One regular expression takes it apart,
// with the same result as JSON.parse and parseClientMessage, in a fraction of their time; anything
// else, down to a space between the fields, goes the general way.
const PLAIN_MSG = /^\{"type":"msg","text":"([^"\\\p{Cc}]*)"(?:,"room":"([^"\\\p{Cc}]*)")?\}$/u;

function plainMsg(payload: string): Input | null {
  const match = PLAIN_MSG.exec(payload);
  if (match === null) return null;
  const [, text, room] = match;
  return room === undefined ? { type: "msg", text } : { type: "msg", text, room };
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
  push(chunk: Uint8Array): Array<Input | ProtocolError> {
    const inputs: Array<Input | ProtocolError> = [];
    for (const payload of this.#frames.pushText(chunk)) {
      const plain = typeof payload === "string" ? plainMsg(payload) : null;
      if (plain) {
        inputs.push(plain);
        continue;
      }
      const frame = parsePayload(payload);
      inputs.push(frame.ok ? attempt(() => parseClientMessage(frame.value))! : frame.error);
    }
    return inputs;
  }
}

class LineInputs implements InputDecoder {
  #lines: LineDecoder;
  constructor(maxLineBytes: number) {
    this.#lines = new LineDecoder(maxLineBytes);
  }
  get bufferedBytes(): number {
    return this.#lines.bufferedBytes;
  }
  get partial(): boolean {
    return this.#lines.bufferedBytes > 0;
  }
  push(chunk: Uint8Array): Array<Input | ProtocolError> {
    const inputs: Array<Input | ProtocolError> = [];
    for (const line of this.#lines.push(chunk)) {
      const input = line instanceof ProtocolError ? line : attempt(() => parseLine(line));
      if (input) inputs.push(input);
    }
    return inputs;
  }
}

// The classic client names itself in its first frame and can do nothing but chat after that.
class LegacyInputs implements InputDecoder {
  #frames: LegacyDecoder;
  #named = false;
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
    for (const text of this.#frames.push(chunk)) {
      if (text instanceof ProtocolError) {
        inputs.push(text);
      } else if (!this.#named) {
        this.#named = true;
        inputs.push({ type: "hello", nick: text });
      } else if (text !== "") {
        inputs.push({ type: "msg", text });
      }
    }
    return inputs;
  }
}
