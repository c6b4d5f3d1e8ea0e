import { test } from "node:test";
import assert from "node:assert/strict";
import { Social } from "../../server/social.ts";
import { Chat, type Encoder, type Member, type Room } from "../../server/chat.ts";
import { History } from "../../server/history.ts";
import { type ErrorCode, ProtocolError, type ServerMessage } from "../../protocol.ts";

function refused(action: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(action, (error) => {
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

test("Social: an away sender is told once per away period, and not at all once back", () => {
  const social = new Social(1000);
  assert.equal(social.spoke, 1000, "idle counts from the connection until it speaks");
  assert.equal(social.tellAway("alice"), false, "nobody is told while it is here");
  assert.equal(social.setAway("  at\u0007 lunch "), "you are away: at lunch");
  assert.equal(social.tellAway("alice"), true);
  assert.equal(social.tellAway("ALICE"), false, "senders are told apart as nicks are");
  assert.equal(social.tellAway("bob"), true);
  assert.equal(social.setAway("in a meeting"), "you are away: in a meeting");
  assert.equal(social.tellAway("alice"), true, "a new period tells everyone again");
  assert.equal(social.setAway(undefined), "you are back");
  assert.equal(social.away, null);
  assert.equal(social.tellAway("carol"), false);
  assert.equal(social.setAway("   "), "you are back");
  assert.equal(social.setAway("x".repeat(200)).length, "you are away: ".length + 200);
  refused(() => social.setAway("x".repeat(201)), "text_too_long");
});

test("Social: ignores are by nick key, bounded, never yourself, and listed as given", () => {
  const social = new Social(0);
  assert.equal(social.ignored, null, "nobody ignored costs nothing to check");
  social.ignore("Bob", "alice");
  social.ignore("bob", "alice"); // the same nick again
  social.ignore("ｃａｒｏｌ", "alice"); // fullwidth: carol
  assert.deepEqual(social.ignoredNicks, ["Bob", "ｃａｒｏｌ"]);
  assert.equal(social.ignores("BOB"), true);
  assert.equal(social.ignores("carol"), true);
  assert.equal(social.ignores("dave"), false);
  refused(() => social.ignore("Alice", "alice"), "bad_nick", /yourself/);
  refused(() => social.ignore("a b", "alice"), "bad_nick");
  social.unignore("BOB");
  social.unignore("carol");
  social.unignore("nobody");
  assert.equal(social.ignored, null);
  for (let i = 0; i < 100; i++) social.ignore(`n${i}`, "alice");
  refused(() => social.ignore("one-more", "alice"), "too_many_ignored");
  social.ignore("n5", "alice"); // already there: no new entry, no refusal
});

test("Social: an ignore moves to the nick its holder takes, in its place, never doubled", () => {
  const social = new Social(0);
  assert.equal(social.renamed("bob", "bob2"), false, "nobody ignored: nothing to move");
  for (const nick of ["carol", "Bob", "robert", "dave"]) social.ignore(nick, "alice");
  assert.equal(social.renamed("erin", "erin2"), false);
  assert.equal(social.renamed("BOB", "bob2"), true);
  assert.deepEqual(social.ignoredNicks, ["carol", "bob2", "robert", "dave"]);
  assert.equal(social.ignores("bob"), false, "the nick left behind is free of it");
  assert.equal(social.renamed("bob2", "Bob2"), true, "a change of case is kept as given");
  assert.deepEqual(social.ignoredNicks, ["carol", "Bob2", "robert", "dave"]);
  // Into a nick it ignored already: one entry, where the person's was.
  assert.equal(social.renamed("dave", "Robert"), true);
  assert.deepEqual(social.ignoredNicks, ["carol", "Bob2", "Robert"]);
});

const utf8 = new TextEncoder();
const decoder = new TextDecoder();
const json: Encoder = { encode: (message: ServerMessage) => utf8.encode(JSON.stringify(message)) };

class SocialMember implements Member {
  nick: string | null = null;
  room: Room | null = null;
  readonly rooms = new Set<Room>();
  readonly encoder = json;
  readonly social = new Social(0);
  readonly sent: Uint8Array[] = [];
  echo = false;
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }
  texts(): string[] {
    return this.sent.splice(0).map((bytes) => JSON.parse(decoder.decode(bytes)))
      .filter((message) => message.type === "msg").map((message) => message.text);
  }
}

test("Chat: a member who ignores a sender gets none of its room or private messages", () => {
  const chat = new Chat(new History({ limit: 50, store: null, epoch: "test" }));
  const [ann, bob, cid] = ["ann", "bob", "cid"].map((nick) => {
    const member = new SocialMember();
    chat.join(member, nick);
    return member;
  });
  ann.social.ignore("BOB", "ann");
  chat.say(bob, "in the room", 1);
  chat.whisper(bob, "ann", "privately", 2);
  chat.say(cid, "from cid", 3);
  assert.deepEqual(ann.texts(), ["from cid"]);
  assert.deepEqual(cid.texts(), ["in the room"]);
  // Its own echoed words are never hidden, even under a nick it ignores.
  ann.echo = true;
  chat.rename(ann, "bob2");
  ann.social.ignore("bob2", null);
  chat.say(ann, "mine", 4);
  assert.deepEqual(ann.texts(), ["mine"]);
  // /who lists who is away.
  bob.social.setAway("out");
  assert.deepEqual(chat.who(cid), {
    type: "who",
    room: "lobby",
    members: ["bob2", "bob", "cid"],
    away: ["bob"],
  });
});
