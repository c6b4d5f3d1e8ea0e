import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketListener, WebSocketMember } from "../../server/websocket_member.ts";
import type { SendStatus, WebSocketPeer } from "../../runtime.ts";
import { encodeFrame } from "../../protocol/native.ts";
import { frame } from "../_frames.ts";

class FakePeer implements WebSocketPeer {
  readonly remoteHost = "192.0.2.1";
  readonly remotePort = 4242;
  sent: string[] = [];
  status: SendStatus = "sent";
  canPause = true;
  paused = false;
  closedWith: [number, string] | null = null;
  terminated = false;
  send(text: string): SendStatus {
    if (this.status !== "closed") this.sent.push(text);
    return this.status;
  }
  batch(sends: () => void): void {
    sends();
  }
  pause(): boolean {
    this.paused = this.canPause;
    return this.canPause;
  }
  resume(): void {
    this.paused = false;
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
  terminate(): void {
    this.terminated = true;
  }
}

const bytes = (...messages: unknown[]) =>
  new Uint8Array(Buffer.concat(messages.map((message) => frame(message))));

test("WebSocketMember reads each text message as one native frame", async () => {
  const member = new WebSocketMember(new FakePeer());
  const reading = member.read();
  member.message('{"type":"hello","nick":"ä"}');
  member.message('{"type":"who"}');
  assert.deepEqual(await reading, bytes({ type: "hello", nick: "ä" }));
  assert.deepEqual(await member.read(), bytes({ type: "who" }));
});

test("WebSocketMember writes each native frame as one text message", () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  const frames = [{ type: "ping" }, { type: "msg", text: "héllo" }, { type: "pong" }];
  let done: unknown = "not yet";
  member.write(bytes(...frames), (error) => done = error);
  assert.equal(done, undefined);
  assert.deepEqual(peer.sent.map((text) => JSON.parse(text)), frames);
});

test("WebSocketMember writes each frame of each part as one text message, in order", () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  const run = encodeFrame({ type: "msg", id: 1, from: "a", room: "lobby", text: "x", ts: 2 });
  const next = encodeFrame({ type: "msg", id: 2, from: "b", room: "lobby", text: "y", ts: 3 });
  const joined = new Uint8Array(
    run.buffer,
    run.byteOffset,
    next.byteOffset + next.length - run.byteOffset,
  );
  let done: unknown = "not yet";
  member.writeParts([joined, bytes({ type: "pong" }), run], (error) => {
    done = error;
  });
  assert.equal(done, undefined);
  assert.deepEqual(peer.sent.map((text) => JSON.parse(text).id ?? JSON.parse(text).type), [
    1,
    2,
    "pong",
    1,
  ]);
});

test("WebSocketMember sends a broadcast frame's text to every member, decoded once or not", () => {
  const peers = [new FakePeer(), new FakePeer()];
  const members = peers.map((peer) => new WebSocketMember(peer));
  const shared = encodeFrame({ type: "msg", id: 1, from: "ä", room: "lobby", text: "é", ts: 2 });
  const other = encodeFrame({ type: "msg", id: 2, from: "b", room: "lobby", text: "x", ts: 3 });
  for (const member of members) member.write(shared, () => {});
  members[0].write(other, () => {});
  members[1].write(bytes({ type: "pong" }), () => {}); // not from a slab
  assert.deepEqual(peers[0].sent.map((text) => JSON.parse(text).id), [1, 2]);
  assert.deepEqual(JSON.parse(peers[1].sent[0]), {
    type: "msg",
    id: 1,
    from: "ä",
    room: "lobby",
    text: "é",
    ts: 2,
  });
  assert.deepEqual(JSON.parse(peers[1].sent[1]), { type: "pong" });
});

test("WebSocketMember finishes a write the runtime holds too much after only on drain", () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  peer.status = "wait";
  let done: unknown = "not yet";
  member.write(encodeFrame({ type: "ping" })!, (error) => done = error);
  assert.equal(done, "not yet");
  member.drain();
  assert.equal(done, undefined);
});

test("WebSocketMember fails a write to a closed socket, and one that waited when it closes", () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  peer.status = "closed";
  const failed: Array<Error | undefined> = [];
  member.write(encodeFrame({ type: "ping" })!, (error) => failed.push(error));
  assert.ok(failed[0] instanceof Error);
  const waiting = new FakePeer();
  const held = new WebSocketMember(waiting);
  waiting.status = "wait";
  const heldDone: Array<Error | undefined> = [];
  held.write(encodeFrame({ type: "ping" })!, (error) => heldDone.push(error));
  assert.equal(heldDone.length, 0);
  held.closed();
  assert.ok(heldDone[0] instanceof Error);
});

test("WebSocketMember answers a binary message with an error and a close, and reads no more", async () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  member.message(new Uint8Array([1, 2, 3]));
  member.message('{"type":"who"}');
  assert.equal(JSON.parse(peer.sent[0]).code, "binary_message");
  assert.deepEqual(peer.closedWith, [1003, "binary message"]);
  assert.equal(await member.read(), null);
  // What the session counts the close by, in /metrics, rather than as the peer's own.
  assert.deepEqual(member.refused, { code: "binary_message", reason: "binary message" });
});

test("WebSocketMember pauses a peer it has much unread from, and resumes it once read", async () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  const text = JSON.stringify({ type: "msg", text: "x".repeat(60_000) });
  for (let i = 0; i < 5; i++) member.message(text);
  assert.ok(peer.paused);
  for (let i = 0; i < 5; i++) await member.read();
  assert.ok(!peer.paused);
});

test("WebSocketMember closes a peer that cannot be paused once too much is unread", async () => {
  const peer = new FakePeer();
  peer.canPause = false;
  const member = new WebSocketMember(peer);
  const text = JSON.stringify({ type: "msg", text: "x".repeat(60_000) });
  for (let i = 0; i < 80 && peer.closedWith === null; i++) member.message(text);
  assert.deepEqual(peer.closedWith, [1008, "flood"]);
  assert.equal(JSON.parse(peer.sent[0]).code, "flood");
  assert.equal(await member.read(), null);
  assert.deepEqual(member.refused, { code: "flood", reason: "flood" });
});

test("WebSocketMember ends its reads when the socket closes; close terminates once", async () => {
  const peer = new FakePeer();
  const member = new WebSocketMember(peer);
  const reading = member.read();
  member.closed();
  assert.equal(await reading, null);
  member.close();
  assert.ok(!peer.terminated, "already closed: nothing to terminate");
  const open = new FakePeer();
  new WebSocketMember(open).close();
  assert.ok(open.terminated);
});

test("WebSocketListener yields each accepted WebSocket as a Connection, until closed", async () => {
  const listener = new WebSocketListener();
  const iterator = listener[Symbol.asyncIterator]();
  const next = iterator.next();
  const peer = new FakePeer();
  const events = listener.accept(peer);
  const { value } = await next;
  assert.equal(value.remoteHost, "192.0.2.1");
  assert.equal(value, events as unknown);
  assert.equal(listener.transport, "ws");
  const ending = iterator.next();
  listener.close();
  assert.equal((await ending).done, true);
  const late = new FakePeer();
  listener.accept(late);
  assert.ok(late.terminated, "a WebSocket after close is dropped");
});
