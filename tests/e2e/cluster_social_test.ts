// /ignore, /whois and /away on the nodes of a cluster (--redis), end to end with a real
// redis-server and a Deno and a Bun node: an ignore hides room and private messages from members
// of the other node; /whois answers for a member of either node, as one server would, and a
// frozen node's member gets cluster_down in bounded time; /away answers a private message from
// the other node once per away period.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Json,
  LineMember,
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

// The next whois answer to `member`, which must not come after an away answer.
async function whoisAnswer(member: TestMember): Promise<Json> {
  for (;;) {
    const got = await member.next("a whois answer");
    assert.ok(got !== null && got.type !== "away", `not a whois: ${JSON.stringify(got)}`);
    if (got.type === "whois") return got;
  }
}

test("cluster: an ignore holds across nodes", async () => {
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
});

test("cluster: /whois answers for members of either node, never with an address", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using bob = await join(bun.port, { nick: "bob" });
  bob.send({ type: "join", room: "den" });
  await until(bob, { type: "joined", room: "den" });
  bob.send({ type: "msg", room: "lobby", text: "hi" });
  await using ann = await join(deno.port, { nick: "ann" });
  await using _cid = await join(deno.port, { nick: "cid" });

  // bob is on Bun, asked from Deno; cid is on Deno, asked from Deno.
  const before = Date.now();
  ann.send({ type: "whois", nick: "BOB" });
  const bobs = await until(ann, { type: "whois" });
  assert.deepEqual(Object.keys(bobs).sort(), [
    "idle",
    "mode",
    "nick",
    "rooms",
    "since",
    "transport",
    "type",
  ]);
  assert.equal(bobs.nick, "bob");
  assert.deepEqual(bobs.rooms, ["lobby", "den"]);
  assert.equal(bobs.transport, "tcp");
  assert.equal(bobs.mode, "native");
  assert.ok(Number(bobs.since) <= before && Number(bobs.since) > before - 60_000);
  assert.ok(Number(bobs.idle) >= 0 && Number(bobs.idle) < 60);
  ann.send({ type: "whois", nick: "cid" });
  const cids = await until(ann, { type: "whois" });
  assert.equal(cids.nick, "cid");
  assert.deepEqual(cids.rooms, ["lobby"]);
  ann.send({ type: "whois", nick: "nobody" });
  const none = await until(ann, { type: "error" });
  assert.equal(none.code, "no_such_nick", JSON.stringify(none));
  assert.equal(none.message, "Nobody here is called nobody");

  // At nc, on Bun, about ann on Deno: one line.
  const { member: line } = await LineMember.join(bun.port);
  await using _line = line;
  line.say("/whois ann");
  await line.lines.waitFor(
    /^\*\*\* ann \(not identified\), in lobby; here since \d\d:\d\d, idle \d+ s; over tcp, native mode$/,
    "ann's whois line",
  );

  // A node that does not answer (stopped, its lease not yet run out): cluster_down, in time.
  await bun.holdUp(3000, () => ann.send({ type: "whois", nick: "bob" }));
  const late = await until(ann, { type: "error" });
  assert.equal(late.code, "cluster_down", JSON.stringify(late));
  assert.equal(late.message, "The server that serves bob did not answer within 2 s; try again");
});

test("cluster: /away answers a private message from the other node, once per away period", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using bob = await join(bun.port, { nick: "bob" });
  await using ann = await join(deno.port, { nick: "ann" });
  bob.send({ type: "away", text: "at lunch" });
  await until(bob, { type: "notice", text: "you are away: at lunch" });

  ann.send({ type: "msg", to: "bob", text: "one" });
  assert.deepEqual(await until(ann, { type: "away" }), {
    type: "away",
    nick: "bob",
    text: "at lunch",
  });
  ann.send({ type: "msg", to: "bob", text: "two" });
  await until(bob, { type: "msg", text: "two" });
  // The node channel keeps order: had "two" been answered, the answer would come before whois's.
  ann.send({ type: "whois", nick: "bob" });
  assert.equal((await whoisAnswer(ann)).away, "at lunch");

  // From bob's own node too, where the answer needs no channel.
  await using dee = await join(bun.port, { nick: "dee" });
  dee.send({ type: "msg", to: "bob", text: "next door" });
  assert.equal((await until(dee, { type: "away" })).text, "at lunch");

  // Back, and away again: a new period, answered again; at nc, a line.
  bob.send({ type: "away" });
  await until(bob, { type: "notice", text: "you are back" });
  bob.send({ type: "away", text: "gone home" });
  await until(bob, { type: "notice", text: "you are away: gone home" });
  const { member: line } = await LineMember.join(deno.port);
  await using _line = line;
  line.say("/msg bob three");
  await line.lines.waitFor("*** bob is away: gone home", "the away line");
  ann.send({ type: "msg", to: "bob", text: "four" });
  assert.equal((await until(ann, { type: "away" })).text, "gone home");

  // One who is ignored learns nothing of the away message.
  bob.send({ type: "ignore", nick: "ann" });
  await until(bob, { type: "ignoring" });
  bob.send({ type: "away", text: "busy" });
  await until(bob, { type: "notice", text: "you are away: busy" });
  ann.send({ type: "msg", to: "bob", text: "five" });
  ann.send({ type: "whois", nick: "bob" });
  assert.equal((await whoisAnswer(ann)).away, "busy");
});
