import { test } from "node:test";
import assert from "node:assert/strict";
import { type Key, KeyDecoder } from "../../client/key_decoder.ts";

const utf8 = new TextEncoder();

function decode(...chunks: (string | Uint8Array)[]): Key[] {
  const decoder = new KeyDecoder();
  return chunks.flatMap((chunk) =>
    decoder.push(typeof chunk === "string" ? utf8.encode(chunk) : chunk)
  );
}

test("KeyDecoder yields printable text, multi-byte UTF-8 included, as one key", () => {
  assert.deepEqual(decode("héllo wörld 日本 😀"), [{ type: "text", text: "héllo wörld 日本 😀" }]);
});

test("KeyDecoder joins a UTF-8 character split at every byte", () => {
  const bytes = utf8.encode("é日😀");
  const keys = decode(...Array.from(bytes, (byte) => Uint8Array.of(byte)));
  assert.equal(keys.map((key) => key.type === "text" ? key.text : "?").join(""), "é日😀");
});

test("KeyDecoder decodes escape sequences split at every point", () => {
  const sequences: [string, Key["type"]][] = [
    ["\x1b[A", "history-back"],
    ["\x1b[B", "history-forward"],
    ["\x1b[C", "right"],
    ["\x1b[D", "left"],
    ["\x1b[H", "home"],
    ["\x1b[F", "end"],
    ["\x1bOH", "home"],
    ["\x1bOF", "end"],
    ["\x1bOD", "left"],
    ["\x1b[1~", "home"],
    ["\x1b[7~", "home"],
    ["\x1b[4~", "end"],
    ["\x1b[8~", "end"],
    ["\x1b[3~", "delete"],
    ["\x1b[1;5C", "word-right"],
    ["\x1b[1;3D", "word-left"],
    ["\x1bb", "word-left"],
    ["\x1bf", "word-right"],
    ["\x1b\x7f", "kill-word"],
  ];
  for (const [sequence, expected] of sequences) {
    for (let split = 0; split <= sequence.length; split++) {
      const keys = decode(`a${sequence.slice(0, split)}`, `${sequence.slice(split)}b`);
      assert.deepEqual(
        keys,
        [{ type: "text", text: "a" }, { type: expected }, { type: "text", text: "b" }],
        `${JSON.stringify(sequence)} split at ${split}`,
      );
    }
  }
});

test("KeyDecoder decodes the control keys", () => {
  const controls: [string, Key["type"]][] = [
    ["\r", "enter"],
    ["\n", "enter"],
    ["\x7f", "backspace"],
    ["\x08", "backspace"],
    ["\x01", "home"],
    ["\x05", "end"],
    ["\x02", "left"],
    ["\x06", "right"],
    ["\x15", "kill-to-start"],
    ["\x0b", "kill-to-end"],
    ["\x17", "kill-word"],
    ["\x10", "history-back"],
    ["\x0e", "history-forward"],
    ["\x0c", "clear-screen"],
    ["\x03", "interrupt"],
    ["\x04", "eof"],
  ];
  for (const [byte, expected] of controls) {
    assert.deepEqual(decode(byte), [{ type: expected }], JSON.stringify(byte));
  }
});

test("KeyDecoder counts CR LF as one Enter, even split across chunks", () => {
  assert.deepEqual(decode("a\r\nb"), [
    { type: "text", text: "a" },
    { type: "enter" },
    { type: "text", text: "b" },
  ]);
  assert.deepEqual(decode("a\r", "\nb"), decode("a\r\nb"));
  assert.deepEqual(decode("\r\r"), [{ type: "enter" }, { type: "enter" }]);
  assert.deepEqual(decode("\n\n"), [{ type: "enter" }, { type: "enter" }]);
});

test("KeyDecoder splits a pasted block into text and Enters", () => {
  assert.deepEqual(decode("one\rtwo\rthr"), [
    { type: "text", text: "one" },
    { type: "enter" },
    { type: "text", text: "two" },
    { type: "enter" },
    { type: "text", text: "thr" },
  ]);
});

test("KeyDecoder never yields a control character as text", () => {
  // NUL, BEL, a C1 CSI, unbound CSI and SS3 sequences, bracketed-paste marks and a pasted tab.
  const keys = decode("a\x00b\x07c\u009bd\x1b[99Ze\x1bOzf\x1b[200~g\th\x1b[201~i");
  assert.deepEqual(keys, [{ type: "text", text: "abcdefg hi" }]);
});

test("KeyDecoder drops a lone Escape, and waits for the key after it", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.push(utf8.encode("\x1b")), []);
  assert.deepEqual(decoder.push(utf8.encode("x")), [{ type: "text", text: "x" }]);
  assert.deepEqual(decode("\x1b\x1b[D"), [{ type: "left" }]);
});

test("KeyDecoder gives up on an escape sequence that never ends", () => {
  const keys = decode(`\x1b[${"1".repeat(100)}`, "x");
  assert.deepEqual(keys, [{ type: "text", text: "x" }]);
});

test("KeyDecoder turns Tab into the complete key, and a Tab in a bracketed paste into a space", () => {
  assert.deepEqual(decode("al\t"), [{ type: "text", text: "al" }, { type: "complete" }]);
  assert.deepEqual(decode("\x1b[200~a\tb", "\tc\x1b[201", "~\t"), [
    { type: "text", text: "a b" },
    { type: "text", text: " c" },
    { type: "complete" },
  ]);
});
