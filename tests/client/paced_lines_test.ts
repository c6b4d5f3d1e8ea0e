import { test } from "node:test";
import assert from "node:assert/strict";
import { PacedLines } from "../../client/paced_lines.ts";

test("PacedLines sends at once without a rate, and in turn with one, in order", async () => {
  const sent: string[] = [];
  let now = 0;
  const go = (line: string) => {
    sent.push(line);
    lines.spent(10); // as the client counts each frame it sends
  };
  const lines: PacedLines = new PacedLines({ go, changed: () => {} }, () => now);
  lines.push("free");
  assert.deepEqual(sent, ["free"]);
  lines.paceTo(10, 4); // two at once, then nine a second
  for (const line of ["a", "b", "c", "d"]) lines.push(line);
  assert.deepEqual(sent, ["free", "a", "b"]);
  assert.equal(lines.waiting, 2);
  assert.equal(lines.status, "sending 2 more lines at 9 a second...");
  now = 1_000; // the timer finds both due
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(sent, ["free", "a", "b", "c", "d"]);
  assert.equal(lines.status, null);
});

test("PacedLines gives back what waits, in order, and sends nothing more", () => {
  const sent: string[] = [];
  const lines = new PacedLines({ go: (line) => sent.push(line), changed: () => {} }, () => 0);
  lines.paceTo(1, 2);
  lines.push("one");
  lines.spent(10);
  lines.push("two");
  lines.push("three");
  assert.deepEqual(lines.takeAll(), ["two", "three"]);
  assert.equal(lines.waiting, 0);
  assert.deepEqual(sent, ["one"]);
});
