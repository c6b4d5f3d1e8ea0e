import { test } from "node:test";
import assert from "node:assert/strict";
import { SendQueue } from "../../server/send_queue.ts";
import { FakeConnection } from "./_fake_connection.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (conn: FakeConnection) => conn.written.map((b) => new TextDecoder().decode(b));
// The queue writes once the current turn of the event loop is over.
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A queue over `conn`, and what it told its owner. */
function queueOver(conn: FakeConnection, capBytes = 1 << 20) {
  const told: string[] = [];
  const queue = new SendQueue(conn, capBytes, {
    overflow: () => told.push("overflow"),
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

test("SendQueue lets one turn fan out past the cap before anything is written", async () => {
  const conn = new FakeConnection();
  const { queue, told } = queueOver(conn, 4);
  for (const part of ["12", "34", "56"]) queue.send(bytes(part));
  await nextTurn();
  assert.deepEqual(texts(conn), ["123456"]);
  assert.deepEqual(told, []);
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
  assert.deepEqual(told, ["overflow"]);
  const closed = queue.close(bytes("error: too slow"), 1000, Promise.resolve());
  queue.send(bytes("later"));
  conn.finishWrite();
  conn.finishWrite();
  await closed;
  assert.deepEqual(texts(conn), ["1234", "error: too slow"]);
  assert.ok(conn.halfClosed && conn.closed);
  assert.deepEqual(told, ["overflow"]);
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

test("SendQueue.close closes at its deadline when the peer does not read", async () => {
  const conn = new FakeConnection();
  conn.holdWrites = true;
  const { queue } = queueOver(conn);
  queue.send(bytes("unread"));
  const started = performance.now();
  await queue.close(null, 30, new Promise(() => {}));
  assert.ok(performance.now() - started >= 25);
  assert.ok(conn.closed);
  assert.equal(conn.halfClosed, false, "no end-of-stream behind bytes that were never taken");
});
