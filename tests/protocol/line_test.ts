import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeLine, LineDecoder } from "../../protocol/line.ts";
import { ProtocolError } from "../../protocol.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function pushAll(decoder: LineDecoder, chunks: Uint8Array[]): Array<string | ProtocolError> {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

test("LineDecoder splits lines at every split point, with \\n and \\r\\n, keeping UTF-8", () => {
  const input = bytes("héllo wörld 🎉\r\nsecond\n\nthird\n");
  for (let split = 0; split <= input.length; split++) {
    const lines = pushAll(new LineDecoder(), [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(lines, ["héllo wörld 🎉", "second", "third"], `split at ${split}`);
  }
});

test("LineDecoder counts blank lines in skipped rather than returning them", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.push(bytes("\n\r\n \nhi\n\n")), [" ", "hi"]);
  assert.equal(decoder.skipped, 3);
  assert.deepEqual(decoder.push(bytes("\r")), []);
  assert.equal(decoder.skipped, 0, "a count for each push");
  assert.deepEqual(decoder.push(bytes("\n")), []);
  assert.equal(decoder.skipped, 1, "a \\r\\n split across pushes");
});

test("LineDecoder drops telnet commands wherever they fall", () => {
  // IAC DO ECHO, IAC WILL SGA, a subnegotiation with an escaped IAC inside, IAC NOP, IAC IAC.
  const input = new Uint8Array([
    ...[255, 253, 1],
    ...bytes("he"),
    ...[255, 251, 3],
    ...bytes("llo"),
    ...[255, 250, 24, 0, 255, 255, 65, 255, 240],
    ...[255, 241],
    ...bytes("!"),
    ...[255, 255],
    10,
  ]);
  for (let split = 0; split <= input.length; split++) {
    const decoder = new LineDecoder();
    const lines = pushAll(decoder, [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(lines, ["hello!"], `split at ${split}`);
  }
});

test("LineDecoder rejects a line above the maximum once and discards it up to its newline", () => {
  const decoder = new LineDecoder(8);
  const out = pushAll(decoder, [bytes("12345678"), bytes("9abc"), bytes("def\nok\n")]);
  assert.equal(out.length, 2);
  assert.ok(out[0] instanceof ProtocolError);
  assert.equal(out[0].code, "line_too_long");
  assert.equal(out[1], "ok");
  assert.ok(decoder.bufferedBytes <= 8);
  assert.deepEqual(decoder.push(bytes("12345678\n")), ["12345678"]);
});

test("encodeLine writes a server message as the line a person reads, or nothing", () => {
  const said = { type: "msg", id: 1, from: "alice", room: "lobby", text: "héllo", ts: 0 } as const;
  assert.deepEqual(encodeLine(said), bytes("<alice> héllo\n"));
  assert.deepEqual(
    encodeLine({ type: "join", nick: "bob", room: "lobby" }),
    bytes("* bob joined\n"),
  );
  assert.equal(encodeLine({ type: "pong" }), null);
});
