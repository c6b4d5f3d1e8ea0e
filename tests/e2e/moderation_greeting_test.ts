// What a member hears on joining, on both runtimes over real sockets: the message of the day and
// the room's topic come right after the welcome (or `joined`), before the room's history, as IRC
// sends the topic right after JOIN; switching back to a room one is in does not tell its topic
// again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { identified, skipTo, startModerated, temporaryDirectory } from "./_moderation.ts";
import { LineMember, RUNTIMES, TestMember } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `moderation greeting [${runtime}] ${behaviour}`;

  test(name("the motd and the topic come before the history, once a room"), async () => {
    using dir = temporaryDirectory();
    const motd = path.join(dir.path, "motd.txt");
    writeFileSync(motd, "Be kind.\n");
    await using server = await startModerated(runtime, dir.path, ["--motd", motd]);
    await using root = await identified(server.port, "root");
    root.send({ type: "topic", text: "tea at four" });
    await skipTo(root, { type: "notice", text: "root set the topic of lobby: tea at four" });
    root.send({ type: "msg", text: "hello all" });
    root.send({ type: "join", room: "den" });
    await skipTo(root, { type: "joined", room: "den" });
    root.send({ type: "topic", room: "den", text: "quiet please" });
    await skipTo(root, { type: "notice", text: "root set the topic of den: quiet please" });
    root.send({ type: "msg", room: "den", text: "shh" });

    await using bob = await TestMember.connect(server.port);
    bob.send({ type: "hello", nick: "bob" });
    await bob.expect({ type: "welcome", nick: "bob" });
    await bob.expect({ type: "notice", text: "Be kind." });
    await bob.expect({ type: "notice", text: "topic of lobby: tea at four (set by root)" });
    await bob.expect({ type: "msg", from: "root", text: "hello all" });
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    await bob.expect({ type: "notice", text: "topic of den: quiet please (set by root)" });
    await bob.expect({ type: "msg", from: "root", text: "shh" });

    // At nc: the banner, the motd, the topic, then what the room said.
    const { member: carol } = await LineMember.join(server.port);
    await using _carol = carol;
    assert.equal(await carol.lines.next("the motd"), "*** Be kind.");
    assert.equal(
      await carol.lines.next("the topic"),
      "*** topic of lobby: tea at four (set by root)",
    );
    assert.match(String(await carol.lines.next("the history")), /<root> hello all$/);
    carol.say("/join den");
    assert.match(String(await carol.lines.next("den's answer")), /^\*\*\* you joined den; /);
    assert.equal(
      await carol.lines.next("den's topic"),
      "*** topic of den: quiet please (set by root)",
    );
    assert.match(String(await carol.lines.next("den's history")), /<root> shh$/);
    carol.say("/join lobby");
    assert.equal(await carol.lines.next("the switch"), "*** you are now in lobby");
    root.send({ type: "msg", room: "lobby", text: "welcome back" });
    assert.match(String(await carol.lines.next("the next line")), /<root> welcome back$/);
  });
}
