// A node whose room channel is late must not take "behind" for "lost". Each node checks, every
// third of a lease, whether Redis has numbered events of its rooms that it has not applied, and
// reads those from the room's stream. A busy node is behind all the time: its channel messages are
// on their way (in Redis's output buffer, the socket, or its own queue). Reading the stream then
// skipped whatever the stream had trimmed already (it keeps the last 1,000 or so), and dropped the
// late channel messages as read: every member of the node lost them, silently. That was the
// benchmark's "stall" (BENCHMARKS.md). Here the node's subscriber connection is held back by a
// proxy while a member sends more than the stream keeps, and a check passes meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { RUNTIMES, within } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { RedisProxy } from "./_redis_proxy.ts";
import { joinEcho, startNode } from "./_cluster.ts";

// More than a room's stream keeps at the default history (members.ts: streamLength).
const SENT = 1300;

for (const runtime of RUNTIMES) {
  test(`cluster [${runtime}]: late channel messages are delivered, not skipped for a trimmed stream`, async () => {
    await using redis = await RedisServer.start();
    await using proxy = await RedisProxy.start(redis.port);
    await using node = await startNode(runtime, proxy);
    await using ann = await joinEcho(node.port, "ann");
    const direct = createClient({ url: redis.url });
    await direct.connect();
    try {
      const [seqKey] = await direct.keys("parley:{room:*}:seq");
      const joined = Number(await direct.get(seqKey));
      proxy.holdSubscribers();
      for (let i = 0; i < SENT; i++) ann.send({ type: "msg", text: `m${i}` });
      // Every message numbered by Redis (and the stream trimmed), none yet heard by the node.
      await within(
        (async () => {
          while (Number(await direct.get(seqKey)) < joined + SENT) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        "Redis to number every message",
      );
      assert.ok(Number(await direct.xLen(seqKey.replace(/:seq$/, ":log"))) < SENT);
      // Two of the node's checks begin while its channel is late (the first may have begun before).
      await proxy.asked("}:seq", 2, "the node's check of its rooms");
      proxy.release();
      for (let i = 0; i < SENT; i++) {
        const got = await ann.next(`message m${i}`);
        assert.ok(got !== null, "closed");
        assert.deepEqual([got.type, got.text], ["msg", `m${i}`]);
      }
    } finally {
      await direct.close();
    }
  });
}

for (const runtime of RUNTIMES) {
  test(`cluster [${runtime}]: an event lost on the channel is read from the stream by the check`, async () => {
    await using redis = await RedisServer.start();
    await using node = await startNode(runtime, redis);
    await using ann = await joinEcho(node.port, "ann");
    const direct = createClient({ url: redis.url });
    await direct.connect();
    try {
      const [seqKey] = await direct.keys("parley:{room:*}:seq");
      // What the publish script does, but for the channel message: as if the node never heard it.
      const id = await direct.incr(seqKey);
      const event = {
        t: "msg",
        m: "gone:1",
        n: "zed",
        x: "lost on the way",
        ts: Date.now(),
        r: "lobby",
      };
      await direct.xAdd(seqKey.replace(/:seq$/, ":log"), `${id}-0`, { e: JSON.stringify(event) });
      const got = await ann.next("the event, read from the stream");
      assert.deepEqual([got?.type, got?.from, got?.text, got?.id], ["msg", "zed", event.x, id]);
      // One lost on the channel and gone from the stream too: skipped, but said in the node's log.
      await direct.incr(seqKey);
      const next = await direct.incr(seqKey);
      const after = { ...event, x: "after a gap" };
      await direct.xAdd(seqKey.replace(/:seq$/, ":log"), `${next}-0`, { e: JSON.stringify(after) });
      const then = await ann.next("the event after the gap");
      assert.deepEqual([then?.text, then?.id], [after.x, next]);
      await node.stderr.waitFor(
        new RegExp(`1 event\\(s\\) of lobby \\(ids ${next - 1}-${next - 1}\\) were lost`),
        "the node's log of the lost event",
      );
    } finally {
      await direct.close();
    }
  });
}
