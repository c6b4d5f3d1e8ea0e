import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox } from "../../server/outbox.ts";

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
  outbox.release();
  assert.equal(outbox.bytes, 0);
  outbox.append(bytes(4));
  assert.deepEqual(outbox.take(), bytes(4));
});

test("Outbox writes frames that lie one after another straight from where they lie", () => {
  const slab = new Uint8Array(100).map((_, i) => i);
  const outbox = new Outbox();
  outbox.append(slab.subarray(0, 10));
  outbox.append(slab.subarray(10, 25));
  outbox.append(slab.subarray(25, 26));
  const taken = outbox.take();
  assert.deepEqual(taken, slab.subarray(0, 26));
  assert.equal(taken.buffer, slab.buffer, "a view of the slab, not a copy");
  outbox.release();
});

test("Outbox.takeParts hands out the runs as they lie, unjoined, and a copy as one part", () => {
  const slab = new Uint8Array(100).map((_, i) => i);
  const other = bytes(7, 8);
  const outbox = new Outbox();
  outbox.append(slab.subarray(0, 10));
  outbox.append(slab.subarray(10, 20));
  outbox.append(other);
  outbox.append(slab.subarray(50, 55));
  const parts = outbox.takeParts();
  assert.deepEqual(parts, [slab.subarray(0, 20), other, slab.subarray(50, 55)]);
  assert.equal(parts[0].buffer, slab.buffer, "a view of the slab, not a copy");
  assert.equal(parts[1], other);
  outbox.release();
  assert.equal(outbox.bytes, 0);
  assert.deepEqual(outbox.takeParts(), [bytes()]);
  outbox.append(bytes(1));
  assert.deepEqual(outbox.takeParts(), [bytes(1)]);
  outbox.release();
});

test("Outbox hands a lone frame out as the very array it was given", () => {
  const slab = new Uint8Array(100).map((_, i) => i);
  const frame = slab.subarray(40, 50);
  const outbox = new Outbox();
  outbox.append(frame);
  assert.equal(outbox.take(), frame, "no new view for each member a frame goes to");
  outbox.release();
  outbox.append(frame);
  outbox.append(slab.subarray(50, 60));
  const taken = outbox.take();
  assert.notEqual(taken, frame);
  assert.deepEqual(taken, slab.subarray(40, 60));
});

test("Outbox joins runs with gaps between them (a member's own messages) into one array", () => {
  const slab = new Uint8Array(100).map((_, i) => i);
  const other = bytes(200, 201);
  const outbox = new Outbox();
  outbox.append(slab.subarray(0, 10));
  outbox.append(slab.subarray(20, 30)); // 10..20 was the member's own
  outbox.append(other);
  outbox.append(slab.subarray(30, 40)); // after the other buffer: a new run
  const taken = outbox.take();
  assert.deepEqual(
    taken,
    Uint8Array.from([
      ...slab.subarray(0, 10),
      ...slab.subarray(20, 30),
      200,
      201,
      ...slab.subarray(30, 40),
    ]),
  );
  assert.notEqual(taken.buffer, slab.buffer);
  outbox.release();
});

test("Outbox copies rather than hold large buffers alive for a few bytes of each", () => {
  // Three slab-sized buffers, a few bytes queued from each: referring would hold 768 KiB for 9.
  const slabs = Array.from({ length: 3 }, (_, i) => new Uint8Array(256 * 1024).fill(i));
  const outbox = new Outbox();
  for (const slab of slabs) outbox.append(slab.subarray(0, 3));
  // Once it copies, later changes to the slabs (which encoders never make) no longer show: proof
  // that nothing refers to them.
  for (const slab of slabs) slab.fill(9);
  assert.deepEqual(outbox.take(), bytes(0, 0, 0, 1, 1, 1, 2, 2, 2));
  outbox.release();
});

test("Outbox refers to large buffers while what it has queued is as large", () => {
  const slabs = Array.from({ length: 3 }, (_, i) => new Uint8Array(256 * 1024).fill(i));
  const outbox = new Outbox();
  for (const slab of slabs) outbox.append(slab.subarray(0, 200 * 1024));
  for (const slab of slabs) slab[0] = 9; // still referred to: the change shows
  const taken = outbox.take();
  assert.equal(taken.length, 600 * 1024);
  assert.deepEqual([taken[0], taken[200 * 1024], taken[400 * 1024]], [9, 9, 9]);
  outbox.release();
});

test("Outbox grows past its usual size for a burst, and keeps every byte", () => {
  const outbox = new Outbox();
  const piece = new Uint8Array(1000).map((_, i) => i % 251);
  for (let i = 0; i < 300; i++) outbox.append(piece); // 300,000 bytes: past 64 KiB, twice over
  const taken = outbox.take();
  assert.equal(taken.length, 300_000);
  for (let i = 0; i < 300; i++) assert.deepEqual(taken.subarray(i * 1000, (i + 1) * 1000), piece);
  outbox.release(); // too large to keep: left to the garbage collector, and harmless
});

test("An array taken and not yet released is never lent to another outbox", () => {
  const first = new Outbox();
  const second = new Outbox();
  for (const value of [1, 2, 3]) first.append(bytes(value)); // three buffers: copied
  const inFlight = first.take(); // as if a write of it were still in progress
  for (const value of [4, 5, 6]) second.append(bytes(value));
  for (const value of [7, 8, 9]) first.append(bytes(value));
  assert.deepEqual(inFlight, bytes(1, 2, 3));
  assert.deepEqual(second.take(), bytes(4, 5, 6));
  // Released, an array is lent again, and what was in it is written over, not handed out.
  first.release();
  second.release();
  assert.deepEqual(first.take(), bytes(7, 8, 9));
  first.release();
  for (const value of [10, 11, 12]) second.append(bytes(value));
  assert.deepEqual(second.take(), bytes(10, 11, 12));
});

test("Outbox.clear drops what was queued", () => {
  const outbox = new Outbox();
  for (const value of [1, 2, 3]) outbox.append(bytes(value));
  outbox.clear();
  assert.equal(outbox.bytes, 0);
  outbox.append(bytes(4));
  assert.deepEqual(outbox.take(), bytes(4));
});
