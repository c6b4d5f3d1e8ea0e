// A member who leaves a cluster node lets go of its nick only once its rooms have its leave: else
// someone could take the nick and join before the leave is in, and the room would show "ann
// joined, ann left" with ann in it. A rename lets go of the old nick the same way, once its rooms
// have the rename. The order is what Redis ran, as its MONITOR tells it (each command a script
// runs is listed as it runs), on a Deno node and on a Bun node.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { LineReader, RUNTIMES, within } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { joinEcho, startNode, until } from "./_cluster.ts";

/** A connection to `redis` in MONITOR mode: a line for every command Redis runs from then on. */
async function monitor(redis: RedisServer): Promise<AsyncDisposable & { lines: LineReader }> {
  const socket = net.connect(redis.port, "127.0.0.1");
  const lines = new LineReader(socket);
  socket.write("MONITOR\r\n");
  await lines.waitFor("+OK", "MONITOR to start");
  return {
    lines,
    [Symbol.asyncDispose]: async () => {
      socket.destroy();
      await within(new Promise((resolve) => socket.once("close", resolve)), "MONITOR to close");
    },
  };
}

/**
 * What Redis ran, as MONITOR lists it, until ann's lease was let go: "room" for each line that
 * `roomStep` matches (the publish script's change to the room's members), then "release".
 */
async function untilReleased(watch: { lines: LineReader }, roomStep: RegExp): Promise<string[]> {
  const ran: string[] = [];
  const release = /\[\d+ lua\] "DEL" "parley:\{nicks\}:nick:n:ann"/;
  while (!ran.includes("release")) {
    const line = await watch.lines.waitFor(/lua\] "(HSET|HDEL|DEL)"/, "ann's lease let go");
    if (roomStep.test(line)) ran.push("room");
    if (release.test(line)) ran.push("release");
  }
  return ran;
}

for (const runtime of RUNTIMES) {
  test(`cluster: a member leaving a ${runtime} node lets go of its nick after its leave is in`, async () => {
    await using redis = await RedisServer.start();
    await using node = await startNode(runtime, redis);
    await using bea = await joinEcho(node.port, "bea");
    // amy becomes ann: her node has let go of a nick once, so it can do so at once from now on.
    await using ann = await joinEcho(node.port, "amy");
    await until(bea, { type: "join", nick: "amy" });
    ann.send({ type: "nick", nick: "ann" });
    await until(bea, { type: "nick", from: "amy", nick: "ann" });
    await using watch = await monitor(redis);
    await ann[Symbol.asyncDispose]();
    await until(bea, { type: "leave", nick: "ann" });
    // The publish script takes her out of the room's members; the release deletes her lease.
    const leave = /\[\d+ lua\] "HDEL" "parley:\{room:[^}]*\}:members"/;
    assert.deepEqual(await untilReleased(watch, leave), ["room", "release"], "the leave first");
  });
}

for (const runtime of RUNTIMES) {
  test(`cluster: a member renamed on a ${runtime} node lets go of its old nick after its rooms have the rename`, async () => {
    await using redis = await RedisServer.start();
    await using node = await startNode(runtime, redis);
    await using bea = await joinEcho(node.port, "bea");
    await using ann = await joinEcho(node.port, "ann");
    await until(bea, { type: "join", nick: "ann" });
    await using watch = await monitor(redis);
    ann.send({ type: "nick", nick: "cleo" });
    await until(bea, { type: "nick", from: "ann", nick: "cleo" });
    // The publish script renames her in the room's members; the release deletes ann's lease.
    const rename = /\[\d+ lua\] "HSET" "parley:\{room:[^}]*\}:members" "[^"]+" "cleo"/;
    assert.deepEqual(await untilReleased(watch, rename), ["room", "release"], "the rename first");
  });
}
