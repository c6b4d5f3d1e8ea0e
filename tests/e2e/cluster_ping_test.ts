// A node of a cluster sends a member's messages to Redis without waiting for each (they go in
// batches), so its pong must wait for them: a client takes the pong as "everything I sent before
// was taken", and the terminal client's last ping before it quits relies on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIMES } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { joinEcho, startNode } from "./_cluster.ts";

for (const runtime of RUNTIMES) {
  test(`cluster [${runtime}]: a pong comes after the echoes of every message sent before the ping`, async () => {
    await using redis = await RedisServer.start();
    await using node = await startNode(runtime, redis);
    await using other = await startNode(runtime === "deno" ? "bun" : "deno", redis);
    await using ann = await joinEcho(node.port, "ann");
    await using bea = await joinEcho(other.port, "bea");
    await ann.expect({ type: "join", nick: "bea" });
    // Rounds of a burst and a ping, with bea talking on the other node meanwhile.
    for (let round = 0; round < 5; round++) {
      const BURST = 200;
      for (let i = 0; i < BURST; i++) {
        ann.send({ type: "msg", text: `ann ${round}.${i}` });
        if (i % 10 === 0) bea.send({ type: "msg", text: `bea ${round}.${i}` });
      }
      ann.send({ type: "ping" });
      let echoes = 0;
      for (;;) {
        const got = await ann.next(`round ${round}: the pong`);
        if (got === null) throw new Error("closed before the pong");
        if (got.type === "pong") break;
        if (got.type === "msg" && got.from === "ann") echoes++;
      }
      assert.equal(echoes, BURST, `round ${round}: every echo before the pong`);
    }
  });
}
