import { test } from "node:test";
import assert from "node:assert/strict";
import { detectMode, type Mode } from "../../protocol/mode.ts";

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
