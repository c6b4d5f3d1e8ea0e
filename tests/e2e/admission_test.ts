// Who gets in and what it costs, end to end on Deno and Bun: connections that never join, history
// requests priced by their work, and a server at its file-descriptor limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type Json,
  NO_WEB,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  startQuietServer,
  TestMember,
  within,
} from "./_helpers.ts";

/** Sends a history request and returns the whole reply, history_end (or an error) included. */
async function askHistory(member: TestMember, request: Json): Promise<Json[]> {
  member.send({ type: "history", ...request });
  const reply: Json[] = [];
  while (true) {
    const message = await member.next("the history reply");
    if (message === null) throw new Error("connection closed during a history reply");
    reply.push(message);
    if (message.type === "history_end" || message.type === "error") return reply;
  }
}

/** A quiet server on 127.0.0.1 that may open at most `openFiles` files, sockets included. */
async function startWithOpenFiles(
  runtime: RuntimeName,
  openFiles: number,
  args: string[],
): Promise<ServerProcess> {
  const server = scriptCommand(runtime, "server.ts", [
    ...["--port", "0", "--host", "127.0.0.1", "--quiet", ...NO_WEB, ...args],
  ]);
  const limited = ["/bin/sh", "-c", `ulimit -n ${openFiles} && exec "$@"`, "sh", ...server];
  const process = new ServerProcess(limited);
  const line = await process.stdout.waitFor(/^listening on /, "the listening line");
  process.port = Number(line.slice(line.lastIndexOf(":") + 1));
  return process;
}

/** CPU time (user and system, in clock ticks of 1/100 s) that process `pid` has used so far. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** How a connection that says hello ends up: served, or turned away with `code` and closed. */
async function knock(port: number, nick: string): Promise<TestMember | string> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", nick });
  const answer = await member.next(`an answer to ${nick}`);
  if (answer?.type === "welcome") return member;
  const rest = await member.untilClosed();
  await member[Symbol.asyncDispose]();
  if (answer?.type !== "error" || rest.length > 0) {
    return `unexpected: ${JSON.stringify([answer, ...rest])}`;
  }
  return answer.code as string;
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `admission [${runtime}] ${behaviour}`;

  // --- connections that never join ---

  test(name("tells a connection that has not joined nothing of the rooms"), async () => {
    await using server = await startQuietServer(runtime);
    await using _alice = await TestMember.join(server.port, "alice", "secret-plans");
    await using mallory = await TestMember.connect(server.port);
    mallory.send({ type: "rooms" });
    const answer = await mallory.next("the answer to rooms");
    assert.equal(answer?.type, "error", JSON.stringify(answer));
    assert.equal(answer?.code, "not_joined");
    // Once in, it may look.
    mallory.send({ type: "hello", nick: "mallory" });
    await mallory.expect({ type: "welcome" });
    mallory.send({ type: "rooms" });
    const rooms = await mallory.expect({ type: "rooms" });
    assert.deepEqual(rooms.rooms, [
      { name: "lobby", members: 1 },
      { name: "secret-plans", members: 1 },
    ]);
    assert.equal(await server.stop(), 0);
  });

  test(name("closes a connection that pings but never joins, with hello_timeout"), async () => {
    await using server = await startQuietServer(runtime, ["--hello-timeout", "1"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using mallory = await TestMember.connect(server.port);
    const startedAt = Date.now();
    // Well within --rate, and each ping answered: busy, never silent, never joined.
    mallory.send({ type: "ping" });
    const pinger = setInterval(() => mallory.send({ type: "ping" }), 200);
    try {
      const answers = await within(mallory.untilClosed(), "mallory to be closed", 8_000);
      const last = answers.at(-1);
      assert.equal(last?.code, "hello_timeout", JSON.stringify(answers.slice(-3)));
      assert.ok(answers.slice(0, -1).every((answer) => answer.type === "pong"));
      assert.ok(Date.now() - startedAt >= 1_000, "not before --hello-timeout");
    } finally {
      clearInterval(pinger);
    }
    // A refused hello is not a join either; the one who joined stays.
    await using eve = await TestMember.connect(server.port);
    eve.send({ type: "hello", nick: "alice" });
    await eve.expect({ type: "error", code: "nick_taken" });
    assert.deepEqual((await eve.untilClosed()).map((answer) => answer.code), ["hello_timeout"]);
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    assert.equal(await server.stop(), 0);
  });

  // --- history, priced by its work ---

  test(name("pages history replies and charges them by the messages they hold"), async () => {
    await using server = await startQuietServer(runtime, ["--history", "1000"]);
    await using reader = await TestMember.join(server.port, "reader");
    const sayers: TestMember[] = [];
    try {
      for (let s = 0; s < 11; s++) sayers.push(await TestMember.join(server.port, `sayer${s}`));
      for (const [s, sayer] of sayers.entries()) {
        for (let i = 0; i < 20; i++) sayer.send({ type: "msg", text: `${s}.${i}` });
      }
      for (let heard = 0, seen = 0; heard < 220 && seen < 1000; seen++) {
        const message = await reader.next("the 220 messages");
        if (message?.type === "msg") heard++;
      }
    } finally {
      for (const sayer of sayers) await sayer[Symbol.asyncDispose]();
    }

    const ids = (reply: Json[]) => reply.filter((m) => m.type === "msg").map((m) => m.id);
    const first = await askHistory(reader, { room: "lobby", after: 0 });
    assert.deepEqual(ids(first), Array.from({ length: 200 }, (_, i) => i + 1));
    assert.deepEqual(first.at(-1), { type: "history_end", room: "lobby", more: true });
    const rest = await askHistory(reader, { room: "lobby", after: 200 });
    assert.deepEqual(ids(rest), Array.from({ length: 20 }, (_, i) => i + 201));
    assert.deepEqual(rest.at(-1), { type: "history_end", room: "lobby" });
    const few = await askHistory(reader, { room: "lobby", after: 100, limit: 3 });
    assert.deepEqual(ids(few), [101, 102, 103]);
    assert.equal(few.at(-1)?.more, true);
    const [refused] = await askHistory(reader, { room: "lobby", after: 0, limit: 0 });
    assert.equal(refused.code, "bad_message");

    // Each full page costs 11 inputs at --rate 10: five in a row take seconds, not milliseconds.
    const startedAt = Date.now();
    for (let i = 0; i < 5; i++) {
      assert.equal(ids(await askHistory(reader, { room: "lobby", after: 0 })).length, 200);
    }
    const tookMs = Date.now() - startedAt;
    assert.ok(tookMs >= 1_500, `five pages took ${tookMs} ms`);
    // Slowed, never warned or closed for it.
    reader.send({ type: "ping" });
    await reader.expect({ type: "pong" });
    assert.equal(await server.stop(), 0);
  });

  // --- the file-descriptor limit ---

  test(
    name("caps --max-clients to the open-files limit and answers every connection past it"),
    async () => {
      await using server = await startWithOpenFiles(runtime, 128, ["--max-per-address", "0"]);
      const served: TestMember[] = [];
      const refused: string[] = [];
      try {
        // In waves of ten: more at once than the room kept for refusals would be closed unanswered.
        for (let wave = 0; wave < 20; wave++) {
          const nicks = Array.from({ length: 10 }, (_, i) => `m${wave * 10 + i}`);
          for (const outcome of await Promise.all(nicks.map((nick) => knock(server.port, nick)))) {
            if (typeof outcome === "string") refused.push(outcome);
            else served.push(outcome);
          }
        }
        // Told once, at the start, and kept to.
        const capped = await server.stderr.waitFor(/^server: serving at most \d+ connections/);
        const maxClients = Number(/at most (\d+)/.exec(capped)![1]);
        assert.ok(maxClients > 40 && maxClients < 128, capped);
        assert.equal(served.length, maxClients);
        assert.deepEqual(new Set(refused), new Set(["too_many_connections"]));
        assert.equal(served.length + refused.length, 200);
        // Full, and idle: no accept is retried in a loop.
        const before = cpuTicks(server.child.pid!);
        const second = new Promise((resolve) => setTimeout(resolve, 1000));
        await second;
        const used = cpuTicks(server.child.pid!) - before;
        assert.ok(used < 25, `the server used ${used}% of a core while full and idle`);
        // Those served are served still: the first says something, and the last hears it.
        served[0].send({ type: "msg", text: "still here" });
        const last = served.at(-1)!;
        let heard = await last.next("the first one's message");
        for (let skipped = 0; heard?.type !== "msg" && skipped < 200; skipped++) {
          heard = await last.next("the first one's message");
        }
        assert.equal(heard?.text, "still here");
      } finally {
        for (const member of served) await member[Symbol.asyncDispose]();
      }
      assert.equal(await server.stop(), 0);
    },
  );
}
