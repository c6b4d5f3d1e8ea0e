// Legacy mode: the protocol of the classic socket-chatroom tutorial, exactly. A frame is a 10-byte
// ASCII header holding the payload's length in decimal, left-aligned and padded with spaces, then
// that many bytes of UTF-8. The client's first frame is its username, every later one a message.
// The server sends each message as two frames, username then text; notices come from user `*`.
// No I/O here.
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { describe } from "./text.ts";
import { LEGACY_HEADER_BYTES } from "./mode.ts";

const HEADER = /^(\d+) *$/;
const ascii = new TextDecoder("ascii");
const lenientUtf8 = new TextDecoder("utf-8");
const utf8 = new TextEncoder();

/**
 * Streaming decoder for legacy frames, returning each payload as text. A header that is not a
 * number, or a length above `maxPayloadBytes`, cannot be resynchronised: it yields a fatal error
 * and the decoder ignores everything after it.
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
      const header = ascii.decode(bytes.subarray(offset, offset + LEGACY_HEADER_BYTES));
      const match = HEADER.exec(header);
      const length = match ? Number(match[1]) : NaN;
      if (!match || length > this.maxPayloadBytes) {
        this.#failed = true;
        this.#buffer = new Uint8Array(0);
        out.push(
          new ProtocolError(
            match ? "frame_too_large" : "bad_header",
            match
              ? `Cannot accept frame: length ${length} exceeds ${this.maxPayloadBytes} bytes`
              : `Cannot read frame header ${JSON.stringify(header)}: expected a decimal length`,
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
 * A server message as legacy frames: chat as a (sender, text) pair, a private message's text marked
 * as such; everything else as a notice from user `*`; null for what has no such form.
 */
export function encodeLegacy(message: ServerMessage): Uint8Array | null {
  if (message.type === "msg" && !message.action) {
    const text = message.to === undefined ? message.text : `(private) ${message.text}`;
    return encodePair(message.from, text);
  }
  const line = describe(message);
  if (line === null) return null;
  return encodePair("*", line.startsWith("* ") ? line.slice(2) : line);
}
