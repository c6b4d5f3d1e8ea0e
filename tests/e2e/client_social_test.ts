// The terminal client's /ignore, /whois and /away end to end, on both runtimes: a real client
// subprocess on pipes, a real server, members over real sockets. The nicks it ignores are kept in
// its --ignore-file and sent in every hello, so that they stay hidden across a reconnect (history
// replayed included) and across a restart of the client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  remainingLines,
  RUNTIMES,
  scriptCommand,
  startQuietServer,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { Proxy } from "./_fake_server.ts";

function startClient(runtime: string, port: number, args: string[]): Subprocess {
  return new Subprocess(
    scriptCommand(runtime as "deno", "client.ts", ["127.0.0.1", String(port), ...args]),
  );
}

// The next message from `member` with `fields`, past any others: bob's and carol's own streams are
// not what these tests are about.
async function until(member: TestMember, fields: Record<string, unknown>) {
  for (;;) {
    const message = await member.next(JSON.stringify(fields));
    assert.ok(message, `the connection closed; expected ${JSON.stringify(fields)}`);
    if (Object.entries(fields).every(([key, value]) => message[key] === value)) return message;
  }
}

// bob and carol each say `text`; the client must show carol's line next, and never bob's.
async function onlyCarolShown(
  bob: TestMember,
  carol: TestMember,
  client: Subprocess,
  text: string,
) {
  bob.send({ type: "msg", text: `bob: ${text}` });
  bob.send({ type: "msg", to: "alice", text: `bob, privately: ${text}` });
  bob.send({ type: "ping" });
  await until(bob, { type: "pong" });
  carol.send({ type: "msg", text: `carol: ${text}` });
  assert.equal(await client.stdout.next(), `<carol> carol: ${text}`);
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: the client's /ignore outlasts a reconnect and a restart`, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "parley-ignore-"));
    try {
      const file = path.join(dir, "config", "parley", "ignored");
      await using server = await startQuietServer(runtime);
      await using proxy = await Proxy.start(server.port);
      await using carol = await TestMember.join(server.port, "carol");
      await using bob = await TestMember.join(server.port, "bob");
      {
        await using client = startClient(runtime, proxy.port, [
          "--nick",
          "alice",
          "--ignore-file",
          file,
        ]);
        assert.equal(
          await client.stdout.next(),
          "* you are alice in lobby; here: carol, bob, alice (you)",
        );
        client.write("/ignore BOB\n");
        assert.equal(await client.stdout.next(), "* ignoring: BOB");
        assert.equal(readFileSync(file, "utf8"), "BOB\n");
        await onlyCarolShown(bob, carol, client, "one");

        proxy.cutAndHold();
        assert.equal(
          await client.stdout.next(),
          "* disconnected: the server closed the connection; reconnecting",
        );
        await until(carol, { type: "leave", nick: "alice" });
        bob.send({ type: "msg", text: "bob: while away" });
        bob.send({ type: "ping" });
        await until(bob, { type: "pong" });
        carol.send({ type: "msg", text: "carol: while away" });
        carol.send({ type: "ping" });
        await until(carol, { type: "pong" });
        await proxy.release();
        assert.equal(await client.stdout.next(), "* reconnected");
        assert.match((await client.stdout.next())!, /^\[\d\d:\d\d\] <carol> carol: while away$/);
        await until(carol, { type: "join", nick: "alice" });
        await onlyCarolShown(bob, carol, client, "two");

        client.write("/whois carol\n");
        assert.match(
          (await client.stdout.next())!,
          /^\* carol \(not identified\), in lobby; here since \d\d:\d\d, idle \d+ s; over tcp, native mode$/,
        );
        client.write("/away back soon\n");
        assert.equal(await client.stdout.next(), "* you are away: back soon");
        carol.send({ type: "msg", to: "alice", text: "you there?" });
        await until(carol, { type: "away", nick: "alice", text: "back soon" });
        assert.equal(await client.stdout.next(), "*carol* you there?");
        client.endInput();
        assert.equal(await client.exitCode(), 0);
        await until(carol, { type: "leave", nick: "alice" });
      }
      // A new run of the client reads the file: bob is still ignored, until /unignore.
      await using client = startClient(runtime, server.port, [
        "--nick",
        "alice",
        "--ignore-file",
        file,
      ]);
      assert.match((await client.stdout.next())!, /^\* you are alice in lobby; /);
      // History as the server replays it on joining: carol's lines, none of bob's.
      for (const text of ["one", "while away", "two"]) {
        assert.match(
          (await client.stdout.next())!,
          new RegExp(`^\\[\\d\\d:\\d\\d\\] <carol> carol: ${text}$`),
        );
      }
      await onlyCarolShown(bob, carol, client, "three");
      client.write("/unignore bob\n");
      assert.equal(await client.stdout.next(), "* ignoring: nobody");
      assert.equal(readFileSync(file, "utf8"), "");
      bob.send({ type: "msg", text: "bob: four" });
      assert.equal(await client.stdout.next(), "<bob> bob: four");
      client.endInput();
      assert.equal(await client.exitCode(), 0);
      assert.deepEqual(await remainingLines(client.stderr), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
