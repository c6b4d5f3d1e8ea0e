// The classic tutorial clients, as their tutorials wrote them, join Parley unchanged and chat with
// a native and a line member: the replicas in _tutorial_clients.ts send their exact bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LineMember,
  type RuntimeName,
  RUNTIMES,
  startQuietServer,
  TestMember,
} from "./_helpers.ts";
import {
  HeaderTutorialClient,
  NicknameFirstTutorialClient,
  SelectTutorialClient,
} from "./_tutorial_clients.ts";

/** A server with a native member `ned` and a person at nc in it, each having seen the other. */
async function room(runtime: RuntimeName) {
  const server = await startQuietServer(runtime);
  const ned = await TestMember.join(server.port, "ned");
  const { member: line, nick: guest } = await LineMember.join(server.port);
  await ned.expect({ type: "join", nick: guest });
  return {
    server,
    ned,
    line,
    guest,
    async [Symbol.asyncDispose]() {
      await line[Symbol.asyncDispose]();
      await ned[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
    },
  };
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `tutorials [${runtime}] ${what}`;

  test(name("the 10-byte-header client chats with a native and a line member"), async () => {
    await using r = await room(runtime);
    await using jules = await HeaderTutorialClient.connect(r.server.port, "jules");
    await jules.waitFor("*", /^you are jules in lobby/);
    await r.ned.expect({ type: "join", nick: "jules" });
    assert.equal(await r.line.lines.next(), "*** jules joined");

    for (const text of ["hello there", "héllo wörld 🎉", "x".repeat(1000)]) {
      jules.type(text);
      await r.ned.expect({ type: "msg", from: "jules", text });
      assert.equal(await r.line.lines.next(), `<jules> ${text}`);
    }
    assert.equal(jules.sent[0].toString(), "5         jules");
    assert.equal(jules.sent[1].toString(), " 11       hello there");
    assert.equal(jules.sent[2].subarray(0, 10).toString(), " 18       "); // bytes, not characters

    r.ned.send({ type: "msg", text: "hi jules" });
    await jules.waitFor("ned", "hi jules");
    r.line.say("hey jules");
    await jules.waitFor(r.guest, "hey jules");
    assert.equal(jules.failure, null);
  });

  test(name("a first line of a 9-digit number and a space is a person's line"), async () => {
    await using r = await room(runtime);
    await using person = await LineMember.connect(r.server.port);
    person.socket.write("123456789 apples are in the crate\n");
    const welcome = await person.lines.waitFor(/^\*\*\* you are \S+ in lobby/, "the banner");
    const nick = welcome.split(" ")[3];
    await r.ned.expect({ type: "join", nick });
    await r.ned.expect({ type: "msg", from: nick, text: "123456789 apples are in the crate" });
    assert.equal(await r.line.lines.next(), `*** ${nick} joined`);
    assert.equal(await r.line.lines.next(), `<${nick}> 123456789 apples are in the crate`);

    // The nickname-first client named with nine digits begins the same way.
    await using digits = await NicknameFirstTutorialClient.connect(r.server.port, "123456789");
    await digits.lines.waitFor(/^\*\*\* you are 123456789 in lobby/);
    await r.ned.expect({ type: "join", nick: "123456789" });
    digits.type("hello");
    await r.ned.expect({ type: "msg", from: "123456789", text: "hello" });
  });

  test(name("the nickname-first client joins under its name and is read once"), async () => {
    await using r = await room(runtime);
    await using jules = await NicknameFirstTutorialClient.connect(r.server.port, "jules");
    await jules.lines.waitFor(
      /^\*\*\* you are jules in lobby; here: ned, guest\d+, jules \(you\)$/,
    );
    await r.ned.expect({ type: "join", nick: "jules" });
    assert.equal(await r.line.lines.next(), "*** jules joined");

    for (const text of ["hello", "second", "/me waves", "jules : twice"]) jules.type(text);
    await r.ned.expect({ type: "msg", from: "jules", text: "hello" });
    await r.ned.expect({ type: "msg", from: "jules", text: "second" });
    await r.ned.expect({ type: "msg", from: "jules", text: "waves", action: true });
    await r.ned.expect({ type: "msg", from: "jules", text: "jules : twice" });
    assert.equal(await r.line.lines.next(), "<jules> hello");
    assert.equal(await r.line.lines.next(), "<jules> second");
    assert.equal(await r.line.lines.next(), "* jules waves");

    r.ned.send({ type: "msg", text: "hi jules" });
    await jules.lines.waitFor("<ned> hi jules");
  });

  test(
    name("the nickname-first client's first line may share a read with its greeting"),
    async () => {
      await using r = await room(runtime);
      await using jules = await NicknameFirstTutorialClient.connectTyping(
        r.server.port,
        "jules",
        "hello",
      );
      await r.ned.expect({ type: "join", nick: "jules" });
      await r.ned.expect({ type: "msg", from: "jules", text: "hello" });
      assert.equal(await r.line.lines.next(), "*** jules joined");
      assert.equal(await r.line.lines.next(), "<jules> hello");
      await jules.lines.waitFor(/^\*\*\* you are jules in lobby/);
    },
  );

  test(
    name("the nickname-first client whose name is taken joins as a guest, told why"),
    async () => {
      await using r = await room(runtime);
      await using client = await NicknameFirstTutorialClient.connect(r.server.port, "ned");
      const welcome = await client.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/);
      const nick = welcome.split(" ")[3];
      assert.equal(await client.lines.next(), "*** not ned: The nick ned is taken; choose another");
      await r.ned.expect({ type: "join", nick });
      client.type("hello");
      await r.ned.expect({ type: "msg", from: nick, text: "hello" });
    },
  );

  test(name("the [Me] select client chats in raw lines"), async () => {
    await using r = await room(runtime);
    await using client = await SelectTutorialClient.connect(r.server.port, "[Me] ");
    const welcome = await client.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/);
    const nick = welcome.split(" ")[3];
    await r.ned.expect({ type: "join", nick });
    client.type("client 1");
    await r.ned.expect({ type: "msg", from: nick, text: "client 1" });
    r.ned.send({ type: "msg", text: "client 2" });
    await client.lines.waitFor("<ned> client 2");
    assert.ok(client.screen.includes("[Me] <ned> client 2\n[Me] "), client.screen);
  });

  test(
    name("the print-as-it-comes select client reads the room, and its crash is a leave"),
    async () => {
      await using r = await room(runtime);
      await using client = await SelectTutorialClient.connect(r.server.port, null);
      const welcome = await client.lines.waitFor(/^\*\*\* you are guest\d+ in lobby/);
      const nick = welcome.split(" ")[3];
      await r.ned.expect({ type: "join", nick });
      r.ned.send({ type: "msg", text: "xin chào" });
      await client.lines.waitFor("<ned> xin chào");
      await client.crashOnTyping();
      await r.ned.expect({ type: "leave", nick });
      assert.equal(await r.line.lines.waitFor(`*** ${nick} left`), `*** ${nick} left`);
    },
  );
}
