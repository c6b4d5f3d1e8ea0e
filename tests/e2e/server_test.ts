import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  chatsWith,
  joinSeen,
  LOOPBACK_ARGS,
  NO_WEB,
  remainingLines,
  ROOT,
  runtimeBinary,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  startQuietServer,
  Subprocess,
  TestMember,
  within,
  withoutEpoch,
  writeAll,
  writeByteByByte,
} from "./_helpers.ts";
import { frame, frameHeader, rawFrame } from "../_frames.ts";

const startServer = startQuietServer;

function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) =>
    addresses?.some((address) => address.family === "IPv6" && address.address === "::1")
  );
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `server [${runtime}] ${behaviour}`;

  test(name("three members each receive exactly the others' messages, in order"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob" });
    await using carol = await TestMember.join(server.port, "carol");
    await alice.expect({ type: "join", nick: "carol" });
    await bob.expect({ type: "join", nick: "carol" });
    const members = [alice, bob, carol];
    const nicks = ["alice", "bob", "carol"];
    for (let i = 0; i < 20; i++) {
      members.forEach((member, m) => member.send({ type: "msg", text: `${nicks[m]} ${i}` }));
    }
    for (const [m, member] of members.entries()) {
      const received = new Map<string, string[]>();
      for (let k = 0; k < 40; k++) {
        const message = await member.expect({ type: "msg", room: "lobby" });
        assert.notEqual(message.from, nicks[m]);
        assert.equal(typeof message.ts, "number");
        received.set(message.from as string, [
          ...(received.get(message.from as string) ?? []),
          message.text as string,
        ]);
      }
      for (const [from, texts] of received) {
        assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `${from} ${i}`));
      }
    }
    assert.equal(await server.stop(), 0);
  });

  test(name("announces joins and leaves to the room only"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.connect(server.port);
    alice.send({ type: "hello", nick: "alice" });
    assert.deepEqual(withoutEpoch(await alice.next()), {
      type: "welcome",
      nick: "alice",
      room: "lobby",
      members: ["alice"],
      rate: 10, // the default flood control, so that a client can pace itself
      burst: 20,
    });
    await using bob = await TestMember.connect(server.port);
    bob.send({ type: "hello", nick: "bob", room: "lobby" });
    assert.deepEqual(withoutEpoch(await bob.next()), {
      type: "welcome",
      nick: "bob",
      room: "lobby",
      members: ["alice", "bob"],
      rate: 10, // the default flood control, so that a client can pace itself
      burst: 20,
    });
    assert.deepEqual(await alice.next(), { type: "join", nick: "bob", room: "lobby" });
    // Carol joins another room; Dave's join, which comes after, is the next thing Alice hears.
    await using carol = await TestMember.join(server.port, "carol", "den");
    await using dave = await TestMember.join(server.port, "dave");
    assert.deepEqual(await alice.next(), { type: "join", nick: "dave", room: "lobby" });
    assert.deepEqual(await bob.next(), { type: "join", nick: "dave", room: "lobby" });
    bob.socket.end();
    await bob.closed;
    assert.deepEqual(await alice.next(), { type: "leave", nick: "bob", room: "lobby" });
    assert.deepEqual(await dave.next(), { type: "leave", nick: "bob", room: "lobby" });
    carol.close();
    await carol.closed;
    dave.close();
    assert.deepEqual(await alice.next(), { type: "leave", nick: "dave", room: "lobby" });
    assert.equal(await server.stop(), 0);
  });

  test(
    name("lets a member whose nick is taken retry with another on the same connection"),
    async () => {
      await using server = await startServer(runtime);
      await using alice = await TestMember.join(server.port, "alice");
      await using second = await TestMember.connect(server.port);
      second.send({ type: "hello", nick: "alice" });
      await second.expect({ type: "error", code: "nick_taken" });
      second.send({ type: "msg", text: "too early" });
      await second.expect({ type: "error", code: "not_joined" });
      second.send({ type: "hello", nick: "alice2" });
      assert.deepEqual(withoutEpoch(await second.next()), {
        type: "welcome",
        nick: "alice2",
        room: "lobby",
        members: ["alice", "alice2"],
        rate: 10, // the default flood control, so that a client can pace itself
        burst: 20,
      });
      assert.deepEqual(await alice.next(), { type: "join", nick: "alice2", room: "lobby" });
      await chatsWith(second, "alice2", "it worked", [alice]);
      await chatsWith(alice, "alice", "welcome", [second]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("refuses a nick that differs from one in use only in case"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using other = await TestMember.connect(server.port);
    for (const nick of ["ALICE", "Alice", "aLiCe"]) {
      other.send({ type: "hello", nick });
      await other.expect({ type: "error", code: "nick_taken" });
    }
    other.send({ type: "hello", nick: "Bob" });
    await other.expect({ type: "welcome", nick: "Bob" });
    assert.deepEqual(await alice.next(), { type: "join", nick: "Bob", room: "lobby" });
    assert.equal(await server.stop(), 0);
  });

  for (
    const [where, cut] of [
      ["half a header", frameHeader(40).subarray(0, 2)],
      ["half a payload", frame({ type: "msg", text: "never finished" }).subarray(0, 20)],
    ] as const
  ) {
    test(name(`is undisturbed by a member that disconnects after ${where}`), async () => {
      await using server = await startServer(runtime);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await using mallory = await joinSeen(server.port, "mallory", [alice, bob]);
      await writeAll(mallory.socket, cut);
      mallory.close();
      await alice.expect({ type: "leave", nick: "mallory" });
      await bob.expect({ type: "leave", nick: "mallory" });
      await chatsWith(alice, "alice", "still here?", [bob]);
      await chatsWith(bob, "bob", "yes", [alice]);
      await using returning = await joinSeen(server.port, "mallory", [alice, bob]);
      await chatsWith(returning, "mallory", "the nick is free again", [alice, bob]);
      assert.equal(await server.stop(), 0);
    });
  }

  test(name("answers bad frames and misplaced messages with an error, and goes on"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.connect(server.port);
    const cases: [Uint8Array, string][] = [
      [frame({ type: "msg", text: "before hello" }), "not_joined"],
      [rawFrame("{not json"), "invalid_json"],
      [rawFrame(new Uint8Array([0x22, 0xff, 0x22])), "invalid_utf8"],
      [frame({ type: "shout", text: "hi" }), "unknown_type"],
      [frame(["hello"]), "bad_message"],
      [frame({ type: "hello", nick: 42 }), "bad_message"],
      [frame({ type: "hello", nick: "has space" }), "bad_nick"],
    ];
    for (const [bytes, code] of cases) {
      bob.sendBytes(bytes);
      const error = await bob.expect({ type: "error", code });
      assert.equal(typeof error.message, "string");
    }
    bob.send({ type: "hello", nick: "bob" });
    await bob.expect({ type: "welcome", nick: "bob" });
    await alice.expect({ type: "join", nick: "bob" });
    bob.send({ type: "hello", nick: "bob" });
    await bob.expect({ type: "error", code: "already_joined" });
    for (const [bytes, code] of cases.slice(1)) {
      bob.sendBytes(bytes);
      await bob.expect({ type: "error", code: code === "bad_nick" ? "already_joined" : code });
    }
    bob.send({ type: "msg", text: "" });
    await bob.expect({ type: "error", code: "empty_text" });
    bob.send({ type: "msg", text: "x".repeat(4097) });
    await bob.expect({ type: "error", code: "text_too_long" });
    bob.send({ type: "ping" });
    assert.deepEqual(await bob.next(), { type: "pong" });
    await chatsWith(bob, "bob", "after all that", [alice]);
    await chatsWith(alice, "alice", "hello bob", [bob]);
    assert.equal(await server.stop(), 0);
  });

  test(name("accepts a frame of exactly --max-frame bytes"), async () => {
    await using server = await startServer(runtime, ["--max-frame", "1024"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await joinSeen(server.port, "bob", [alice]);
    const json = JSON.stringify({ type: "msg", text: "padded" });
    bob.sendBytes(rawFrame(json + " ".repeat(1024 - json.length)));
    await alice.expect({ type: "msg", from: "bob", text: "padded" });
    await chatsWith(bob, "bob", "and still connected", [alice]);
    assert.equal(await server.stop(), 0);
  });

  for (
    const [what, bytes, code] of [
      ["a frame above --max-frame", rawFrame("x".repeat(1025)), "frame_too_large"],
      ["only the header of a frame above --max-frame", frameHeader(1025), "frame_too_large"],
      [
        "a header above --max-frame and then a message",
        Buffer.concat([frameHeader(1025), frame({ type: "msg", text: "never delivered" })]),
        "frame_too_large",
      ],
      ["a 4 GiB frame header", frameHeader(0xffffffff), "frame_too_large"],
      ["a frame of length 0", frameHeader(0), "empty_frame"],
    ] as const
  ) {
    test(name(`closes a member that sends ${what}, after an error`), async () => {
      await using server = await startServer(runtime, ["--max-frame", "1024"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await using mallory = await joinSeen(server.port, "mallory", [alice, bob]);
      mallory.sendBytes(bytes);
      const rest = await mallory.untilClosed();
      assert.equal(rest.length, 1, `one error, then the close; got ${JSON.stringify(rest)}`);
      assert.equal(rest[0].type, "error");
      assert.equal(rest[0].code, code);
      await alice.expect({ type: "leave", nick: "mallory" });
      await bob.expect({ type: "leave", nick: "mallory" });
      await chatsWith(alice, "alice", "good riddance", [bob]);
      await chatsWith(bob, "bob", "indeed", [alice]);
      assert.equal(await server.stop(), 0);
    });
  }

  test(name("closes a member whose oversized frame keeps coming, after an error"), async () => {
    // The payload is still arriving when the server closes: the error must not be lost to a
    // connection reset.
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using mallory = await joinSeen(server.port, "mallory", [alice]);
    const size = 32 * 1024 * 1024; // enough to be still on its way when the answer comes
    mallory.sendBytes(rawFrame(new Uint8Array(size).fill(0x20)));
    const rest = await mallory.untilClosed();
    assert.deepEqual(rest.map((message) => message.code), ["frame_too_large"]);
    await alice.expect({ type: "leave", nick: "mallory" });
    assert.equal(await server.stop(), 0);
  });

  test(name("closes a member that never ends its side, once the flush time is up"), async () => {
    // After its final error the server half-closes and waits for the peer to end its side; a peer
    // that never does must not keep the connection open for ever.
    await using server = await ServerProcess.start(runtime, LOOPBACK_ARGS);
    const socket = net.connect({ port: server.port, host: "127.0.0.1", allowHalfOpen: true });
    socket.on("error", () => {});
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const ended = once(socket, "end");
    const closed = new Promise((resolve) => socket.once("close", resolve));
    try {
      await within(once(socket, "connect"), "the connection");
      socket.write(frameHeader(0));
      await within(ended, "the server's end of stream");
      const error = JSON.parse(Buffer.concat(received).subarray(4).toString());
      assert.equal(error.code, "empty_frame");
      const line = await server.stderr.waitFor("disconnect", "the disconnect log line");
      assert.match(line, /^disconnect 127\.0\.0\.1:\d+ \(Cannot accept frame: length 0\)$/);
      // The server has closed, not just half-closed: what we send now is refused with a reset,
      // which the write after it reports.
      for (let writes = 0; !socket.destroyed; writes++) {
        assert.ok(writes < 1000, "the server still accepts bytes");
        await new Promise((resolve) => socket.write("are you still there?", resolve));
      }
      await within(closed, "the close");
    } finally {
      socket.destroy();
    }
    assert.equal(await server.stop(), 0);
  });

  test(name("closes a member whose send queue overflows, and the others chat on"), async () => {
    // Each message to the slow member is exactly --send-queue bytes, so once its socket is full a
    // whole message is in flight and the queue has no room left, not even for the final error.
    // Alice, who sends them, hears only pongs; nobody else is in the room to be flooded.
    const queueBytes = 2048;
    const args = ["--send-queue", String(queueBytes), "--rate", "0"]; // alice's sending is no flood
    await using server = await startServer(runtime, args);
    await using bob = await TestMember.join(server.port, "bob");
    await using alice = await TestMember.join(server.port, "alice", "flood");
    await using slow = await TestMember.join(server.port, "slow", "flood");
    await alice.expect({ type: "join", nick: "slow" });
    slow.socket.pause();
    const overhead =
      frame({ type: "msg", from: "alice", room: "flood", text: "", ts: Date.now() }).length;
    const text = "x".repeat(queueBytes - overhead);
    for (let sent = 0;; sent++) {
      assert.ok(sent < 100_000, "the slow member was never closed");
      alice.send({ type: "msg", text });
      alice.send({ type: "ping" });
      const reply = await alice.next();
      if (reply?.type === "leave") {
        assert.equal(reply.nick, "slow");
        await alice.expect({ type: "pong" });
        break;
      }
      assert.equal(reply?.type, "pong", `got ${JSON.stringify(reply)}`);
    }
    slow.socket.resume();
    const rest = await slow.untilClosed();
    assert.ok(rest.length > 0);
    assert.ok(rest.slice(0, -1).every((message) => message.text === text));
    assert.equal(rest.at(-1)?.code, "send_queue_full");
    await using carol = await TestMember.join(server.port, "carol", "flood");
    await alice.expect({ type: "join", nick: "carol" });
    await chatsWith(alice, "alice", "still here", [carol]);
    await chatsWith(carol, "carol", "hello alice", [alice]);
    await using dave = await joinSeen(server.port, "dave", [bob]);
    await chatsWith(bob, "bob", "the lobby never noticed", [dave]);
    assert.equal(await server.stop(), 0);
  });

  test(name("decodes frames that arrive one byte per write"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.connect(server.port);
    await writeByteByByte(bob.socket, frame({ type: "hello", nick: "bob" }));
    await bob.expect({ type: "welcome", nick: "bob" });
    await alice.expect({ type: "join", nick: "bob" });
    const text = "one byte at a time: é 🎉";
    await writeByteByByte(
      bob.socket,
      Buffer.concat([frame({ type: "msg", text }), frame({ type: "msg", text: "two" })]),
    );
    await alice.expect({ type: "msg", from: "bob", text });
    await alice.expect({ type: "msg", from: "bob", text: "two" });
    assert.equal(await server.stop(), 0);
  });

  test(name("decodes a burst of many frames in one write, in order"), async () => {
    await using server = await startServer(runtime, ["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.connect(server.port);
    const count = 2000;
    const texts = Array.from({ length: count }, (_, i) => `burst ${i} ${"·".repeat(i % 50)}`);
    await writeAll(
      bob.socket,
      Buffer.concat([
        frame({ type: "hello", nick: "bob" }),
        ...texts.map((text) => frame({ type: "msg", text })),
      ]),
    );
    await bob.expect({ type: "welcome", nick: "bob" });
    await alice.expect({ type: "join", nick: "bob" });
    for (const text of texts) await alice.expect({ type: "msg", from: "bob", text });
    await chatsWith(alice, "alice", "that was a lot", [bob]);
    assert.equal(await server.stop(), 0);
  });

  test(name("keeps non-ASCII nicks, rooms and text intact"), async () => {
    await using server = await startServer(runtime);
    await using zoe = await TestMember.join(server.port, "Zoë", "café");
    await using fox = await TestMember.connect(server.port);
    fox.send({ type: "hello", nick: "🦊", room: "CAFÉ" });
    assert.deepEqual(withoutEpoch(await fox.next()), {
      type: "welcome",
      nick: "🦊",
      room: "café",
      members: ["Zoë", "🦊"],
      rate: 10, // the default flood control, so that a client can pace itself
      burst: 20,
    });
    await zoe.expect({ type: "join", nick: "🦊", room: "café" });
    const texts = ["héllo wörld", "日本語のテキスト", "astral 🎉 𝄞 👩‍👩‍👧 \u{10ffff}", "Ω≈ç√∫"];
    for (const text of texts) {
      await chatsWith(zoe, "Zoë", text, [fox]);
      await chatsWith(fox, "🦊", text, [zoe]);
    }
    assert.equal(await server.stop(), 0);
  });

  test(
    name("delivers a message from a member that half-closes, then announces it left"),
    async () => {
      await using server = await startServer(runtime);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      bob.socket.end(frame({ type: "msg", text: "last words" }));
      await alice.expect({ type: "msg", from: "bob", text: "last words" });
      await alice.expect({ type: "leave", nick: "bob" });
      await bob.closed;
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("tells every member it is shutting down on SIGTERM, closes, and exits 0"), async () => {
    await using server = await startServer(runtime);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await joinSeen(server.port, "bob", [alice]);
    await using carol = await joinSeen(server.port, "carol", [alice, bob]);
    await using stranger = await TestMember.connect(server.port); // connected, never joined
    stranger.send({ type: "ping" });
    await stranger.expect({ type: "pong" });
    assert.equal(await server.stop(), 0);
    for (const member of [alice, bob, carol, stranger]) {
      const rest = await member.untilClosed();
      assert.equal(rest.length, 1, `one message before the close; got ${JSON.stringify(rest)}`);
      assert.equal(rest[0].type, "error");
      assert.equal(rest[0].code, "server_shutdown");
    }
  });

  test(name("prints one listening line and logs each connect and disconnect"), async () => {
    await using server = await ServerProcess.start(runtime, LOOPBACK_ARGS);
    assert.deepEqual(server.stdout.seen, [`listening on 127.0.0.1:${server.port}`]);
    await using alice = await TestMember.join(server.port, "alice");
    const aliceAddress = `127.0.0.1:${alice.socket.localPort}`;
    assert.equal(await server.stderr.next(), `connect ${aliceAddress}`);
    await using stranger = await TestMember.connect(server.port);
    const strangerAddress = `127.0.0.1:${stranger.socket.localPort}`;
    assert.equal(await server.stderr.next(), `connect ${strangerAddress}`);
    alice.socket.end();
    await alice.closed;
    assert.equal(await server.stderr.next(), `disconnect ${aliceAddress} alice (end of stream)`);
    stranger.socket.end();
    await stranger.closed;
    assert.equal(await server.stderr.next(), `disconnect ${strangerAddress} (end of stream)`);
    assert.equal(await server.stop(), 0);
    assert.deepEqual(await remainingLines(server.stderr), [`SIGTERM: shutting down (${runtime})`]);
    assert.deepEqual(await remainingLines(server.stdout), []);
  });

  test(name("logs nothing with --quiet"), async () => {
    // --max-clients within any open-files limit: lowering it would be worth a line, quiet or not.
    const args = [...LOOPBACK_ARGS, "--quiet", "--max-clients", "100"];
    await using server = await ServerProcess.start(runtime, args);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await joinSeen(server.port, "bob", [alice]);
    bob.socket.end();
    await alice.expect({ type: "leave", nick: "bob" });
    await using mallory = await TestMember.connect(server.port);
    mallory.sendBytes(frameHeader(0));
    await mallory.untilClosed();
    assert.equal(await server.stop(), 0);
    assert.deepEqual(await remainingLines(server.stderr), []);
    assert.deepEqual(server.stderr.seen, []);
    assert.deepEqual(await remainingLines(server.stdout), []);
    assert.deepEqual(server.stdout.seen, [`listening on 127.0.0.1:${server.port}`]);
  });

  test(name("prints its usage for --help and exits 0"), async () => {
    await using help = new Subprocess(scriptCommand(runtime, "server.ts", ["--help"]));
    assert.equal(await help.exitCode(), 0);
    const usage = await remainingLines(help.stdout);
    assert.match(usage[0], /^Usage: server\.ts/);
    for (const flag of ["--host", "--port", "--max-frame", "--quiet", "--help"]) {
      assert.ok(usage.some((line) => line.trimStart().startsWith(flag)), `${flag} is described`);
    }
    assert.deepEqual(await remainingLines(help.stderr), []);
  });

  for (
    const args of [
      ["--bogus"],
      ["--port", "65536"],
      ["--port", "http"],
      ["--port", "-1"],
      ["--port", "1.5"],
      ["--port"],
      ["--max-frame", "0"],
      ["stray"],
    ]
  ) {
    test(name(`prints one line and exits 2 for ${args.join(" ")}`), async () => {
      await using bad = new Subprocess(scriptCommand(runtime, "server.ts", args));
      assert.equal(await bad.exitCode(), 2);
      const errors = await remainingLines(bad.stderr);
      assert.equal(errors.length, 1, `one line on stderr; got ${JSON.stringify(errors)}`);
      assert.match(errors[0], /^server: .+ \(try --help\)$/);
      assert.deepEqual(await remainingLines(bad.stdout), [], "nothing on stdout");
    });
  }

  // Without IPv6 loopback the test is skipped, and says why in its name, since `deno test` shows
  // a skipped test as "ignored" without the reason.
  const noIpv6 = hasIpv6Loopback() ? "" : " (skipped: this machine has no IPv6 loopback)";
  test(
    name(`listens on the IPv6 loopback ::1${noIpv6}`),
    { skip: noIpv6 !== "" },
    async () => {
      await using server = await ServerProcess.start(runtime, ["--host", "::1", "--quiet"]);
      assert.deepEqual(server.stdout.seen, [`listening on [::1]:${server.port}`]);
      await using alice = await TestMember.connect(server.port, "::1");
      alice.send({ type: "hello", nick: "alice" });
      await alice.expect({ type: "welcome", nick: "alice" });
      await using bob = await TestMember.connect(server.port, "::1");
      bob.send({ type: "hello", nick: "bob" });
      await bob.expect({ type: "welcome", nick: "bob" });
      await alice.expect({ type: "join", nick: "bob" });
      await chatsWith(bob, "bob", "over IPv6", [alice]);
      assert.equal(await server.stop(), 0);
    },
  );
}

/** server.ts with `args` under `runtime` must exit with `status` after exactly `line` on stderr. */
async function failsWith(
  runtime: RuntimeName,
  args: string[],
  status: number,
  line: string,
): Promise<void> {
  await using bad = new Subprocess(scriptCommand(runtime, "server.ts", args));
  assert.equal(await bad.exitCode(), status);
  const errors = await remainingLines(bad.stderr);
  assert.equal(errors.length, 1, `one line on stderr; got ${JSON.stringify(errors)}`);
  assert.equal(errors[0], line);
  assert.deepEqual(await remainingLines(bad.stdout), [], "nothing on stdout");
}

// First steps: what a newcomer meets when the server cannot start, on a negative number, on
// SIGHUP (the terminal that runs it closes), and with `deno task`.
for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `server [${runtime}] ${behaviour}`;

  test(name("says in one line that the port is in use, and exits 1"), async () => {
    const taken = net.createServer().listen(0, "127.0.0.1");
    await within(once(taken, "listening"), "a listener on a free port");
    try {
      const { port } = taken.address() as net.AddressInfo;
      await failsWith(
        runtime,
        ["--host", "127.0.0.1", "--port", String(port)],
        1,
        `server: cannot listen on 127.0.0.1:${port}: address already in use`,
      );
    } finally {
      taken.close();
    }
  });

  for (const host of ["bogus.invalid", "256.1.1.1"]) {
    test(name(`says in one line that --host ${host} is no such host, and exits 1`), async () => {
      await failsWith(
        runtime,
        ["--host", host, "--port", "0"],
        1,
        `server: cannot listen on ${host}:0: no such host`,
      );
    });
  }

  test(name("says in one line that --data is a file, and exits non-zero"), async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "parley-first-steps-"));
    try {
      const file = path.join(dir, "a-file");
      writeFileSync(file, "not a directory\n");
      await using bad = new Subprocess(
        scriptCommand(runtime, "server.ts", [
          ...LOOPBACK_ARGS,
          "--port",
          "0",
          ...NO_WEB,
          "--data",
          file,
        ]),
      );
      assert.notEqual(await bad.exitCode(), 0);
      const errors = await remainingLines(bad.stderr);
      assert.equal(errors.length, 1, `one line on stderr; got ${JSON.stringify(errors)}`);
      assert.match(errors[0], /^server: /);
      assert.doesNotMatch(errors[0], /\bat |Error/, "no stack trace");
      assert.deepEqual(await remainingLines(bad.stdout), [], "nothing on stdout");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (
    const [args, line] of [
      [["--host="], "server: --host must not be empty (try --help)"],
      [
        ["--port", "-1"],
        'server: --port must be a whole number from 0 to 65535, not "-1" (try --help)',
      ],
      [
        ["--history", "-1"],
        'server: --history must be a whole number from 0 to 100000, not "-1" (try --help)',
      ],
      [
        ["--ping-after", "-0.5"],
        'server: --ping-after must be a number of seconds, not "-0.5" (try --help)',
      ],
    ] as const
  ) {
    test(name(`says what is wrong with ${args.join(" ")} in one line, and exits 2`), async () => {
      await failsWith(runtime, [...args], 2, line);
    });
  }

  test(name("shuts down on SIGHUP as on SIGTERM: members told, history kept, exit 0"), async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "parley-first-steps-"));
    try {
      const args = [...LOOPBACK_ARGS, "--data", dir];
      {
        await using server = await ServerProcess.start(runtime, args);
        await using alice = await TestMember.join(server.port, "alice");
        await using bob = await joinSeen(server.port, "bob", [alice]);
        await chatsWith(alice, "alice", "last words before the hangup", [bob]);
        process.kill(server.child.pid!, "SIGHUP");
        assert.equal(await server.exitCode("the server to exit after SIGHUP"), 0);
        for (const member of [alice, bob]) {
          const rest = await member.untilClosed();
          assert.deepEqual(rest.map((message) => message.code), ["server_shutdown"]);
        }
        const log = await remainingLines(server.stderr);
        assert.ok(log.includes(`SIGHUP: shutting down (${runtime})`), log.join("\n"));
      }
      await using again = await startServer(runtime, ["--data", dir]);
      await using carol = await TestMember.join(again.port, "carol");
      await carol.expect({ type: "msg", text: "last words before the hangup", history: true });
      assert.equal(await again.stop(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// `deno task` with the pinned Deno from node_modules and, in a copy without node_modules, with a
// Deno found on the PATH, as someone who installed Deno has it.
for (const withNodeModules of [true, false]) {
  const where = withNodeModules ? "with node_modules" : "without node_modules";
  test(`deno task runs the server, the client and the tests ${where}`, async () => {
    const deno = realpathSync(runtimeBinary("deno"));
    const dir = mkdtempSync(path.join(os.tmpdir(), "parley-deno-task-"));
    try {
      let cwd = ROOT;
      if (!withNodeModules) {
        cwd = path.join(dir, "parley");
        const skipped = new Set(["node_modules", ".git", "dist"]);
        cpSync(ROOT, cwd, {
          recursive: true,
          filter: (source) => !skipped.has(path.relative(ROOT, source).split(path.sep)[0]),
        });
      }
      const bin = path.join(dir, "bin");
      mkdirSync(bin);
      symlinkSync(deno, path.join(bin, "deno"));
      // The installed Deno first; then the system's tools, `env` among them.
      const env = { PATH: `${bin}:/usr/bin:/bin` };
      for (
        const [task, usage] of [
          ["start", /^Usage: server\.ts /],
          ["client", /^Usage: client\.ts /],
          ["test", /^Usage: deno test /],
        ] as const
      ) {
        await using run = new Subprocess([deno, "task", task, "--help"], env, cwd);
        assert.equal(await run.exitCode(`deno task ${task} --help`), 0, run.stderr.seen.join("\n"));
        const output = await remainingLines(run.stdout);
        assert.ok(output.some((line) => usage.test(line)), output.slice(0, 3).join("\n"));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
