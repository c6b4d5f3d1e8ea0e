// What the benchmark puts on the wire, with no I/O: the text of a message, which carries its
// sender, sequence number and send time as fixed-width decimal fields at fixed places, and the
// frames that carry that text to Parley and to Redis. A receiver finds the fields by position,
// without decoding the frame around them (the benchmark must not measure its own parsing).
//
//   text:  SSSSSS QQQQQQQQQ TTTTTTTTTTTT ...........
//          sender sequence  send time, whole microseconds on the benchmark's clock, then filler

export const SENDER_AT = 0;
export const SENDER_DIGITS = 6;
export const SEQ_AT = 7;
export const SEQ_DIGITS = 9;
export const TIME_AT = 17;
export const TIME_DIGITS = 12;
/** The smallest text that holds the stamp (the fields and a space after each). */
export const STAMP_BYTES = 30;
export const MAX_MEMBERS = 10 ** SENDER_DIGITS;
export const MAX_MESSAGES = 10 ** SEQ_DIGITS;

const SPACE = 0x20;
const FILLER = 0x2e; // "."
const ZERO = 0x30;

const ascii = new TextEncoder();

/** Writes `value` as exactly `digits` decimal digits, zero-padded, at `at`. */
export function writeDigits(bytes: Uint8Array, at: number, digits: number, value: number): void {
  for (let i = at + digits - 1; i >= at; i--) {
    bytes[i] = ZERO + value % 10;
    value = Math.floor(value / 10);
  }
}

/** The `digits` decimal digits at `at` as a number, or -1 if any of them is not a digit. */
export function readDigits(bytes: Uint8Array, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const digit = bytes[i] - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** A text of `size` bytes from `sender`, with sequence number and time still zero. */
export function textTemplate(sender: number, size: number): Uint8Array {
  if (size < STAMP_BYTES) {
    throw new RangeError(`Cannot stamp a ${size}-byte text: it needs at least ${STAMP_BYTES}`);
  }
  const text = new Uint8Array(size).fill(FILLER);
  writeDigits(text, SENDER_AT, SENDER_DIGITS, sender);
  text[SENDER_AT + SENDER_DIGITS] = SPACE;
  writeDigits(text, SEQ_AT, SEQ_DIGITS, 0);
  text[SEQ_AT + SEQ_DIGITS] = SPACE;
  writeDigits(text, TIME_AT, TIME_DIGITS, 0);
  text[TIME_AT + TIME_DIGITS] = SPACE;
  return text;
}

/** The stamp of a text that starts at `at`: fields are -1 where they are not digits. */
export interface Stamp {
  sender: number;
  seq: number;
  timeUs: number;
}

export function readStamp(bytes: Uint8Array, at: number): Stamp {
  return {
    sender: readDigits(bytes, at + SENDER_AT, SENDER_DIGITS),
    seq: readDigits(bytes, at + SEQ_AT, SEQ_DIGITS),
    timeUs: readDigits(bytes, at + TIME_AT, TIME_DIGITS),
  };
}

/**
 * One sender's outgoing message, as bytes to copy and stamp: `prefix`, the text, `suffix`. Built
 * once per member, so that publishing a message is a copy and two digit runs.
 */
export class MessageTemplate {
  readonly bytes: Uint8Array;
  readonly textAt: number;

  constructor(prefix: Uint8Array, text: Uint8Array, suffix: Uint8Array) {
    this.bytes = new Uint8Array(prefix.length + text.length + suffix.length);
    this.bytes.set(prefix);
    this.bytes.set(text, prefix.length);
    this.bytes.set(suffix, prefix.length + text.length);
    this.textAt = prefix.length;
  }

  /** `count` messages in one buffer, numbered from `firstSeq`, all stamped `timeUs`. */
  stamp(firstSeq: number, count: number, timeUs: number): Uint8Array {
    const one = this.bytes.length;
    const out = new Uint8Array(one * count);
    for (let i = 0; i < count; i++) {
      const at = i * one;
      out.set(this.bytes, at);
      writeDigits(out, at + this.textAt + SEQ_AT, SEQ_DIGITS, firstSeq + i);
      writeDigits(out, at + this.textAt + TIME_AT, TIME_DIGITS, timeUs);
    }
    return out;
  }
}

/** A native Parley frame holding `json` (ASCII only). */
export function parleyFrame(json: string): Uint8Array {
  const payload = ascii.encode(json);
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

/** `{"type":"msg","text":"<text>"}` as a native frame; the text is ASCII that JSON leaves as is. */
export function parleyMessage(sender: number, size: number): MessageTemplate {
  const prefix = ascii.encode('{"type":"msg","text":"');
  const suffix = ascii.encode('"}');
  const head = new Uint8Array(4 + prefix.length);
  new DataView(head.buffer).setUint32(0, prefix.length + size + suffix.length);
  head.set(prefix, 4);
  return new MessageTemplate(head, textTemplate(sender, size), suffix);
}

/** A benchmark member's nick: all the same length, so relayed texts tend to sit at one offset. */
export function benchNick(member: number): string {
  return `b${String(member).padStart(SENDER_DIGITS, "0")}`;
}

const TEXT_KEY = ascii.encode('"text":"');
const QUOTE = 0x22;

function hasTextKey(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < TEXT_KEY.length; i++) if (bytes[at + i] !== TEXT_KEY[i]) return false;
  return true;
}

/**
 * Where the text begins in a relayed msg frame's JSON, `bytes[start, end)`: just after its
 * `"text":"`, which is looked for first at `start + guess` (where the last frame had it), then
 * from the start. -1 if there is none. Robust whatever the server puts before the text (an id, a
 * room): a quote inside a JSON string is always escaped, so `"text":"` with bare quotes can only
 * be a key.
 */
export function locateText(bytes: Uint8Array, start: number, end: number, guess: number): number {
  const keyAt = start + guess - TEXT_KEY.length;
  if (keyAt >= start && keyAt + TEXT_KEY.length <= end && hasTextKey(bytes, keyAt)) {
    return start + guess;
  }
  for (let at = start; at + TEXT_KEY.length <= end; at++) {
    if (bytes[at] === QUOTE && hasTextKey(bytes, at)) return at + TEXT_KEY.length;
  }
  return -1;
}

/** A RESP command: an array of bulk strings. */
export function respCommand(...parts: string[]): Uint8Array {
  return ascii.encode(
    `*${parts.length}\r\n${parts.map((part) => `$${part.length}\r\n${part}\r\n`).join("")}`,
  );
}

/** PUBLISH `channel` <text> as RESP. */
export function redisMessage(sender: number, size: number, channel: string): MessageTemplate {
  return new MessageTemplate(
    ascii.encode(`*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${size}\r\n`),
    textTemplate(sender, size),
    ascii.encode("\r\n"),
  );
}
