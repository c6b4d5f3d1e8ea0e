// The stamp that every benchmark message carries (sender, sequence, send time at fixed places), and
// finding it in a relayed message without decoding the frame.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  benchNick,
  locateText,
  parleyMessage,
  readStamp,
  redisMessage,
  STAMP_BYTES,
  textTemplate,
} from "../../bench/payload.ts";

const ascii = new TextEncoder();
const text = new TextDecoder();

test("bench stamp: a message's text carries its sender, sequence and time at fixed places", () => {
  const template = parleyMessage(42, 64);
  const bytes = template.stamp(7, 3, 123_456_789);
  const one = bytes.length / 3;
  for (let i = 0; i < 3; i++) {
    const payload = bytes.subarray(i * one + 4, (i + 1) * one);
    const message = JSON.parse(text.decode(payload));
    assert.equal(message.type, "msg");
    assert.equal(ascii.encode(message.text).length, 64);
    assert.deepEqual(readStamp(ascii.encode(message.text), 0), {
      sender: 42,
      seq: 7 + i,
      timeUs: 123_456_789,
    });
    assert.equal(new DataView(bytes.buffer, i * one).getUint32(0), one - 4);
  }
  assert.throws(() => textTemplate(0, STAMP_BYTES - 1), /at least 30/);
});

test("bench locateText finds the text of a relayed msg whatever comes before it", () => {
  const stamped = text.decode(textTemplate(999_999, 40));
  const frames = [
    { type: "msg", from: benchNick(7), room: "bench", text: stamped, ts: 1795319154851 },
    { type: "msg", id: 1, from: benchNick(0), room: "bench", text: stamped, ts: 1 },
    { type: "msg", id: 123456, from: benchNick(0), room: 'a"text":"', text: stamped, ts: 1 },
  ].map((message) => ascii.encode(`xx${JSON.stringify(message)}`));
  let guess = 0;
  for (const bytes of frames) {
    const at = locateText(bytes, 2, bytes.length, guess);
    assert.equal(text.decode(bytes.subarray(at, at + 40)), stamped);
    guess = at - 2;
    // Found again at once from where it was.
    assert.equal(locateText(bytes, 2, bytes.length, guess), at);
  }
  assert.equal(locateText(ascii.encode('{"type":"join"}'), 0, 15, 0), -1);
});

test("bench stamp: a PUBLISH command carries the text as its last argument", () => {
  const command = text.decode(redisMessage(3, 32, "bench").stamp(5, 1, 99));
  const lines = command.split("\r\n");
  assert.deepEqual(lines.slice(0, 6), ["*3", "$7", "PUBLISH", "$5", "bench", "$32"]);
  assert.deepEqual(readStamp(ascii.encode(lines[6]), 0), { sender: 3, seq: 5, timeUs: 99 });
});
