// The cluster's account store and attempt counter against a real redis-server: each change is one
// atomic step that a second node cannot undo, and attempts are counted per key for a minute.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "../../e2e/_redis.ts";
import { RedisLink } from "../../../server/cluster/redis_link.ts";
import { RedisAccountStore, RedisAttemptCounter } from "../../../server/cluster/accounts_store.ts";

async function linked(redis: RedisServer): Promise<AsyncDisposable & { link: RedisLink }> {
  const link = new RedisLink(redis.url, () => {});
  await link.connect();
  return { link, [Symbol.asyncDispose]: () => link.close() };
}

test("redis accounts: added once, changed and dropped only from the hash checked", async () => {
  await using redis = await RedisServer.start();
  await using one = await linked(redis);
  await using two = await linked(redis);
  const a = new RedisAccountStore(one.link);
  const b = new RedisAccountStore(two.link);
  const account = { key: "alice", nick: "Alice", hash: "h1", created: 5 };
  const added = await Promise.all([
    a.add(account, ["alice"]),
    b.add({ ...account, hash: "other" }, ["alice"]),
  ]);
  assert.deepEqual(added.sort(), [false, true], "of two nodes registering at once, one wins");
  const stored = (await b.get("alice"))!;
  assert.equal(stored.nick, "Alice");
  assert.equal(stored.created, 5);
  assert.equal(await b.get("bob"), null);
  assert.equal(await a.setHash("alice", "h2", stored.hash), true);
  assert.equal(await b.setHash("alice", "h3", stored.hash), false, "the old hash is gone");
  assert.equal(await b.remove("alice", stored.hash), false);
  assert.equal(await b.remove("alice", "h2"), true);
  assert.equal(await a.get("alice"), null);
});

test("redis attempts: 3 a key per window, across nodes; a refusal counts nowhere", async () => {
  await using redis = await RedisServer.start();
  await using one = await linked(redis);
  await using two = await linked(redis);
  const windowMs = 400;
  const a = new RedisAttemptCounter(one.link, 3, windowMs);
  const b = new RedisAttemptCounter(two.link, 3, windowMs);
  for (let i = 0; i < 3; i++) assert.equal(await a.attempt(["account:x", `address:h${i}`]), 0);
  const wait = await b.attempt(["address:fresh", "account:x"]);
  assert.ok(wait > 0 && wait <= windowMs, `waits ${wait} ms`);
  // address:fresh was counted, then taken back when account:x refused: it has 3 left.
  for (let i = 0; i < 3; i++) assert.equal(await b.attempt(["address:fresh"]), 0);
  assert.ok(await b.attempt(["address:fresh"]) > 0);
  // A success is forgiven; the window ends and the key may try again.
  assert.equal(await a.attempt(["account:y"]), 0);
  await a.forgive(["account:y"]);
  for (let i = 0; i < 3; i++) assert.equal(await a.attempt(["account:y"]), 0);
  await new Promise((resolve) => setTimeout(resolve, wait + 20));
  assert.equal(await b.attempt(["account:x"]), 0);
});

test("redis accounts: a nick's look-alikes find its account, cannot be added again, go with it", async () => {
  await using redis = await RedisServer.start();
  await using one = await linked(redis);
  const store = new RedisAccountStore(one.link);
  const alice = { key: "alice", nick: "alice", hash: "h1", created: 1 };
  assert.equal(await store.add(alice, ["l:alice", "l:a1ice"]), true);
  assert.equal((await store.lookalike(["l:zzz", "l:a1ice"]))?.nick, "alice");
  assert.equal(await store.lookalike(["l:zzz"]), null);
  // Another nick sharing one look-alike key is refused, and leaves nothing behind.
  const other = { key: "a1ice", nick: "a1ice", hash: "h2", created: 2 };
  assert.equal(await store.add(other, ["l:a1ice", "l:other"]), false);
  assert.equal(await store.get("a1ice"), null);
  assert.equal(await store.lookalike(["l:other"]), null);
  // Every key is under one hash tag, so each script runs on one shard of a Redis Cluster.
  const keys = await one.link.commands.keys("*");
  assert.ok(
    keys.length === 3 && keys.every((key) => key.startsWith("parley:{accounts}:")),
    `${keys}`,
  );
  assert.equal(await store.remove("alice", "h1"), true);
  assert.equal(await store.lookalike(["l:alice", "l:a1ice"]), null);
  assert.deepEqual(await one.link.commands.keys("*"), []);
  assert.equal(await store.add(other, ["l:a1ice", "l:other"]), true, "free once dropped");
});
