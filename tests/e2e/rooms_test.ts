// Rooms, private messages, nick changes and actions, end to end in every mode: native frames, line
// mode (nc, telnet) and the classic client's legacy frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  RUNTIMES,
  ServerProcess,
  TestMember,
  withoutEpoch,
} from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (what: string) => `rooms [${runtime}] ${what}`;
  const start = (args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(name("native join, part, rooms and who, with room names ignoring case"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob", room: "lobby" });

    alice.send({ type: "join", room: "Den" });
    assert.deepEqual(await alice.next(), { type: "joined", room: "Den", members: ["alice"] });
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", room: "DEN" });
    assert.deepEqual(withoutEpoch(await carol.next()), {
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
    assert.equal(await line.lines.next(), "*** you joined den; nobody else is here yet");
    alice.send({ type: "join", room: "DEN" });
    assert.deepEqual(await alice.next(), {
      type: "joined",
      room: "den",
      members: [guest, "alice"],
    });
    assert.equal(await line.lines.next(), "*** alice joined den");
    alice.send({ type: "msg", text: "hi den" });
    assert.equal(await line.lines.next(), "[den] <alice> hi den");
    line.say("hello den");
    await alice.expect({ type: "msg", from: guest, room: "den", text: "hello den" });
    alice.send({ type: "msg", room: "lobby", text: "hi lobby" });
    assert.equal(await line.lines.next(), "<alice> hi lobby");

    line.say("/rooms");
    assert.equal(await line.lines.next(), "*** rooms: den (2), lobby (2)");
    line.say("/who");
    assert.equal(await line.lines.next(), `*** in den: ${guest} (you), alice`);
    line.say("/who LOBBY");
    assert.equal(await line.lines.next(), `*** in lobby: alice, ${guest} (you)`);
    line.say("/who attic");
    assert.equal(await line.lines.next(), "*** There is no room called attic");

    // /join of a room one is in switches to it, and says only that.
    line.say("/join Lobby");
    assert.equal(await line.lines.next(), "*** you are now in lobby");
    line.say("to the lobby");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "to the lobby" });
    line.say("/join den");
    assert.equal(await line.lines.next(), "*** you are now in den");

    await using bob = await TestMember.join(server.port, "bob", "den");
    assert.equal(await line.lines.next(), "*** bob joined den");
    bob.close();
    assert.equal(await line.lines.next(), "*** bob left den");

    line.say("/part");
    assert.equal(await line.lines.next(), `*** ${guest} left den`);
    assert.equal(await line.lines.next(), "*** you are now in lobby");
    await alice.expect({ type: "join", nick: "bob", room: "den" });
    await alice.expect({ type: "leave", nick: "bob", room: "den" });
    await alice.expect({ type: "leave", nick: guest, room: "den" });
    line.say("in the lobby now");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "in the lobby now" });

    line.say("/part");
    assert.equal(await line.lines.next(), "*** lobby is your only room; /join another first");
    line.say("/part den");
    assert.equal(await line.lines.next(), "*** You are not in den");
    line.say("/join two words");
    assert.equal(
      await line.lines.next(),
      "*** Room name must not contain spaces, control or invisible characters, or any of < > * /",
    );
    line.say("/join");
    assert.equal(await line.lines.next(), "*** usage: /join ROOM");
    line.say(`/join ${"x".repeat(33)}`);
    assert.equal(await line.lines.next(), "*** Room name is longer than 32 characters");
    line.say("/rooms");
    assert.equal(await line.lines.next(), "*** rooms: den (1), lobby (2)");
  });

  test(name("a legacy member lives in the lobby only, and /join is just text to it"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });

    await using eve = await LegacyMember.connect(server.port, "eve");
    assert.deepEqual(await eve.next(), ["*", "you are eve in lobby; here: alice, eve (you)"]);
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
    assert.equal(await line.lines.next(), "*** bob joined");

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

    // A private action reaches the classic client from its member, like any action.
    alice.send({ type: "msg", to: "bob", text: "nods", action: true });
    assert.deepEqual(await bob.next(), ["alice", "(private) * nods"]);

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
    assert.equal(await line.lines.next(), "*** Nobody here is called zed");
    line.say("/msg alice");
    assert.equal(await line.lines.next(), "*** usage: /msg NICK TEXT");
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
      assert.equal(await line.lines.next(), "*** eve joined");

      alice.send({ type: "nick", nick: "Al" });
      const renamed = { type: "nick", from: "alice", nick: "Al", room: "den" };
      assert.deepEqual(await alice.next(), renamed);
      assert.deepEqual(await carol.next(), renamed);
      assert.equal(await line.lines.next(), "*** alice is now known as Al");
      assert.deepEqual(await eve.next(), ["*", "alice is now known as Al"]);
      // Dave shares no room with alice. The rename was delivered before his ping was read, so
      // had it been queued for him, it would come before the pong.
      dave.send({ type: "ping" });
      assert.deepEqual(await dave.next(), { type: "pong" });

      line.say("/nick bob");
      assert.equal(await line.lines.next(), `*** ${guest} is now known as bob`);
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
      assert.equal(await line.lines.next(), "*** The nick al is taken; choose another");
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
    const guest = /^\*\*\* you are (\S+) in Lobby; here: alice, \1 \(you\)$/.exec(banner ?? "")
      ?.[1];
    assert.ok(guest, `${banner}`);
    await line.lines.waitFor(/^\*\*\* 2 here\. /);
    assert.equal(await line.lines.next(), `*** in Lobby: alice, ${guest} (you)`);
    alice.send({ type: "msg", text: "hi" });
    alice.send({ type: "msg", text: "waves", action: true });
    assert.equal(await line.lines.next(), "<alice> hi");
    assert.equal(await line.lines.next(), "* alice waves");
    await using bob = await TestMember.join(server.port, "bob", "lobby");
    assert.equal(await line.lines.next(), "*** bob joined");
    bob.close();
    assert.equal(await line.lines.next(), "*** bob left");
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
    assert.equal(await line.lines.next(), "*** eve joined");

    line.say("/me waves");
    await alice.expect({ type: "msg", from: guest, room: "lobby", text: "waves", action: true });
    assert.deepEqual(await eve.next(), [guest, "* waves"]);
    alice.send({ type: "msg", text: "bows", action: true });
    assert.equal(await line.lines.next(), "* alice bows");
    assert.deepEqual(await eve.next(), ["alice", "* bows"]);

    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    line.say("/join den");
    await line.lines.waitFor(`*** you joined den; here: alice, ${guest} (you)`);
    await alice.expect({ type: "join", nick: guest, room: "den" });
    alice.send({ type: "msg", text: "nods", action: true });
    assert.equal(await line.lines.next(), "[den] * alice nods");
    line.say("/me grins");
    await alice.expect({ type: "msg", from: guest, room: "den", text: "grins", action: true });
    // Eve, in the lobby only, heard nothing of the den.
    alice.send({ type: "msg", room: "lobby", text: "lobby again" });
    assert.deepEqual(await eve.next(), ["alice", "lobby again"]);
  });

  // Look-alike nicks, and lines that could pass for the server's.

  test(name("a nick that looks like one in use is refused, in every mode"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using _jose = await TestMember.join(server.port, "jos\u00e9");
    await alice.expect({ type: "join", nick: "jos\u00e9" });
    await using mallory = await TestMember.connect(server.port);
    const lookalikes = [
      "\u0430lice", // Cyrillic а
      "al\u0131ce", // dotless ı
      "\uff41\uff4c\uff49\uff43\uff45", // fullwidth
      "jose\u0301", // e and a combining acute
    ];
    for (const nick of lookalikes) {
      mallory.send({ type: "hello", nick });
      await mallory.expect({ type: "error", code: "nick_taken" });
    }
    for (const nick of ["alice\u034f", "alice\ufe0f", "alice\u3164", "ali\ud800ce", "\u0301"]) {
      mallory.send({ type: "hello", nick });
      await mallory.expect({ type: "error", code: "bad_nick" });
    }
    mallory.send({ type: "hello", nick: "mallory" });
    await mallory.expect({ type: "welcome", nick: "mallory" });

    const { member: line } = await LineMember.join(server.port);
    await using _line = line;
    line.say("/nick \u0430lice");
    assert.equal(
      await line.lines.waitFor(/^\*\*\* The nick/),
      "*** The nick \u0430lice looks like alice, who is here; choose another",
    );
    await using eve = await LegacyMember.connect(server.port, "al\u0131ce");
    await eve.waitFor("*", /^you are al\u0131ce2 in lobby/);
    // Nobody but the legacy member's numbered nick came in.
    await alice.expect({ type: "join", nick: "mallory" });
    await alice.expect({ type: "join" });
    await alice.expect({ type: "join", nick: "al\u0131ce2" });
  });

  test(name("no action can pass for a notice in line or legacy mode"), async () => {
    await using server = await start();
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using eve = await LegacyMember.connect(server.port, "eve");
    await eve.waitFor("*", /^you are eve in lobby/);
    assert.equal(await line.lines.next(), "*** eve joined");
    await using bob = await TestMember.join(server.port, "bob");
    await using the = await TestMember.join(server.port, "The");
    assert.equal(await line.lines.next(), "*** bob joined");
    assert.equal(await line.lines.next(), "*** The joined");
    await eve.waitFor("*", "The joined");

    bob.send({ type: "msg", text: "left", action: true });
    assert.equal(await line.lines.next(), "* bob left");
    assert.deepEqual(await eve.next(), ["bob", "* left"]);
    the.send({ type: "msg", text: "server is shutting down", action: true });
    assert.equal(await line.lines.next(), "* The server is shutting down");
    assert.deepEqual(await eve.next(), ["The", "* server is shutting down"]);
    bob.close();
    assert.equal(await line.lines.next(), "*** bob left");
    assert.deepEqual(await eve.next(), ["*", "bob left"]);

    // Text that would reorder or break a terminal's line reaches line and legacy members without
    // it, and native members as it was sent.
    line.say(`/nick x${guest}`);
    await line.lines.waitFor(`*** ${guest} is now known as x${guest}`);
    const tricky = "fine\u2028*** bob left\u202e\u2066dlrow\u2069";
    the.send({ type: "msg", text: tricky });
    assert.equal(await line.lines.next(), "<The> fine *** bob leftdlrow");
    await eve.waitFor("The", "fine *** bob leftdlrow");
    line.say("/msg The over here");
    await the.expect({ type: "msg", from: "bob", text: "left", action: true });
    await the.expect({ type: "leave", nick: "bob" });
    await the.expect({ type: "nick", nick: `x${guest}` });
    await the.expect({ type: "msg", to: "The", text: "over here" });
    eve.send(tricky);
    await the.expect({ type: "msg", from: "eve", text: tricky });
  });
}
