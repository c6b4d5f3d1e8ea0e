// Registered nicks end to end, on both runtimes over real sockets: a guest cannot take one, its
// password proves it (in a native hello, and with /login at nc), a wrong password is refused and
// then throttled, accounts outlive a restart with --data, and without --data registering is
// refused with one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HeaderTutorialClient } from "./_tutorial_clients.ts";
import {
  LineMember,
  RUNTIMES,
  type ServerProcess,
  startQuietServer,
  temporaryDirectory,
  TestMember,
} from "./_helpers.ts";

// A native member that registers `nick` with `password`, then leaves.
async function registerAndLeave(server: ServerProcess, nick: string, password: string) {
  await using owner = await TestMember.join(server.port, nick);
  owner.send({ type: "register", password });
  await owner.expect({
    type: "notice",
    text: `${nick} is registered to you; next time, /login ${nick} PASSWORD`,
  });
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: a guest cannot take a registered nick; its password proves it`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, ["--data", dir.path]);
    await registerAndLeave(server, "alice", "s3cret-pw");

    await using guest = await TestMember.connect(server.port);
    guest.send({ type: "hello", nick: "Alice" });
    const refused = await guest.expect({ type: "error", code: "nick_registered" });
    assert.match(String(refused.message), /The nick Alice is registered/);
    guest.send({ type: "hello", nick: "bob" });
    await guest.expect({ type: "welcome", nick: "bob" });
    guest.send({ type: "nick", nick: "alice" });
    await guest.expect({ type: "error", code: "nick_registered" });

    await using owner = await TestMember.connect(server.port);
    owner.send({ type: "hello", nick: "alice", password: "s3cret-pw" });
    await owner.expect({ type: "welcome", nick: "alice" });
  });

  test(`${runtime}: a registered nick also holds the nicks that look like it`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, ["--data", dir.path]);
    await registerAndLeave(server, "alice", "s3cret-pw");
    await using guest = await TestMember.connect(server.port);
    for (const lookalike of ["\u0430lice", "AIice", "\u0430lic\u0435"]) { // Cyrillic а and е; I
      guest.send({ type: "hello", nick: lookalike });
      const refused = await guest.expect({ type: "error", code: "nick_registered" });
      assert.match(String(refused.message), new RegExp(`The nick ${lookalike} is registered`));
    }
    guest.send({ type: "hello", nick: "bob" });
    await guest.expect({ type: "welcome", nick: "bob" });
    guest.send({ type: "nick", nick: "\u0430lice" });
    await guest.expect({ type: "error", code: "nick_registered" });
    // Nor can a look-alike be registered beside it, even after a restart.
    assert.equal(await server.stop(), 0);
    await using again = await startQuietServer(runtime, ["--data", dir.path]);
    await using other = await TestMember.join(again.port, "AIice-not");
    other.send({ type: "nick", nick: "\u0430lice" });
    await other.expect({ type: "error", code: "nick_registered" });
  });

  test(`${runtime}: at nc, a registered nick is refused to a guest until /login`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, [
      ...["--data", dir.path, "--identify-grace", "0"],
    ]);
    await registerAndLeave(server, "carol", "pass-word");

    // The nickname-first tutorial client greets with its name: it is in under another.
    const greeted = await LineMember.connect(server.port);
    greeted.socket.write("carol connection...");
    await greeted.lines.waitFor(/^\*\*\* you are guest\d+ in /, "a guest nick");
    await greeted.lines.waitFor(
      "*** not carol: The nick carol is registered; give its password, or choose another",
      "the notice saying why",
    );
    await using _greeted = greeted;

    const { member, nick } = await LineMember.join(server.port);
    await using _member = member;
    member.say("/nick carol");
    assert.equal(
      await member.lines.next("the refusal of /nick"),
      "*** The nick carol is registered; give its password, or choose another",
    );
    member.say("/login carol wrong-pw");
    assert.equal(await member.lines.next("the refusal"), "*** Wrong password for carol");
    member.say("/login carol pass-word");
    assert.equal(await member.lines.next("the rename"), `*** ${nick} is now known as carol`);
    await member.lines.waitFor("*** you are identified as carol", "the identification");
  });

  test(`${runtime}: a greeting client keeps a registered nick for the grace if it identifies`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, ["--data", dir.path]);
    await registerAndLeave(server, "carol", "pass-word");
    await using watcher = await TestMember.join(server.port, "watcher");
    const greeted = await LineMember.connect(server.port);
    await using _greeted = greeted;
    greeted.socket.write("carol connection...");
    await greeted.lines.waitFor(/^\*\*\* you are carol in /, "the registered nick, for now");
    await greeted.lines.waitFor(
      "*** carol is registered: /identify PASSWORD within 30 s, or you will be renamed",
      "the notice",
    );
    greeted.socket.write("carol : /identify pass-word\n");
    await greeted.lines.waitFor("*** you are identified as carol", "the identification");
    await watcher.expect({ type: "join", nick: "carol" });
    greeted.socket.write("carol : still carol\n");
    await watcher.expect({ type: "msg", from: "carol", text: "still carol" });
  });

  test(`${runtime}: a greeting client that stays silent is renamed after the grace`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, [
      ...["--data", dir.path, "--identify-grace", "0.5"],
    ]);
    await registerAndLeave(server, "carol", "pass-word");
    await using watcher = await TestMember.join(server.port, "watcher");
    const greeted = await LineMember.connect(server.port);
    await using _greeted = greeted;
    greeted.socket.write("carol connection...");
    await greeted.lines.waitFor(
      "*** carol is registered: /identify PASSWORD within 0.5 s, or you will be renamed",
      "the notice",
    );
    await watcher.expect({ type: "join", nick: "carol" });
    const renamed = await watcher.expect({ type: "nick", from: "carol" });
    assert.match(String(renamed.nick), /^guest\d+$/);
    await greeted.lines.waitFor(
      `*** you did not identify as carol within 0.5 s: you are ${renamed.nick} now`,
      "the notice saying why",
    );
    // The owner can have it now.
    await using owner = await TestMember.connect(server.port);
    owner.send({ type: "hello", nick: "carol", password: "pass-word" });
    await owner.expect({ type: "welcome", nick: "carol" });
  });

  test(`${runtime}: the classic tutorial client identifies within the grace`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, [
      ...["--data", dir.path, "--identify-grace", "0.5"],
    ]);
    await registerAndLeave(server, "jules", "jules-pw");
    await registerAndLeave(server, "vince", "vince-pw");
    await using watcher = await TestMember.join(server.port, "watcher");
    await using jules = await HeaderTutorialClient.connect(server.port, "jules");
    await jules.waitFor("*", /^jules is registered: \/identify PASSWORD within 0\.5 s/);
    jules.type("/identify jules-pw");
    await jules.waitFor("*", "you are identified as jules");
    await watcher.expect({ type: "join", nick: "jules" });
    // A silent one, come later, is renamed when its grace ends: jules's has ended by then.
    await using _late = await HeaderTutorialClient.connect(server.port, "vince");
    await watcher.expect({ type: "join", nick: "vince" });
    const renamed = await watcher.expect({ type: "nick", from: "vince" });
    assert.match(String(renamed.nick), /^guest\d+$/);
    // Still jules; and the password was never said to the room.
    jules.type("hello");
    await watcher.expect({ type: "msg", from: "jules", text: "hello" });
  });

  test(`${runtime}: a wrong password is refused, then attempts are throttled`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    await using server = await startQuietServer(runtime, ["--data", dir.path]);
    await registerAndLeave(server, "dave", "right-one");
    await using guest = await TestMember.connect(server.port);
    for (let i = 0; i < 3; i++) {
      guest.send({ type: "hello", nick: "dave", password: "wrong-one" });
      await guest.expect({ type: "error", code: "wrong_password" });
    }
    // Even the right password waits now: three attempts a minute.
    guest.send({ type: "hello", nick: "dave", password: "right-one" });
    const throttled = await guest.expect({ type: "error", code: "login_throttled" });
    assert.match(String(throttled.message), /Too many password attempts; try again in \d+ s/);
  });

  test(`${runtime}: accounts outlive a restart with --data`, async () => {
    using dir = temporaryDirectory("parley-accounts-");
    {
      await using server = await startQuietServer(runtime, ["--data", dir.path]);
      await registerAndLeave(server, "erin", "kept-pw");
      assert.equal(await server.stop(), 0);
    }
    await using server = await startQuietServer(runtime, ["--data", dir.path]);
    await using guest = await TestMember.connect(server.port);
    guest.send({ type: "hello", nick: "erin" });
    await guest.expect({ type: "error", code: "nick_registered" });
    guest.send({ type: "hello", nick: "erin", password: "kept-pw" });
    await guest.expect({ type: "welcome", nick: "erin" });
    guest.send({ type: "passwd", old: "kept-pw", password: "new-pw" });
    await guest.expect({ type: "notice", text: "the password of erin is changed" });
    guest.send({ type: "unregister", password: "new-pw" });
    await guest.expect({ type: "notice", text: "erin is no longer registered" });
  });

  test(`${runtime}: without --data, /register is refused with one line`, async () => {
    await using server = await startQuietServer(runtime);
    const { member } = await LineMember.join(server.port);
    await using _member = member;
    member.say("/register some-password");
    assert.equal(
      await member.lines.next("the refusal"),
      "*** Registration needs a server started with --data or --redis: this one keeps no accounts",
    );
  });
}
