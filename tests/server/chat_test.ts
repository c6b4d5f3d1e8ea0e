import { test } from "node:test";
import assert from "node:assert/strict";
import { Chat, type Encoder, type Member, type Room } from "../../server/chat.ts";
import { History } from "../../server/history.ts";
import { type ErrorCode, ProtocolError, type ServerMessage } from "../../protocol.ts";

/** The epoch of every test Chat's history. */
const EPOCH = "test";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Encodes messages as JSON and counts how often it was asked to. */
class CountingEncoder implements Encoder {
  calls = 0;
  encode(message: ServerMessage): Uint8Array {
    this.calls++;
    return utf8.encode(JSON.stringify(message));
  }
}

/** A member with no socket: it keeps every byte array it is handed. */
class FakeMember implements Member {
  nick: string | null = null;
  room: Room | null = null;
  readonly rooms = new Set<Room>();
  readonly sent: Uint8Array[] = [];
  constructor(readonly encoder: Encoder = new CountingEncoder()) {}

  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }

  /** What the member was sent, decoded; and forgotten, so the next call shows only what is new. */
  take(): ServerMessage[] {
    return this.sent.splice(0).map((bytes) => JSON.parse(utf8Decoder.decode(bytes)));
  }
}

function newChat(): Chat {
  return new Chat(new History({ limit: 50, store: null, epoch: EPOCH }));
}

function joined(chat: Chat, nick: string, room?: string): FakeMember {
  const member = new FakeMember();
  chat.join(member, nick, room);
  return member;
}

function assertRefused(action: () => unknown, code: ErrorCode): void {
  assert.throws(
    action,
    (error) => error instanceof ProtocolError && error.code === code && !error.fatal,
    `expected ProtocolError ${code}`,
  );
}

test("Chat.join welcomes a member with the room's members", () => {
  const chat = newChat();
  const alice = new FakeMember();
  assert.deepEqual(chat.join(alice, "alice"), {
    type: "welcome",
    nick: "alice",
    room: "lobby",
    members: ["alice"],
    epoch: EPOCH,
  });
  assert.equal(alice.nick, "alice");
  assert.equal(alice.room?.name, "lobby");
  assert.deepEqual(chat.join(new FakeMember(), "bob"), {
    type: "welcome",
    nick: "bob",
    room: "lobby",
    members: ["alice", "bob"],
    epoch: EPOCH,
  });
  assert.deepEqual(chat.join(new FakeMember(), "carol", "den"), {
    type: "welcome",
    nick: "carol",
    room: "den",
    members: ["carol"],
    epoch: EPOCH,
  });
  assert.equal(chat.memberCount, 3);
});

test("Chat.join tells the others in the room, but not the joiner or other rooms", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  const carol = joined(chat, "carol", "den");
  const bob = joined(chat, "bob");
  assert.deepEqual(alice.take(), [{ type: "join", nick: "bob", room: "lobby" }]);
  assert.deepEqual(bob.take(), [], "the welcome is returned to the joiner, not broadcast");
  assert.deepEqual(carol.take(), []);
});

test("Chat.join refuses a nick in use, ignoring case, and the member may try another", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  for (const nick of ["alice", "Alice", "ALICE"]) {
    const member = new FakeMember();
    assertRefused(() => chat.join(member, nick), "nick_taken");
    assertRefused(() => chat.join(member, nick, "elsewhere"), "nick_taken");
    assert.equal(member.nick, null);
    assert.equal(member.room, null);
  }
  assert.deepEqual(alice.take(), [], "a refused join tells nobody");
  const retry = new FakeMember();
  assertRefused(() => chat.join(retry, "Alice"), "nick_taken");
  assert.equal(chat.join(retry, "alice2").type, "welcome");
  assert.deepEqual(alice.take(), [{ type: "join", nick: "alice2", room: "lobby" }]);
  assert.equal(chat.memberCount, 2);
});

test("Chat.join refuses a bad nick, a bad room and a second hello", () => {
  const chat = newChat();
  assertRefused(() => chat.join(new FakeMember(), ""), "bad_nick");
  assertRefused(() => chat.join(new FakeMember(), "a b"), "bad_nick");
  assertRefused(() => chat.join(new FakeMember(), "x".repeat(33)), "bad_nick");
  assertRefused(() => chat.join(new FakeMember(), "alice", ""), "bad_room");
  assertRefused(() => chat.join(new FakeMember(), "alice", "a\u0007"), "bad_room");
  const alice = joined(chat, "alice");
  assertRefused(() => chat.join(alice, "alice2"), "already_joined");
  assert.equal(alice.nick, "alice");
  assert.equal(chat.memberCount, 1);
});

test("Chat.join puts rooms that differ only in case together", () => {
  const chat = newChat();
  const alice = joined(chat, "alice", "Den");
  const welcome = chat.join(new FakeMember(), "bob", "den");
  assert.deepEqual(welcome, {
    type: "welcome",
    nick: "bob",
    room: "Den",
    members: ["alice", "bob"],
    epoch: EPOCH,
  });
  assert.deepEqual(alice.take(), [{ type: "join", nick: "bob", room: "Den" }]);
});

test("Chat.leave tells the others and frees the nick", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  const bob = joined(chat, "bob");
  const carol = joined(chat, "carol");
  alice.take();
  bob.take();
  chat.leave(bob);
  assert.equal(bob.nick, null);
  assert.equal(bob.room, null);
  assert.deepEqual(alice.take(), [{ type: "leave", nick: "bob", room: "lobby" }]);
  assert.deepEqual(carol.take(), [{ type: "leave", nick: "bob", room: "lobby" }]);
  assert.deepEqual(bob.take(), []);
  assert.equal(chat.memberCount, 2);
  chat.leave(bob); // twice is harmless
  assert.deepEqual(alice.take(), []);
  assert.deepEqual(chat.join(new FakeMember(), "BOB").type, "welcome", "the nick is free again");
});

test("Chat.leave of a member that never joined does nothing", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  chat.leave(new FakeMember());
  assert.deepEqual(alice.take(), []);
  assert.equal(chat.memberCount, 1);
});

test("Chat forgets an empty room, so the next to open it names it", () => {
  const chat = newChat();
  const alice = joined(chat, "alice", "Den");
  chat.leave(alice);
  assert.equal(chat.join(new FakeMember(), "bob", "den").type, "welcome");
  assert.deepEqual(chat.join(new FakeMember(), "carol", "DEN"), {
    type: "welcome",
    nick: "carol",
    room: "den",
    members: ["bob", "carol"],
    epoch: EPOCH,
  });
});

test("Chat.say reaches every other member in order, with ids that count up, not the sender", () => {
  const chat = newChat();
  const nicks = ["alice", "bob", "carol"];
  const members = nicks.map((nick) => joined(chat, nick));
  const elsewhere = joined(chat, "dave", "den");
  members.forEach((member) => member.take());
  for (let i = 0; i < 5; i++) {
    members.forEach((member, m) => chat.say(member, `${nicks[m]} ${i}`, 1000 + i));
  }
  for (const [m, member] of members.entries()) {
    const expected: ServerMessage[] = [];
    for (let i = 0; i < 5; i++) {
      for (const [o, from] of nicks.entries()) {
        if (o !== m) {
          const id = i * nicks.length + o + 1;
          expected.push({
            type: "msg",
            id,
            from,
            room: "lobby",
            text: `${from} ${i}`,
            ts: 1000 + i,
          });
        }
      }
    }
    assert.deepEqual(member.take(), expected, nicks[m]);
  }
  assert.deepEqual(elsewhere.take(), [], "other rooms hear nothing");
});

test("Room.broadcast encodes once per encoder and hands every member the same bytes", () => {
  const chat = newChat();
  const native = new CountingEncoder();
  const text = new CountingEncoder();
  const silent = { calls: 0, encode: () => (silent.calls++, null) };
  const sender = new FakeMember(native);
  const nativeMembers = [new FakeMember(native), new FakeMember(native), new FakeMember(native)];
  const textMembers = [new FakeMember(text), new FakeMember(text)];
  const silentMember = new FakeMember(silent);
  chat.join(sender, "sender");
  [...nativeMembers, ...textMembers].forEach((member, i) => chat.join(member, `m${i}`));
  chat.join(silentMember, "silent");
  for (const member of [sender, ...nativeMembers, ...textMembers]) member.sent.length = 0;
  native.calls = text.calls = silent.calls = 0;

  chat.say(sender, "hello all", 1);
  assert.equal(native.calls, 1);
  assert.equal(text.calls, 1);
  assert.equal(silent.calls, 1);
  assert.equal(sender.sent.length, 0);
  for (const group of [nativeMembers, textMembers]) {
    for (const member of group) {
      assert.equal(member.sent.length, 1);
      assert.equal(member.sent[0], group[0].sent[0], "the same bytes, not a copy");
    }
  }
  assert.notEqual(nativeMembers[0].sent[0], textMembers[0].sent[0]);
  assert.equal(silentMember.sent.length, 0, "an encoder may have no form for a message");
});

test("Chat.say strips control characters and turns tabs into spaces", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  const bob = joined(chat, "bob");
  alice.take();
  chat.say(bob, "a\u0007b\u001b[2Jc\td\u009be\r\nf\u0000\u007f 🎉 é", 5);
  assert.deepEqual(alice.take(), [
    { type: "msg", id: 1, from: "bob", room: "lobby", text: "ab[2Jc def 🎉 é", ts: 5 },
  ]);
});

test("Chat.say refuses text that is empty once control characters are stripped", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  const bob = joined(chat, "bob");
  alice.take();
  assertRefused(() => chat.say(bob, "", 1), "empty_text");
  assertRefused(() => chat.say(bob, "\u0007\u001b\r\n", 1), "empty_text");
  assertRefused(() => chat.say(bob, "x".repeat(4097), 1), "text_too_long");
  assert.deepEqual(alice.take(), []);
  chat.say(bob, "x".repeat(4096) + "\u0007", 1);
  const [said] = alice.take() as Array<{ id: number }>;
  assert.ok(said, "the limit applies to the text that is sent");
  assert.equal(said.id, 1, "a refused text takes no id");
});

test("Chat.say before join is refused with not_joined", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  const stranger = new FakeMember();
  assertRefused(() => chat.say(stranger, "hello?", 1), "not_joined");
  assert.deepEqual(alice.take(), []);
  chat.leave(alice);
  assertRefused(() => chat.say(alice, "still here?", 1), "not_joined");
});

test("A large room stops announcing joins and leaves, and lists only some members with a count", () => {
  const chat = new Chat(new History({ limit: 50, store: null, epoch: EPOCH }), 3); // large from 3 members on
  const alice = joined(chat, "alice");
  const bob = joined(chat, "bob");
  assert.deepEqual(alice.take(), [{ type: "join", nick: "bob", room: "lobby" }]);
  // The third joins a room of two: still announced. The fourth joins a large room: not.
  const carol = new FakeMember();
  assert.deepEqual(chat.join(carol, "carol"), {
    type: "welcome",
    nick: "carol",
    room: "lobby",
    members: ["alice", "bob", "carol"],
    epoch: EPOCH,
  });
  assert.deepEqual(alice.take(), [{ type: "join", nick: "carol", room: "lobby" }]);
  assert.deepEqual(bob.take(), [{ type: "join", nick: "carol", room: "lobby" }]);
  const dave = new FakeMember();
  assert.deepEqual(chat.join(dave, "dave"), {
    type: "welcome",
    nick: "dave",
    room: "lobby",
    members: ["alice", "bob", "carol"],
    count: 4,
    epoch: EPOCH,
  });
  assert.deepEqual([...alice.take(), ...bob.take(), ...carol.take()], []);
  assert.deepEqual(chat.who(alice), {
    type: "who",
    room: "lobby",
    members: ["alice", "bob", "carol"],
    count: 4,
  });
  // Leaving a large room is as quiet, but for the answer to the one who parts; once the room is
  // small again, joins and leaves are told again.
  chat.enter(dave, "den");
  chat.part(dave, "lobby");
  assert.deepEqual(dave.take().filter((message) => message.type === "leave"), [
    { type: "leave", nick: "dave", room: "lobby" },
  ]);
  assert.deepEqual([...alice.take(), ...bob.take(), ...carol.take()], []);
  chat.enter(dave, "lobby");
  chat.leave(dave);
  assert.deepEqual([...alice.take(), ...bob.take(), ...carol.take()], []);
  chat.leave(carol);
  assert.deepEqual(alice.take(), [{ type: "leave", nick: "carol", room: "lobby" }]);
  assert.deepEqual(chat.who(bob), { type: "who", room: "lobby", members: ["alice", "bob"] });
  // Chat goes on as ever in a large room.
  const erin = joined(chat, "erin");
  const frank = joined(chat, "frank");
  alice.take();
  bob.take();
  erin.take();
  chat.say(frank, "hi all", 1);
  for (const member of [alice, bob, erin]) {
    assert.deepEqual(member.take().map((message) => message.type === "msg" && message.text), [
      "hi all",
    ]);
  }
});

test("Chat.join and Chat.rename refuse a nick that looks like one in use", () => {
  const chat = newChat();
  const alice = joined(chat, "alice");
  joined(chat, "josé");
  const lookalikes = [
    "\u0430lice", // Cyrillic а
    "al\u0131ce", // dotless ı
    "\uff41\uff4c\uff49\uff43\uff45", // fullwidth
    "AIice", // capital I for l
    "\u0391LICE", // Greek capital alpha, and ALICE is alice
    "jose\u0301", // e and a combining acute: josé spelt another way
    "JOSÉ",
  ];
  for (const nick of lookalikes) {
    const member = new FakeMember();
    assert.throws(
      () => chat.join(member, nick),
      (error) => error instanceof ProtocolError && error.code === "nick_taken",
      `${JSON.stringify(nick)} should be taken`,
    );
    assert.equal(member.nick, null);
  }
  assert.throws(() => chat.join(new FakeMember(), "\u0430lice"), /looks like alice/);
  assert.throws(() => chat.join(new FakeMember(), "alice"), /The nick alice is taken/);

  const bob = joined(chat, "bob");
  assertRefused(() => chat.rename(bob, "\u0430lice"), "nick_taken");
  assert.equal(bob.nick, "bob");
  chat.rename(bob, "b0b"); // a look-alike of its own nick is the member's to take
  assert.equal(bob.nick, "b0b");
  assertRefused(() => chat.join(new FakeMember(), "bob"), "nick_taken");
  assert.equal(chat.isNickFree("BOB"), false);

  chat.leave(alice);
  assert.equal(chat.join(new FakeMember(), "\u0430lice").type, "welcome", "freed with alice");
  assert.equal(chat.memberCount, 3);
});
