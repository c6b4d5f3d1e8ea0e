// Native frames built byte by byte, independently of protocol/: what a test sends to the server, or
// feeds a decoder, is built here so that a bug in the codec cannot hide itself.
import { Buffer } from "node:buffer";

/** A frame carrying `message` as JSON. */
export function frame(message: unknown): Uint8Array {
  const payload = Buffer.from(JSON.stringify(message));
  return Buffer.concat([frameHeader(payload.length), payload]);
}

/** A frame header announcing `length` payload bytes, with no payload. */
export function frameHeader(length: number): Uint8Array {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length);
  return header;
}

/** A frame whose payload is `payload` exactly, valid or not. */
export function rawFrame(payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(bytes.length), bytes]);
}
