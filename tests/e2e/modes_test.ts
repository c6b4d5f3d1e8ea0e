// Every classic client can join: native frames, line mode (nc, telnet) and the 10-byte-header
// legacy protocol share one port and one room, each member in its own encoding.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  ROOT,
  RUNTIMES,
  ServerProcess,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { SILENT_LINE_CLIENT_MS } from "../../protocol/mode.ts";
import { readFileSync } from "node:fs";
import path from "node:path";

for (const runtime of RUNTIMES) {
  const name = (what: string) => `modes [${runtime}] ${what}`;
  const start = (args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(name("a native, a line and a legacy member chat, each in its own encoding"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    assert.match(guest, /^guest\d+$/);
    await alice.expect({ type: "join", nick: guest });
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", `you are bob in lobby; here: alice, ${guest}, bob (you)`);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await line.lines.next(), "*** bob joined");

    alice.send({ type: "msg", text: "hello from native, ünïcode ✓" });
    assert.equal(await line.lines.next(), "<alice> hello from native, ünïcode ✓");
    assert.deepEqual(await bob.next(), ["alice", "hello from native, ünïcode ✓"]);

    line.say("hello from line, ünïcode ✓");
    await alice.expect({ type: "msg", from: guest, text: "hello from line, ünïcode ✓" });
    assert.deepEqual(await bob.next(), [guest, "hello from line, ünïcode ✓"]);

    bob.send("hello from legacy, ünïcode ✓");
    await alice.expect({ type: "msg", from: "bob", text: "hello from legacy, ünïcode ✓" });
    assert.equal(await line.lines.next(), "<bob> hello from legacy, ünïcode ✓");

    line.say("/who");
    assert.equal(await line.lines.next(), `*** in lobby: alice, ${guest} (you), bob`);
    alice.send({ type: "who" });
    await alice.expect({ type: "who", room: "lobby" });
  });

  test(name("every mode hears the room's messages in the same order"), async () => {
    await using server = await start();
    // The watcher hears all three senders; each sender hears the other two, and must hear them
    // in the order the watcher did.
    await using watcher = await TestMember.join(server.port, "watcher");
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", /^you are bob/);
    await line.lines.waitFor("*** bob joined");
    for (let i = 0; i < 50; i++) {
      alice.send({ type: "msg", text: `a${i}` });
      line.say(`l${i}`);
      bob.send(`b${i}`);
    }
    const chat = async (next: () => Promise<[string, string] | null>, count: number) => {
      const heard: string[] = [];
      while (heard.length < count) {
        const said = await next();
        if (said === null) throw new Error(`closed after ${heard.length} messages`);
        if (said[0] !== "*") heard.push(said.join(":"));
      }
      return heard;
    };
    const fromNative = (member: TestMember) => async (): Promise<[string, string] | null> => {
      const message = await member.next("chat");
      if (message === null) return null;
      return message.type === "msg" ? [message.from as string, message.text as string] : ["*", ""];
    };
    const byWatcher = await chat(fromNative(watcher), 150);
    const byAlice = await chat(fromNative(alice), 100);
    const byLine = await chat(async () => {
      const text = await line.lines.next("chat");
      const match = /^<(\S+)> (.*)$/.exec(text ?? "");
      return text === null ? null : match ? [match[1], match[2]] : ["*", text];
    }, 100);
    const byBob = await chat(() => bob.next("chat"), 100);
    const expected = (prefix: string) => Array.from({ length: 50 }, (_, i) => `${prefix}${i}`);
    const without = (heard: string[], nick: string) =>
      heard.filter((m) => !m.startsWith(`${nick}:`));
    assert.deepEqual(byWatcher.filter((m) => m.startsWith("alice:")), expected("alice:a"));
    assert.deepEqual(byWatcher.filter((m) => m.startsWith(`${guest}:`)), expected(`${guest}:l`));
    assert.deepEqual(byWatcher.filter((m) => m.startsWith("bob:")), expected("bob:b"));
    assert.deepEqual(byAlice, without(byWatcher, "alice"));
    assert.deepEqual(byLine, without(byWatcher, guest));
    assert.deepEqual(byBob, without(byWatcher, "bob"));
  });

  test(name("a nick change in line mode is seen by every mode"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", /^you are bob/);
    await line.lines.waitFor("*** bob joined");

    line.say("/nick al");
    assert.equal(await line.lines.next(), `*** ${guest} is now known as al`);
    await alice.expect({ type: "join", nick: guest });
    await alice.expect({ type: "join", nick: "bob" });
    await alice.expect({ type: "nick", from: guest, nick: "al", room: "lobby" });
    assert.deepEqual(await bob.next(), ["*", `${guest} is now known as al`]);

    line.say("/nick ALICE");
    assert.equal(await line.lines.next(), "*** The nick ALICE is taken; choose another");
    line.say("after");
    await alice.expect({ type: "msg", from: "al", text: "after" });
  });

  test(name("line mode answers /me, /help, //, blank lines and unknown commands"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await alice.expect({ type: "join", nick: guest });

    line.say("/me waves");
    await alice.expect({ type: "msg", from: guest, text: "waves", action: true });
    alice.send({ type: "msg", text: "waves back", action: true });
    assert.equal(await line.lines.next(), "* alice waves back");

    line.say("");
    line.say("//slashes/are/fine");
    await alice.expect({ type: "msg", from: guest, text: "/slashes/are/fine" });

    line.say("/dance");
    assert.equal(await line.lines.next(), "*** unknown command /dance, try /help");

    line.say("/help");
    assert.equal(await line.lines.next(), "*** commands:");
    const accounts = ["/register", "/identify", "/login", "/passwd", "/unregister"];
    const social = ["/away", "/whois", "/ignore", "/unignore"];
    const commands = ["/join", "/part", "/rooms", "/who", "/msg", "/nick", ...accounts, ...social];
    commands.push("/me", "/claim", "/op", "/deop", "/topic", "/kick", "/ban", "/unban", "/bans");
    commands.push("/mute", "/unmute", "/kline", "/unkline", "/klines", "/help", "/quit");
    for (const command of [...commands, "//"]) {
      assert.ok((await line.lines.next())!.startsWith(`***   ${command}`), command);
    }

    line.say("/quit");
    assert.equal(await line.lines.next(), "*** bye");
    assert.equal(await line.lines.next("the close"), null);
    await alice.expect({ type: "leave", nick: guest });
  });

  test(
    name("a line above --max-line gets an error line, and the rest of it is dropped"),
    async () => {
      await using server = await start(["--max-line", "100"]);
      await using alice = await TestMember.join(server.port, "alice");
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await alice.expect({ type: "join", nick: guest });

      line.socket.write("x".repeat(60));
      line.socket.write("y".repeat(60));
      line.socket.write(`${"z".repeat(10_000)}\nshort one\n`);
      assert.equal(await line.lines.next(), "*** Line discarded: it is longer than 100 bytes");
      await alice.expect({ type: "msg", from: guest, text: "short one" });
      line.say("x".repeat(100));
      await alice.expect({ type: "msg", from: guest, text: "x".repeat(100) });
    },
  );

  test(name("telnet option bytes are ignored, not shown to others"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const line = await LineMember.connect(server.port);
    await using _line = line;
    // What a telnet client sends first: IAC DO SGA, IAC WILL TTYPE, IAC WILL NAWS, a window size.
    line.socket.write(Buffer.from([255, 253, 3, 255, 251, 24, 255, 251, 31]));
    line.socket.write(Buffer.from([255, 250, 31, 0, 80, 0, 24, 255, 240]));
    line.socket.write(
      Buffer.concat([Buffer.from("hel"), Buffer.from([255, 241]), Buffer.from("lo\r\n")]),
    );
    const joined = await alice.expect({ type: "join" });
    await alice.expect({ type: "msg", from: joined.nick as string, text: "hello" });
  });

  test(name("the nc banner is the README's, and history follows it"), async () => {
    // Every `$ nc` example in the README opens with the banner a fresh server gives its first
    // guest while alice is in, which is then followed by what the room said.
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const examples = [...readme.matchAll(/^\$ nc 127\.0\.0\.1 9009\n(.*)\n(.*)\n(.*)$/gm)];
    assert.equal(examples.length, 2);
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "msg", text: "hello?" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    await using line = await LineMember.connect(server.port);
    const banner = [await line.lines.next(), await line.lines.next()];
    for (const [, first, second] of examples) assert.deepEqual(banner, [first, second]);
    assert.match((await line.lines.next())!, /^\[\d\d:\d\d\] <alice> hello\?$/);
    const tour = examples.find(([, , , third]) => third.startsWith("["));
    assert.match(tour?.[3] ?? "", /^\[\d\d:\d\d\] <alice> hello\?$/, "the tour's history");
  });

  test(name("a legacy member hears history and live actions in one shape"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "msg", text: "waves", action: true });
    alice.send({ type: "msg", text: "said before" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    await using eve = await LegacyMember.connect(server.port, "eve");
    assert.deepEqual(await eve.next(), ["*", "you are eve in lobby; here: alice, eve (you)"]);
    assert.deepEqual(await eve.next(), ["alice", "* waves"]);
    assert.deepEqual(await eve.next(), ["alice", "said before"]);
    alice.send({ type: "msg", text: "smiles", action: true });
    assert.deepEqual(await eve.next(), ["alice", "* smiles"]);
  });

  test(name("Backspace and DEL from a character-mode client are applied"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick } = await LineMember.join(server.port);
    await using _line = line;
    await alice.expect({ type: "join", nick });
    // As telnet in character mode sends a typo put right, byte by byte: 0x08 or 0x7F each.
    for (const byte of Buffer.from("helo\blo wox\x7frld\r\n")) line.socket.write(Buffer.of(byte));
    await alice.expect({ type: "msg", from: nick, text: "hello world" });
  });

  test(name("0xFF 0xFE that is not telnet negotiation is text"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick } = await LineMember.join(server.port);
    await using _line = line;
    await alice.expect({ type: "join", nick });
    line.socket.write(Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from("hello\n")]));
    await alice.expect({ type: "msg", from: nick, text: "\ufffd\ufffdhello" });
  });

  test(name("a bad legacy header gets a notice and closes only that member"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", /^you are bob/);
    await alice.expect({ type: "join", nick: "bob" });
    bob.socket.write("not a length and more");
    const [from, text] = (await bob.next())!;
    assert.equal(from, "*");
    assert.match(text, /^Cannot read frame header "not a leng": expected a decimal length$/);
    assert.equal(await bob.next("the close"), null);
    await alice.expect({ type: "leave", nick: "bob" });

    await using carol = await LegacyMember.connect(server.port, "carol");
    await carol.waitFor("*", /^you are carol/);
    carol.socket.write(`${"99999999"}  `);
    assert.deepEqual(await carol.next(), [
      "*",
      "Cannot accept frame: length 99999999 exceeds 65536 bytes",
    ]);
    assert.equal(await carol.next("the close"), null);
    await alice.expect({ type: "join", nick: "carol" });
    await alice.expect({ type: "leave", nick: "carol" });
    alice.send({ type: "msg", text: "still here" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
  });

  test(name("a taken legacy username gets a number, a bad one a notice and a close"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using legacy = await LegacyMember.connect(server.port, "ALICE");
    await legacy.waitFor("*", "you are ALICE2 in lobby; here: alice, ALICE2 (you)");
    await alice.expect({ type: "join", nick: "ALICE2" });

    await using bad = await LegacyMember.connect(server.port, "two words");
    const [from, text] = (await bad.next())!;
    assert.equal(from, "*");
    assert.match(text, /^Nick must not contain spaces/);
    assert.equal(await bad.next("the close"), null);
  });

  test(name("a line client that types at once is in line mode, banner and all"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const line = await LineMember.connect(server.port);
    await using _line = line;
    line.say("12345 is my number");
    const banner = await line.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/);
    const guest = banner.split(" ")[3];
    await alice.expect({ type: "join", nick: guest });
    await alice.expect({ type: "msg", from: guest, text: "12345 is my number" });
  });

  test(name("--mode line pins every connection to line mode"), async () => {
    await using server = await start(["--mode", "line"]);
    const line = await LineMember.connect(server.port);
    await using _line = line;
    await line.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/);
    // Digits that auto mode would wait on as a possible legacy header.
    line.say("1234567890");
    line.say("/who");
    assert.match(
      await line.lines.waitFor(/^\*\*\* in lobby: /),
      /^\*\*\* in lobby: guest\d+ \(you\)$/,
    );
  });

  test(name("--mode native answers a text line with an error and a close"), async () => {
    await using server = await start(["--mode", "native"]);
    await using stranger = await TestMember.connect(server.port);
    stranger.sendBytes(new TextEncoder().encode("hello there\n"));
    // The bytes "hell" read as a length of 1751477356: far above the maximum frame.
    const [error, ...rest] = await stranger.untilClosed();
    assert.equal(error.code, "frame_too_large");
    assert.deepEqual(rest, []);
  });

  // Held up long past the silence window, or just past it, so that the window's timer is due
  // when the server runs again, at the same moment as the hellos that waited meanwhile.
  for (const pastWindowMs of [300, 30]) {
    test(
      name(`clients that spoke at once stay native after a pause ${pastWindowMs} ms past silence`),
      async () => {
        // Not quiet: the connection log says when the server has accepted each one.
        await using server = await ServerProcess.start(runtime, LOOPBACK_ARGS);
        const nicks = ["ann", "ben", "cat", "dan", "eva", "fay"];
        const members = await Promise.all(nicks.map(() => TestMember.connect(server.port)));
        // And a person at nc, who stays silent throughout.
        await using person = await LineMember.connect(server.port);
        for (const _ of [...nicks, "person"]) {
          await server.stderr.waitFor(/^connect /, "the server's connect line");
        }
        // Held up, the server hears nothing: the hellos wait in its sockets.
        await server.holdUp(SILENT_LINE_CLIENT_MS + pastWindowMs, () => {
          members.forEach((member, i) => member.send({ type: "hello", nick: nicks[i] }));
        });
        try {
          for (const [i, member] of members.entries()) {
            await member.expect({ type: "welcome", nick: nicks[i] });
          }
        } finally {
          members.forEach((member) => member.close());
        }
        await person.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/, "the line-mode banner");
      },
    );
  }

  test(name("a real nc joins the room and chats"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using nc = new Subprocess(["nc", "127.0.0.1", String(server.port)]);
    const banner = await nc.stdout.waitFor(/^\*\*\* you are guest\d+ in lobby/, "nc's banner");
    const guest = banner.split(" ")[3];
    await alice.expect({ type: "join", nick: guest });
    nc.write("hi from nc\n");
    await alice.expect({ type: "msg", from: guest, text: "hi from nc" });
    alice.send({ type: "msg", text: "hi nc" });
    await nc.stdout.waitFor("<alice> hi nc");
    nc.write("/quit\n");
    await nc.stdout.waitFor("*** bye");
    await alice.expect({ type: "leave", nick: guest });
  });
}
