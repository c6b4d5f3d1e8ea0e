// Proving an account is all or nothing, on both runtimes over real sockets: a password that is
// right but comes with something the server refuses (a /login whose rename is refused as banned,
// taken or a look-alike; a hello whose nick is taken; an /identify for an account a ban names)
// gets the refusal only (and a close for a server-wide ban), and the connection is not identified
// for the account afterwards. /whois, asked by another member, tells whether it is.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accountOf,
  identified,
  identifyIntoBan,
  refusedForItsRoom,
  skipTo,
  startModerated,
  temporaryDirectory,
} from "./_moderation.ts";
import { LineMember, RUNTIMES, TestMember } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `identify refused [${runtime}] ${behaviour}`;

  test(name("a /login whose rename is refused does not identify"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    {
      await using _mallory = await identified(server.port, "mallory", "den");
    }
    await using root = await identified(server.port, "root");
    root.send({ type: "ban", mask: "mallory", reason: "trouble" });
    await skipTo(root, { type: "notice", text: "root banned nick:mallory (trouble)" });

    // At nc, the way /login is meant for: refused by the ban.
    const { member, nick } = await LineMember.join(server.port);
    await using _member = member;
    member.say("/login mallory mallory-password");
    await member.lines.waitFor(
      "*** You cannot be mallory: it is banned from lobby permanently (trouble)",
    );
    assert.equal(await accountOf(root, nick), undefined, "identified by a refused /login");

    // Taken by mallory's own connection, elsewhere; then by a look-alike of it.
    await using owner = await TestMember.connect(server.port);
    owner.send({ type: "hello", nick: "mallory", room: "den", password: "mallory-password" });
    await owner.expect({ type: "welcome", nick: "mallory" });
    member.say("/login mallory mallory-password");
    await member.lines.waitFor("*** The nick mallory is taken; choose another");
    assert.equal(await accountOf(root, nick), undefined, "identified by a /login to a taken nick");
    owner.send({ type: "nick", nick: "Ma11ory" });
    await owner.expect({ type: "nick", from: "mallory", nick: "Ma11ory" });
    member.say("/login mallory mallory-password");
    await member.lines.waitFor("*** The nick mallory looks like Ma11ory, who is here");
    assert.equal(await accountOf(root, nick), undefined, "identified by a /login to a look-alike");
    // Nor does any of it let the member act for the account.
    member.say("/passwd mallory-password another-password");
    await member.lines.waitFor("*** Identify first: /identify PASSWORD");

    // A member identified already stays identified as it was.
    root.send({ type: "login", nick: "mallory", password: "mallory-password" });
    await skipTo(root, { type: "error", code: "nick_taken" });
    assert.equal(await accountOf(root, "root"), "root");
  });

  test(name("a hello whose nick is refused does not identify the next one"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using owner = await identified(server.port, "mallory", "den");
    await using root = await identified(server.port, "root");

    await using other = await TestMember.connect(server.port);
    other.send({ type: "hello", nick: "mallory", password: "mallory-password" });
    await other.expect({ type: "error", code: "nick_taken" });
    await refusedForItsRoom(other, root);
    assert.equal(await accountOf(root, "mallory"), "mallory");
    owner.send({ type: "ping" });
    await skipTo(owner, { type: "pong" });
  });

  test(name("/identify for an account banned where the member is is refused"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    const { port } = server;
    const { root, greeted } = await identifyIntoBan({ carol: port, root: port, greeted: port });
    await using _root = root;
    await using _greeted = greeted;
    greeted.say("/login carol carol-password");
    await greeted.lines.waitFor("*** You are banned from lobby permanently (spam)");
    assert.equal(await accountOf(root, "carol"), undefined, "identified into a ban by /login");

    // Banned from the whole server, the account's connection is closed, as a kline closes those
    // it names.
    root.send({ type: "kline", mask: "account:carol", reason: "gone" });
    await skipTo(root, { type: "notice", text: "account:carol is banned from this server (gone)" });
    greeted.say("/identify carol-password");
    await greeted.lines.waitFor("*** You are banned from this server permanently (gone)");
    assert.equal(await greeted.lines.next("the close"), null);
    await skipTo(root, { type: "leave", nick: "carol" });
  });
}
