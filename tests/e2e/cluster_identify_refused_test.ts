// Proving an account is all or nothing on the nodes of a cluster too (identify_refused_test.ts has
// one server): a hello with the right password that a node refuses for its room leaves the
// connection unidentified, so its next hello, under another nick, is nobody's account. A Deno node
// and a Bun node on a real redis-server with AOF, which registering needs.
import { test } from "node:test";
import { TestMember } from "./_helpers.ts";
import { identifyIntoBan, refusedForItsRoom } from "./_moderation.ts";
import { RedisServer } from "./_redis.ts";
import { joinEcho, startNode, until } from "./_cluster.ts";

test("cluster identify refused: a hello refused for its room does not identify the next one", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis, ["--identify-grace", "0"]);
  await using bun = await startNode("bun", redis, ["--identify-grace", "0"]);
  {
    await using owner = await joinEcho(deno.port, "mallory");
    owner.send({ type: "register", password: "mallory-password" });
    await until(owner, {
      type: "notice",
      text: "mallory is registered to you; next time, /login mallory PASSWORD",
    });
  }
  await using root = await joinEcho(deno.port, "root");
  for (const port of [bun.port, deno.port]) {
    await using other = await TestMember.connect(port);
    await refusedForItsRoom(other, root);
  }
});

test("cluster identify refused: /identify on one node for an account banned from the other is refused", async () => {
  await using redis = await RedisServer.start(true);
  const operator = ["--operator", "root"];
  await using deno = await startNode("deno", redis, operator);
  await using bun = await startNode("bun", redis, operator);
  // Registered and banned on Deno, proved on Bun.
  const { root, greeted } = await identifyIntoBan({
    carol: deno.port,
    root: deno.port,
    greeted: bun.port,
  });
  await using _root = root;
  await using _greeted = greeted;
});
