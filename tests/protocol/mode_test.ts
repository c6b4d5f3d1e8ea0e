import { test } from "node:test";
import assert from "node:assert/strict";
import { detectMode, type Mode } from "../../protocol/mode.ts";

const MAX_FRAME_BYTES = 65536;

/** The mode decided by each prefix of `input`, shortest first. */
function decisions(input: string): Array<Mode | null> {
  const bytes = new Uint8Array([...input].map((c) => c.charCodeAt(0)));
  return Array.from(
    { length: bytes.length },
    (_, i) => detectMode(bytes.subarray(0, i + 1), MAX_FRAME_BYTES),
  );
}

/** Asserts that `input` is undecided before byte `decidedAt` and `mode` from it on. */
function assertDecided(input: string, decidedAt: number, mode: Mode): void {
  const seen = decisions(input);
  assert.deepEqual(seen.slice(0, decidedAt), Array(decidedAt).fill(null), JSON.stringify(input));
  assert.ok(seen.slice(decidedAt).every((m) => m === mode), `${JSON.stringify(input)}: ${seen}`);
}

test("detectMode decides native on the first byte 0x00", () => {
  assert.equal(detectMode(new Uint8Array([0]), MAX_FRAME_BYTES), "native");
  assert.equal(detectMode(new Uint8Array([0, 0, 0, 30, 123]), MAX_FRAME_BYTES), "native");
  assert.equal(detectMode(new Uint8Array(0), MAX_FRAME_BYTES), null);
});

test("detectMode waits through a legacy header's first bytes and decides legacy at 10 bytes", () => {
  const headers = [
    "5         ",
    "12        ",
    "0         ",
    "65536     ",
    " 15       ", // the tutorial client's message header, f"{15 :< 10}"
    "   5      ",
    "+5        ",
    "1_000     ",
    "\t5\v\f      ",
    "\x1c5\x1f       ",
    "-0        ",
  ];
  for (const header of headers) assertDecided(`${header}hello`, 9, "legacy");
});

test("detectMode decides line as soon as a byte breaks the legacy header's grammar", () => {
  const cases: Array<[string, number]> = [
    ["hi\n", 0], // not a digit
    ["  hi there", 2], // spaces, then a word
    ["+1 to that", 3],
    ["+ 5       ", 1], // a sign, then no digit
    ["-5        ", 1], // a length below 0
    ["5   x     ", 4], // a letter among the padding
    ["5  5      ", 3], // a digit after the padding
    ["1__0      ", 2],
    ["5_        ", 2],
    ["12345678 9", 9],
    ["          ", 9], // no digit at all
    ["\xff\xfd\x01", 0], // telnet's IAC
  ];
  for (const [input, decidedAt] of cases) assertDecided(input, decidedAt, "line");
});

test("detectMode decides line at a line ending among the first ten bytes", () => {
  for (const [input, decidedAt] of [["42\n", 2], ["  \n", 2], ["5\r\n", 1], ["\n", 0]] as const) {
    assertDecided(input, decidedAt, "line");
  }
});

test("detectMode decides line for ten header bytes whose number exceeds the largest frame", () => {
  assertDecided("123456789 apples\n", 9, "line");
  assertDecided("65537     ", 9, "line");
  assertDecided("1234567890", 9, "line");
  assert.equal(detectMode(new TextEncoder().encode("70000     "), 100_000), "legacy");
});
