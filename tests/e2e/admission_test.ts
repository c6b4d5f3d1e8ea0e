// Who gets in and what it costs, end to end on Deno and Bun: connections that never join, history
// requests priced by their work, and a server at its file-descriptor limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIMES, startQuietServer, TestMember, within } from "./_helpers.ts";

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `admission [${runtime}] ${behaviour}`;

  // --- connections that never join ---

  test(name("tells a connection that has not joined nothing of the rooms"), async () => {
    await using server = await startQuietServer(runtime);
    await using _alice = await TestMember.join(server.port, "alice", "secret-plans");
    await using mallory = await TestMember.connect(server.port);
    mallory.send({ type: "rooms" });
    const answer = await mallory.next("the answer to rooms");
    assert.equal(answer?.type, "error", JSON.stringify(answer));
    assert.equal(answer?.code, "not_joined");
    // Once in, it may look.
    mallory.send({ type: "hello", nick: "mallory" });
    await mallory.expect({ type: "welcome" });
    mallory.send({ type: "rooms" });
    const rooms = await mallory.expect({ type: "rooms" });
    assert.deepEqual(rooms.rooms, [
      { name: "lobby", members: 1 },
      { name: "secret-plans", members: 1 },
    ]);
    assert.equal(await server.stop(), 0);
  });

  test(name("closes a connection that pings but never joins, with hello_timeout"), async () => {
    await using server = await startQuietServer(runtime, ["--hello-timeout", "1"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using mallory = await TestMember.connect(server.port);
    const startedAt = Date.now();
    // Well within --rate, and each ping answered: busy, never silent, never joined.
    mallory.send({ type: "ping" });
    const pinger = setInterval(() => mallory.send({ type: "ping" }), 200);
    try {
      const answers = await within(mallory.untilClosed(), "mallory to be closed", 8_000);
      const last = answers.at(-1);
      assert.equal(last?.code, "hello_timeout", JSON.stringify(answers.slice(-3)));
      assert.ok(answers.slice(0, -1).every((answer) => answer.type === "pong"));
      assert.ok(Date.now() - startedAt >= 1_000, "not before --hello-timeout");
    } finally {
      clearInterval(pinger);
    }
    // A refused hello is not a join either; the one who joined stays.
    await using eve = await TestMember.connect(server.port);
    eve.send({ type: "hello", nick: "alice" });
    await eve.expect({ type: "error", code: "nick_taken" });
    assert.deepEqual((await eve.untilClosed()).map((answer) => answer.code), ["hello_timeout"]);
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    assert.equal(await server.stop(), 0);
  });
}
