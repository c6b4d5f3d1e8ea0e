// Bans and mutes that a member cannot get around by changing its name, on both runtimes over real
// sockets: a rename (/nick, or /login to a registered nick) into a nick the room bans, or the server
// bans (/kline), is refused with `banned` and the member stays as it was; a mute given to a member
// without an account holds for its connection whatever it is called next, and /unmute under the new
// nick lifts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { identified, skipTo, startModerated, temporaryDirectory } from "./_moderation.ts";
import { LineMember, RUNTIMES, TestMember } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `moderation renames [${runtime}] ${behaviour}`;

  test(name("a rename into a banned nick is refused, by /nick and by /login"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    // mallory registers in another room, and goes.
    {
      await using _mallory = await identified(server.port, "mallory", "den");
    }
    await using root = await identified(server.port, "root");
    await using bob = await TestMember.join(server.port, "bob");
    await root.expect({ type: "join", nick: "bob" });
    root.send({ type: "ban", mask: "mallory", reason: "trouble" });
    await skipTo(bob, { type: "notice", text: "root banned nick:mallory (trouble)" });

    // A look-alike of a banned nick nobody registered (a registered one's look-alikes are its
    // account's, refused as nick_registered before any ban is asked).
    root.send({ type: "ban", mask: "villain", reason: "trouble" });
    await skipTo(bob, { type: "notice", text: "root banned nick:villain (trouble)" });
    bob.send({ type: "nick", nick: "Vi11ain" });
    await bob.expect({
      type: "error",
      code: "banned",
      message: "You cannot be Vi11ain: it is banned from lobby permanently (trouble)",
    });
    bob.send({ type: "login", nick: "mallory", password: "mallory-password" });
    await bob.expect({
      type: "error",
      code: "banned",
      message: "You cannot be mallory: it is banned from lobby permanently (trouble)",
    });
    // bob is still bob, and still here: the room hears him under that name.
    bob.send({ type: "msg", text: "still me" });
    await skipTo(root, { type: "msg", from: "bob", text: "still me" });

    // A server-wide ban by nick refuses the rename the same way, without a close.
    root.send({ type: "kline", mask: "nick:trouble", reason: "no" });
    await skipTo(root, { type: "notice", text: "nick:trouble is banned from this server (no)" });
    const carol = await LineMember.join(server.port);
    await using _carol = carol.member;
    carol.member.say("/nick trouble");
    await carol.member.lines.waitFor(
      "*** You cannot be trouble: it is banned from this server permanently (no)",
    );
    carol.member.say("after");
    await skipTo(root, { type: "join", nick: carol.nick });
    await root.expect({ type: "msg", from: carol.nick, text: "after" });
    // Somewhere the nick is not banned, the rename goes through.
    bob.send({ type: "nick", nick: "robert" });
    await skipTo(bob, { type: "nick", from: "bob", nick: "robert" });
  });

  test(name("a mute holds for the muted connection across renames"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using root = await identified(server.port, "root");
    await using bob = await TestMember.join(server.port, "bob");
    await root.expect({ type: "join", nick: "bob" });
    root.send({ type: "mute", nick: "bob" });
    await skipTo(bob, { type: "notice", text: "root muted nick:bob" });
    bob.send({ type: "nick", nick: "bobby" });
    await bob.expect({ type: "nick", from: "bob", nick: "bobby" });
    bob.send({ type: "msg", text: "can you hear me now" });
    await bob.expect({
      type: "error",
      code: "muted",
      message: "You are muted in lobby permanently: nobody hears you there",
    });
    // Someone else may take the name the connection left: the mute of nick:bob holds for them.
    await using other = await TestMember.join(server.port, "bob");
    other.send({ type: "msg", text: "me neither" });
    await other.expect({ type: "error", code: "muted" });
    // Unmuting the member under the nick it has now lifts the mute it was given under the old one.
    await skipTo(root, { type: "nick", from: "bob", nick: "bobby" });
    root.send({ type: "unmute", nick: "bobby" });
    await skipTo(root, { type: "notice", text: "root lifted the mute of nick:bob" });
    bob.send({ type: "msg", text: "back" });
    await skipTo(root, { type: "msg", from: "bobby", text: "back" });
    root.send({ type: "unmute", nick: "bobby" });
    await root.expect({
      type: "error",
      code: "no_such_ban",
      message: "There is no mute of nick:bobby to lift",
    });
    const audit = await server.stderr.waitFor("audit action=unmute", "the audit line");
    assert.equal(audit, "audit action=unmute room=lobby by=root account=root target=nick:bob");
  });
}
