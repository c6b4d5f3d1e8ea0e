// An operator acts on the room as its node shows it: a member whose join it saw can be kicked at
// once, wherever that member is. The member's own node may not have finished taking it in yet: a
// node hears the room's events on one connection and the answer to its own publish of the join on
// another, and a busy node may read the event, and even the operator's request after it, first.
// That node answered "Nobody in lobby is called bob" (the flaky kick in cluster_moderation_test
// under load). Here a proxy holds the answers to that node's commands from the join on, until the
// operator's request has reached it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIMES, TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { RedisProxy } from "./_redis_proxy.ts";
import { startNode, until } from "./_cluster.ts";
import { identified } from "./_moderation.ts";

const OPERATOR = ["--operator", "root"];
// How long the proxy holds the answers once the request is there: a node that answers the
// request at once (the fault) has answered well within it.
const HELD_MS = 200;

for (const runtime of RUNTIMES) {
  const other = runtime === "deno" ? "bun" : "deno";
  test(`cluster moderation: a kick reaches a ${runtime} node's member whose join it had not finished`, async () => {
    await using redis = await RedisServer.start(true);
    await using proxy = await RedisProxy.start(redis.port);
    await using a = await startNode(other, redis, OPERATOR);
    await using b = await startNode(runtime, proxy, OPERATOR);
    await using root = await identified(a.port, "root");
    await using carol = await TestMember.join(b.port, "carol");
    await until(root, { type: "join", nick: "carol" });

    proxy.holdAnswers(/join \S+ bob \{/, /"kind":"act"/, { graceMs: HELD_MS });
    await using bob = await TestMember.connect(b.port);
    bob.send({ type: "hello", nick: "bob" });
    await until(root, { type: "join", nick: "bob" });
    root.send({ type: "kick", nick: "bob", reason: "now" });
    const told = await root.next("the kick's announcement, or an error");
    assert.deepEqual(told, { type: "notice", text: "bob was kicked by root (now)" });
    await until(bob, { type: "welcome", nick: "bob" });
    await until(bob, {
      type: "error",
      code: "kicked",
      message: "You were kicked from lobby by root (now)",
    });
    await until(carol, { type: "notice", text: "bob was kicked by root (now)" });
    await carol.expect({ type: "leave", nick: "bob" });
  });
}
