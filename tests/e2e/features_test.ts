// Rooms, private messages, nick changes, actions, message ids and history, end to end in every
// mode: native frames, line mode (nc, telnet) and the classic client's legacy frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  type Json,
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  RUNTIMES,
  ServerProcess,
  TestMember,
} from "./_helpers.ts";

/** A history line's time, as the server shows it: its local HH:MM (server and tests share TZ). */
function clock(ts: unknown): string {
  const time = new Date(ts as number);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

async function temporaryDirectory(): Promise<AsyncDisposable & { path: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "parley-features-"));
  return { path: dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Connects a line-mode member and reads what it gets on joining: the banner, the lines between it
 * and the "N here" notice (the room's history), and its guest nick.
 */
async function lineJoin(
  port: number,
): Promise<{ member: LineMember; nick: string; history: string[] }> {
  const member = await LineMember.connect(port);
  const banner = await member.lines.next("the line-mode banner");
  const nick = /^\* you are (\S+) in /.exec(banner ?? "")?.[1];
  if (nick === undefined) throw new Error(`expected the banner, got ${banner}`);
  const history: string[] = [];
  while (true) {
    const line = await member.lines.next("history or the banner's notice");
    if (line === null) throw new Error("closed before the banner's notice");
    if (/^\* \d+ here\. /.test(line)) return { member, nick, history };
    history.push(line);
  }
}

/** Skips `member`'s messages up to the first that has every field of `fields`, and returns it. */
async function skipTo(member: TestMember, fields: Json): Promise<Json> {
  const what = JSON.stringify(fields);
  while (true) {
    const message = await member.next(what);
    if (message === null) throw new Error(`connection closed waiting for ${what}`);
    if (Object.entries(fields).every(([key, value]) => message[key] === value)) return message;
  }
}

/** Sends a history request and returns the whole reply, history_end (or an error) included. */
async function askHistory(member: TestMember, room: string, after: number): Promise<Json[]> {
  member.send({ type: "history", room, after });
  const reply: Json[] = [];
  while (true) {
    const message = await member.next("the history reply");
    if (message === null) throw new Error("connection closed during a history reply");
    reply.push(message);
    if (message.type === "history_end" || message.type === "error") return reply;
  }
}

const asHistory = (messages: Json[]) => messages.map((message) => ({ ...message, history: true }));
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What a joiner or the watcher heard of the room's chat, in the order heard. */
type Said = { from: string; text: string; id?: number; history?: boolean };
/** Anything else a joiner heard: a join, a leave, a notice. */
type Other = { other: string };
type Heard = Said | Other;

const isSaid = (heard: Heard): heard is Said => "text" in heard;
const said = (heard: Heard[]) => heard.filter(isSaid);
const plain = (chat: Said[]) => chat.map(({ from, text }) => `${from}: ${text}`);

for (const runtime of RUNTIMES) {
  const name = (what: string) => `features [${runtime}] ${what}`;
  const start = (args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(
    name("switching back to a room replays nothing already seen; history names the room"),
    async () => {
      await using server = await start();
      await using alice = await TestMember.join(server.port, "alice");
      for (const text of ["one", "two", "three"]) alice.send({ type: "msg", text });
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });
      await using bob = await TestMember.join(server.port, "bob");
      for (const text of ["one", "two", "three"]) {
        await bob.expect({ type: "msg", text, history: true });
      }
      bob.send({ type: "join", room: "den" });
      await bob.expect({ type: "joined", room: "den" });
      bob.send({ type: "join", room: "LOBBY" });
      bob.send({ type: "ping" });
      await bob.expect({ type: "joined", room: "lobby" });
      await bob.expect({ type: "pong" });
      bob.send({ type: "join", room: "lobby", since: 2 });
      await bob.expect({ type: "joined", room: "lobby" });
      await bob.expect({ type: "msg", id: 3, text: "three", history: true });
      bob.send({ type: "history", room: "LOBBY", after: 2 });
      await bob.expect({ type: "msg", id: 3, history: true });
      await bob.expect({ type: "history_end", room: "lobby" });
    },
  );

  test(name("native join, part, rooms and who, with room names ignoring case"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob", room: "lobby" });

    alice.send({ type: "join", room: "Den" });
    assert.deepEqual(await alice.next(), { type: "joined", room: "Den", members: ["alice"] });
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", room: "DEN" });
    assert.deepEqual(await carol.next(), {
      type: "welcome",
      nick: "carol",
      room: "Den",
      members: ["alice", "carol"],
    });
    assert.deepEqual(await alice.next(), { type: "join", nick: "carol", room: "Den" });

    alice.send({ type: "rooms" });
    assert.deepEqual(await alice.next(), {
      type: "rooms",
      rooms: [{ name: "Den", members: 2 }, { name: "lobby", members: 2 }],
    });
    alice.send({ type: "who" });
    assert.deepEqual(await alice.next(), { type: "who", room: "Den", members: ["alice", "carol"] });
    alice.send({ type: "who", room: "LOBBY" });
    assert.deepEqual(await alice.next(), { type: "who", room: "lobby", members: ["alice", "bob"] });
    bob.send({ type: "who", room: "den" });
    assert.deepEqual(await bob.next(), { type: "who", room: "Den", members: ["alice", "carol"] });
    alice.send({ type: "who", room: "attic" });
    await alice.expect({ type: "error", code: "no_such_room" });

    // A message goes to the sender's current room, or to the room it names.
    alice.send({ type: "msg", text: "in the den" });
    alice.send({ type: "msg", room: "LOBBY", text: "in the lobby" });
    await carol.expect({ type: "msg", from: "alice", room: "Den", text: "in the den" });
    const inLobby = await bob.expect({ type: "msg", from: "alice", room: "lobby" });
    assert.equal(inLobby.text, "in the lobby", "bob is not in the den and hears nothing of it");

    // Joining a room one is in switches to it; `since` the last id seen, nothing is replayed.
    alice.send({ type: "join", room: "lobby", since: inLobby.id });
    assert.deepEqual(await alice.next(), {
      type: "joined",
      room: "lobby",
      members: ["alice", "bob"],
    });
    alice.send({ type: "msg", text: "back in the lobby" });
    alice.send({ type: "msg", room: "den", text: "den again" });
    await bob.expect({ type: "msg", room: "lobby", text: "back in the lobby" });
    await carol.expect({ type: "msg", room: "Den", text: "den again" });

    // Everyone in the room hears a part, the parter too; nobody elsewhere does.
    alice.send({ type: "part", room: "DEN" });
    assert.deepEqual(await alice.next(), { type: "leave", nick: "alice", room: "Den" });
    assert.deepEqual(await carol.next(), { type: "leave", nick: "alice", room: "Den" });

    alice.send({ type: "part", room: "den" });
    await alice.expect({ type: "error", code: "not_in_room" });
    alice.send({ type: "part", room: "lobby" });
    await alice.expect({ type: "error", code: "last_room" });
    alice.send({ type: "msg", room: "den", text: "from outside" });
    await alice.expect({ type: "error", code: "not_in_room" });
    alice.send({ type: "history", room: "den", after: 0 });
    await alice.expect({ type: "error", code: "not_in_room" });
    for (const room of ["", "two words", "tab\there", "bell\u0007", "x".repeat(33), "a/b"]) {
      alice.send({ type: "join", room });
      await alice.expect({ type: "error", code: "bad_room" });
    }
    const longest = "ü".repeat(32);
    alice.send({ type: "join", room: longest });
    assert.deepEqual(await alice.next(), { type: "joined", room: longest, members: ["alice"] });
    alice.send({ type: "part", room: longest });
    assert.deepEqual(await alice.next(), { type: "leave", nick: "alice", room: longest });

    alice.send({ type: "rooms" });
    assert.deepEqual(await alice.next(), {
      type: "rooms",
      rooms: [{ name: "Den", members: 1 }, { name: "lobby", members: 2 }],
    });
    alice.send({ type: "msg", text: "still in the lobby" });
    const next = await bob.next();
    assert.equal(next?.text, "still in the lobby", "bob heard nothing of the den's doings");
  });

  test(name("a native member may be in 20 rooms at once, and no more"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    for (let n = 2; n <= 20; n++) {
      alice.send({ type: "join", room: `room${n}` });
      await alice.expect({ type: "joined", room: `room${n}` });
    }
    alice.send({ type: "join", room: "room21" });
    await alice.expect({ type: "error", code: "too_many_rooms" });
    alice.send({ type: "join", room: "LOBBY" });
    await alice.expect({ type: "joined", room: "lobby" });
    alice.send({ type: "part", room: "room2" });
    await alice.expect({ type: "leave", nick: "alice", room: "room2" });
    alice.send({ type: "join", room: "room21" });
    await alice.expect({ type: "joined", room: "room21" });
  });

  test(name("line mode /join, /part, /rooms and /who, naming rooms but the lobby"), async () => {
    // No history here, so that switching rooms replays nothing; history has its own tests.
    await using server = await start(["--history", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await alice.expect({ type: "join", nick: guest, room: "lobby" });

    line.say("/join den");
    assert.equal(await line.lines.next(), `* you joined den; here: ${guest}`);
    alice.send({ type: "join", room: "DEN" });
    assert.deepEqual(await alice.next(), {
      type: "joined",
      room: "den",
      members: [guest, "alice"],
    });
    assert.equal(await line.lines.next(), "* alice joined den");
    alice.send({ type: "msg", text: "hi den" });
    assert.equal(await line.lines.next(), "[den] <alice> hi den");
    line.say("hello den");
    await alice.expect({ type: "msg", from: guest, room: "den", text: "hello den" });
    alice.send({ type: "msg", room: "lobby", text: "hi lobby" });
    assert.equal(await line.lines.next(), "<alice> hi lobby");

    line.say("/rooms");
    assert.equal(await line.lines.next(), "* rooms: den (2), lobby (2)");
    line.say("/who");
    assert.equal(await line.lines.next(), `* in den: ${guest}, alice`);
    line.say("/who LOBBY");
    assert.equal(await line.lines.next(), `* in lobby: alice, ${guest}`);
    line.say("/who attic");
    assert.equal(await line.lines.next(), "* There is no room called attic");

    // /join of a room one is in switches to it.
    line.say("/join Lobby");
    assert.equal(await line.lines.next(), `* you joined lobby; here: alice, ${guest}`);
    line.say("to the lobby");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "to the lobby" });
    line.say("/join den");
    assert.equal(await line.lines.next(), `* you joined den; here: ${guest}, alice`);

    await using bob = await TestMember.join(server.port, "bob", "den");
    assert.equal(await line.lines.next(), "* bob joined den");
    bob.close();
    assert.equal(await line.lines.next(), "* bob left den");

    line.say("/part");
    assert.equal(await line.lines.next(), `* ${guest} left den`);
    assert.equal(await line.lines.next(), "* you are now in lobby");
    await alice.expect({ type: "join", nick: "bob", room: "den" });
    await alice.expect({ type: "leave", nick: "bob", room: "den" });
    await alice.expect({ type: "leave", nick: guest, room: "den" });
    line.say("in the lobby now");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "in the lobby now" });

    line.say("/part");
    assert.equal(await line.lines.next(), "* lobby is your only room; /join another first");
    line.say("/part den");
    assert.equal(await line.lines.next(), "* You are not in den");
    line.say("/join two words");
    assert.equal(
      await line.lines.next(),
      "* Room name must not contain spaces, control characters or any of < > * /",
    );
    line.say("/join");
    assert.equal(await line.lines.next(), "* usage: /join ROOM");
    line.say(`/join ${"x".repeat(33)}`);
    assert.equal(await line.lines.next(), "* Room name is longer than 32 characters");
    line.say("/rooms");
    assert.equal(await line.lines.next(), "* rooms: den (1), lobby (2)");
  });

  test(name("a legacy member lives in the lobby only, and /join is just text to it"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });

    await using eve = await LegacyMember.connect(server.port, "eve");
    assert.deepEqual(await eve.next(), ["*", "you are eve in lobby; here: alice"]);
    await alice.expect({ type: "join", nick: "eve", room: "lobby" });

    alice.send({ type: "msg", text: "only in the den" });
    alice.send({ type: "msg", room: "lobby", text: "in the lobby" });
    assert.deepEqual(await eve.next(), ["alice", "in the lobby"]);

    // The classic client has no commands: what looks like one is said to the lobby.
    eve.send("/join den");
    await alice.expect({ type: "msg", from: "eve", room: "lobby", text: "/join den" });
    alice.send({ type: "who", room: "den" });
    assert.deepEqual(await alice.next(), { type: "who", room: "den", members: ["alice"] });
    alice.send({ type: "rooms" });
    assert.deepEqual(await alice.next(), {
      type: "rooms",
      rooms: [{ name: "den", members: 1 }, { name: "lobby", members: 2 }],
    });
  });

  test(name("private messages reach only their target, in every mode"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using carol = await TestMember.join(server.port, "carol");
    await alice.expect({ type: "join", nick: "carol" });
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", /^you are bob in lobby/);
    for (const member of [alice, carol]) {
      await member.expect({ type: "join", nick: guest });
      await member.expect({ type: "join", nick: "bob" });
    }
    assert.equal(await line.lines.next(), "* bob joined");

    // native to line, to legacy, and an action; the nick matches ignoring case.
    const before = Date.now();
    alice.send({ type: "msg", to: guest.toUpperCase(), text: "psst, line" });
    alice.send({ type: "msg", to: "BOB", text: "psst, legacy" });
    alice.send({ type: "msg", to: guest, text: "winks", action: true });
    alice.send({ type: "msg", text: "public from alice" });
    assert.equal(await line.lines.next(), "*alice* psst, line");
    assert.equal(await line.lines.next(), "*alice* * winks");
    assert.equal(await line.lines.next(), "<alice> public from alice");
    assert.deepEqual(await bob.next(), ["alice", "(private) psst, legacy"]);
    assert.deepEqual(await bob.next(), ["alice", "public from alice"]);

    // line to native and to legacy.
    line.say("/msg ALICE psst, native");
    line.say("/msg bob psst again");
    line.say("public from the line");
    const whisper = await alice.expect({ type: "msg", to: "alice" });
    assert.equal(typeof whisper.id, "number");
    assert.ok((whisper.ts as number) >= before && (whisper.ts as number) <= Date.now());
    assert.deepEqual(whisper, {
      type: "msg",
      id: whisper.id,
      from: guest,
      to: "alice",
      text: "psst, native",
      ts: whisper.ts,
    });
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "public from the line" });
    assert.deepEqual(await bob.next(), [guest, "(private) psst again"]);
    assert.deepEqual(await bob.next(), [guest, "public from the line"]);

    // Carol, whom nobody whispered to, heard only the public lines.
    const heardByCarol = [await carol.next(), await carol.next()];
    assert.deepEqual(heardByCarol.map((message) => [message?.from, message?.to, message?.text]), [
      ["alice", undefined, "public from alice"],
      [guest, undefined, "public from the line"],
    ]);

    // A private action reaches the classic client as a notice, like any action.
    alice.send({ type: "msg", to: "bob", text: "nods", action: true });
    assert.deepEqual(await bob.next(), ["*", "*alice* * nods"]);

    // The classic client has no /msg: what it types is said to the room.
    bob.send("/msg alice not so private");
    await alice.expect({
      type: "msg",
      from: "bob",
      room: "lobby",
      text: "/msg alice not so private",
    });
    await carol.expect({ type: "msg", from: "bob", text: "/msg alice not so private" });

    alice.send({ type: "msg", to: "zed", text: "anyone?" });
    await alice.expect({ type: "error", code: "no_such_nick" });
    line.say("/msg zed anyone?");
    assert.equal(await line.lines.next(), "<bob> /msg alice not so private");
    assert.equal(await line.lines.next(), "* Nobody here is called zed");
    line.say("/msg alice");
    assert.equal(await line.lines.next(), "* usage: /msg NICK TEXT");
  });

  test(
    name("a member who asks for echo hears its own messages where the room heard them"),
    async () => {
      await using server = await start();
      await using alice = await TestMember.connect(server.port);
      alice.send({ type: "hello", nick: "alice", echo: true });
      await alice.expect({ type: "welcome", nick: "alice" });
      await using bob = await TestMember.join(server.port, "bob");
      await alice.expect({ type: "join", nick: "bob" });
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await alice.expect({ type: "join", nick: guest });
      await bob.expect({ type: "join", nick: guest });

      // Each speaks once the one before has been heard, so the room's order is known.
      bob.send({ type: "msg", text: "b1" });
      const b1 = await alice.expect({ type: "msg", from: "bob", text: "b1" });
      alice.send({ type: "msg", text: "a1" });
      const a1 = await bob.expect({ type: "msg", from: "alice", text: "a1" });
      bob.send({ type: "msg", text: "b2" });
      // Alice gets her own message back between the others, the very message bob got.
      assert.deepEqual(await alice.next(), a1);
      assert.equal(a1.id, (b1.id as number) + 1);
      const b2 = await alice.expect({ type: "msg", from: "bob", text: "b2" });
      assert.equal(b2.id, (a1.id as number) + 1);
      // Bob did not ask: he hears only the others, as does the line member.
      alice.send({ type: "msg", text: "a2" });
      await bob.expect({ type: "msg", from: "alice", text: "a2" });
      await alice.expect({ type: "msg", from: "alice", text: "a2" });
      assert.equal(await line.lines.next(), "<bob> b1");
      assert.equal(await line.lines.next(), "<alice> a1");
      assert.equal(await line.lines.next(), "<bob> b2");
      assert.equal(await line.lines.next(), "<alice> a2");

      // A private message comes back too, once, and one the server refuses comes back as an error.
      alice.send({ type: "msg", to: "BOB", text: "psst" });
      const whisper = await bob.expect({ type: "msg", from: "alice", to: "bob", text: "psst" });
      assert.deepEqual(await alice.next(), whisper);
      alice.send({ type: "msg", to: "alice", text: "note to self" });
      await alice.expect({ type: "msg", from: "alice", to: "alice", text: "note to self" });
      alice.send({ type: "msg", text: "" });
      await alice.expect({ type: "error", code: "empty_text" });
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });

      // echo must be a boolean; false is the default.
      await using carol = await TestMember.connect(server.port);
      carol.send({ type: "hello", nick: "carol", echo: "yes" });
      await carol.expect({ type: "error", code: "bad_message" });
      carol.send({ type: "hello", nick: "carol", echo: false });
      await carol.expect({ type: "welcome", nick: "carol" });
      carol.send({ type: "msg", text: "c1" });
      await alice.expect({ type: "join", nick: "carol" });
      await alice.expect({ type: "msg", from: "carol", text: "c1" });
      carol.send({ type: "ping" });
      const heardByCarol = [];
      for (let m = await carol.next(); m?.type !== "pong"; m = await carol.next()) {
        heardByCarol.push(m);
      }
      assert.ok(heardByCarol.length > 0, "the room's history");
      assert.ok(heardByCarol.every((m) => m?.from !== "carol"), JSON.stringify(heardByCarol));
    },
  );

  test(
    name("a nick change is seen once by everyone sharing a room, and nowhere else"),
    async () => {
      await using server = await start();
      await using alice = await TestMember.join(server.port, "alice");
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await using eve = await LegacyMember.connect(server.port, "eve");
      await eve.waitFor("*", /^you are eve in lobby/);
      await using carol = await TestMember.join(server.port, "carol", "den");
      await using dave = await TestMember.join(server.port, "dave", "attic");
      alice.send({ type: "join", room: "den" });
      await alice.expect({ type: "join", nick: guest });
      await alice.expect({ type: "join", nick: "eve" });
      await alice.expect({ type: "joined", room: "den" });
      await carol.expect({ type: "join", nick: "alice", room: "den" });
      assert.equal(await line.lines.next(), "* eve joined");

      alice.send({ type: "nick", nick: "Al" });
      const renamed = { type: "nick", from: "alice", nick: "Al", room: "den" };
      assert.deepEqual(await alice.next(), renamed);
      assert.deepEqual(await carol.next(), renamed);
      assert.equal(await line.lines.next(), "* alice is now known as Al");
      assert.deepEqual(await eve.next(), ["*", "alice is now known as Al"]);
      // Dave shares no room with alice. The rename was delivered before his ping was read, so
      // had it been queued for him, it would come before the pong.
      dave.send({ type: "ping" });
      assert.deepEqual(await dave.next(), { type: "pong" });

      line.say("/nick bob");
      assert.equal(await line.lines.next(), `* ${guest} is now known as bob`);
      assert.deepEqual(await alice.next(), {
        type: "nick",
        from: guest,
        nick: "bob",
        room: "lobby",
      });
      assert.deepEqual(await eve.next(), ["*", `${guest} is now known as bob`]);
      carol.send({ type: "ping" });
      assert.deepEqual(await carol.next(), { type: "pong" });

      alice.send({ type: "msg", text: "as Al" });
      await carol.expect({ type: "msg", from: "Al", room: "den", text: "as Al" });
      line.say("as bob");
      await alice.expect({ type: "msg", from: "bob", room: "lobby", text: "as bob" });
      assert.deepEqual(await eve.next(), ["bob", "as bob"]);

      alice.send({ type: "nick", nick: "BOB" });
      await alice.expect({ type: "error", code: "nick_taken" });
      alice.send({ type: "nick", nick: "two words" });
      await alice.expect({ type: "error", code: "bad_nick" });
      line.say("/nick al");
      assert.equal(await line.lines.next(), "* The nick al is taken; choose another");
      alice.send({ type: "who", room: "lobby" });
      assert.deepEqual(await alice.next(), {
        type: "who",
        room: "lobby",
        members: ["Al", "bob", "eve"],
      });
    },
  );

  test(name("line mode leaves the lobby unnamed, however its opener spelt it"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice", "Lobby");
    const line = await LineMember.connect(server.port);
    await using _line = line;
    line.say("/who"); // typed at once, so line mode needs no wait for silence
    const banner = await line.lines.next();
    const guest = /^\* you are (\S+) in Lobby; here: alice$/.exec(banner ?? "")?.[1];
    assert.ok(guest, `${banner}`);
    await line.lines.waitFor(/^\* 2 here\. /);
    assert.equal(await line.lines.next(), `* in Lobby: alice, ${guest}`);
    alice.send({ type: "msg", text: "hi" });
    alice.send({ type: "msg", text: "waves", action: true });
    assert.equal(await line.lines.next(), "<alice> hi");
    assert.equal(await line.lines.next(), "* alice waves");
    await using bob = await TestMember.join(server.port, "bob", "lobby");
    assert.equal(await line.lines.next(), "* bob joined");
    bob.close();
    assert.equal(await line.lines.next(), "* bob left");
  });

  test(name("/me and native actions reach every mode as actions"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using eve = await LegacyMember.connect(server.port, "eve");
    await eve.waitFor("*", /^you are eve in lobby/);
    await alice.expect({ type: "join", nick: guest });
    await alice.expect({ type: "join", nick: "eve" });
    assert.equal(await line.lines.next(), "* eve joined");

    line.say("/me waves");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "waves", action: true });
    assert.deepEqual(await eve.next(), ["*", `${guest} waves`]);
    alice.send({ type: "msg", text: "bows", action: true });
    assert.equal(await line.lines.next(), "* alice bows");
    assert.deepEqual(await eve.next(), ["*", "alice bows"]);

    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    line.say("/join den");
    await line.lines.waitFor(`* you joined den; here: alice, ${guest}`);
    await alice.expect({ type: "join", nick: guest, room: "den" });
    alice.send({ type: "msg", text: "nods", action: true });
    assert.equal(await line.lines.next(), "[den] * alice nods");
    line.say("/me grins");
    await alice.expect({ type: "msg", from: guest, room: "den", text: "grins", action: true });
    // Eve, in the lobby only, heard nothing of the den.
    alice.send({ type: "msg", room: "lobby", text: "lobby again" });
    assert.deepEqual(await eve.next(), ["alice", "lobby again"]);
  });

  test(name("every message has an id rising by one per room, and a timestamp"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob" });
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    await alice.expect({ type: "join", nick: "bob", room: "den" });

    const before = Date.now();
    const rooms = ["lobby", "den", "lobby", "lobby", "den"];
    rooms.forEach((room, i) => alice.send({ type: "msg", room, text: `${i}` }));
    alice.send({ type: "msg", to: "bob", text: "private" });
    alice.send({ type: "msg", to: "bob", text: "private again" });
    const heard: Json[] = [];
    for (let i = 0; i < 7; i++) heard.push(await bob.expect({ type: "msg" }));
    const after = Date.now();
    assert.deepEqual(heard.map((m) => [m.room ?? `to ${m.to}`, m.id, m.text]), [
      ["lobby", 1, "0"],
      ["den", 1, "1"],
      ["lobby", 2, "2"],
      ["lobby", 3, "3"],
      ["den", 2, "4"],
      ["to bob", 1, "private"],
      ["to bob", 2, "private again"],
    ]);
    for (const { ts } of heard) assert.ok(before <= (ts as number) && (ts as number) <= after);

    // A room that empties is gone, but its ids go on when it opens again.
    alice.send({ type: "part", room: "den" });
    await alice.expect({ type: "leave", nick: "alice", room: "den" });
    bob.send({ type: "part", room: "den" });
    await bob.expect({ type: "leave", nick: "alice", room: "den" });
    await bob.expect({ type: "leave", nick: "bob", room: "den" });
    bob.send({ type: "rooms" });
    assert.deepEqual(await bob.next(), { type: "rooms", rooms: [{ name: "lobby", members: 2 }] });
    bob.send({ type: "join", room: "den", since: 2 });
    assert.deepEqual(await bob.next(), { type: "joined", room: "den", members: ["bob"] });
    alice.send({ type: "join", room: "den", since: 2 });
    assert.deepEqual(await alice.next(), {
      type: "joined",
      room: "den",
      members: ["bob", "alice"],
    });
    alice.send({ type: "msg", text: "reopened" });
    await bob.expect({ type: "join", nick: "alice", room: "den" });
    await bob.expect({ type: "msg", room: "den", id: 3, text: "reopened" });
  });

  test(
    name("a joiner hears the room's last messages as history, in every mode, then live"),
    async () => {
      await using server = await start(["--history", "3"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using carol = await TestMember.join(server.port, "carol");
      await alice.expect({ type: "join", nick: "carol" });
      for (let i = 1; i <= 5; i++) {
        alice.send(
          i === 4 ? { type: "msg", text: `m${i}`, action: true } : { type: "msg", text: `m${i}` },
        );
      }
      const said: Json[] = [];
      for (let i = 1; i <= 5; i++) said.push(await carol.expect({ type: "msg", text: `m${i}` }));
      // Neither a private message nor a join or a leave is history.
      alice.send({ type: "msg", to: "carol", text: "not history" });
      await carol.expect({ type: "msg", to: "carol" });
      {
        await using _dave = await TestMember.join(server.port, "dave");
      }
      await carol.expect({ type: "join", nick: "dave" });
      await carol.expect({ type: "leave", nick: "dave" });

      await using bob = await TestMember.join(server.port, "bob");
      for (const message of asHistory(said.slice(2))) assert.deepEqual(await bob.next(), message);

      await using eve = await LegacyMember.connect(server.port, "eve");
      assert.deepEqual(await eve.next(), ["*", "you are eve in lobby; here: alice, carol, bob"]);
      // The classic client gets history as it gets live chat, except that an action, a notice to it,
      // shows the time as line mode does.
      assert.deepEqual(await eve.next(), ["alice", "m3"]);
      assert.deepEqual(await eve.next(), ["*", `[${clock(said[3].ts)}] * alice m4`]);
      assert.deepEqual(await eve.next(), ["alice", "m5"]);

      const { member: line, nick: guest, history } = await lineJoin(server.port);
      await using _line = line;
      assert.deepEqual(history, [
        `[${clock(said[2].ts)}] <alice> m3`,
        `[${clock(said[3].ts)}] * alice m4`,
        `[${clock(said[4].ts)}] <alice> m5`,
      ]);

      alice.send({ type: "msg", text: "live" });
      await bob.expect({ type: "join", nick: "eve" });
      await bob.expect({ type: "join", nick: guest });
      const live = await bob.next();
      assert.deepEqual(live, {
        type: "msg",
        id: 6,
        from: "alice",
        room: "lobby",
        text: "live",
        ts: live?.ts,
      });
      assert.deepEqual(await eve.next(), ["*", `${guest} joined`]);
      assert.deepEqual(await eve.next(), ["alice", "live"]);
      assert.equal(await line.lines.next(), "<alice> live");

      // The same on joining a second room.
      alice.send({ type: "join", room: "den" });
      await skipTo(alice, { type: "joined", room: "den" });
      alice.send({ type: "msg", text: "d1" });
      alice.send({ type: "ping" });
      await skipTo(alice, { type: "pong" });
      bob.send({ type: "join", room: "den" });
      assert.deepEqual(await bob.next(), {
        type: "joined",
        room: "den",
        members: ["alice", "bob"],
      });
      const d1 = await bob.next();
      assert.deepEqual(d1, {
        type: "msg",
        id: 1,
        from: "alice",
        room: "den",
        text: "d1",
        ts: d1?.ts,
        history: true,
      });
      line.say("/join den");
      assert.equal(await line.lines.next(), `* you joined den; here: alice, bob, ${guest}`);
      assert.equal(await line.lines.next(), `[${clock(d1?.ts)}] [den] <alice> d1`);
      alice.send({ type: "msg", text: "live in the den" });
      assert.equal(await line.lines.next(), "[den] <alice> live in the den");
    },
  );

  test(name("a history request returns exactly the messages after an id"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice", "den");
    await using bob = await TestMember.join(server.port, "bob", "den");
    await alice.expect({ type: "join", nick: "bob" });
    for (let i = 1; i <= 10; i++) alice.send({ type: "msg", text: `d${i}` });
    const said: Json[] = [];
    for (let i = 1; i <= 10; i++) said.push(await bob.expect({ type: "msg", text: `d${i}` }));
    assert.deepEqual(said.map((message) => message.id), range(1, 10));

    const end = { type: "history_end", room: "den" };
    assert.deepEqual(await askHistory(bob, "den", 7), [...asHistory(said.slice(7)), end]);
    const all = await askHistory(bob, "DEN", 0);
    assert.deepEqual(all.slice(0, -1), asHistory(said));
    assert.equal(all.at(-1)?.type, "history_end");
    assert.deepEqual(await askHistory(bob, "den", 10), [end]);
    assert.deepEqual(await askHistory(bob, "den", 99), [end]);
    const [refused] = await askHistory(bob, "lobby", 0);
    assert.equal(refused.code, "not_in_room");

    // `since` on a hello or a join: a member that comes back hears exactly what it missed.
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", room: "den", since: 8 });
    await carol.expect({ type: "welcome", room: "den" });
    for (const message of asHistory(said.slice(8))) assert.deepEqual(await carol.next(), message);
    await using dave = await TestMember.join(server.port, "dave");
    dave.send({ type: "join", room: "den", since: 5 });
    await dave.expect({ type: "joined", room: "den" });
    for (const message of asHistory(said.slice(5))) assert.deepEqual(await dave.next(), message);
    alice.send({ type: "msg", text: "d11" });
    await carol.expect({ type: "join", nick: "dave", room: "den" });
    await carol.expect({ type: "msg", id: 11, text: "d11" });
    await dave.expect({ type: "msg", id: 11, text: "d11" });
  });

  test(name("--history 0 replays nothing, in any mode"), async () => {
    await using server = await start(["--history", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "msg", text: "unremembered" });
    alice.send({ type: "msg", text: "unremembered too" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });

    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob" });
    const { member: line, nick: guest, history } = await lineJoin(server.port);
    await using _line = line;
    assert.deepEqual(history, []);
    await using eve = await LegacyMember.connect(server.port, "eve");
    assert.deepEqual(await eve.next(), ["*", `you are eve in lobby; here: alice, bob, ${guest}`]);
    await alice.expect({ type: "join", nick: guest });
    await alice.expect({ type: "join", nick: "eve" });

    alice.send({ type: "msg", text: "live" });
    await bob.expect({ type: "join", nick: guest });
    await bob.expect({ type: "join", nick: "eve" });
    await bob.expect({ type: "msg", id: 3, text: "live" });
    assert.equal(await line.lines.next(), "* eve joined");
    assert.equal(await line.lines.next(), "<alice> live");
    assert.deepEqual(await eve.next(), ["alice", "live"]);
    assert.deepEqual(await askHistory(bob, "lobby", 0), [{ type: "history_end", room: "lobby" }]);

    // Nothing is kept, yet a room that empties and opens again numbers on.
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    bob.send({ type: "msg", text: "den 1" });
    bob.send({ type: "part", room: "den" });
    await bob.expect({ type: "leave", nick: "bob", room: "den" });
    bob.send({ type: "rooms" });
    assert.deepEqual(await bob.next(), { type: "rooms", rooms: [{ name: "lobby", members: 4 }] });
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    alice.send({ type: "msg", text: "den 2" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    alice.send({ type: "msg", text: "den 3" });
    await bob.expect({ type: "msg", id: 3, text: "den 3" });
  });

  test(name("--data keeps history through a restart, ids and all"), async () => {
    await using dir = await temporaryDirectory();
    // Memory keeps 3 per room; older ones must come from the database.
    const args = ["--data", dir.path, "--history", "3"];
    const lobby: Json[] = [];
    const den: Json[] = [];
    {
      await using server = await start(args);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await TestMember.join(server.port, "bob");
      await alice.expect({ type: "join", nick: "bob" });
      alice.send({ type: "join", room: "den" });
      await alice.expect({ type: "joined", room: "den" });
      bob.send({ type: "join", room: "den" });
      await bob.expect({ type: "joined", room: "den" });
      for (let i = 1; i <= 5; i++) alice.send({ type: "msg", room: "lobby", text: `before ${i}` });
      alice.send({ type: "msg", room: "lobby", text: "wävës 🎉", action: true });
      alice.send({ type: "msg", text: "in the den" });
      for (let i = 1; i <= 6; i++) lobby.push(await bob.expect({ type: "msg", room: "lobby" }));
      den.push(await bob.expect({ type: "msg", room: "den" }));
      assert.equal(await server.stop(), 0);
    }

    {
      await using server = await start(args);
      await using carol = await TestMember.join(server.port, "carol");
      for (const message of asHistory(lobby.slice(-3))) {
        assert.deepEqual(await carol.next(), message);
      }
      assert.deepEqual(await askHistory(carol, "lobby", 1), [
        ...asHistory(lobby.slice(1)),
        { type: "history_end", room: "lobby" },
      ]);
      carol.send({ type: "join", room: "den" });
      assert.deepEqual(await carol.next(), { type: "joined", room: "den", members: ["carol"] });
      assert.deepEqual(await carol.next(), asHistory(den)[0]);
      const { member: line, history } = await lineJoin(server.port);
      await using _line = line;
      assert.deepEqual(history, [
        `[${clock(lobby[3].ts)}] <alice> before 4`,
        `[${clock(lobby[4].ts)}] <alice> before 5`,
        `[${clock(lobby[5].ts)}] * alice wävës 🎉`,
      ]);

      // Ids go on from where they were, in each room.
      carol.send({ type: "msg", room: "den", text: "after in the den" });
      carol.send({ type: "msg", room: "lobby", text: "after in the lobby" });
      assert.equal(await line.lines.next(), "<carol> after in the lobby");
      await using dave = await TestMember.join(server.port, "dave", "den");
      assert.deepEqual(await dave.next(), asHistory(den)[0]);
      await dave.expect({ type: "msg", id: 2, from: "carol", text: "after in the den" });
      dave.send({ type: "join", room: "lobby", since: 6 });
      await dave.expect({ type: "joined", room: "lobby" });
      await dave.expect({ type: "msg", id: 7, text: "after in the lobby", history: true });
      assert.equal(await server.stop(), 0);
    }

    // Without --data, what the server remembers goes with it.
    {
      await using server = await start(["--history", "3"]);
      await using carol = await TestMember.join(server.port, "carol");
      await using dave = await TestMember.join(server.port, "dave");
      await carol.expect({ type: "join", nick: "dave" });
      dave.send({ type: "msg", text: "a fresh start" });
      await carol.expect({ type: "msg", id: 1, text: "a fresh start" });
    }
  });

  test(name("messages said while members join are neither lost nor doubled"), async () => {
    await using server = await start(["--rate", "0"]);
    const { port } = server;
    // The watcher, in the lobby before anyone speaks, hears every message; three senders stream
    // numbered messages into the lobby, each at most WINDOW ahead of what the watcher has heard,
    // so that nobody's send queue fills; members join meanwhile, in each mode and each way.
    await using watcher = await TestMember.join(port, "watcher");
    await using s0 = await TestMember.join(port, "s0");
    await using s1 = await TestMember.join(port, "s1");
    await using s2 = await TestMember.join(port, "s2");
    const senders = [s0, s1, s2];
    const WINDOW = 20;
    const HISTORY = 50; // the default
    const LIVE = 30; // live messages each joiner waits for before it goes

    const heard: Said[] = [];
    const sent = senders.map(() => 0);
    const heardFrom = senders.map(() => 0);
    let progress = Promise.withResolvers<void>();
    let streaming = true;
    let watchFailure: unknown = null;
    const watching = (async () => {
      let ended = 0;
      while (ended < senders.length) {
        const message = await watcher.next("the watcher's next message");
        if (message === null) throw new Error("the watcher was disconnected");
        if (message.type !== "msg") continue;
        const { id, from, text } = message as Said;
        heard.push({ id, from, text });
        const [, sender, count] = /^s(\d) (\d+|end)$/.exec(text)!;
        if (count === "end") ended++;
        else heardFrom[Number(sender)]++;
        progress.resolve();
        progress = Promise.withResolvers();
      }
    })().catch((error) => {
      watchFailure = error;
      streaming = false;
      progress.resolve();
    });
    const streams = senders.map(async (sender, s) => {
      while (streaming) {
        if (sent[s] - heardFrom[s] >= WINDOW) await progress.promise;
        else sender.send({ type: "msg", text: `s${s} ${sent[s]++}` });
      }
      sender.send({ type: "msg", text: `s${s} end` });
    });
    const heardAtLeast = async (count: number) => {
      while (heard.length < count) {
        if (watchFailure) throw watchFailure;
        await progress.promise;
      }
    };

    // Each joiner's view: chat as {from, text}, with id and history where its mode shows them,
    // and anything else it heard after it joined.
    const readNative = async (member: TestMember) => {
      const view: Heard[] = [];
      let live = 0;
      while (live < LIVE) {
        const message = await member.next("the joiner's next message");
        if (message === null) throw new Error("the joiner was disconnected");
        if (message.type !== "msg") view.push({ other: JSON.stringify(message) });
        else {
          const { id, from, text, history } = message as Said;
          view.push(history ? { id, from, text, history } : { id, from, text });
          if (!history) live++;
        }
      }
      return view;
    };
    const joiners: Record<string, (nick: string) => Promise<Heard[]>> = {
      "native hello": async (nick) => {
        await using member = await TestMember.join(port, nick);
        return await readNative(member);
      },
      "native join": async (nick) => {
        await using member = await TestMember.join(port, nick, "elsewhere");
        member.send({ type: "join", room: "lobby" });
        await member.expect({ type: "joined", room: "lobby" });
        return await readNative(member);
      },
      "line": async () => {
        const { member, history } = await lineJoin(port);
        await using _member = member;
        const view: Heard[] = history.map((line) => {
          const match = /^\[\d\d:\d\d\] <(\S+)> (.*)$/.exec(line);
          return match ? { from: match[1], text: match[2], history: true } : { other: line };
        });
        for (let live = 0; live < LIVE;) {
          const line = await member.lines.next("the joiner's next line");
          if (line === null) throw new Error("the joiner was disconnected");
          const match = /^<(\S+)> (.*)$/.exec(line);
          view.push(match ? { from: match[1], text: match[2] } : { other: line });
          if (match) live++;
        }
        return view;
      },
      // The classic client cannot tell history from live chat: it only has to hear no gap.
      "legacy": async (nick) => {
        await using member = await LegacyMember.connect(port, nick);
        const view: Heard[] = [];
        while (said(view).length < HISTORY + LIVE) {
          const pair = await member.next("the joiner's next pair");
          if (pair === null) throw new Error("the joiner was disconnected");
          view.push(pair[0] === "*" ? { other: pair[1] } : { from: pair[0], text: pair[1] });
        }
        return view;
      },
    };

    await heardAtLeast(HISTORY + 10);
    const views: Array<{ how: string; view: Heard[] }> = [];
    try {
      for (let round = 0; round < 2; round++) {
        for (const [how, join] of Object.entries(joiners)) {
          views.push({ how, view: await join(`${how.split(" ").at(-1)}${round}`) });
        }
      }
    } finally {
      streaming = false;
      await Promise.all(streams);
      await watching;
    }
    if (watchFailure) throw watchFailure;

    assert.deepEqual(heard.map((message) => message.id), range(1, heard.length));
    senders.forEach((_, s) => {
      const texts = heard.filter((message) => message.from === `s${s}`).map((m) => m.text);
      assert.deepEqual(texts, [...range(0, sent[s] - 1).map((n) => `s${s} ${n}`), `s${s} end`]);
    });
    for (const { how, view } of views) {
      const chat = said(view);
      const at = heard.findIndex((message) => message.text === chat[0].text);
      assert.ok(at >= 0, how);
      assert.deepEqual(plain(chat), plain(heard.slice(at, at + chat.length)), how);
      if (how === "legacy") continue;
      const history = view.slice(0, HISTORY);
      assert.ok(history.every((item) => isSaid(item) && item.history), how);
      assert.ok(view.slice(HISTORY).every((item) => !isSaid(item) || !item.history), how);
      if (how !== "line") {
        assert.deepEqual(chat.map((message) => message.id), range(at + 1, at + chat.length), how);
      }
    }
  });
}
