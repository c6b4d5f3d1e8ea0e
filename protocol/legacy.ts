// Legacy mode: the protocol of the classic socket-chatroom tutorial, exactly. A frame is a 10-byte
// ASCII header holding the payload's length in decimal, left-aligned and padded with spaces, then
// that many bytes of UTF-8. The client's first frame is its username, every later one a message.
// The server sends each message as two frames, username then text; notices come from user `*`,
// which no member can be called.
// No I/O here.
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { describe, terminalText } from "./text.ts";

export const LEGACY_HEADER_BYTES = 10;

/** What scanLegacyHeader returns for bytes that no header begins with. */
export const NOT_A_HEADER = -1;
/** What scanLegacyHeader returns for fewer than ten bytes that a header may begin with. */
export const HEADER_SO_FAR = -2;

const LEAD = 0, SIGN = 1, DIGITS = 2, UNDERSCORE = 3, TRAIL = 4;
const PLUS = 0x2b, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39, LOW_LINE = 0x5f;

// The ASCII bytes that Python's str.strip() and int() take for whitespace: TAB, LF, VT, FF, CR,
// the separators 0x1C to 0x1F, and space.
const isSpace = (byte: number) => (byte >= 0x09 && byte <= 0x0d) || (byte >= 0x1c && byte <= 0x20);

/**
 * The length in the legacy header at `bytes[start..end)`, read as the tutorial's own server reads
 * it, `int(header.strip())`: ASCII whitespace around an optional sign and decimal digits, with
 * single underscores between digits. Its client pads with `f"{n:<10}"` (`5` and nine spaces) for
 * the username and `f"{n :< 10}"` (a space, `5`, eight spaces) for every message. Returns the
 * length once ten bytes are in, HEADER_SO_FAR while fewer could still begin a header, and
 * NOT_A_HEADER otherwise, a negative number included.
 */
export function scanLegacyHeader(bytes: Uint8Array, start: number, end: number): number {
  const stop = Math.min(end, start + LEGACY_HEADER_BYTES);
  let state = LEAD;
  let value = 0;
  let negative = false;
  for (let at = start; at < stop; at++) {
    const byte = bytes[at];
    if (byte >= ZERO && byte <= NINE && state !== TRAIL) {
      if (negative && byte !== ZERO) return NOT_A_HEADER; // int() allows -0, and only that
      value = value * 10 + byte - ZERO;
      state = DIGITS;
    } else if (isSpace(byte) && state !== SIGN && state !== UNDERSCORE) {
      if (state === DIGITS) state = TRAIL;
    } else if ((byte === PLUS || byte === MINUS) && state === LEAD) {
      negative = byte === MINUS;
      state = SIGN;
    } else if (byte === LOW_LINE && state === DIGITS) {
      state = UNDERSCORE;
    } else {
      return NOT_A_HEADER;
    }
  }
  if (stop - start < LEGACY_HEADER_BYTES) return HEADER_SO_FAR;
  return state === DIGITS || state === TRAIL ? value : NOT_A_HEADER;
}

const ascii = new TextDecoder("ascii");
const lenientUtf8 = new TextDecoder("utf-8");
const utf8 = new TextEncoder();

/**
 * Streaming decoder for legacy frames, returning each payload as text. A header that is not a
 * length (see scanLegacyHeader), or a length above `maxPayloadBytes`, cannot be resynchronised: it
 * yields a fatal error and the decoder ignores everything after it.
 */
export class LegacyDecoder {
  #buffer = new Uint8Array(0);
  #failed = false;

  constructor(readonly maxPayloadBytes: number) {}

  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  push(chunk: Uint8Array): Array<string | ProtocolError> {
    const out: Array<string | ProtocolError> = [];
    if (this.#failed) return out;
    let bytes = chunk;
    if (this.#buffer.length > 0) {
      bytes = new Uint8Array(this.#buffer.length + chunk.length);
      bytes.set(this.#buffer);
      bytes.set(chunk, this.#buffer.length);
    }
    let offset = 0;
    while (bytes.length - offset >= LEGACY_HEADER_BYTES) {
      const length = scanLegacyHeader(bytes, offset, bytes.length);
      if (length === NOT_A_HEADER || length > this.maxPayloadBytes) {
        this.#failed = true;
        this.#buffer = new Uint8Array(0);
        const header = ascii.decode(bytes.subarray(offset, offset + LEGACY_HEADER_BYTES));
        out.push(
          new ProtocolError(
            length === NOT_A_HEADER ? "bad_header" : "frame_too_large",
            length === NOT_A_HEADER
              ? `Cannot read frame header ${JSON.stringify(header)}: expected a decimal length`
              : `Cannot accept frame: length ${length} exceeds ${this.maxPayloadBytes} bytes`,
            true,
          ),
        );
        return out;
      }
      const end = offset + LEGACY_HEADER_BYTES + length;
      if (bytes.length < end) break;
      // An empty frame is cheap to send by the thousand: it costs no view and no decoding here.
      out.push(
        length === 0 ? "" : lenientUtf8.decode(bytes.subarray(offset + LEGACY_HEADER_BYTES, end)),
      );
      offset = end;
    }
    // A copy: the caller may reuse `chunk`, and a view would pin a large read buffer.
    this.#buffer = bytes.slice(offset);
    return out;
  }
}

/** One legacy frame: the padded length header, then the UTF-8 payload. */
export function encodeLegacyFrame(text: string): Uint8Array {
  const payload = utf8.encode(text);
  const header = utf8.encode(String(payload.length).padEnd(LEGACY_HEADER_BYTES, " "));
  const frame = new Uint8Array(header.length + payload.length);
  frame.set(header);
  frame.set(payload, header.length);
  return frame;
}

function encodePair(username: string, text: string): Uint8Array {
  const name = encodeLegacyFrame(username);
  const body = encodeLegacyFrame(text);
  const pair = new Uint8Array(name.length + body.length);
  pair.set(name);
  pair.set(body, name.length);
  return pair;
}

/**
 * A server message as legacy frames: what a member says or does as a (sender, text) pair, an
 * action's text marked `* ` and a private message's `(private) `; everything else as a notice from
 * user `*`; null for what has no such form. A member is never called `*`, so nothing it says or
 * does can pass for a notice.
 */
export function encodeLegacy(
  message: ServerMessage,
  _textUtf8?: Uint8Array,
  me?: string,
): Uint8Array | null {
  if (message.type === "msg") {
    const said = message.action ? `* ${message.text}` : message.text;
    return encodePair(
      message.from,
      terminalText(message.to === undefined ? said : `(private) ${said}`),
    );
  }
  const line = describe(message, "", me);
  return line === null ? null : encodePair("*", terminalText(line));
}
