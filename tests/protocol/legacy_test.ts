import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeLegacy,
  encodeLegacyFrame,
  HEADER_SO_FAR,
  LegacyDecoder,
  NOT_A_HEADER,
  scanLegacyHeader,
} from "../../protocol/legacy.ts";
import { nickProblem, ProtocolError } from "../../protocol.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

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

// Each header as the tutorial's server reads it, int(header.strip()), checked with Python 3.
const GOOD_HEADERS: Array<[string, number]> = [
  ["5         ", 5], // the client's username header, f"{5:<10}"
  [" 15       ", 15], // its message header, f"{15 :< 10}"
  ["   5      ", 5],
  ["+5        ", 5],
  ["1_0       ", 10],
  ["007       ", 7],
  ["\t5\n\r\v\f    ", 5],
  ["\x1c\x1d5\x1e\x1f     ", 5],
  ["-0        ", 0],
  ["        12", 12],
];
const BAD_HEADERS = [
  "-5        ",
  "+ 5       ",
  "+-5       ",
  "_5        ",
  "5_        ",
  "1__0      ",
  "5 5       ",
  "0x5       ",
  "1e3       ",
  "          ",
  "+         ",
  "5\x00        ",
];

test("scanLegacyHeader reads what Python's int(header.strip()) reads, and nothing else", () => {
  for (const [header, length] of GOOD_HEADERS) {
    assert.equal(header.length, 10, JSON.stringify(header));
    assert.equal(scanLegacyHeader(bytes(header), 0, 10), length, JSON.stringify(header));
    for (let end = 0; end < 10; end++) {
      assert.equal(scanLegacyHeader(bytes(header), 0, end), HEADER_SO_FAR, JSON.stringify(header));
    }
  }
  for (const header of BAD_HEADERS) {
    assert.equal(scanLegacyHeader(bytes(header), 0, 10), NOT_A_HEADER, JSON.stringify(header));
  }
  assert.equal(scanLegacyHeader(bytes("xx12        "), 2, 12), 12, "from an offset");
});

test("LegacyDecoder takes the tutorial client's headers, leading space and all", () => {
  const decoder = new LegacyDecoder(100);
  const input = GOOD_HEADERS.map(([header, length]) => header + "x".repeat(length)).join("");
  assert.deepEqual(
    decoder.push(bytes(input)),
    GOOD_HEADERS.map(([, length]) => "x".repeat(length)),
  );
});

test("encodeLegacyFrame writes a left-aligned, space-padded byte length", () => {
  assert.deepEqual(encodeLegacyFrame("héllo"), bytes("6         héllo"));
});

test("LegacyDecoder fails for good on a header that is not a number, or too large", () => {
  for (
    const [input, code] of [
      ["abc       hello", "bad_header"],
      ["-5        hello", "bad_header"],
      ["101       ", "frame_too_large"],
      [" 101      ", "frame_too_large"],
    ]
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

test("encodeLegacy sends chat as a (sender, text) pair and the rest as notices from *", () => {
  const pair = (from: string, text: string) =>
    new Uint8Array([...encodeLegacyFrame(from), ...encodeLegacyFrame(text)]);
  const said = { type: "msg", id: 1, from: "alice", room: "lobby", text: "hi", ts: 0 } as const;
  assert.deepEqual(encodeLegacy(said), pair("alice", "hi"));
  assert.deepEqual(
    encodeLegacy({ ...said, room: undefined, to: "bob" }),
    pair("alice", "(private) hi"),
  );
  assert.deepEqual(
    encodeLegacy({ type: "join", nick: "bob", room: "lobby" }),
    pair("*", "bob joined"),
  );
  assert.equal(encodeLegacy({ type: "pong" }), null);
});

test("encodeLegacy sends actions from their member: nothing a member says comes from *", () => {
  const pair = (from: string, text: string) =>
    new Uint8Array([...encodeLegacyFrame(from), ...encodeLegacyFrame(text)]);
  const acted = { type: "msg", id: 1, from: "bob", room: "lobby", text: "left", ts: 0 } as const;
  assert.deepEqual(encodeLegacy({ ...acted, action: true }), pair("bob", "* left"));
  assert.deepEqual(
    encodeLegacy({ ...acted, room: undefined, to: "eve", action: true }),
    pair("bob", "(private) * left"),
  );
  assert.deepEqual(
    encodeLegacy({ type: "leave", nick: "bob", room: "lobby" }),
    pair("*", "bob left"),
  );
  assert.deepEqual(
    encodeLegacy({ ...acted, text: "a\u202eb\u2028c\u2067d\u2069" }),
    pair("bob", "ab cd"),
  );
  for (const from of ["bob", "The", "x", "\u00e9", "a-b"]) {
    assert.equal(nickProblem(from), null);
    for (const action of [undefined, true] as const) {
      for (const where of [{ room: "lobby" }, { to: "eve" }]) {
        const bytes = encodeLegacy({ ...acted, room: undefined, from, action, ...where })!;
        const user = new LegacyDecoder(1000).push(bytes)[0];
        assert.equal(user, from);
      }
    }
  }
});
