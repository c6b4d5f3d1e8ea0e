import { test } from "node:test";
import assert from "node:assert/strict";
import { giveBack, Outbox } from "../outbox.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

test("Outbox hands out what was appended, in order, as one array, and starts again empty", () => {
  const outbox = new Outbox();
  assert.equal(outbox.bytes, 0);
  assert.deepEqual(outbox.take(), bytes());
  outbox.append(bytes(1, 2));
  outbox.append(bytes());
  outbox.append(bytes(3));
  assert.equal(outbox.bytes, 3);
  assert.deepEqual(outbox.take(), bytes(1, 2, 3));
  assert.equal(outbox.bytes, 0);
  outbox.append(bytes(4));
  assert.deepEqual(outbox.take(), bytes(4));
});

test("Outbox copies what it is given: the caller may reuse its array at once", () => {
  const outbox = new Outbox();
  const reused = bytes(1, 2, 3);
  outbox.append(reused);
  reused.fill(9);
  outbox.append(reused);
  assert.deepEqual(outbox.take(), bytes(1, 2, 3, 9, 9, 9));
});

test("Outbox grows past its usual size for a burst, and keeps every byte", () => {
  const outbox = new Outbox();
  const piece = new Uint8Array(1000).map((_, i) => i % 251);
  for (let i = 0; i < 300; i++) outbox.append(piece); // 300,000 bytes: past 64 KiB, twice over
  const taken = outbox.take();
  assert.equal(taken.length, 300_000);
  for (let i = 0; i < 300; i++) assert.deepEqual(taken.subarray(i * 1000, (i + 1) * 1000), piece);
  giveBack(taken); // too large to keep: left to the garbage collector, and harmless
});

test("An array taken and not given back is never lent to another outbox", () => {
  const first = new Outbox();
  const second = new Outbox();
  first.append(bytes(1, 1, 1));
  const inFlight = first.take(); // as if a write of it were still in progress
  second.append(bytes(2, 2, 2));
  first.append(bytes(3, 3, 3));
  assert.deepEqual(inFlight, bytes(1, 1, 1));
  const secondTaken = second.take();
  const firstTaken = first.take();
  assert.deepEqual(secondTaken, bytes(2, 2, 2));
  assert.deepEqual(firstTaken, bytes(3, 3, 3));
  // Given back, an array is lent again, and what was in it is written over, not handed out.
  giveBack(inFlight);
  giveBack(secondTaken);
  second.append(bytes(4));
  assert.deepEqual(second.take(), bytes(4));
  assert.deepEqual(firstTaken, bytes(3, 3, 3));
});

test("Outbox.clear drops what was queued", () => {
  const outbox = new Outbox();
  outbox.append(bytes(1, 2, 3));
  outbox.clear();
  assert.equal(outbox.bytes, 0);
  outbox.append(bytes(4));
  assert.deepEqual(outbox.take(), bytes(4));
});
