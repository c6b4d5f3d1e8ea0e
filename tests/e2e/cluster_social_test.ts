// /ignore, /whois and /away on the nodes of a cluster (--redis), end to end with a real
// redis-server and a Deno and a Bun node: an ignore hides room and private messages from members
// of the other node, and /whois and /away, which would need every node's members, are refused
// with not_in_cluster rather than answered wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Json,
  LOOPBACK_ARGS,
  type RuntimeName,
  ServerProcess,
  TestMember,
} from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";

function startNode(runtime: RuntimeName, redis: RedisServer) {
  return ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", "--redis", redis.url]);
}

async function join(port: number, hello: Json): Promise<TestMember> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", ...hello });
  await member.expect({ type: "welcome" });
  return member;
}

// The next message from `member` with `fields`, past joins and the like.
async function until(member: TestMember, fields: Json): Promise<Json> {
  for (;;) {
    const got = await member.next(JSON.stringify(fields));
    if (got === null) throw new Error(`closed waiting for ${JSON.stringify(fields)}`);
    if (Object.entries(fields).every(([key, value]) => got[key] === value)) return got;
  }
}

test("cluster: an ignore holds across nodes; /whois and /away say they are not there yet", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using bob = await join(bun.port, { nick: "bob" });
  await using cid = await join(bun.port, { nick: "cid" });
  bob.send({ type: "msg", text: "bob, before" });
  await until(cid, { type: "msg", from: "bob" });

  await using ann = await join(deno.port, { nick: "ann", ignore: ["bob"] });
  bob.send({ type: "msg", text: "bob: hidden" });
  bob.send({ type: "msg", to: "ann", text: "bob: hidden too" });
  await until(cid, { type: "msg", text: "bob: hidden" });
  cid.send({ type: "msg", text: "cid: shown" });
  // Not the history (bob's only) nor bob's live lines: cid's line is the first ann hears.
  await until(ann, { type: "msg" }).then((got) => assert.equal(got.text, "cid: shown"));

  ann.send({ type: "unignore", nick: "bob" });
  assert.deepEqual((await until(ann, { type: "ignoring" })).nicks, []);
  bob.send({ type: "msg", to: "ann", text: "bob: seen" });
  assert.equal((await until(ann, { type: "msg" })).text, "bob: seen");

  for (const input of [{ type: "whois", nick: "bob" }, { type: "away", text: "out" }]) {
    ann.send(input);
    const refused = await until(ann, { type: "error" });
    assert.equal(refused.code, "not_in_cluster", JSON.stringify(refused));
  }
});
