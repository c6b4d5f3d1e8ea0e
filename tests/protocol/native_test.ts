import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ChatMessage,
  type ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
  type ErrorCode,
  MAX_TEXT_BYTES,
  ProtocolError,
  type ServerMessage,
} from "../../protocol.ts";
import {
  concatBytes,
  type DecodedFrame,
  encodeFrame,
  FrameDecoder,
} from "../../protocol/native.ts";
import { frameHeader, rawFrame } from "../_frames.ts";

const utf8 = new TextEncoder();

const concat = (...parts: Uint8Array[]) => concatBytes(parts);

// A plain copy of the Buffer that _frames.ts builds: a Buffer's `slice` is a view, and tests that
// slice a frame into chunks and then overwrite them need chunks of their own.
function jsonFrame(value: unknown): Uint8Array {
  return new Uint8Array(rawFrame(JSON.stringify(value)));
}

function values(frames: DecodedFrame[]): unknown[] {
  return frames.map((frame) => {
    assert.ok(frame.ok, `expected a decoded frame, got ${!frame.ok && frame.error.message}`);
    return frame.value;
  });
}

function assertFrameError(frame: DecodedFrame | undefined, code: ErrorCode, fatal: boolean): void {
  assert.ok(frame, "expected a frame");
  assert.equal(frame.ok, false, `expected an error, got ${JSON.stringify(frame)}`);
  if (frame.ok) return;
  assert.ok(frame.error instanceof ProtocolError);
  assert.equal(frame.error.code, code);
  assert.equal(frame.error.fatal, fatal);
}

const SAMPLE = { type: "msg", text: "split me anywhere: é 日本 🎉" };

test("FrameDecoder decodes a frame split at every point", () => {
  const bytes = jsonFrame(SAMPLE);
  for (let split = 0; split <= bytes.length; split++) {
    const decoder = new FrameDecoder();
    const first = decoder.push(bytes.subarray(0, split));
    if (split < bytes.length) {
      assert.deepEqual(first, [], `split at ${split}: nothing is complete yet`);
      assert.equal(decoder.bufferedBytes, split < 4 ? split : split - 4, `split at ${split}`);
      assert.deepEqual(values(decoder.push(bytes.subarray(split))), [SAMPLE], `split at ${split}`);
    } else {
      assert.deepEqual(values(first), [SAMPLE]);
      assert.deepEqual(decoder.push(bytes.subarray(split)), []);
    }
    assert.equal(decoder.bufferedBytes, 0, `split at ${split}: nothing left over`);
  }
});

test("FrameDecoder decodes a frame split into three at every pair of points", () => {
  const bytes = jsonFrame({ type: "ping" });
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const decoder = new FrameDecoder();
      const frames = [
        ...decoder.push(bytes.subarray(0, a)),
        ...decoder.push(bytes.subarray(a, b)),
        ...decoder.push(bytes.subarray(b)),
      ];
      assert.deepEqual(values(frames), [{ type: "ping" }], `split at ${a} and ${b}`);
    }
  }
});

test("FrameDecoder decodes a frame fed one byte at a time", () => {
  const messages = [SAMPLE, { type: "pong" }];
  const bytes = concat(...messages.map(jsonFrame));
  const firstEnd = jsonFrame(SAMPLE).length;
  const decoder = new FrameDecoder();
  for (let i = 0; i < bytes.length; i++) {
    const frames = decoder.push(bytes.slice(i, i + 1));
    if (i === firstEnd - 1) assert.deepEqual(values(frames), [SAMPLE]);
    else if (i === bytes.length - 1) assert.deepEqual(values(frames), [{ type: "pong" }]);
    else assert.deepEqual(frames, [], `byte ${i} completes nothing`);
  }
  assert.equal(decoder.bufferedBytes, 0);
});

test("FrameDecoder returns every frame of a chunk that holds many", () => {
  const messages = Array.from({ length: 200 }, (_, i) => ({ type: "msg", text: `message ${i}` }));
  const decoder = new FrameDecoder();
  assert.deepEqual(values(decoder.push(concat(...messages.map(jsonFrame)))), messages);
  assert.equal(decoder.bufferedBytes, 0);
});

test("FrameDecoder decodes frames split across chunks mixed with whole ones", () => {
  const messages = Array.from(
    { length: 60 },
    (_, i) => ({ type: "msg", text: "x".repeat((i * 37) % 300) + `#${i} ✓` }),
  );
  const stream = concat(...messages.map(jsonFrame));
  // Chunk sizes from 1 byte to several frames, so that chunks end mid-header, mid-payload and on
  // frame boundaries, and some hold the tail of one frame, whole frames and the head of the next.
  for (const sizes of [[1, 2, 3, 5, 8], [7, 700, 13], [4, 300, 1, 1, 2000], [1000, 3]]) {
    const decoder = new FrameDecoder();
    const decoded: unknown[] = [];
    for (let at = 0, i = 0; at < stream.length; at += sizes[i++ % sizes.length]) {
      decoded.push(...values(decoder.push(stream.subarray(at, at + sizes[i % sizes.length]))));
    }
    assert.deepEqual(decoded, messages, `chunk sizes ${sizes}`);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test("FrameDecoder rejects a length of 0", () => {
  const decoder = new FrameDecoder();
  const frames = decoder.push(concat(frameHeader(0), jsonFrame({ type: "ping" })));
  assert.equal(frames.length, 1);
  assertFrameError(frames[0], "empty_frame", true);
  assert.equal(decoder.bufferedBytes, 0);
  assert.deepEqual(decoder.push(jsonFrame({ type: "ping" })), [], "the decoder is finished");
});

test("FrameDecoder accepts a length of 1", () => {
  const decoder = new FrameDecoder();
  assert.deepEqual(values(decoder.push(rawFrame("7"))), [7]);
});

test("FrameDecoder accepts a frame of exactly maxFrameBytes", () => {
  for (const max of [64, DEFAULT_MAX_FRAME_BYTES]) {
    const json = JSON.stringify({ type: "msg", text: "" });
    const payload = json + " ".repeat(max - json.length); // JSON allows trailing whitespace
    const decoder = new FrameDecoder(max);
    assert.deepEqual(values(decoder.push(rawFrame(payload))), [{ type: "msg", text: "" }]);
  }
});

test("FrameDecoder rejects a length above maxFrameBytes as soon as the header arrives", () => {
  for (const max of [64, DEFAULT_MAX_FRAME_BYTES]) {
    const decoder = new FrameDecoder(max);
    const bad = frameHeader(max + 1);
    assert.deepEqual(decoder.push(bad.subarray(0, 3)), []);
    const frames = decoder.push(bad.subarray(3));
    assert.equal(frames.length, 1, "rejected without waiting for any payload");
    assertFrameError(frames[0], "frame_too_large", true);
    assert.equal(
      frames[0].ok ? "" : frames[0].error.message,
      `Cannot accept frame: length ${max + 1} exceeds ${max} bytes`,
    );
    assert.equal(decoder.bufferedBytes, 0);
    // Finished: neither the payload nor well-formed frames after it are decoded or buffered.
    assert.deepEqual(decoder.push(new Uint8Array(max + 1)), []);
    assert.deepEqual(decoder.push(jsonFrame({ type: "ping" })), []);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test("FrameDecoder rejects a length above maxFrameBytes without buffering the payload after it", () => {
  const decoder = new FrameDecoder(64);
  const chunk = concat(
    jsonFrame({ type: "ping" }),
    frameHeader(0xffffffff),
    new Uint8Array(1000).fill(0x20),
  );
  const frames = decoder.push(chunk);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], { ok: true, value: { type: "ping" } });
  assertFrameError(frames[1], "frame_too_large", true);
  assert.equal(decoder.bufferedBytes, 0);
});

test("FrameDecoder reports invalid UTF-8 and goes on", () => {
  const invalid = [
    [0xff],
    [0x22, 0xc3, 0x22], // a truncated two-byte sequence inside a JSON string
    [0x22, 0xc0, 0xaf, 0x22], // an overlong "/"
    [0x22, 0xed, 0xa0, 0x80, 0x22], // a UTF-16 surrogate encoded as UTF-8
    [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
  ];
  for (const payload of invalid) {
    const decoder = new FrameDecoder();
    const frames = decoder.push(concat(rawFrame(new Uint8Array(payload)), jsonFrame(SAMPLE)));
    assert.equal(frames.length, 2, `payload ${payload}`);
    assertFrameError(frames[0], "invalid_utf8", false);
    assert.deepEqual(frames[1], { ok: true, value: SAMPLE }, `payload ${payload}`);
  }
});

test("FrameDecoder reports invalid JSON and goes on", () => {
  for (const payload of ["{", "{type:'msg'}", "not json", '{"type":"msg"} trailing', "\u00e9"]) {
    const decoder = new FrameDecoder();
    const frames = decoder.push(concat(rawFrame(payload), jsonFrame(SAMPLE)));
    assert.equal(frames.length, 2, `payload ${payload}`);
    assertFrameError(frames[0], "invalid_json", false);
    assert.deepEqual(frames[1], { ok: true, value: SAMPLE });
  }
});

test("FrameDecoder keeps no reference to a pushed chunk", () => {
  const bytes = jsonFrame(SAMPLE);
  // Stop mid-header, mid-payload, and after a whole frame followed by part of the next.
  const stream = concat(bytes, bytes);
  for (const split of [2, 4, 20, bytes.length + 3, bytes.length + 10]) {
    const decoder = new FrameDecoder();
    // One buffer reused for every read, as runtime/deno.ts does.
    const buffer = new Uint8Array(stream.length);
    buffer.set(stream.subarray(0, split));
    const first = values(decoder.push(buffer.subarray(0, split)));
    buffer.fill(0xff);
    buffer.set(stream.subarray(split));
    const second = values(decoder.push(buffer.subarray(0, stream.length - split)));
    assert.deepEqual([...first, ...second], [SAMPLE, SAMPLE], `split at ${split}`);
  }
});

test("FrameDecoder keeps no reference to a chunk across several partial pushes", () => {
  const bytes = jsonFrame(SAMPLE);
  const decoder = new FrameDecoder();
  const frames: DecodedFrame[] = [];
  for (let at = 0; at < bytes.length; at += 3) {
    const chunk = bytes.slice(at, at + 3);
    frames.push(...decoder.push(chunk));
    chunk.fill(0);
  }
  assert.deepEqual(values(frames), [SAMPLE]);
});

test("encodeFrame round trips through FrameDecoder, with non-ASCII and astral characters", () => {
  const messages: ServerMessage[] = [
    { type: "msg", id: 1, from: "zoë", room: "lobby", text: "plain ASCII", ts: 1 },
    { type: "msg", id: 1, from: "zoë", room: "café", text: "héllo wörld, 日本語, Ω", ts: 2 },
    { type: "msg", id: 1, from: "🦊", room: "lobby", text: "astral: 🎉 𝄞 👩‍👩‍👧 \u{10ffff}", ts: 3 },
    { type: "msg", id: 1, from: "a", room: "lobby", text: "€".repeat(MAX_TEXT_BYTES / 4), ts: 4 },
    { type: "welcome", nick: "名前", room: "lobby", members: ["名前", "🦊"] },
    { type: "error", code: "bad_nick", message: 'quotes " and \\ backslashes\n' },
  ];
  const decoder = new FrameDecoder();
  for (const message of messages) {
    const bytes = encodeFrame(message);
    const payloadBytes = utf8.encode(JSON.stringify(message)).length;
    assert.equal(bytes.length, 4 + payloadBytes);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0), payloadBytes);
    assert.deepEqual(values(decoder.push(bytes)), [message]);
  }
  const client: ClientMessage = { type: "hello", nick: "zoë", room: "🎉" };
  assert.deepEqual(values(decoder.push(encodeFrame(client))), [client]);
});

test("FrameDecoder keeps a genuine U+FFFD and ignores a leading byte order mark", () => {
  const decoder = new FrameDecoder();
  const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
  const frames = decoder.push(concat(
    jsonFrame({ type: "msg", text: "\uFFFD stays" }),
    rawFrame(concat(bom, utf8.encode(JSON.stringify(SAMPLE)))),
  ));
  assert.deepEqual(frames, [
    { ok: true, value: { type: "msg", text: "\uFFFD stays" } },
    { ok: true, value: SAMPLE },
  ]);
});

test("encodeFrame never reuses the bytes of a frame it handed out", () => {
  // Enough frames to fill several of the slabs they are cut from, all kept and checked at the end.
  const messages: ServerMessage[] = Array.from({ length: 3000 }, (_, i) => ({
    type: "msg",
    id: i,
    from: `member${i % 7}`,
    room: "lobby",
    text: "é".repeat(i % 50) + "x".repeat(i % 90),
    ts: 1_700_000_000_000 + i,
  }));
  const frames = messages.map((message) => encodeFrame(message));
  const decoder = new FrameDecoder();
  assert.deepEqual(values(decoder.push(concatBytes(frames))), messages);
  assert.equal(decoder.bufferedBytes, 0);
});

test("encodeFrame writes chat messages byte for byte as JSON.stringify would", () => {
  const decoder = new TextDecoder();
  // In the server's order of fields (server/chat.ts), which JSON.stringify follows.
  const chat = (fields: Partial<ChatMessage> & { text: string }): ChatMessage => ({
    type: "msg",
    id: fields.id ?? 7,
    from: fields.from ?? "ann",
    ...(fields.to === undefined ? { room: fields.room ?? "lobby" } : { to: fields.to }),
    text: fields.text,
    ts: fields.ts ?? 1795333140107,
    ...(fields.action ? { action: true } : {}),
    ...(fields.history ? { history: true } : {}),
  });
  const messages = [
    chat({ text: "hi" }),
    chat({ text: "the same millisecond" }),
    chat({ ts: 1795333140108, text: "the next one" }),
    chat({ id: 0, ts: 0, text: "zeros" }),
    chat({ id: Number.MAX_SAFE_INTEGER, ts: 2 ** 31, text: "large numbers" }),
    chat({ id: 3, from: "Zoë", to: "bob", text: "日本 🎉 é", ts: 5, action: true }),
    chat({ room: "café", text: "x", history: true }),
    chat({ text: 'a "quote", a \\ backslash, a tab\t and a bell\u0007' }),
    chat({ text: "é then a lone surrogate \ud800" }),
    chat({ text: "\udfff" }),
    chat({ text: "a real U+FFFD: \ufffd" }),
    chat({ id: 1.5, text: "not a whole id" }),
    chat({ from: 'n"ick', text: "an odd nick" }),
    chat({ text: "x".repeat(4096) }),
  ];
  for (const message of messages) {
    const frame = encodeFrame(message);
    const json = JSON.stringify(message);
    assert.equal(decoder.decode(frame.subarray(4)), json);
    assert.equal(frame.length, 4 + utf8.encode(json).length, json);
  }
  // With the text's bytes given, as the server has them from the sender, the frame is the same.
  for (const text of ["hello", "é 日本 🎉"]) {
    const message = chat({ text });
    assert.deepEqual(encodeFrame(message, utf8.encode(text)), encodeFrame(message));
  }
});
