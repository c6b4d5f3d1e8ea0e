// Two nodes changing one room's record at the same moment, through the Redis moderation store each
// node has (server/cluster/moderation_store.ts) on a real redis-server: an /op on one and an /op or
// a /topic on the other both hold, where writing the whole record would keep only the last.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RedisServer } from "./_redis.ts";
import { RedisLink } from "../../server/cluster/redis_link.ts";
import { RedisModerationStore } from "../../server/cluster/moderation_store.ts";
import { Moderation } from "../../server/moderation.ts";

// A node's moderation, as far as rooms go: its own link to Redis, and what it read at start.
async function nodeModeration(url: string) {
  const link = new RedisLink(url, () => {});
  await link.connect();
  const moderation = await Moderation.open(new RedisModerationStore(link, () => {}), []);
  return { moderation, [Symbol.asyncDispose]: () => link.close() };
}

test("cluster moderation rooms: an /op and an /op, or a /topic, at once on two nodes both hold", async () => {
  await using redis = await RedisServer.start();
  await using first = await nodeModeration(redis.url);
  await first.moderation.claim("den", "den", "alice");
  await using second = await nodeModeration(redis.url);
  const [a, b] = [first.moderation, second.moderation];

  // Each makes its change from the record as it read it: {owner alice, no ops}.
  await Promise.all([a.setOp("den", "carol", true), b.setOp("den", "dave", true)]);
  await Promise.all([
    a.setTopic("den", "den", { text: "tea", by: "carol", at: 1 }),
    b.setOp("den", "erin", true),
  ]);

  await using third = await nodeModeration(redis.url);
  const kept = third.moderation.room("den")!;
  assert.equal(kept.owner, "alice");
  assert.deepEqual([...kept.ops].sort(), ["carol", "dave", "erin"]);
  assert.equal(kept.topic?.text, "tea");

  // A claim made from a record that another node claimed meanwhile is refused as claimed.
  await using fourth = await nodeModeration(redis.url);
  await using fifth = await nodeModeration(redis.url);
  const claims = await Promise.allSettled([
    fourth.moderation.claim("attic", "attic", "bob"),
    fifth.moderation.claim("attic", "attic", "cid"),
  ]);
  assert.deepEqual(claims.map((claim) => claim.status).sort(), ["fulfilled", "rejected"]);
  const refused = claims.find((claim) => claim.status === "rejected") as PromiseRejectedResult;
  assert.equal(refused.reason.code, "already_claimed");
});
