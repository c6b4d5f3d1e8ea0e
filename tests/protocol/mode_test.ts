import { test } from "node:test";
import assert from "node:assert/strict";
import { detectMode, type Mode } from "../../protocol/mode.ts";
import { LineDecoder } from "../../protocol/line.ts";
import { encodeLegacyFrame, LegacyDecoder } from "../../protocol/legacy.ts";
import { ProtocolError } from "../../protocol.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** The mode decided by each prefix of `input`, shortest first. */
function decisions(input: Uint8Array): Array<Mode | null> {
  return Array.from({ length: input.length }, (_, i) => detectMode(input.subarray(0, i + 1)));
}

test("detectMode decides native on the first byte 0x00", () => {
  assert.equal(detectMode(new Uint8Array([0])), "native");
  assert.equal(detectMode(new Uint8Array([0, 0, 0, 30, 123])), "native");
  assert.equal(detectMode(new Uint8Array(0)), null);
});

test("detectMode waits through a digit-and-space prefix and decides legacy at 10 bytes", () => {
  for (const header of ["5         ", "12        ", "1234567890", "0         "]) {
    const seen = decisions(bytes(`${header}hello`));
    assert.deepEqual(seen.slice(0, 9), Array(9).fill(null), header);
    assert.ok(seen.slice(9).every((mode) => mode === "legacy"), header);
  }
});

test("detectMode decides line as soon as a byte breaks the legacy pattern", () => {
  const cases: Array<[string, number]> = [
    ["hi\n", 0], // not a digit
    ["42\n", 2], // a line that is a number ends before 10 bytes
    ["5   x     ", 4], // a letter among the padding
    ["5  5      ", 3], // a digit after the padding
    ["12345678 9", 9],
    ["\xff\xfd\x01", 0], // telnet's IAC
  ];
  for (const [input, decidedAt] of cases) {
    const seen = decisions(new Uint8Array([...input].map((c) => c.charCodeAt(0))));
    assert.deepEqual(seen.slice(0, decidedAt), Array(decidedAt).fill(null), input);
    assert.ok(seen.slice(decidedAt).every((mode) => mode === "line"), JSON.stringify(input));
  }
});

function pushAll(decoder: LineDecoder, chunks: Uint8Array[]): Array<string | ProtocolError> {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

test("LineDecoder splits lines at every split point, with \\n and \\r\\n, keeping UTF-8", () => {
  const input = bytes("héllo wörld 🎉\r\nsecond\n\nthird\n");
  for (let split = 0; split <= input.length; split++) {
    const lines = pushAll(new LineDecoder(), [input.subarray(0, split), input.subarray(split)]);
    assert.deepEqual(lines, ["héllo wörld 🎉", "second", "", "third"], `split at ${split}`);
  }
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

test("LegacyDecoder reads frames at every split point and one byte at a time", () => {
  const input = new Uint8Array([
    ...encodeLegacyFrame("alice"),
    ...encodeLegacyFrame("héllo 🎉"),
    ...encodeLegacyFrame(""),
  ]);
  for (let split = 0; split <= input.length; split++) {
    const decoder = new LegacyDecoder(100);
    const out = [...decoder.push(input.subarray(0, split)), ...decoder.push(input.subarray(split))];
    assert.deepEqual(out, ["alice", "héllo 🎉", ""], `split at ${split}`);
  }
  const decoder = new LegacyDecoder(100);
  const out = [...input].flatMap((byte) => decoder.push(new Uint8Array([byte])));
  assert.deepEqual(out, ["alice", "héllo 🎉", ""]);
});

test("encodeLegacyFrame writes a left-aligned, space-padded byte length", () => {
  assert.deepEqual(encodeLegacyFrame("héllo"), bytes("6         héllo"));
});

test("LegacyDecoder fails for good on a header that is not a number, or too large", () => {
  for (
    const [input, code] of [["abc       hello", "bad_header"], ["101       ", "frame_too_large"]]
  ) {
    const decoder = new LegacyDecoder(100);
    const out = decoder.push(bytes(input));
    assert.equal(out.length, 1);
    assert.ok(out[0] instanceof ProtocolError);
    assert.equal(out[0].code, code);
    assert.equal(out[0].fatal, true);
    assert.deepEqual(decoder.push(encodeLegacyFrame("more")), []);
  }
});
