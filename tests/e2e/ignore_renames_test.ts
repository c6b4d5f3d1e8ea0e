// An ignore follows the person through a rename, as ssh-chat ignores a user rather than a name, on
// both runtimes over real sockets: when bob becomes bob2, every member that ignored bob (by
// /ignore at nc, `ignore`, or its hello's `ignore` list; in bob's room or not) ignores bob2 instead,
// and is sent its new list; whoever takes the nick bob afterwards is heard. The terminal client
// keeps the new list in its ignore file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  LineMember,
  RUNTIMES,
  scriptCommand,
  startQuietServer,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { skipTo } from "./_moderation.ts";

// `member` has been sent everything that was sent before it answers a ping.
async function settled(member: TestMember): Promise<void> {
  member.send({ type: "ping" });
  await skipTo(member, { type: "pong" });
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `ignore renames [${runtime}] ${behaviour}`;

  test(name("an ignore follows a rename, and not the nick left behind"), async () => {
    await using server = await startQuietServer(runtime);
    await using bob = await TestMember.join(server.port, "bob");
    await using carol = await TestMember.join(server.port, "carol");
    // ann ignores bob with `ignore`, dave (in another room) from his hello, and an nc user with
    // /ignore, beside a nick nobody has.
    await using ann = await TestMember.join(server.port, "ann");
    ann.send({ type: "ignore", nick: "BOB" });
    assert.deepEqual((await skipTo(ann, { type: "ignoring" })).nicks, ["BOB"]);
    await using dave = await TestMember.connect(server.port);
    dave.send({ type: "hello", nick: "dave", room: "den", ignore: ["nobody", "bob"] });
    await dave.expect({ type: "welcome", nick: "dave" });
    const { member: nc, nick: ncNick } = await LineMember.join(server.port);
    await using _nc = nc;
    nc.say("/ignore bob");
    await nc.lines.waitFor("*** ignoring: bob");
    await skipTo(bob, { type: "join", nick: ncNick });

    bob.send({ type: "nick", nick: "bob2" });
    await skipTo(ann, { type: "nick", from: "bob", nick: "bob2" });
    assert.deepEqual((await ann.next("ann's new list"))?.nicks, ["bob2"]);
    assert.deepEqual((await skipTo(dave, { type: "ignoring" })).nicks, ["nobody", "bob2"]);
    await nc.lines.waitFor("*** bob is now known as bob2");
    assert.equal(await nc.lines.next("the nc user's new list"), "*** ignoring: bob2");
    // carol ignores nobody: she hears of the rename only.
    await skipTo(carol, { type: "nick", from: "bob", nick: "bob2" });
    await settled(carol);

    // bob2 is not heard, in the room or privately.
    bob.send({ type: "msg", text: "still me" });
    bob.send({ type: "msg", to: "ann", text: "me too" });
    await settled(bob);
    carol.send({ type: "msg", text: "after bob2" });
    await skipTo(ann, { type: "msg", from: "carol", text: "after bob2" });
    await nc.lines.waitFor("<carol> after bob2");
    assert.ok(!nc.lines.seen.some((line) => line.includes("still me")), "bob2 heard at nc");

    // Whoever takes the nick bob now is someone else, and is heard.
    await using other = await TestMember.join(server.port, "bob", "den");
    other.send({ type: "msg", text: "a new bob" });
    await skipTo(dave, { type: "msg", from: "bob", text: "a new bob" });
    other.send({ type: "msg", to: "ann", text: "hello ann" });
    await skipTo(ann, { type: "msg", from: "bob", text: "hello ann" });
    // A rename back is followed too; a case-only one keeps the list as the member sees the nick.
    bob.send({ type: "nick", nick: "Bob2" });
    await skipTo(ann, { type: "nick", from: "bob2", nick: "Bob2" });
    assert.deepEqual((await ann.next("ann's list again"))?.nicks, ["Bob2"]);
  });

  test(name("the client's ignore file follows a rename"), async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "parley-ignore-"));
    try {
      const file = path.join(dir, "ignored");
      await using server = await startQuietServer(runtime);
      await using bob = await TestMember.join(server.port, "bob");
      await using client = new Subprocess(
        scriptCommand(runtime, "client.ts", [
          ...["127.0.0.1", String(server.port), "--nick", "alice", "--ignore-file", file],
        ]),
      );
      await client.stdout.waitFor("* you are alice in lobby");
      client.write("/ignore bob\n");
      await client.stdout.waitFor("* ignoring: bob");
      bob.send({ type: "nick", nick: "robert" });
      await client.stdout.waitFor("* bob is now known as robert");
      assert.equal(await client.stdout.next(), "* ignoring: robert");
      assert.equal(readFileSync(file, "utf8"), "robert\n");
      client.endInput();
      assert.equal(await client.exitCode(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
