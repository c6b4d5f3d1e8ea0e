// The load generator's stream scanners: whole Parley frames and Redis replies, whatever the reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameScanner, RespScanner } from "../../bench/scanners.ts";
import { frame } from "../_frames.ts";

const ascii = new TextEncoder();
const text = new TextDecoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

function scanFrames(chunks: Uint8Array[]): string[] {
  const payloads: string[] = [];
  const scanner = new FrameScanner((bytes, start, end) => {
    payloads.push(text.decode(bytes.subarray(start, end)));
  });
  for (const chunk of chunks) scanner.push(chunk);
  assert.equal(scanner.pendingBytes, 0);
  return payloads;
}

test("bench FrameScanner finds every frame whatever the split point", () => {
  const messages = [{ type: "join", nick: "a" }, { type: "msg", text: "x".repeat(300) }, {
    type: "ping",
  }];
  const stream = concat(...messages.map(frame));
  const expected = messages.map((message) => JSON.stringify(message));
  for (let split = 0; split <= stream.length; split++) {
    assert.deepEqual(
      scanFrames([stream.subarray(0, split), stream.subarray(split)]),
      expected,
      `split at ${split}`,
    );
  }
});

test("bench FrameScanner finds every frame across any three reads", () => {
  const messages = [{ type: "a" }, { type: "msg", text: "x".repeat(40) }, { type: "b" }];
  const stream = concat(...messages.map(frame));
  const expected = messages.map((message) => JSON.stringify(message));
  for (let first = 0; first <= stream.length; first++) {
    for (let second = first; second <= stream.length; second++) {
      const reads = [
        stream.subarray(0, first),
        stream.subarray(first, second),
        stream.subarray(second),
      ];
      assert.deepEqual(scanFrames(reads.filter((read) => read.length > 0)), expected);
    }
  }
});

test("bench FrameScanner takes a stream one byte at a time", () => {
  const stream = concat(frame({ type: "a" }), frame({ type: "b".repeat(1000) }));
  const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
  assert.deepEqual(scanFrames(bytes), ['{"type":"a"}', `{"type":"${"b".repeat(1000)}"}`]);
});

function scanReplies(chunks: Uint8Array[]): string[] {
  const replies: string[] = [];
  const scanner = new RespScanner((bytes, type, firstStart, firstEnd, lastStart, lastEnd) => {
    const first = text.decode(bytes.subarray(firstStart, firstEnd));
    const last = text.decode(bytes.subarray(lastStart, lastEnd));
    replies.push(`${String.fromCharCode(type)} ${first} ${last}`);
  });
  for (const chunk of chunks) scanner.push(chunk);
  return replies;
}

test("bench RespScanner finds every reply whatever the split point", () => {
  const stream = ascii.encode(
    "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n" +
      "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$12\r\nhello\r\nworld\r\n" +
      ":4\r\n+PONG\r\n-ERR unknown command\r\n",
  );
  const expected = [
    "* subscribe 1",
    "* message hello\r\nworld",
    ": 4 4",
    "+ PONG PONG",
    "- ERR unknown command ERR unknown command",
  ];
  for (let split = 0; split <= stream.length; split++) {
    assert.deepEqual(
      scanReplies([stream.subarray(0, split), stream.subarray(split)]),
      expected,
      `split at ${split}`,
    );
  }
  assert.deepEqual(scanReplies(Array.from(stream, (byte) => Uint8Array.of(byte))), expected);
});
