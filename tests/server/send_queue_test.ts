import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { MAX_WRITE_BYTES, SendQueue } from "../../server/send_queue.ts";
import { FakeConnection } from "./_fake_connection.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (conn: FakeConnection) => conn.written.map((b) => new TextDecoder().decode(b));
// The queue writes once the current turn of the event loop is over.
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A queue over `conn`, and what it told its owner. */
function queueOver(
  conn: FakeConnection,
  capBytes = 1 << 20,
  soft: { softBytes: number; graceMs?: number } = { softBytes: capBytes },
) {
  const told: string[] = [];
  const queue = new SendQueue(conn, { capBytes, ...soft }, {
    overflow: (why) => told.push(why),
    failed: () => told.push("failed"),
  });
  return { queue, told };
}

test("SendQueue writes what one turn queued as one write, in the order sent", async () => {
  const conn = new FakeConnection();
  const { queue } = queueOver(conn);
  queue.send(bytes("one "));
  queue.send(bytes("two "));
  queue.send(bytes("three"));
  assert.deepEqual(conn.written, [], "send never writes while the sender's turn goes on");
  await nextTurn();
  assert.deepEqual(texts(conn), ["one two three"]);
});

test("SendQueue hands a connection that takes parts the frames unjoined, where they lie", async () => {
  const parts: Uint8Array[][] = [];
  const conn = new FakeConnection();
  Object.assign(conn, {
    writeParts(written: Uint8Array[], done: () => void) {
      parts.push(written);
      done();
    },
  });
  const { queue } = queueOver(conn);
  const slab = bytes("one two three");
  queue.send(slab.subarray(0, 4));
  queue.send(bytes("and "));
  queue.send(slab.subarray(4, 8));
  queue.send(slab.subarray(8));
  await nextTurn();
  assert.deepEqual(conn.written, [], "write is not called");
  assert.deepEqual(parts.map((write) => write.map((part) => new TextDecoder().decode(part))), [
    ["one ", "and ", "two three"],
  ]);
  assert.equal(parts[0][2].buffer, slab.buffer, "the frames' own bytes, not a copy");
});

test("SendQueue keeps one write in flight, and writes what came meanwhile next, in order", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("a"));
  await nextTurn();
  queue.send(bytes("b"));
  await nextTurn();
  queue.send(bytes("c"));
  await nextTurn();
  assert.deepEqual(texts(conn), ["a"], "b and c wait for a's write");
  conn.finishWrite();
  assert.deepEqual(texts(conn), ["a", "bc"]);
  conn.finishWrite();
  queue.send(bytes("d"));
  await nextTurn();
  conn.finishWrite();
  assert.deepEqual(texts(conn), ["a", "bc", "d"]);
  assert.equal(conn.mostInFlight, 1);
});

test("SendQueue counts every send against its cap, even before its first write", async () => {
  const conn = new FakeConnection();
  const { queue, told } = queueOver(conn, 4);
  for (const part of ["12", "34", "56"]) queue.send(bytes(part));
  assert.deepEqual(told, ["over 4 bytes waited"], "at the send that passed the cap");
  await queue.close(bytes("error: too slow"), 1000, Promise.resolve());
  assert.deepEqual(texts(conn), ["error: too slow"]);
});

test("SendQueue over its cap drops what waits, tells its owner, and sends only the final error", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue, told } = queueOver(conn, 10);
  queue.send(bytes("1234"));
  await nextTurn();
  queue.send(bytes("5678")); // 8 waiting, the 4 in flight counted
  assert.deepEqual(told, []);
  queue.send(bytes("9abc")); // 12
  assert.deepEqual(told, ["over 10 bytes waited"]);
  const closed = queue.close(bytes("error: too slow"), 1000, Promise.resolve());
  queue.send(bytes("later"));
  conn.finishWrite();
  conn.finishWrite();
  await closed;
  assert.deepEqual(texts(conn), ["1234", "error: too slow"]);
  assert.ok(conn.halfClosed && conn.closed);
  assert.deepEqual(told, ["over 10 bytes waited"]);
});

test("SendQueue cuts what waits into writes of at most MAX_WRITE_BYTES, where a send ended", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn, 16 * MAX_WRITE_BYTES);
  const third = Math.floor(MAX_WRITE_BYTES / 3) + 1; // three do not fit in one write; two do
  const sends = Array.from({ length: 7 }, (_, i) => new Uint8Array(third).fill(i));
  for (const send of sends) queue.send(send);
  const large = new Uint8Array(MAX_WRITE_BYTES + 1).fill(9); // one frame larger than a write
  queue.send(large);
  queue.send(bytes("end"));
  for (let turn = 0; turn < 10 && conn.heldWrites > 0; turn++) {
    conn.finishWrite();
    await nextTurn();
  }
  const lengths = conn.written.map((write) => write.length);
  assert.deepEqual(lengths, [2 * third, 2 * third, 2 * third, third, MAX_WRITE_BYTES + 1, 3]);
  const expected = Buffer.concat([...sends, large, bytes("end")]);
  assert.ok(Buffer.concat(conn.written).equals(expected), "every byte, in order");
});

test("SendQueue writes at once once a write's worth waits, without waiting for the turn to end", () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn, 16 * MAX_WRITE_BYTES);
  queue.send(new Uint8Array(MAX_WRITE_BYTES - 10));
  assert.equal(conn.heldWrites, 0, "less than a write's worth waits for the turn to end");
  queue.send(new Uint8Array(20));
  assert.equal(conn.heldWrites, 1, "a busy turn does not hold a write's worth back");
  assert.equal(conn.written[0].length, MAX_WRITE_BYTES - 10);
});

test("SendQueue over its cap drops only whole sends: the final error follows the write in flight", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue, told } = queueOver(conn, 4 * MAX_WRITE_BYTES);
  const half = new Uint8Array(MAX_WRITE_BYTES / 2);
  for (let i = 0; i < 9; i++) queue.send(half.fill(i).slice());
  assert.deepEqual(told, [`over ${4 * MAX_WRITE_BYTES} bytes waited`]);
  const closed = queue.close(bytes("error"), 1000, Promise.resolve());
  for (let turn = 0; turn < 10 && conn.heldWrites > 0; turn++) {
    conn.finishWrite();
    await nextTurn();
  }
  await closed;
  assert.deepEqual(conn.written.map((write) => write.length), [MAX_WRITE_BYTES, 5]);
  assert.deepEqual(texts(conn)[1], "error");
});

test("SendQueue drops a member that stays above its soft limit for longer than the grace", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const overflowed = Promise.withResolvers<string>();
  const queue = new SendQueue(conn, { capBytes: 100, softBytes: 10, graceMs: 20 }, {
    overflow: (why) => overflowed.resolve(why),
    failed: () => overflowed.reject(new Error("failed")),
  });
  queue.send(bytes("0123456789ab")); // 12: above the soft limit, far below the cap
  const started = performance.now();
  assert.equal(await overflowed.promise, "over 10 bytes waited for 0.02 s");
  assert.ok(performance.now() - started >= 15, "not before the grace is over");
  queue.send(bytes("later"));
  const closed = queue.close(bytes("error"), 1000, Promise.resolve());
  conn.finishWrite();
  conn.finishWrite();
  await closed;
  assert.deepEqual(texts(conn), ["0123456789ab", "error"]);
});

test("SendQueue keeps a member that reads back below its soft limit within the grace", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue, told } = queueOver(conn, 100, { softBytes: 10, graceMs: 30 });
  queue.send(bytes("0123456789ab")); // above the soft limit
  await nextTurn();
  conn.finishWrite(); // read: nothing waits
  queue.send(bytes("more")); // below it
  // Nothing can be awaited for a drop that must not come: wait out twice the grace.
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(told, []);
  queue.send(bytes("0123456789ab")); // above it again, from the start of a new grace
  conn.finishWrite();
  await nextTurn();
  assert.deepEqual(told, []);
  queue.close(null, 1000, Promise.resolve());
  while (conn.heldWrites > 0) conn.finishWrite();
});

test("SendQueue on a failed write drops what waits, tells its owner, and closes the connection", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue, told } = queueOver(conn);
  queue.send(bytes("a"));
  await nextTurn();
  queue.send(bytes("b"));
  conn.finishWrite(new Error("connection reset"));
  assert.deepEqual(told, ["failed"]);
  assert.ok(conn.closed);
  queue.send(bytes("c"));
  await queue.close(bytes("never sent"), 1000, Promise.resolve());
  assert.deepEqual(texts(conn), ["a"]);
});

test("SendQueue.close delivers what waits and then `last`, half-closes, and waits for the peer", async () => {
  const conn = new FakeConnection();
  const { queue } = queueOver(conn);
  queue.send(bytes("a"));
  queue.send(bytes("b"));
  const peer = Promise.withResolvers<void>();
  const closed = queue.close(bytes("bye"), 1000, peer.promise);
  assert.equal(queue.close(null, 1000, Promise.resolve()), closed, "only the first close counts");
  queue.send(bytes("too late"));
  assert.deepEqual(texts(conn), ["abbye"], "at once, not a turn later");
  await nextTurn();
  assert.ok(conn.halfClosed);
  assert.equal(conn.closed, false, "the peer may still be sending");
  peer.resolve();
  await closed;
  assert.ok(conn.closed);
});

test("SendQueue.close, past its deadline, finishes the write in flight, then `last` alone", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("in flight"));
  await nextTurn();
  queue.send(bytes("queued behind"));
  const closed = queue.close(bytes("error"), 30, new Promise(() => {}));
  const started = performance.now();
  // The peer reads again well after the flush: the write that was cut where its buffers ended
  // goes on, and the error follows it; what waited behind is gone.
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(conn.closed, false, "a write in flight keeps the connection past the flush");
  conn.finishWrite();
  await nextTurn();
  assert.equal(conn.heldWrites, 1, "then the error");
  conn.finishWrite();
  await closed;
  assert.ok(performance.now() - started >= 55);
  assert.deepEqual(texts(conn), ["in flight", "error"]);
  assert.ok(conn.closed);
  assert.equal(conn.halfClosed, true, "the stream ends after the error");
});

test("SendQueue.close with no `last`, past its deadline, finishes only the write in flight", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("in flight"));
  await nextTurn();
  queue.send(bytes("queued behind"));
  const closed = queue.close(null, 30, Promise.resolve());
  await new Promise((resolve) => setTimeout(resolve, 60));
  conn.finishWrite();
  await closed;
  assert.deepEqual(texts(conn), ["in flight"]);
  assert.ok(conn.halfClosed && conn.closed);
});

test("SendQueue.close, past its deadline with nothing in flight, closes at once", async () => {
  const conn = new FakeConnection();
  const { queue } = queueOver(conn);
  queue.send(bytes("read"));
  const started = performance.now();
  await queue.close(null, 30, new Promise(() => {})); // the peer never ends its side
  assert.ok(performance.now() - started >= 25);
  assert.ok(conn.closed && conn.halfClosed);
});

test("SendQueue.stopLingering closes a connection whose peer does not read, at once", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("unread"));
  const closed = queue.close(null, 30, new Promise(() => {}));
  await new Promise((resolve) => setTimeout(resolve, 60)); // lingering by now
  assert.equal(conn.closed, false);
  queue.stopLingering();
  await closed;
  assert.ok(conn.closed);
  assert.equal(conn.halfClosed, false, "no end-of-stream behind bytes that were never taken");
  conn.finishWrite(new Error("closed"));
});

test("SendQueue.stopLingering before the deadline closes at the deadline", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("unread"));
  const closed = queue.close(null, 30, new Promise(() => {}));
  queue.stopLingering();
  const started = performance.now();
  await closed;
  assert.ok(performance.now() - started >= 25 && conn.closed);
  conn.finishWrite(new Error("closed"));
});
