// Away messages, /whois and /ignore end to end, on both runtimes over real sockets: a private
// message to an away member is answered once per sender per away period; /whois tells nick,
// account, rooms, since, idle, transport, mode and away, never the address; /who marks who is
// away; an nc user's /ignore hides a nick's room and private messages for the connection; and a
// native hello's `ignore` list hides them from the history replayed on joining too. The classic
// tutorial client may type the four commands too, and hears the answers as notices from `*`.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chatsWith,
  LegacyMember,
  LineMember,
  RUNTIMES,
  startQuietServer,
  TestMember,
} from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  test(`${runtime}: /away answers a private message once per sender, and /whois shows it`, async () => {
    await using server = await startQuietServer(runtime);
    await using bob = await TestMember.join(server.port, "bob");
    await using alice = await TestMember.join(server.port, "alice");
    await bob.expect({ type: "join", nick: "alice" });

    bob.send({ type: "away", text: "at lunch\u0007 " });
    await bob.expect({ type: "notice", text: "you are away: at lunch" });
    alice.send({ type: "who" });
    const listed = await alice.expect({ type: "who", room: "lobby" });
    assert.deepEqual([listed.members, listed.away], [["bob", "alice"], ["bob"]]);

    alice.send({ type: "msg", to: "bob", text: "ping?" });
    await bob.expect({ type: "msg", from: "alice", to: "bob", text: "ping?" });
    await alice.expect({ type: "away", nick: "bob", text: "at lunch" });
    // The second message gets no answer: the pong comes next.
    alice.send({ type: "msg", to: "bob", text: "still there?" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    await bob.expect({ type: "msg", from: "alice", text: "still there?" });

    alice.send({ type: "whois", nick: "BOB" });
    const whois = await alice.expect({
      type: "whois",
      nick: "bob",
      transport: "tcp",
      mode: "native",
      away: "at lunch",
    });
    assert.equal(whois.account, undefined);
    assert.deepEqual(whois.rooms, ["lobby"]);
    assert.ok(Math.abs(Number(whois.since) - Date.now()) < 60_000, "since is wall-clock time");
    assert.equal(typeof whois.idle, "number");
    assert.ok(!JSON.stringify(whois).includes("127.0.0.1"), "never the address");

    // A new away period: each sender is told again. Back: nobody is.
    bob.send({ type: "away", text: "in a meeting" });
    await bob.expect({ type: "notice", text: "you are away: in a meeting" });
    alice.send({ type: "msg", to: "bob", text: "now?" });
    await alice.expect({ type: "away", nick: "bob", text: "in a meeting" });
    await bob.expect({ type: "msg", from: "alice", text: "now?" });
    bob.send({ type: "away" });
    await bob.expect({ type: "notice", text: "you are back" });
    alice.send({ type: "msg", to: "bob", text: "back?" });
    alice.send({ type: "who" });
    const who = await alice.expect({ type: "who" });
    assert.equal(who.away, undefined);

    alice.send({ type: "whois", nick: "nobody" });
    await alice.expect({
      type: "error",
      code: "no_such_nick",
      message: "Nobody here is called nobody",
    });
    alice.send({ type: "away", text: "x".repeat(201) });
    await alice.expect({ type: "error", code: "text_too_long" });
  });

  test(`${runtime}: at nc, /ignore hides a nick's messages; /whois and /away read as lines`, async () => {
    await using server = await startQuietServer(runtime);
    const { member, nick } = await LineMember.join(server.port);
    await using _member = member;
    await using carol = await TestMember.join(server.port, "carol");
    await using bob = await TestMember.join(server.port, "bob");

    member.say("/ignore");
    await member.lines.waitFor("*** ignoring: nobody", "the empty list");
    member.say("/ignore Bob");
    await member.lines.waitFor("*** ignoring: Bob", "the list");
    member.say(`/ignore ${nick}`);
    await member.lines.waitFor("*** You cannot ignore yourself", "the refusal");

    bob.send({ type: "msg", text: "you cannot see this" });
    bob.send({ type: "msg", to: nick, text: "nor this" });
    await chatsWith(carol, "carol", "but this you can", [bob]);
    await member.lines.waitFor("<carol> but this you can", "carol's line, and not bob's");

    member.say("/unignore bob");
    await member.lines.waitFor("*** ignoring: nobody", "the list, empty again");
    bob.send({ type: "msg", to: nick, text: "and now?" });
    await member.lines.waitFor("*bob* and now?", "bob's private message");

    member.say("/away back in 5");
    await member.lines.waitFor("*** you are away: back in 5", "the answer to /away");
    member.say("/whois bob");
    const line = await member.lines.waitFor(/^\*\*\* bob /, "the whois line");
    assert.match(
      line,
      /^\*\*\* bob \(not identified\), in lobby; here since \d\d:\d\d, idle \d+ s; over tcp, native mode$/,
    );
    member.say("/whois nobody");
    await member.lines.waitFor("*** Nobody here is called nobody", "the unknown nick");
    member.say("/who");
    await member.lines.waitFor(`*** in lobby: ${nick} (you), carol, bob`, "who");
    bob.send({ type: "msg", to: nick, text: "you there?" });
    await bob.expect({ type: "away", nick, text: "back in 5" });
  });

  test(`${runtime}: a native hello's ignore list hides the replay and what follows`, async () => {
    await using server = await startQuietServer(runtime);
    await using carol = await TestMember.join(server.port, "carol");
    await using bob = await TestMember.join(server.port, "bob");
    bob.send({ type: "msg", text: "before, from bob" });
    carol.send({ type: "msg", text: "before, from carol" });
    await bob.expect({ type: "msg", text: "before, from carol" });

    await using dave = await TestMember.connect(server.port);
    dave.send({ type: "hello", nick: "dave", ignore: ["Bob", "nobody"] });
    await dave.expect({ type: "welcome", nick: "dave" });
    await dave.expect({ type: "msg", from: "carol", history: true });
    bob.send({ type: "msg", text: "live, from bob" });
    carol.send({ type: "msg", text: "live, from carol" });
    await dave.expect({ type: "msg", from: "carol", text: "live, from carol" });
    dave.send({ type: "ignore" });
    assert.deepEqual((await dave.expect({ type: "ignoring" })).nicks, ["Bob", "nobody"]);

    await using eve = await TestMember.connect(server.port);
    eve.send({ type: "hello", nick: "eve", ignore: ["a b"] });
    const refused = await eve.expect({ type: "error", code: "bad_nick" });
    assert.match(String(refused.message), /^Cannot ignore a b: /);
    eve.send({ type: "hello", nick: "eve", ignore: "bob" });
    await eve.expect({ type: "error", code: "bad_message" });
    eve.send({
      type: "hello",
      nick: "eve",
      ignore: Array.from({ length: 101 }, (_, i) => `n${i}`),
    });
    await eve.expect({ type: "error", code: "too_many_ignored" });
  });

  test(`${runtime}: the classic client may /ignore, /whois and /away; other lines are chat`, async () => {
    await using server = await startQuietServer(runtime);
    await using carol = await TestMember.join(server.port, "carol");
    await using bob = await TestMember.join(server.port, "bob");
    await using jules = await LegacyMember.connect(server.port, "jules");
    await carol.expect({ type: "join", nick: "bob" });
    await carol.expect({ type: "join", nick: "jules" });
    await bob.expect({ type: "join", nick: "jules" });
    jules.send("/ignore bob");
    await jules.waitFor("*", "ignoring: bob");
    await chatsWith(bob, "bob", "bob: hidden", [carol]);
    await chatsWith(carol, "carol", "carol: shown", [bob]);
    assert.deepEqual(await jules.next(), ["carol", "carol: shown"]);
    jules.send("/whois carol");
    await jules.waitFor("*", /^carol \(not identified\), in lobby; .*; over tcp, native mode$/);
    jules.send("/away gone fishing");
    await jules.waitFor("*", "you are away: gone fishing");
    carol.send({ type: "msg", to: "jules", text: "where are you?" });
    await carol.expect({ type: "away", nick: "jules", text: "gone fishing" });
    jules.send("/nick julius");
    await carol.expect({ type: "msg", from: "jules", text: "/nick julius" });
  });
}
