// The server's limits, end to end over real sockets on Deno and Bun. Whatever the network sends,
// Parley keeps serving every well-behaved member and loses none of their messages; each bad input
// gets a clear error in its sender's own mode (a frame, a line or a notice) and a defined outcome.
// Small limits on the command line keep every wait short; the tests wait on events, never on time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import {
  chatsWith,
  joinSeen,
  type Json,
  LegacyMember,
  LineMember,
  type LineReader,
  LOOPBACK_ARGS,
  remainingLines,
  RUNTIMES,
  ServerProcess,
  TestMember,
  within,
} from "./_helpers.ts";
import { frame, frameHeader, rawFrame } from "../_frames.ts";

// What people read when the server closes them for silence (session.ts).
const READ_TIMEOUT = "Closed: a message began to arrive but did not finish in time";
const HELLO_TIMEOUT = "Closed: no hello in time";
const IDLE_TIMEOUT = "Closed: idle for too long";
const SHUTDOWN = "The server is shutting down";

/** A connection of no mode yet: sends raw bytes and keeps everything it receives. */
class RawPeer {
  readonly socket: net.Socket;
  readonly closed: Promise<Buffer>;
  #received: Buffer[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#received.push(chunk));
    this.closed = new Promise((resolve) =>
      socket.once("close", () => resolve(Buffer.concat(this.#received)))
    );
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await within(once(socket, "connect"), `a connection to port ${port}`);
    return new RawPeer(socket);
  }

  /** Everything the server sent, once it has closed the connection. */
  untilClosed(what = "the server to close the connection"): Promise<Buffer> {
    return within(this.closed, what);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

/** The payloads of the legacy frames in `bytes`: 10-byte decimal length headers. */
function legacyPayloads(bytes: Buffer): string[] {
  const payloads: string[] = [];
  for (let at = 0; at + 10 <= bytes.length;) {
    const length = Number(bytes.subarray(at, at + 10).toString("ascii").trim());
    payloads.push(bytes.subarray(at + 10, at + 10 + length).toString("utf8"));
    at += 10 + length;
  }
  return payloads;
}

/** `length` pseudo-random bytes, the same for the same seed (mulberry32). */
function randomBytes(seed: number, length: number): Uint8Array {
  let state = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return bytes;
}

/** The next message that is not a ping, answering every ping before it as a client must. */
async function nextAnswering(member: TestMember, pings = { count: 0 }): Promise<Json | null> {
  while (true) {
    const message = await member.next();
    if (message?.type !== "ping") return message;
    pings.count++;
    member.send({ type: "pong" });
  }
}

/** Answers pings until `pings.count` reaches `count`; nothing else may arrive meanwhile. */
async function answerPingsUntil(member: TestMember, pings: { count: number }, count: number) {
  while (pings.count < count) {
    const message = await member.next("a ping");
    assert.deepEqual(message, { type: "ping" });
    pings.count++;
    member.send({ type: "pong" });
  }
}

/** The next message but pings must be `text` from `from`. */
async function expectChat(member: TestMember, from: string, text: string): Promise<void> {
  const message = await nextAnswering(member);
  // Long texts are compared whole but shown by their start, to keep a failure readable.
  const brief = (text: unknown) =>
    typeof text === "string" && text.length > 40
      ? `${text.slice(0, 40)}... (${text.length})`
      : text;
  assert.deepEqual(
    { type: message?.type, from: message?.from, text: brief(message?.text) },
    { type: "msg", from, text: brief(text) },
  );
  assert.equal(message?.text, text);
}

/** The next message but pings must be `type` ("join" or "leave") for `nick`. */
async function expectArrival(
  member: TestMember,
  type: "join" | "leave",
  nick: string,
  pings = { count: 0 },
): Promise<void> {
  assert.deepEqual(await nextAnswering(member, pings), { type, nick, room: "lobby" });
}

/** Lines until the server closes the connection. */
function linesUntilClosed(reader: LineReader): Promise<string[]> {
  return remainingLines(reader, "the server to close the connection");
}

/** Legacy (user, text) pairs until the server closes the connection. */
async function pairsUntilClosed(member: LegacyMember): Promise<Array<[string, string]>> {
  const pairs: Array<[string, string]> = [];
  for (let pair = await member.next("the close"); pair; pair = await member.next("the close")) {
    pairs.push(pair);
  }
  return pairs;
}

/**
 * Waits until the server has logged the disconnect of the connection from local port `port`: by
 * then it no longer counts that connection against any limit. Lines read while waiting for one
 * port are remembered for the others.
 */
function disconnectLog(server: ServerProcess) {
  const gone = new Set<string>();
  return async (port: number): Promise<void> => {
    const address = `127.0.0.1:${port}`;
    while (!gone.has(address)) {
      const line = await server.stderr.waitFor(/^disconnect /, `the disconnect of ${address}`);
      gone.add(line.split(" ")[1]);
    }
  };
}

const FLOOD = ["--rate", "5", "--burst", "3"];
const floodFrames = (count: number, prefix = "flood") =>
  Buffer.concat(
    Array.from({ length: count }, (_, i) => frame({ type: "msg", text: `${prefix} ${i}` })),
  );

const SEEDS = [1, 2, 3, 4, 5];
const INTERNAL_ERROR = "The server failed; sorry";

/** Joins in `mode`, sends seeded noise, ends, and returns what it was told, as text. */
async function noiseFrom(
  mode: "native" | "line" | "legacy",
  port: number,
  seed: number,
): Promise<string[]> {
  const noise = randomBytes(seed, 4096);
  if (mode === "native") {
    await using mallory = await TestMember.join(port, "mallory");
    // Frames of random payloads (the stream stays in step), then random bytes as frames.
    const payloads = Array.from({ length: 20 }, (_, i) => noise.subarray(i * 50, i * 50 + 1 + i));
    mallory.sendBytes(Buffer.concat([...payloads.map(rawFrame), new Uint8Array([0]), noise]));
    mallory.socket.end();
    const told = await mallory.untilClosed();
    for (const message of told) assert.equal(message.type, "error", JSON.stringify(message));
    return told.map((message) => message.message as string);
  }
  if (mode === "line") {
    const mallory = await LineMember.connect(port);
    await using _mallory = mallory;
    mallory.socket.end(Buffer.concat([Buffer.from("x"), noise])); // "x" decides line mode at once
    return await linesUntilClosed(mallory.lines);
  }
  await using mallory = await LegacyMember.connect(port, "mallory");
  await mallory.waitFor("*", /^you are mallory in lobby/);
  mallory.socket.end(noise);
  const told = await pairsUntilClosed(mallory);
  return told.map(([, text]) => text);
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `limits [${runtime}] ${behaviour}`;
  const start = (args: string[], quiet = true) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, ...(quiet ? ["--quiet"] : []), ...args]);

  // --- slowloris: an input that begins and never ends ---

  for (
    const [where, cut] of [
      ["half a header", frameHeader(40).subarray(0, 2)],
      ["a header and no payload", frameHeader(40)],
      ["half a payload", frame({ type: "msg", text: "never finished" }).subarray(0, 20)],
    ] as const
  ) {
    test(name(`closes a native member that stops after ${where}, with read_timeout`), async () => {
      await using server = await start(["--read-timeout", "0.5"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await using mallory = await joinSeen(server.port, "mallory", [alice, bob]);
      mallory.sendBytes(cut);
      const rest = await mallory.untilClosed();
      assert.deepEqual(rest.map((message) => message.code), ["read_timeout"]);
      await alice.expect({ type: "leave", nick: "mallory" });
      await bob.expect({ type: "leave", nick: "mallory" });
      await chatsWith(alice, "alice", "still here?", [bob]);
      await chatsWith(bob, "bob", "yes", [alice]);
      assert.equal(await server.stop(), 0);
    });
  }

  test(name("closes a line member whose line never ends, with a line saying why"), async () => {
    await using server = await start(["--read-timeout", "0.5"]);
    await using alice = await TestMember.join(server.port, "alice");
    const { member: mallory, nick: guest } = await LineMember.join(server.port);
    await using _mallory = mallory;
    await alice.expect({ type: "join", nick: guest });
    const { member: calm, nick: calmGuest } = await LineMember.join(server.port);
    await using _calm = calm;
    await alice.expect({ type: "join", nick: calmGuest });
    assert.equal(await mallory.lines.next(), `*** ${calmGuest} joined`);
    mallory.socket.write("a line with no end");
    assert.deepEqual(await linesUntilClosed(mallory.lines), [`*** ${READ_TIMEOUT}`]);
    await alice.expect({ type: "leave", nick: guest });
    assert.equal(await calm.lines.next(), `*** ${guest} left`);
    calm.say("still here?");
    await alice.expect({ type: "msg", from: calmGuest, text: "still here?" });
    alice.send({ type: "msg", text: "yes" });
    assert.equal(await calm.lines.next(), "<alice> yes");
    assert.equal(await server.stop(), 0);
  });

  test(
    name("closes a legacy member that stops halfway through a header, with a notice"),
    async () => {
      await using server = await start(["--read-timeout", "0.5"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using mallory = await LegacyMember.connect(server.port, "mallory");
      await mallory.waitFor("*", /^you are mallory in lobby/);
      await alice.expect({ type: "join", nick: "mallory" });
      await using bob = await LegacyMember.connect(server.port, "bob");
      await bob.waitFor("*", /^you are bob in lobby/);
      await alice.expect({ type: "join", nick: "bob" });
      assert.deepEqual(await mallory.next(), ["*", "bob joined"]);
      mallory.socket.write("12   ");
      assert.deepEqual(await pairsUntilClosed(mallory), [["*", READ_TIMEOUT]]);
      await alice.expect({ type: "leave", nick: "mallory" });
      assert.deepEqual(await bob.next(), ["*", "mallory left"]);
      bob.send("still here?");
      await alice.expect({ type: "msg", from: "bob", text: "still here?" });
      alice.send({ type: "msg", text: "yes" });
      assert.deepEqual(await bob.next(), ["alice", "yes"]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("closes a connection that stops within a run of digits, before its mode is known"),
    async () => {
      // Digits could begin a legacy header or a line, so the mode waits for more; it must not
      // wait for ever. A person at telnet may have typed them, so the answer is a line.
      await using server = await start(["--read-timeout", "0.5"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using mallory = await RawPeer.connect(server.port);
      mallory.socket.write("1234");
      assert.equal((await mallory.untilClosed()).toString(), `*** ${READ_TIMEOUT}\n`);
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await chatsWith(alice, "alice", "nobody else came", [bob]);
      assert.equal(await server.stop(), 0);
    },
  );

  // --- hello: a native or legacy connection must introduce itself ---

  test(
    name("closes a native connection that sends no valid frame in time, with hello_timeout"),
    async () => {
      await using server = await start(["--hello-timeout", "0.5"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await using mallory = await TestMember.connect(server.port);
      mallory.sendBytes(rawFrame("{not json"));
      await mallory.expect({ type: "error", code: "invalid_json" });
      // Bytes that keep coming are not a hello either.
      mallory.sendBytes(frame({ type: "hello", nick: "mallory" }).subarray(0, 10));
      const rest = await mallory.untilClosed();
      assert.deepEqual(rest.map((message) => message.code), ["hello_timeout"]);
      // Alice and Bob said hello once, long ago: that is enough.
      await chatsWith(alice, "alice", "still here?", [bob]);
      await chatsWith(bob, "bob", "yes", [alice]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("closes a legacy connection whose username never arrives, with a notice"), async () => {
    // Ten bytes of header decide legacy mode; the username they announce never comes.
    await using server = await start(["--hello-timeout", "0.5"]);
    await using alice = await TestMember.join(server.port, "alice");
    await using mallory = await RawPeer.connect(server.port);
    mallory.socket.write("5         ma");
    assert.deepEqual(legacyPayloads(await mallory.untilClosed()), ["*", HELLO_TIMEOUT]);
    await using bob = await joinSeen(server.port, "bob", [alice]);
    await chatsWith(alice, "alice", "nobody else came", [bob]);
    assert.equal(await server.stop(), 0);
  });

  // --- silence: pings for native members, the idle timeout for the others ---

  test(
    name("pings silent native members, keeps the one that answers, closes the one that does not"),
    async () => {
      await using server = await start(["--ping-after", "0.3", "--ping-timeout", "0.3"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using mallory = await TestMember.join(server.port, "mallory");
      const pings = { count: 0 };
      await expectArrival(alice, "join", "mallory", pings);
      const alicesNext = expectArrival(alice, "leave", "mallory", pings); // answering meanwhile
      assert.deepEqual(await mallory.next("a ping"), { type: "ping" });
      const rest = await mallory.untilClosed();
      assert.deepEqual(rest.map((message) => message.code), ["idle_timeout"]);
      await alicesNext;
      assert.ok(pings.count >= 1, "alice was pinged too, and answered");
      // Still in after answering: pinged twice more, and chatting.
      await answerPingsUntil(alice, pings, pings.count + 2);
      await using bob = await TestMember.join(server.port, "bob");
      await expectArrival(alice, "join", "bob", pings);
      bob.send({ type: "msg", text: "hello alice" });
      await expectChat(alice, "bob", "hello alice");
      alice.send({ type: "msg", text: "hello bob" });
      await expectChat(bob, "alice", "hello bob");
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("keeps a member whose pong came while the server was paused"), async () => {
    await using server = await start(["--ping-after", "0.3", "--ping-timeout", "0.3"]);
    await using alice = await TestMember.join(server.port, "alice");
    assert.deepEqual(await alice.next("a ping"), { type: "ping" });
    // Alice answers at once, but the server is held up until long after the ping timeout: her
    // pong waits unread in its socket.
    await server.holdUp(1_000, () => alice.send({ type: "pong" }));
    alice.send({ type: "ping" });
    assert.deepEqual(await alice.next("the pong"), { type: "pong" });
    assert.equal(await server.stop(), 0);
  });

  test(
    name("still closes a silent member while the server is held up again and again"),
    async () => {
      await using server = await start(["--ping-after", "0.3", "--ping-timeout", "0.3"]);
      await using mallory = await TestMember.join(server.port, "mallory");
      let closed = false;
      const rest = mallory.untilClosed().finally(() => closed = true);
      // Held up for most of every quarter second, so that every sweep comes late: being held up
      // excuses a silence once, not for ever.
      for (const startedAt = Date.now(); !closed && Date.now() - startedAt < 5_000;) {
        await server.holdUp(250);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      assert.ok(closed, "closed while the server was still being held up");
      const codes = (await rest).map((message) => message.code ?? message.type);
      assert.deepEqual(codes, ["ping", "idle_timeout"]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("closes silent line and legacy members after --idle-timeout, each in its mode"),
    async () => {
      await using server = await start(["--idle-timeout", "0.5"]);
      await using alice = await TestMember.join(server.port, "alice");
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await using bob = await LegacyMember.connect(server.port, "bob");
      await bob.waitFor("*", /^you are bob in lobby/);
      assert.deepEqual(await linesUntilClosed(line.lines), [
        "*** bob joined",
        `*** ${IDLE_TIMEOUT}`,
      ]);
      // Bob may or may not hear of the guest's leave first: both fall silent at once.
      const toBob = await pairsUntilClosed(bob);
      assert.deepEqual(toBob.at(-1), ["*", IDLE_TIMEOUT]);
      assert.deepEqual(toBob.slice(0, -1), toBob.length > 1 ? [["*", `${guest} left`]] : []);
      await alice.expect({ type: "join", nick: guest });
      await alice.expect({ type: "join", nick: "bob" });
      const leaves = [await alice.expect({ type: "leave" }), await alice.expect({ type: "leave" })];
      assert.deepEqual(leaves.map((leave) => leave.nick).sort(), ["bob", guest].sort());
      // Native members are not subject to it: Alice, as silent, is still in.
      const { member: carol, nick: carolGuest } = await LineMember.join(server.port);
      await using _carol = carol;
      await alice.expect({ type: "join", nick: carolGuest });
      carol.say("hello alice");
      await alice.expect({ type: "msg", from: carolGuest, text: "hello alice" });
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("never closes silent line and legacy members by default"), async () => {
    // Every other limit is short, and passes many times while they say nothing: Alice's pings
    // count the time.
    const args = ["--ping-after", "0.3", "--ping-timeout", "0.3", "--hello-timeout", "0.3"];
    await using server = await start([...args, "--read-timeout", "0.3"]);
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await using bob = await LegacyMember.connect(server.port, "bob");
    await bob.waitFor("*", /^you are bob in lobby/);
    await using alice = await TestMember.join(server.port, "alice");
    await answerPingsUntil(alice, { count: 0 }, 3);
    alice.send({ type: "msg", text: "still there?" });
    await line.lines.waitFor("<alice> still there?");
    await bob.waitFor("alice", "still there?");
    line.say("yes");
    await expectChat(alice, guest, "yes");
    bob.send("me too");
    await expectChat(alice, "bob", "me too");
    assert.equal(await server.stop(), 0);
  });

  // --- flood control: slowed, not dropped; disconnected only over the rate for --flood-timeout ---

  test(
    name("delivers every message of a burst past --burst, in order, slowed to --rate"),
    async () => {
      await using server = await start(FLOOD);
      await using alice = await TestMember.join(server.port, "alice");
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await alice.expect({ type: "join", nick: guest });
      await using bob = await joinSeen(server.port, "bob", [alice]);
      assert.equal(await line.lines.next(), "*** bob joined");
      bob.sendBytes(floodFrames(10, "burst"));
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const message = await alice.expect({ type: "msg", from: "bob", text: `burst ${i}` });
        times.push(message.ts as number);
        assert.equal(await line.lines.next(), `<bob> burst ${i}`);
        // More comes while most of the burst is held, into the buffer the burst was read into.
        if (i === 0) bob.sendBytes(floodFrames(3, "later"));
      }
      for (let i = 0; i < 3; i++) {
        await alice.expect({ type: "msg", from: "bob", text: `later ${i}` });
        assert.equal(await line.lines.next(), `<bob> later ${i}`);
      }
      // Three at once, then five a second: the tenth goes 1.4 s after the first.
      const spread = times[9] - times[0];
      assert.ok(spread >= 1000, `all ten went out within ${spread} ms`);
      bob.send({ type: "ping" });
      assert.deepEqual(await bob.next(), { type: "pong" }, "a burst earns no warning");
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("delivers all of a slowed burst whose sender leaves at once"), async () => {
    await using server = await start(FLOOD);
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await joinSeen(server.port, "bob", [alice]);
    bob.socket.end(floodFrames(10, "last words"));
    for (let i = 0; i < 10; i++) {
      await alice.expect({ type: "msg", from: "bob", text: `last words ${i}` });
    }
    await alice.expect({ type: "leave", nick: "bob" });
    await bob.closed;
    assert.equal(await server.stop(), 0);
  });

  test(
    name("disconnects a member over the rate past --flood-timeout; the rest chat on"),
    async () => {
      await using server = await start([...FLOOD, "--flood-timeout", "2"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await joinSeen(server.port, "bob", [alice]);
      await using mallory = await joinSeen(server.port, "mallory", [alice, bob]);
      mallory.sendBytes(floodFrames(1000));
      bob.send({ type: "msg", text: "over the noise" });
      // Mallory may hear Bob before she goes; what she is told is about flooding.
      const rest = (await mallory.untilClosed()).filter((m) => m.from !== "bob");
      assert.ok(rest.length > 0 && rest.every((m) => m.code === "flood"), JSON.stringify(rest));
      assert.match(rest.at(-1)!.message as string, /^Disconnected for flooding/);
      // Alice hears Bob, and of Mallory's thousand no more than the burst and two seconds' worth.
      const fromMallory: string[] = [];
      let heardBob = false;
      let mallorysLeave = false;
      while (!heardBob || !mallorysLeave) {
        const message = await alice.next();
        if (message?.type === "leave" && message.nick === "mallory") mallorysLeave = true;
        else if (message?.type === "msg" && message.from === "mallory") {
          fromMallory.push(message.text as string);
        } else {
          assert.deepEqual([message?.type, message?.from, message?.text], [
            "msg",
            "bob",
            "over the noise",
          ]);
          heardBob = true;
        }
      }
      const most = 3 + 2 * 5 + 2;
      assert.ok(fromMallory.length <= most, `alice heard ${fromMallory.length} of mallory's`);
      assert.deepEqual(fromMallory, fromMallory.map((_, i) => `flood ${i}`));
      for (let i = 0; i < fromMallory.length; i++) {
        await bob.expect({ type: "msg", from: "mallory", text: `flood ${i}` });
      }
      await bob.expect({ type: "leave", nick: "mallory" });
      await chatsWith(alice, "alice", "quiet again", [bob]);
      await chatsWith(bob, "bob", "indeed", [alice]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("slows a line member's burst, and disconnects one that floods, with a line"),
    async () => {
      await using server = await start([...FLOOD, "--flood-timeout", "2"]);
      await using alice = await TestMember.join(server.port, "alice");
      const { member: mallory, nick: guest } = await LineMember.join(server.port);
      await using _mallory = mallory;
      await alice.expect({ type: "join", nick: guest });
      const lines = (count: number, prefix: string) =>
        Array.from({ length: count }, (_, i) => `${prefix} ${i}\n`).join("");
      mallory.socket.write(lines(10, "burst"));
      for (let i = 0; i < 10; i++) {
        await alice.expect({ type: "msg", from: guest, text: `burst ${i}` });
      }
      mallory.socket.write(lines(1000, "flood"));
      const told = await linesUntilClosed(mallory.lines);
      assert.equal(told.at(-1), "*** Disconnected for flooding", JSON.stringify(told));
      for (const line of told.slice(0, -1)) {
        assert.equal(line, "*** You are sending too fast; your input is delayed");
      }
      const heard: string[] = [];
      for (
        let message = await alice.next();
        message?.type !== "leave";
        message = await alice.next()
      ) {
        assert.equal(message?.from, guest, JSON.stringify(message));
        heard.push(message.text as string);
      }
      assert.ok(heard.length <= 3 + 2 * 5 + 2, `alice heard ${heard.length} lines of the flood`);
      assert.deepEqual(heard, heard.map((_, i) => `flood ${i}`));
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("still hears a member whose input flood control holds back: its pongs, its last frame"),
    async () => {
      // A hundred kilobytes of long messages, held for over two seconds at ten a second, while
      // every silence limit is far shorter; the last frame comes in two writes.
      const args = ["--rate", "10", "--burst", "3", "--read-timeout", "0.5"];
      await using server = await start([...args, "--ping-after", "0.3", "--ping-timeout", "0.3"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await TestMember.join(server.port, "bob");
      await expectArrival(alice, "join", "bob");
      const bobsNext = nextAnswering(bob); // answering his pings meanwhile
      const texts = Array.from({ length: 26 }, (_, i) => `${i} ${"x".repeat(4000)}`);
      const frames = Buffer.concat(texts.map((text) => frame({ type: "msg", text })));
      const lastHalf = frames.length - 2000;
      bob.sendBytes(frames.subarray(0, lastHalf));
      await expectChat(alice, "bob", texts[0]);
      bob.sendBytes(frames.subarray(lastHalf));
      for (const text of texts.slice(1)) await expectChat(alice, "bob", text);
      // Bob's ping waits its turn too, behind the pongs he sent meanwhile.
      const alicesNext = nextAnswering(alice);
      bob.send({ type: "ping" });
      assert.deepEqual(await bobsNext, { type: "pong" });
      assert.equal(await server.stop(), 0);
      assert.deepEqual(await alicesNext, {
        type: "error",
        code: "server_shutdown",
        message: SHUTDOWN,
      });
    },
  );

  test(name("with --rate 0 delivers every line of a flood, and says nothing of it"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    const { member: line, nick: guest } = await LineMember.join(server.port);
    await using _line = line;
    await alice.expect({ type: "join", nick: guest });
    line.socket.write(Array.from({ length: 1000 }, (_, i) => `flood ${i}\n`).join(""));
    for (let i = 0; i < 1000; i++) {
      await alice.expect({ type: "msg", from: guest, text: `flood ${i}` });
    }
    line.say("/who");
    assert.equal(await line.lines.next(), `*** in lobby: alice, ${guest} (you)`);
    assert.equal(await server.stop(), 0);
  });

  // --- connection limits ---

  for (
    const [flag, refusal] of [
      ["--max-clients", /^The server is full \(3 connections\); try again later$/],
      ["--max-per-address", /^Too many connections from 127\.0\.0\.1 \(at most 3\)$/],
    ] as const
  ) {
    test(
      name(`turns away a connection past ${flag} in its own mode, and takes one when a slot frees`),
      async () => {
        // Logging on: a disconnect's log line tells when the server has let go of the connection.
        await using server = await start([flag, "3"], false);
        const forgotten = disconnectLog(server);
        await using alice = await TestMember.join(server.port, "alice");
        const { member: line, nick: guest } = await LineMember.join(server.port);
        await using _line = line;
        await using bob = await LegacyMember.connect(server.port, "bob");
        await bob.waitFor("*", /^you are bob in lobby/);
        const turnedAway: number[] = [];

        await using native = await TestMember.connect(server.port);
        turnedAway.push(native.socket.localPort!);
        native.send({ type: "hello", nick: "dave" });
        const [error, ...more] = await native.untilClosed();
        assert.equal(error.code, "too_many_connections");
        assert.match(error.message as string, refusal);
        assert.deepEqual(more, []);

        const nc = await LineMember.connect(server.port); // says nothing, as a person at nc
        await using _nc = nc;
        turnedAway.push(nc.socket.localPort!);
        const [told, ...moreLines] = await linesUntilClosed(nc.lines);
        assert.match(told, /^\*\*\* /);
        assert.match(told.slice(4), refusal);
        assert.deepEqual(moreLines, []);

        await using classic = await LegacyMember.connect(server.port, "erin");
        turnedAway.push(classic.socket.localPort!);
        const [notice, ...morePairs] = await pairsUntilClosed(classic);
        assert.equal(notice[0], "*");
        assert.match(notice[1], refusal);
        assert.deepEqual(morePairs, []);

        // The members never heard of them, and chat on.
        await alice.expect({ type: "join", nick: guest });
        await alice.expect({ type: "join", nick: "bob" });
        alice.send({ type: "msg", text: "full house" });
        assert.equal(await line.lines.next(), "*** bob joined");
        assert.equal(await line.lines.next(), "<alice> full house");
        assert.deepEqual(await bob.next(), ["alice", "full house"]);

        const linePort = line.socket.localPort!;
        line.say("/quit");
        assert.deepEqual(await linesUntilClosed(line.lines), ["*** bye"]);
        await alice.expect({ type: "leave", nick: guest });
        for (const port of [...turnedAway, linePort]) await forgotten(port);
        await using dave = await LegacyMember.connect(server.port, "dave");
        await dave.waitFor("*", /^you are dave in lobby; here: alice, bob, dave \(you\)$/);
        await alice.expect({ type: "join", nick: "dave" });
        dave.send("made it");
        await alice.expect({ type: "msg", from: "dave", text: "made it" });
        await bob.waitFor("dave", "made it");
        assert.equal(await server.stop(), 0);
      },
    );
  }

  // --- shutdown ---

  test(
    name("on SIGTERM tells a member in each mode in its own encoding, and exits 0"),
    async () => {
      await using server = await start(FLOOD);
      await using alice = await TestMember.join(server.port, "alice");
      const { member: line, nick: guest } = await LineMember.join(server.port);
      await using _line = line;
      await using bob = await LegacyMember.connect(server.port, "bob");
      await bob.waitFor("*", /^you are bob in lobby/);
      await using mallory = await TestMember.join(server.port, "mallory");
      await alice.expect({ type: "join", nick: guest });
      await alice.expect({ type: "join", nick: "bob" });
      await alice.expect({ type: "join", nick: "mallory" });
      assert.equal(await line.lines.next(), "*** bob joined");
      assert.equal(await line.lines.next(), "*** mallory joined");
      assert.deepEqual(await bob.next(), ["*", "mallory joined"]);
      // Flood control holds most of Mallory's hundred messages for twenty seconds; shutting down
      // does not wait for them.
      mallory.sendBytes(floodFrames(100));
      await mallory.expect({ type: "error", code: "flood" });
      assert.equal(await server.stop(), 0);

      assert.deepEqual(await mallory.untilClosed(), [
        { type: "error", code: "server_shutdown", message: SHUTDOWN },
      ]);
      const toAlice = await alice.untilClosed();
      assert.deepEqual(toAlice.at(-1), {
        type: "error",
        code: "server_shutdown",
        message: SHUTDOWN,
      });
      assert.ok(toAlice.slice(0, -1).every((m) => m.type === "msg" && m.from === "mallory"));
      const toLine = await linesUntilClosed(line.lines);
      assert.equal(toLine.at(-1), `*** ${SHUTDOWN}`);
      assert.ok(toLine.slice(0, -1).every((text) => text.startsWith("<mallory> flood ")));
      const toBob = await pairsUntilClosed(bob);
      assert.deepEqual(toBob.at(-1), ["*", SHUTDOWN]);
      assert.ok(toBob.slice(0, -1).every(([from]) => from === "mallory"));
    },
  );

  // --- noise ---

  for (const mode of ["native", "line", "legacy"] as const) {
    test(
      name(`answers random bytes in ${mode} mode with errors or a close, never a crash`),
      async () => {
        await using server = await start([]);
        await using alice = await TestMember.join(server.port, "alice");
        await using bob = await joinSeen(server.port, "bob", [alice]);
        for (const seed of SEEDS) {
          const told = await noiseFrom(mode, server.port, seed);
          assert.ok(!told.some((text) => text.includes(INTERNAL_ERROR)), `seed ${seed}: ${told}`);
          for (const member of [alice, bob]) {
            const { nick } = await member.expect({ type: "join" });
            // Whatever of the noise passed for chat; then the leave.
            let message = await member.next();
            while (message?.type !== "leave") {
              assert.ok(message !== null, `seed ${seed}: closed`);
              message = await member.next();
            }
            assert.equal(message.nick, nick);
          }
        }
        await chatsWith(alice, "alice", "still here?", [bob]);
        await chatsWith(bob, "bob", "yes", [alice]);
        await using carol = await joinSeen(server.port, "carol", [alice, bob]);
        await chatsWith(carol, "carol", "and the door is open", [alice, bob]);
        assert.equal(await server.stop(), 0);
      },
    );
  }
}

// --- input paid for by the byte and the read loop's turns (server/session.ts, flood_gate.ts) ---

/** A connection that writes `noise` over and over, as fast as the server takes it. */
class Flooder {
  readonly socket: net.Socket;
  readonly closed: Promise<Buffer>;
  /** Bytes handed to the socket so far. */
  written = 0;
  #received: Buffer[] = [];
  #stopped = false;
  #flowing: Promise<void>;
  #wake: () => void = () => {};

  private constructor(socket: net.Socket, noise: Uint8Array) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => this.#received.push(chunk));
    socket.on("drain", () => this.#wake());
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#wake();
        resolve(Buffer.concat(this.#received));
      })
    );
    this.#flowing = this.#flow(noise);
  }

  /** Connects, sends `first`, then `noise` until stopped or closed. */
  static async start(port: number, first: Uint8Array, noise: Uint8Array): Promise<Flooder> {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await within(once(socket, "connect"), `a connection to port ${port}`);
    socket.write(first);
    return new Flooder(socket, noise);
  }

  // Bounded by count as well: 100,000 writes of 64 KiB is far more than any run takes.
  async #flow(noise: Uint8Array): Promise<void> {
    for (let i = 0; i < 100_000 && !this.#stopped && !this.socket.destroyed; i++) {
      this.written += noise.length;
      if (!this.socket.write(noise)) {
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    }
  }

  /** Stops writing; what the server sent so far is still read. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake();
    await this.#flowing;
  }

  /** Resolves once `bytes` are written, or the server has closed the connection. */
  async wrote(bytes: number): Promise<void> {
    for (let i = 0; i < 10_000 && this.written < bytes && !this.socket.destroyed; i++) {
      const drained = new Promise((resolve) => this.socket.once("drain", resolve));
      await within(Promise.race([drained, this.closed]), `${bytes} bytes written`);
    }
  }

  /** Everything the server sent, once it has closed the connection. */
  untilClosed(what = "the server to close the flooder"): Promise<Buffer> {
    return within(this.closed, what);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    this.socket.destroy();
    await this.closed;
  }
}

const NOISE_BYTES = 64 * 1024;
const repeated = (pattern: string | number[], bytes = NOISE_BYTES) => {
  const one = Buffer.from(pattern as string);
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / one.length) }, () => one));
};

/**
 * Alice and Bob take turns saying `turns` things, each heard before the next is said; returns how
 * long each took to arrive, in ms.
 */
async function converse(alice: TestMember, bob: TestMember, turns: number): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < turns; i++) {
    const [from, to, nick] = i % 2 === 0 ? [alice, bob, "alice"] : [bob, alice, "bob"];
    const sentAt = performance.now();
    from.send({ type: "msg", text: `turn ${i}` });
    await expectChat(to, nick, `turn ${i}`);
    delays.push(performance.now() - sentAt);
  }
  return delays;
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `limits [${runtime}] ${behaviour}`;
  const start = (args: string[]) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(
    name("keeps chat prompt while one address floods input that forms no message"),
    async () => {
      await using server = await start([]);
      // In a room of their own: the flooders' comings and goings are not theirs to hear.
      await using alice = await TestMember.join(server.port, "alice", "den");
      await using bob = await TestMember.join(server.port, "bob", "den");
      await alice.expect({ type: "join", nick: "bob" });
      await converse(alice, bob, 4); // before: the first messages of a process are slower
      const port = server.port;
      const overLong = Buffer.concat([repeated("x", NOISE_BYTES - 1), Buffer.from("\n")]);
      await using blank = await Flooder.start(port, Buffer.from("\n"), repeated("\n"));
      await using telnet = await Flooder.start(port, Buffer.from("hi\n"), repeated([255, 241]));
      await using long = await Flooder.start(port, Buffer.from("hi\n"), overLong);
      await using empty = await Flooder.start(
        port,
        LegacyMember.encode("mallory"),
        repeated("0         "),
      );
      const flooders = [blank, telnet, long, empty];
      for (const flooder of flooders) await flooder.wrote(256 * 1024); // in full flow
      // Forty turns in all: as many as flood control lets Alice and Bob say at once (--burst).
      const delays = await converse(alice, bob, 36);
      const worst = Math.max(...delays);
      assert.ok(worst < 1_000, `a message took ${worst.toFixed(0)} ms to arrive`);
      // Those whose noise counts as messages are told, in their mode, and closed.
      const toBlank = (await blank.untilClosed()).toString().split("\n").filter((l) => l);
      assert.equal(toBlank.at(-1), "*** Disconnected for flooding", JSON.stringify(toBlank));
      const toEmpty = legacyPayloads(await empty.untilClosed());
      assert.deepEqual(toEmpty.slice(-2), ["*", "Disconnected for flooding"]);
      // Those who send only bytes are slowed to a trickle: TCP holds the rest.
      for (const flooder of [telnet, long]) {
        assert.ok(flooder.written < 64 * 1024 * 1024, `${flooder.written} bytes taken`);
      }
      for (const flooder of [telnet, long]) await flooder.stop();
      await chatsWith(alice, "alice", "quiet again", [bob]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("with --rate 0 still runs timers and other members while one member floods"),
    async () => {
      const args = ["--rate", "0", "--ping-after", "0.3", "--ping-timeout", "0.3"];
      await using server = await start(args);
      await using alice = await TestMember.join(server.port, "alice", "den");
      await using bob = await TestMember.join(server.port, "bob", "den");
      await alice.expect({ type: "join", nick: "bob" });
      await converse(alice, bob, 4); // before: the first messages of a process are slower
      // Mallory talks to a room of her own, always with more to say than the server can take.
      const hello = frame({ type: "hello", nick: "mallory", room: "void" });
      const noise = Buffer.concat(
        Array.from({ length: 2_000 }, (_, i) => frame({ type: "msg", text: `noise ${i}` })),
      );
      await using mallory = await Flooder.start(server.port, hello, noise);
      await mallory.wrote(1024 * 1024); // in full flow
      await using silent = await TestMember.join(server.port, "silent", "attic");
      const joinedAt = performance.now();
      const delays = await converse(alice, bob, 20);
      const worst = Math.max(...delays);
      assert.ok(worst < 1_000, `a message took ${worst.toFixed(0)} ms to arrive`);
      // The sweep still runs: pinged after 0.3 s, closed 0.3 s later, while Mallory goes on.
      const told = await silent.untilClosed();
      const closedAfter = performance.now() - joinedAt;
      assert.deepEqual(told.map((message) => message.code ?? message.type), [
        "ping",
        "idle_timeout",
      ]);
      assert.ok(closedAfter < 3_000, `closed ${closedAfter.toFixed(0)} ms after joining`);
      assert.ok(!mallory.socket.destroyed, "mallory is not closed for her flood");
      await mallory.stop();
      assert.equal(await server.stop(), 0);
    },
  );
}

// --- the output side: a member that reads too slowly, and what it reads once it is dropped ---
// The publisher floods the room "flood" with no pause, so that the server always has its input to
// read, and then stops. The slow member is in that room and in the lobby, where a watcher hears it
// leave. (The publisher itself is not watched: a socket kept that busy writing may not be read in
// time, whichever runtime runs the test.)

// The server's close flush (server.ts): a member who reads only after it must still find its stream
// ending on a frame boundary, with the error last. The flush is a time, not an event the test
// can await: it waits out this long.
const PAST_THE_FLUSH_MS = 2_500;
const pastTheFlush = () => new Promise((resolve) => setTimeout(resolve, PAST_THE_FLUSH_MS));

const SLOW_QUEUE_BYTES = 1024 * 1024;
const SLOW_QUEUE = ["--rate", "0", "--send-queue", String(SLOW_QUEUE_BYTES)];
const TOO_SLOW = new RegExp(`^You were too slow to read: over ${SLOW_QUEUE_BYTES} bytes waited`);
const floodText = (seq: number) => `flood ${seq} `.padEnd(500, ".");
// More than the kernel buffers of a loopback connection hold here (net.ipv4.tcp_rmem's 32 MiB
// and tcp_wmem's 4 MiB) and the send queue's cap, together.
const FLOOD_BYTES = 96 * 1024 * 1024;

/** The native frames in `bytes`, as JSON, and how many bytes follow the last whole one. */
function nativeMessages(bytes: Buffer): { messages: Json[]; partial: number } {
  const messages: Json[] = [];
  let at = 0;
  while (at + 4 <= bytes.length && at + 4 + bytes.readUInt32BE(at) <= bytes.length) {
    const end = at + 4 + bytes.readUInt32BE(at);
    messages.push(JSON.parse(bytes.subarray(at + 4, end).toString("utf8")));
    at = end;
  }
  return { messages, partial: bytes.length - at };
}

/** Sends FLOOD_BYTES of numbered messages as fast as the socket takes them. */
async function flood(publisher: net.Socket): Promise<void> {
  for (let seq = 0, bytes = 0; bytes < FLOOD_BYTES;) {
    const batch = Buffer.concat(
      Array.from({ length: 64 }, () => frame({ type: "msg", text: floodText(seq++) })),
    );
    bytes += batch.length;
    if (!publisher.write(batch)) await within(once(publisher, "drain"), "the publisher's drain");
  }
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `limits [${runtime}] ${behaviour}`;
  const start = (args: string[]) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(
    name(
      "drops a native member that stops reading; later it reads whole frames, the error, the end",
    ),
    async () => {
      await using server = await start(SLOW_QUEUE);
      await using watcher = await TestMember.join(server.port, "watcher");
      await using publisher = await TestMember.join(server.port, "publisher", "flood");
      await using slow = await RawPeer.connect(server.port);
      slow.socket.write(frame({ type: "hello", nick: "slow" }));
      await watcher.expect({ type: "join", nick: "slow" });
      slow.socket.write(frame({ type: "join", room: "flood" }));
      await publisher.expect({ type: "join", nick: "slow" });
      slow.socket.pause();
      await flood(publisher.socket);
      await watcher.expect({ type: "leave", nick: "slow" });
      await pastTheFlush();
      slow.socket.resume();
      const { messages, partial } = nativeMessages(await slow.untilClosed());
      assert.equal(partial, 0, "the stream ends where a frame ends");
      const last = messages.pop()!;
      assert.equal(last.code, "send_queue_full", JSON.stringify(last).slice(0, 200));
      assert.match(last.message as string, TOO_SLOW);
      const chat = messages.slice(messages.findIndex((message) => message.type === "joined") + 1);
      chat.forEach((message, seq) => assert.equal(message.text, floodText(seq)));
      await using late = await joinSeen(server.port, "late", [watcher]);
      await chatsWith(watcher, "watcher", "still here", [late]);
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("drops a line member that stops reading; later it reads whole lines, the error, the end"),
    async () => {
      await using server = await start(SLOW_QUEUE);
      await using watcher = await TestMember.join(server.port, "watcher");
      await using publisher = await TestMember.join(server.port, "publisher", "flood");
      const { member: slow, nick } = await LineMember.join(server.port);
      await using _slow = slow;
      await watcher.expect({ type: "join", nick });
      slow.say("/join flood");
      await publisher.expect({ type: "join", nick });
      slow.socket.pause();
      await flood(publisher.socket);
      await watcher.expect({ type: "leave", nick });
      await pastTheFlush();
      slow.socket.resume();
      const lines = await linesUntilClosed(slow.lines);
      assert.match(lines.pop()!, new RegExp(`^\\*\\*\\* ${TOO_SLOW.source.slice(1)}`));
      const chat = lines.slice(
        lines.findIndex((line) => line.startsWith("*** you joined flood")) + 1,
      );
      chat.forEach((line, seq) => assert.equal(line, `[flood] <publisher> ${floodText(seq)}`));
      assert.equal(await server.stop(), 0);
    },
  );

  test(
    name("drops a member above --send-queue-soft for --send-queue-grace, and says so"),
    async () => {
      const soft = ["--send-queue", String(256 * 1024 * 1024), "--send-queue-soft", "65536"];
      await using server = await start([...SLOW_QUEUE, ...soft, "--send-queue-grace", "0.5"]);
      await using watcher = await TestMember.join(server.port, "watcher");
      await using publisher = await TestMember.join(server.port, "publisher", "flood");
      await using slow = await TestMember.join(server.port, "slow");
      await watcher.expect({ type: "join", nick: "slow" });
      slow.send({ type: "join", room: "flood" });
      await publisher.expect({ type: "join", nick: "slow" });
      slow.socket.pause();
      await flood(publisher.socket);
      await watcher.expect({ type: "leave", nick: "slow" });
      slow.socket.resume();
      const rest = await slow.untilClosed();
      assert.deepEqual(rest.at(-1), {
        type: "error",
        code: "send_queue_full",
        message: "You were too slow to read: over 65536 bytes waited for 0.5 s",
      });
      assert.equal(await server.stop(), 0);
    },
  );
}
