// An ignore follows the person through a rename on the nodes of a cluster as on one server
// (ignore_renames_test.ts): two Deno nodes and a Bun node on a real redis-server. When bob, on
// Bun, becomes bob2, ann on a Deno node, in his room, and dave on the other, which serves none of
// his rooms, ignore bob2 instead and are sent their new lists; bob2 is not heard by them, and
// whoever takes bob next is.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { joinEcho, startNode, until } from "./_cluster.ts";

test("cluster ignore renames: an ignore follows bob to bob2 on the other node, in his rooms or not", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using other = await startNode("deno", redis);
  await using bob = await joinEcho(bun.port, "bob");
  await using ann = await joinEcho(deno.port, "ann");
  ann.send({ type: "ignore", nick: "bob" });
  assert.deepEqual((await until(ann, { type: "ignoring" })).nicks, ["bob"]);
  await using dave = await TestMember.connect(other.port);
  dave.send({ type: "hello", nick: "dave", room: "den", ignore: ["bob"] });
  await dave.expect({ type: "welcome", nick: "dave" });
  await using carol = await joinEcho(bun.port, "carol", { room: "den" });

  bob.send({ type: "nick", nick: "bob2" });
  await until(ann, { type: "nick", from: "bob", nick: "bob2" });
  assert.deepEqual((await until(ann, { type: "ignoring" })).nicks, ["bob2"]);
  assert.deepEqual((await until(dave, { type: "ignoring" })).nicks, ["bob2"]);

  // bob2 is not heard, in lobby, in den, or privately; carol, in den, is.
  bob.send({ type: "msg", text: "still me" });
  bob.send({ type: "join", room: "den" });
  await until(bob, { type: "joined", room: "den" });
  bob.send({ type: "msg", room: "den", text: "me in den" });
  bob.send({ type: "msg", to: "dave", text: "psst" });
  bob.send({ type: "msg", to: "ann", text: "psst" });
  await until(bob, { type: "msg", room: "den", text: "me in den" });
  bob.send({ type: "msg", text: "last from bob2" });
  await until(bob, { type: "msg", text: "last from bob2" });
  carol.send({ type: "msg", text: "after bob2" });
  const nextForDave = await until(dave, { type: "msg" });
  assert.equal(nextForDave.text, "after bob2", "dave heard bob2");
  ann.send({ type: "ping" });
  for (let got = await ann.next(); got?.type !== "pong"; got = await ann.next()) {
    assert.notEqual(got?.from, "bob2", `ann heard bob2: ${JSON.stringify(got)}`);
  }

  // Whoever takes the nick bob now is someone else, and is heard.
  await using newBob = await joinEcho(bun.port, "bob", { room: "den" });
  newBob.send({ type: "msg", room: "den", text: "a new bob" });
  await until(dave, { type: "msg", from: "bob", text: "a new bob" });
});
