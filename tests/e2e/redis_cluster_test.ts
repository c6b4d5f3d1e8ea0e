// Nodes on a real Redis Cluster (--redis-cluster): rooms are spread over the shards by their hash
// tag, their events go by sharded pub/sub, and members of a Deno and a Bun node still see each
// room's events in one order, and find each other across nodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Json, scriptCommand, Subprocess, type TestMember } from "./_helpers.ts";
import { RedisCluster } from "./_redis_cluster.ts";
import { joinEcho, startNode, until } from "./_cluster.ts";

const ROOMS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

// The room messages `member` receives until `count` have come, as "from:text#id" by room.
async function byRoom(member: TestMember, count: number): Promise<Map<string, string[]>> {
  const rooms = new Map<string, string[]>();
  for (let seen = 0; seen < count;) {
    const got: Json | null = await member.next(`message ${seen + 1} of ${count}`);
    if (got === null) throw new Error(`closed after ${seen} messages`);
    if (got.type !== "msg") continue;
    const room = String(got.room);
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room)!.push(`${got.from}:${got.text}#${got.id}`);
    seen++;
  }
  return rooms;
}

// Each of `members` joins every one of ROOMS, in turn.
async function joinAll(members: TestMember[]): Promise<void> {
  for (const room of ROOMS) {
    for (const member of members) {
      member.send({ type: "join", room });
      await until(member, { type: "joined", room });
    }
  }
}

test("redis cluster: rooms spread over three shards, one order on a Deno and a Bun node", async () => {
  await using redis = await RedisCluster.start();
  await using deno = await startNode("deno", redis, ["--redis-cluster"]);
  await using bun = await startNode("bun", redis, ["--redis-cluster"]);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await joinAll([ann, bea]);
  // Everyone is in everywhere before anyone speaks: bea's last join, as ann sees it.
  for (let got = await ann.next(); got?.room !== ROOMS.at(-1) || got?.type !== "join";) {
    got = await ann.next();
  }
  const PER_ROOM = 20;
  for (let i = 0; i < PER_ROOM; i++) {
    for (const room of ROOMS) {
      ann.send({ type: "msg", room, text: `ann ${i}` });
      bea.send({ type: "msg", room, text: `bea ${i}` });
    }
  }
  const total = 2 * PER_ROOM * ROOMS.length;
  const [a, b] = await Promise.all([byRoom(ann, total), byRoom(bea, total)]);
  for (const room of ROOMS) {
    assert.equal(a.get(room)?.length, 2 * PER_ROOM, `ann has all of ${room}`);
    assert.deepEqual(b.get(room), a.get(room), `bea (Bun) sees ${room} in ann's (Deno) order`);
  }

  // Across nodes: who is in a room, and a private message.
  bea.send({ type: "who", room: "alpha" });
  const who = await until(bea, { type: "who" });
  assert.deepEqual([...(who.members as string[])].sort(), ["ann", "bea"]);
  ann.send({ type: "msg", to: "bea", text: "psst" });
  await until(bea, { type: "msg", from: "ann", to: "bea", text: "psst" });

  // The rooms live on more than one shard, and their events went by sharded pub/sub there.
  const shardsWithRooms = redis.ports.filter((port) =>
    /cmdstat_spublish:calls=[1-9]/.test(redis.cli(port, "INFO", "commandstats"))
  );
  assert.ok(shardsWithRooms.length >= 2, `rooms published on ${shardsWithRooms.length} shard(s)`);
  for (const port of redis.ports) {
    assert.doesNotMatch(redis.cli(port, "INFO", "commandstats"), /cmdstat_publish:/);
  }
});

test("redis cluster: --redis-cluster without --redis is a usage error, in one line", async () => {
  await using server = new Subprocess(scriptCommand("deno", "server.ts", ["--redis-cluster"]));
  assert.equal(await server.exitCode(), 2);
  assert.match(String(await server.stderr.next()), /--redis-cluster needs --redis URL/);
});

// Which master holds `room`'s keys: the one that answers for its member list without a MOVED.
function shardOf(redis: RedisCluster, room: string): number {
  const key = `parley:{room:${room}}:members`;
  const port = redis.ports.find((port) => redis.cli(port, "EXISTS", key).trim() === "1");
  assert.ok(port !== undefined, `no shard holds ${room}`);
  return port;
}

test("redis cluster: a shard that crashes refuses its rooms' messages, the others go on, and it comes back", async () => {
  await using redis = await RedisCluster.start();
  await using deno = await startNode("deno", redis, ["--redis-cluster"]);
  await using bun = await startNode("bun", redis, ["--redis-cluster"]);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await joinAll([ann, bea]);
  const lobby = shardOf(redis, "lobby");
  const dead = ROOMS.find((room) => shardOf(redis, room) !== lobby)!;
  const victim = shardOf(redis, dead);
  const live = ROOMS.find((room) => shardOf(redis, room) !== victim)!;
  bea.send({ type: "msg", room: dead, text: "before" });
  const before = await until(ann, { type: "msg", room: dead, text: "before" });
  await until(bea, { type: "msg", room: dead, text: "before" });

  // cid is in that room only, and leaves while its shard is down.
  const cid = await joinEcho(deno.port, "cid", { room: dead });
  await until(bea, { type: "join", nick: "cid", room: dead });

  await redis.kill(victim);
  ann.send({ type: "msg", room: dead, text: "lost?" });
  const refused = await until(ann, { type: "error" });
  assert.equal(refused.code, "cluster_down", `${dead}'s message is refused, not sent to a few`);
  bea.send({ type: "msg", room: live, text: "still here" });
  for (const member of [ann, bea]) {
    await until(member, { type: "msg", room: live, text: "still here" });
  }

  await cid[Symbol.asyncDispose]();
  await redis.restart(victim);
  // Its leave, which could not be published, goes once the shard is back (the link as a whole
  // stayed up meanwhile).
  await until(bea, { type: "leave", nick: "cid", room: dead });
  // Its append-only file kept the room's numbering: the next message follows "before" and cid's
  // join and leave, once, and reaches the other node through the sharded subscription made again.
  ann.send({ type: "msg", room: dead, text: "after" });
  for (const member of [ann, bea]) {
    const after = await until(member, { type: "msg", room: dead });
    assert.equal(after.text, "after", `${dead} saw nothing between "before" and "after"`);
    assert.equal(after.id, Number(before.id) + 3, "numbered after cid's join and leave");
  }
});
