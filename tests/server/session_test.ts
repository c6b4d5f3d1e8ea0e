// A Session driven directly through a fake connection: what no well-formed input can provoke, such
// as a bug that throws while one member is being served.
import { Buffer } from "node:buffer";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Chat, type Member, type Room } from "../../server/chat.ts";
import type { ServerMessage } from "../../protocol.ts";
import { encodeFrame } from "../../protocol/native.ts";
import { FakeConnection } from "./_fake_connection.ts";
import { History } from "../../server/history.ts";
import { Session, type SessionOptions } from "../../server/session.ts";
import { DEFAULT_LIVENESS_LIMITS } from "../../server/liveness.ts";
import { DEFAULT_FLOOD_LIMITS } from "../../server/flood_gate.ts";

/** A chat with a bug: joining as "boom" throws an Error, as a bug would. */
class BuggyChat extends Chat {
  override join(member: Member, nick: string, room?: string): ServerMessage {
    if (nick === "boom") throw new Error("a bug in join");
    return super.join(member, nick, room);
  }
}

function options(log: string[]): SessionOptions {
  return {
    mode: "native",
    maxFrameBytes: 65536,
    maxLineBytes: 4096,
    sendQueueBytes: 1 << 20,
    closeFlushMs: 100,
    flood: { ...DEFAULT_FLOOD_LIMITS, ratePerSecond: 0 },
    liveness: DEFAULT_LIVENESS_LIMITS,
    clock: () => 0,
    log: (line) => log.push(line),
  };
}

test("Session answers an exception while serving a member with internal_error, closes only it", async () => {
  const chat = new BuggyChat(new History({ limit: 50, store: null }));
  const log: string[] = [];
  const bystanderConn = new FakeConnection([encodeFrame({ type: "hello", nick: "alice" })]);
  const bystander = new Session(bystanderConn, chat, options(log), "192.0.2.1:1");
  const bystanderDone = bystander.run();
  await new Promise((resolve) => setImmediate(resolve));

  const conn = new FakeConnection([encodeFrame({ type: "hello", nick: "boom" })]);
  await new Session(conn, chat, options(log), "192.0.2.1:2").run(); // resolves, never throws

  assert.deepEqual(conn.messages().map((m) => m.type === "error" && m.code), ["internal_error"]);
  assert.ok(conn.closed);
  assert.ok(log.some((line) => line.startsWith("error serving 192.0.2.1:2: Error: a bug in join")));
  assert.equal(bystanderConn.closed, false, "the other member is still served");
  assert.equal(chat.memberCount, 1);
  bystanderConn.close();
  await bystanderDone;
});

test("Session closes a member that reads too slowly with send_queue_full, and only it", async () => {
  const chat = new Chat(new History({ limit: 0, store: null }));
  const log: string[] = [];
  const conn = new FakeConnection([encodeFrame({ type: "hello", nick: "slow" })]);
  conn.holdWrites = true; // the member takes nothing
  const slow = new Session(conn, chat, { ...options(log), sendQueueBytes: 2048 }, "192.0.2.1:3");
  const done = slow.run();
  for (let turn = 0; turn < 10 && conn.heldWrites === 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(conn.heldWrites, 1, "the welcome is in flight");

  const talker = {
    nick: null as string | null,
    room: null as Room | null,
    rooms: new Set<Room>(),
    encoder: { encode: () => null },
    send() {},
  };
  chat.join(talker, "talker");
  for (let i = 0; i < 5; i++) chat.say(talker, "x".repeat(500), 0);
  assert.equal(chat.memberCount, 1, "the slow member is gone at once");
  while (conn.heldWrites > 0) {
    conn.finishWrite();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;

  const received = conn.messages();
  assert.deepEqual(received.map((m) => m.type), ["welcome", "error"], "what waited was dropped");
  assert.equal(received[1].type === "error" && received[1].code, "send_queue_full");
  assert.ok(conn.closed);
  assert.ok(log.includes("disconnect 192.0.2.1:3 slow (send queue full)"));
});

/** A FakeConnection that counts the reads the session asks for. */
class CountingConnection extends FakeConnection {
  reads = 0;
  override read(): Promise<Uint8Array | null> {
    this.reads++;
    return super.read();
  }
}

test("Session reads nothing more from a member over its rate until its input has had its turn", async () => {
  const chat = new Chat(new History({ limit: 50, store: null }));
  let now = 0;
  const flood = { ...DEFAULT_FLOOD_LIMITS, ratePerSecond: 10, burst: 3 };
  const said = (texts: string[]) =>
    Uint8Array.from(Buffer.concat(texts.map((text) => encodeFrame({ type: "msg", text }))));
  const hello = encodeFrame({ type: "hello", nick: "paster" });
  const conn = new CountingConnection([
    Uint8Array.from(Buffer.concat([hello, said(["1", "2", "3", "4"])])),
    said(["5"]),
  ]);
  const session = new Session(conn, chat, { ...options([]), flood, clock: () => now }, "x:1");
  const done = session.run();
  const heard = () => chat.replay("lobby").map((message) => message.text);
  const turns = async (count: number) => {
    for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await turns(5);
  // The hello and two messages spend the burst; two more wait, and nothing more is read.
  assert.deepEqual(heard(), ["1", "2"]);
  assert.equal(conn.reads, 1, "no read while input waits its turn");
  now = 200; // their turn: both go, and then the next read
  await turns(10);
  assert.deepEqual(heard(), ["1", "2", "3", "4"]);
  assert.equal(conn.reads, 2);
  now = 300;
  await turns(10);
  assert.deepEqual(heard(), ["1", "2", "3", "4", "5"]);
  conn.close();
  await done;
});
