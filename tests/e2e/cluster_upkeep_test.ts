// What a node's upkeep costs Redis: its members' nick leases hold under the node's own presence,
// so renewing them is one command a tick for the node, not one script per member.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { LEASE_S, startNode } from "./_cluster.ts";

// Every command Redis ran since the last CONFIG RESETSTAT, by name.
function commandCounts(port: number): Map<string, number> {
  const info = execFileSync("redis-cli", ["-p", String(port), "INFO", "commandstats"], {
    encoding: "utf8",
  });
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "config|resetstat") counts.set(match[1], Number(match[2]));
  }
  return counts;
}

test("cluster: a node renews the nicks of all its members with one command a tick", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  const MEMBERS = 40; // on each node
  const ROOMS = 4;
  const members: TestMember[] = [];
  try {
    for (let i = 0; i < MEMBERS; i++) {
      for (const [node, name] of [[deno, "d"], [bun, "b"]] as const) {
        members.push(await TestMember.join(node.port, `${name}${i}`, `room${i % ROOMS}`));
      }
    }
    execFileSync("redis-cli", ["-p", String(redis.port), "CONFIG", "RESETSTAT"]);
    // Three ticks of each node (a tick every third of a lease), and a little more.
    const TICKS = 3;
    await new Promise((resolve) => setTimeout(resolve, LEASE_S * 1000 * (TICKS + 0.5) / 3));
    const counts = commandCounts(redis.port);
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    assert.equal(counts.get("evalsha") ?? 0, 0, `no script while nobody talks: ${[...counts]}`);
    // Per tick a node renews its presence, lists the nodes, asks whether the other is present,
    // and reads each of its rooms' last ids, then pings its subscriber connection (the check for a
    // lost event): nothing per member.
    const perTick = 2 + 2 + ROOMS + 1;
    assert.ok(total <= 2 * (TICKS + 1) * perTick, `${total} commands: ${[...counts]}`);
  } finally {
    for (const member of members) await member[Symbol.asyncDispose]();
  }
});
