// A rename on a cluster node is over once the node has delivered it, as on a single server: what
// the renamed member is told next comes after its own `nick` message. The node hears Redis's answer
// to a publish on one connection and the event itself on another, its subscriber; here a proxy
// slows the subscriber's side, as a busy network or a loaded machine can, so that the answer always
// comes first. Before, `/login`'s `you are identified as` came before `X is now known as`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LineMember, RUNTIMES, TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { RedisProxy } from "./_redis_proxy.ts";
import { startNode } from "./_cluster.ts";

/** How much later the proxy passes on what Redis sends to a subscriber. */
const SUBSCRIBER_DELAY_MS = 300;

for (const runtime of RUNTIMES) {
  test(`cluster: on a ${runtime} node, /login renames before it says who you are`, async () => {
    await using redis = await RedisServer.start(true);
    await using proxy = await RedisProxy.start(redis.port, SUBSCRIBER_DELAY_MS);
    await using node = await startNode(runtime, proxy);
    {
      await using owner = await TestMember.connect(node.port);
      owner.send({ type: "hello", nick: "alice" });
      await owner.expect({ type: "welcome", nick: "alice" });
      owner.send({ type: "register", password: "her-pw" });
      await owner.expect({ type: "notice" });
    }
    const { member: line, nick } = await LineMember.join(node.port);
    await using _line = line;
    line.say("/login alice her-pw");
    const told: string[] = [];
    for (;;) {
      const said = await line.lines.waitFor(/^\*\*\* /, "the rename and the notice");
      told.push(said);
      if (said.includes("identified")) break;
    }
    assert.deepEqual(told.slice(-2), [
      `*** ${nick} is now known as alice`,
      "*** you are identified as alice",
    ]);
  });
}
