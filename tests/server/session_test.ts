// A Session driven directly through a fake connection: what no well-formed input can provoke, such
// as a bug that throws while one member is being served.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Chat, type Member } from "../../server/chat.ts";
import { encodeFrame, FrameDecoder, type ServerMessage } from "../../protocol.ts";
import type { Connection, WriteDone } from "../../runtime.ts";
import { History } from "../../server/history.ts";
import { Session, type SessionOptions } from "../../server/session.ts";
import { DEFAULT_LIVENESS_LIMITS } from "../../server/liveness.ts";
import { DEFAULT_FLOOD_LIMITS } from "../../server/flood_gate.ts";

/** A connection whose peer sends `input`, then waits until it is closed. */
class FakeConnection implements Connection {
  readonly remoteHost = "192.0.2.1";
  readonly remotePort = 4242;
  readonly written: Uint8Array[] = [];
  closed = false;
  #input: Uint8Array[];
  #ended: (() => void) | null = null;

  constructor(input: Uint8Array[]) {
    this.#input = input;
  }

  read(): Promise<Uint8Array | null> {
    const next = this.#input.shift();
    if (next) return Promise.resolve(next);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#ended = () => resolve(null));
  }

  write(bytes: Uint8Array, done: WriteDone): void {
    this.written.push(bytes.slice());
    queueMicrotask(done); // as a runtime that finishes the write later
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.#ended?.();
  }

  messages(): ServerMessage[] {
    const decoder = new FrameDecoder();
    return this.written.flatMap((bytes) => decoder.push(bytes))
      .map((frame) => (frame.ok ? frame.value : frame.error) as ServerMessage);
  }
}

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
