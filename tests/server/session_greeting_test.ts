// The nickname-first tutorial client's greeting, `NAME connection...` with no newline, through a
// Session fed one read at a time: however its bytes and its first line fall into reads, it joins
// as NAME and its lines reach the room without `NAME : ` before them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Chat, type Room } from "../../server/chat.ts";
import type { ServerMessage } from "../../protocol.ts";
import { describe } from "../../protocol/text.ts";
import { FakeConnection } from "./_fake_connection.ts";
import { History } from "../../server/history.ts";
import { Session, type SessionOptions } from "../../server/session.ts";
import { DEFAULT_LIVENESS_LIMITS } from "../../server/liveness.ts";
import { DEFAULT_FLOOD_LIMITS } from "../../server/flood_gate.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

const OPTIONS: SessionOptions = {
  mode: "auto",
  maxFrameBytes: 65536,
  maxLineBytes: 4096,
  sendQueueBytes: 1 << 20,
  closeFlushMs: 100,
  flood: { ...DEFAULT_FLOOD_LIMITS, ratePerSecond: 0 },
  liveness: DEFAULT_LIVENESS_LIMITS,
  clock: () => 0,
  log: () => {},
};

/** A member already in the room, which hears everything as the lines a person would read. */
function listener(chat: Chat, nick: string) {
  const heard: string[] = [];
  const member = {
    nick: null as string | null,
    room: null as Room | null,
    rooms: new Set<Room>(),
    encoder: { encode: (message: ServerMessage) => bytes(describe(message) ?? "") },
    send: (line: Uint8Array) => heard.push(new TextDecoder().decode(line)),
  };
  chat.join(member, nick);
  return heard;
}

/** Serves `reads` as the connection's reads until `done` holds, then closes; what it was sent. */
async function serve(chat: Chat, reads: Uint8Array[], done: () => boolean): Promise<string> {
  const conn = new FakeConnection(reads);
  const session = new Session(conn, chat, OPTIONS, "192.0.2.1:5");
  const ran = session.run();
  for (let turn = 0; turn < 100 && !done(); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  conn.close();
  await ran;
  return new TextDecoder().decode(new Uint8Array(conn.written.flatMap((b) => [...b])));
}

test("Session joins a greeting client as its name, wherever its reads split", async () => {
  const stream = bytes("jules connection...jules : hello\njules : second\n");
  for (let split = 1; split < stream.length; split++) {
    const chat = new Chat(new History({ limit: 0, store: null }));
    const heard = listener(chat, "ned");
    const reads = [stream.subarray(0, split), stream.subarray(split)];
    const sent = await serve(chat, reads, () => heard.length >= 3);
    assert.deepEqual(
      heard.slice(0, 3),
      ["* jules joined", "<jules> hello", "<jules> second"],
      `split at ${split}`,
    );
    assert.match(
      sent,
      /^\*\*\* you are jules in lobby; here: ned, jules \(you\)\n/,
      `split at ${split}: ${sent}`,
    );
  }
});

test("Session joins a greeting client whose name is taken or not a nick as a guest, told why", async () => {
  for (
    const [name, why] of [
      ["ned", "*** not ned: The nick ned is taken; choose another"],
      [
        "jules verne",
        "*** not jules verne: Nick must not contain spaces, control or invisible characters, or any of < > * /",
      ],
    ]
  ) {
    const chat = new Chat(new History({ limit: 0, store: null }));
    const heard = listener(chat, "ned");
    const reads = [bytes(`${name} connection...`), bytes(`${name} : hello\n`)];
    const sent = await serve(chat, reads, () => heard.length >= 2);
    assert.deepEqual(heard.slice(0, 2), ["* guest1 joined", "<guest1> hello"], name);
    const [welcome, notice] = sent.split("\n");
    assert.match(welcome, /^\*\*\* you are guest1 in lobby/, name);
    assert.equal(notice, why);
  }
});
