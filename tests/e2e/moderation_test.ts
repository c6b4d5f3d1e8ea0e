// Operators and moderation end to end, on both runtimes over real sockets: a non-operator is
// refused, a kicked member is told why, bans by address prefix (IPv4 /8, IPv6 /64 and /128) keep
// members out of a room and the server, a muted member's messages are refused, bans, owners,
// operators and topics outlive a restart with --data, the message of the day and the topic are
// shown on joining, every action is one audit line on stderr, and the terminal client sends the
// commands and shows the answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { identified, skipTo, startModerated, temporaryDirectory } from "./_moderation.ts";
import {
  LegacyMember,
  LineMember,
  remainingLines,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  startQuietServer,
  Subprocess,
  TestMember,
} from "./_helpers.ts";

function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) =>
    addresses?.some((address) => address.family === "IPv6" && address.address === "::1")
  );
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `moderation [${runtime}] ${behaviour}`;

  test(
    name("a non-operator is refused; an operator kicks, and the member is told why"),
    async () => {
      using dir = temporaryDirectory();
      await using server = await startModerated(runtime, dir.path);
      await using root = await identified(server.port, "root");
      await using bob = await TestMember.join(server.port, "bob");
      await root.expect({ type: "join", nick: "bob" });
      const carol = await LineMember.join(server.port);
      await using _carol = carol.member;
      await root.expect({ type: "join", nick: carol.nick });
      await bob.expect({ type: "join", nick: carol.nick });

      bob.send({ type: "kick", nick: "root" });
      const refused = await bob.expect({ type: "error", code: "not_operator" });
      assert.equal(
        refused.message,
        "/kick is for operators of lobby: identify first (/identify PASSWORD)",
      );
      carol.member.say("/kline 127.0.0.0/8");
      assert.equal(
        await carol.member.lines.next("the refusal"),
        "*** /kline is for server operators: identify first (/identify PASSWORD)",
      );

      root.send({ type: "kick", nick: "bob", reason: "cool off" });
      await bob.expect({
        type: "error",
        code: "kicked",
        message: "You were kicked from lobby by root (cool off)",
      });
      await bob.untilClosed();
      assert.equal(
        await carol.member.lines.next("the room's notice"),
        "*** bob was kicked by root (cool off)",
      );
      await root.expect({ type: "notice", text: "bob was kicked by root (cool off)" });
      await root.expect({ type: "leave", nick: "bob" });

      // At nc the kicked member reads why, and then the end of the stream.
      assert.equal(await carol.member.lines.next("the leave"), "*** bob left");
      root.send({ type: "kick", nick: carol.nick, reason: "bye" });
      assert.equal(
        await carol.member.lines.next("the kick"),
        "*** You were kicked from lobby by root (bye)",
      );
      assert.deepEqual(await remainingLines(carol.member.lines), []);

      const audit = await server.stderr.waitFor("audit action=kick", "the audit line");
      assert.equal(
        audit,
        'audit action=kick room=lobby by=root account=root target=bob reason="cool off"',
      );
    },
  );

  test(name("a ban by IPv4 prefix keeps members out of the room, and runs out"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using root = await identified(server.port, "root", "den");
    await using bob = await TestMember.join(server.port, "bob", "den");
    await using carol = await TestMember.join(server.port, "carol");
    carol.send({ type: "join", room: "den" });
    await carol.expect({ type: "joined", room: "den" });

    root.send({ type: "ban", mask: "127.0.0.0/8", room: "den", duration: 1, reason: "spam" });
    // bob, in den only, is closed; carol leaves den and stays in lobby; root made the ban.
    const banned = await skipTo(bob, { type: "error", code: "banned" });
    assert.match(String(banned.message), /^You are banned from den until \S+ \S+ UTC \(spam\)$/);
    await bob.untilClosed();
    await skipTo(carol, { type: "notice", text: "root banned 127.0.0.0/8 for 1s (spam)" });
    await carol.expect({ type: "leave", nick: "bob", room: "den" });
    await carol.expect({ type: "error", code: "banned" });
    await carol.expect({ type: "leave", nick: "carol", room: "den" });
    carol.send({ type: "join", room: "den" });
    await carol.expect({ type: "error", code: "banned" });

    // Joining the server into den is refused with a close.
    await using dave = await TestMember.connect(server.port);
    dave.send({ type: "hello", nick: "dave", room: "den" });
    await dave.expect({ type: "error", code: "banned" });
    await dave.untilClosed();

    root.send({ type: "bans", room: "den" });
    await skipTo(root, { type: "notice", text: "bans in den:" });
    const listed = await root.expect({ type: "notice" });
    assert.match(String(listed.text), /^ {2}ban 127\.0\.0\.0\/8 by root until .* UTC: spam$/);
    const audit = await server.stderr.waitFor("audit action=ban", "the audit line");
    assert.match(
      audit,
      /^audit action=ban room=den by=root account=root target=127\.0\.0\.0\/8 until=\S+Z reason=spam$/,
    );

    // A second on, the ban no longer holds, without a restart: nothing to await but the clock.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    carol.send({ type: "join", room: "den" });
    await carol.expect({ type: "joined", room: "den" });
  });

  const noIpv6 = hasIpv6Loopback() ? "" : " (skipped: this machine has no IPv6 loopback)";
  test(
    name(`a server-wide ban by IPv6 prefix refuses the connection${noIpv6}`),
    { skip: noIpv6 !== "" },
    async () => {
      using dir = temporaryDirectory();
      await using server = await ServerProcess.start(runtime, [
        "--host",
        "::1",
        "--quiet",
        "--data",
        dir.path,
        "--operator",
        "root",
      ]);
      await using root = await identified(server.port, "root", "lobby", "::1");
      await using bob = await TestMember.connect(server.port, "::1");
      bob.send({ type: "hello", nick: "bob" });
      await bob.expect({ type: "welcome" });

      root.send({ type: "kline", mask: "::1/64", reason: "go away" });
      await skipTo(root, { type: "notice", text: "::1/64 is banned from this server (go away)" });
      await bob.expect({
        type: "error",
        code: "banned",
        message: "You are banned from this server permanently (go away)",
      });
      await bob.untilClosed();
      // A new connection is refused before it says anything, in its own mode.
      const line = await LineMember.connect(server.port, "::1");
      await using _line = line;
      assert.deepEqual(await remainingLines(line.lines), [
        "*** You are banned from this server permanently (go away)",
      ]);
      root.send({ type: "unkline", mask: "::1/64" });
      await skipTo(root, { type: "notice", text: "::1/64 may come back to this server" });
      await using welcome = await TestMember.connect(server.port, "::1");
      welcome.send({ type: "hello", nick: "eve" });
      await welcome.expect({ type: "welcome", nick: "eve" });
      root.send({ type: "kline", mask: "::1/128" });
      await skipTo(root, { type: "notice", text: "::1 is banned from this server" });
      await welcome.expect({ type: "error", code: "banned" });
      await using again = await TestMember.connect(server.port, "::1");
      again.send({ type: "hello", nick: "zed" });
      await again.expect({ type: "error", code: "banned" });
      await again.untilClosed();
    },
  );

  test(name("a muted member's messages are refused, and nobody hears them"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using root = await identified(server.port, "root");
    await using bob = await TestMember.join(server.port, "bob");
    await root.expect({ type: "join", nick: "bob" });
    root.send({ type: "mute", nick: "bob" });
    await root.expect({ type: "notice", text: "root muted nick:bob" });
    await bob.expect({ type: "notice", text: "root muted nick:bob" });
    bob.send({ type: "msg", text: "can you hear me" });
    await bob.expect({
      type: "error",
      code: "muted",
      message: "You are muted in lobby permanently: nobody hears you there",
    });
    bob.send({ type: "msg", text: "or me", to: "root" }); // private messages still go
    await root.expect({ type: "msg", from: "bob", to: "root", text: "or me" });
    root.send({ type: "unmute", nick: "bob" });
    await bob.expect({ type: "notice", text: "root lifted the mute of nick:bob" });
    bob.send({ type: "msg", text: "back" });
    await root.expect({ type: "notice", text: "root lifted the mute of nick:bob" });
    await root.expect({ type: "msg", from: "bob", text: "back" });
  });

  test(name("bans, owners, operators and topics outlive a restart with --data"), async () => {
    using dir = temporaryDirectory();
    {
      await using server = await startModerated(runtime, dir.path);
      await using alice = await identified(server.port, "alice");
      await using carol = await identified(server.port, "carol");
      await alice.expect({ type: "join", nick: "carol" });
      alice.send({ type: "claim" });
      await alice.expect({ type: "notice", text: "alice claimed lobby: alice owns it" });
      alice.send({ type: "op", nick: "carol" });
      await alice.expect({ type: "notice", text: "alice made carol an operator of lobby" });
      await skipTo(carol, { type: "notice", text: "alice made carol an operator of lobby" });
      carol.send({ type: "topic", text: "plans for the week" });
      await alice.expect({
        type: "notice",
        text: "carol set the topic of lobby: plans for the week",
      });
      carol.send({ type: "ban", mask: "mallory", reason: "trouble" });
      await alice.expect({ type: "notice", text: "carol banned nick:mallory (trouble)" });
      assert.equal(await server.stop(), 0);
    }
    await using server = await startModerated(runtime, dir.path);
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", password: "carol-password" });
    await carol.expect({ type: "welcome", nick: "carol" });
    await carol.expect({
      type: "notice",
      text: "topic of lobby: plans for the week (set by carol)",
    });
    carol.send({ type: "bans" });
    await carol.expect({ type: "notice", text: "bans in lobby:" });
    await carol.expect({
      type: "notice",
      text: "  ban nick:mallory by carol permanently: trouble",
    });
    await using mallory = await TestMember.connect(server.port);
    mallory.send({ type: "hello", nick: "Mallory" });
    await mallory.expect({
      type: "error",
      code: "banned",
      message: "You are banned from lobby permanently (trouble)",
    });
    await using bob = await TestMember.join(server.port, "bob");
    await bob.expect({ type: "notice", text: "topic of lobby: plans for the week (set by carol)" });
    bob.send({ type: "topic", text: "mine now" });
    await bob.expect({ type: "error", code: "not_operator" });
    bob.send({ type: "claim" });
    await bob.expect({ type: "error", code: "not_identified" });
  });

  test(name("--motd is shown after the welcome, and a bad file stops the start"), async () => {
    using dir = temporaryDirectory();
    const motd = path.join(dir.path, "motd.txt");
    writeFileSync(motd, "Welcome to Parley.\nBe kind.\n");
    await using server = await startQuietServer(runtime, ["--motd", motd]);
    const { member } = await LineMember.join(server.port);
    await using _member = member;
    assert.equal(await member.lines.next("the motd"), "*** Welcome to Parley.");
    assert.equal(await member.lines.next("the motd"), "*** Be kind.");
    await using native = await TestMember.connect(server.port);
    native.send({ type: "hello", nick: "zed" });
    await native.expect({ type: "welcome" });
    await native.expect({ type: "notice", text: "Welcome to Parley." });
    await native.expect({ type: "notice", text: "Be kind." });
    // The classic client hears it as notices from "*".
    await using legacy = await LegacyMember.connect(server.port, "tutor");
    await legacy.waitFor("*", "Welcome to Parley.");
    assert.deepEqual(await legacy.next(), ["*", "Be kind."]);
    // Without --data, nobody can identify: moderation commands say who they are for.
    native.send({ type: "ban", mask: "x" });
    await skipTo(native, { type: "error", code: "not_operator" });

    await using bad = new Subprocess(
      scriptCommand(runtime, "server.ts", [
        "--port",
        "0",
        "--http-port",
        "off",
        "--motd",
        path.join(dir.path, "none"),
      ]),
    );
    assert.equal(await bad.exitCode(), 1);
    assert.deepEqual(await remainingLines(bad.stderr), [
      `server: --motd ${path.join(dir.path, "none")}: no such file`,
    ]);
  });

  test(name("the terminal client sends the operator commands and shows the answers"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using root = await identified(server.port, "root");
    await using client = new Subprocess(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "bob"]),
    );
    await root.expect({ type: "join", nick: "bob" });
    await client.stdout.waitFor("* you are bob in lobby");
    client.write("/kick root\n");
    assert.equal(
      await client.stdout.next(),
      "* /kick is for operators of lobby: identify first (/identify PASSWORD)",
    );
    client.write("/ban\n");
    assert.equal(await client.stdout.next(), "* usage: /ban MASK [DURATION] [REASON]");
    root.send({ type: "topic", text: "tea at four" });
    assert.equal(await client.stdout.next(), "* root set the topic of lobby: tea at four");
    client.write("/topic\n");
    assert.equal(await client.stdout.next(), "* topic of lobby: tea at four (set by root)");
    root.send({ type: "kick", nick: "bob", reason: "test" });
    await client.stdout.waitFor("You were kicked from lobby by root (test)");
  });
}
