// End-to-end tests of client.ts: real client subprocesses on pipes and in a pseudo-terminal,
// talking to a real server.ts, to test members, or to a server the test plays by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { nickColour } from "../../client/format.ts";
import {
  remainingLines,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  startQuietServer,
  startServerOn,
  Subprocess,
  temporaryDirectory,
  TestMember,
} from "./_helpers.ts";
import { frameHeader, rawFrame } from "../_frames.ts";
import { FakeServer, Proxy } from "./_fake_server.ts";
import { type Screen, TerminalSession } from "./_terminal.ts";

const startServer = startQuietServer;

/** `[HH:MM] ` then `line`: how a history line reads. */
function historyLine(line: string): RegExp {
  return new RegExp(`^\\[\\d\\d:\\d\\d\\] ${line.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}$`);
}

/** client.ts under `runtime`, on pipes, for the server on `port`. */
function startClient(runtime: RuntimeName, port: number, args: string[] = []): Subprocess {
  return new Subprocess(scriptCommand(runtime, "client.ts", ["127.0.0.1", String(port), ...args]));
}

/** Asserts that `client` exits with `status`, having printed nothing more and nothing on stderr. */
async function exitsQuietly(client: Subprocess, status: number): Promise<void> {
  assert.equal(await client.exitCode(), status);
  assert.deepEqual(await remainingLines(client.stdout), [], "no more output");
  assert.deepEqual(await remainingLines(client.stderr), [], "nothing on stderr");
}

/**
 * Asserts that `client`, a script, exits 1 having printed nothing more, and says on stderr that the
 * server refused `count` of its lines.
 */
async function exitsRefused(client: Subprocess, count: number): Promise<void> {
  assert.equal(await client.exitCode(), 1);
  assert.deepEqual(await remainingLines(client.stdout), [], "no more output");
  const lines = count === 1 ? "1 line" : `${count} lines`;
  assert.deepEqual(await remainingLines(client.stderr), [
    `client: the server refused ${lines} (said above)`,
  ]);
}

/** A port with nothing listening on it, found by closing a listener. */
async function closedPort(): Promise<number> {
  const listener = net.createServer().listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as net.AddressInfo;
  listener.close();
  await once(listener, "close");
  return port;
}

const LEFT = "\x1b[D";
/** An ANSI colour or style code. */
const SGR = new RegExp(String.raw`\x1b\[[\d;]*m`);
/** Every command /help and --help describe, and line mode takes too. */
const COMMANDS = [
  "/join",
  "/part",
  "/rooms",
  "/who",
  "/msg",
  "/nick",
  "/me",
  "/help",
  "/quit",
  "//text",
];

for (const clientRuntime of RUNTIMES) {
  for (const serverRuntime of RUNTIMES) {
    test(
      `client [${clientRuntime}->${serverRuntime}] two clients chat through stdin and stdout`,
      async () => {
        await using server = await startServer(serverRuntime);
        await using alice = startClient(clientRuntime, server.port, ["--nick", "alice"]);
        assert.equal(
          await alice.stdout.next(),
          "* you are alice in lobby; nobody else is here yet",
        );
        await using bob = startClient(clientRuntime, server.port, ["--nick", "bob"]);
        assert.equal(await bob.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
        assert.equal(await alice.stdout.next(), "* bob joined");
        alice.write("hello bob\n");
        assert.equal(await bob.stdout.next(), "<alice> hello bob");
        bob.write("hi alice, ünïcode ✓ 日本\r\n");
        assert.equal(await alice.stdout.next(), "<bob> hi alice, ünïcode ✓ 日本");
        bob.endInput();
        await exitsQuietly(bob, 0);
        assert.equal(await alice.stdout.next(), "* bob left");
        alice.endInput();
        await exitsQuietly(alice, 0);
        assert.equal(await server.stop(), 0);
      },
    );
  }
}

for (const runtime of RUNTIMES) {
  // Each client runtime talks to the other runtime's server; the pairs above cover the rest.
  const serverRuntime = RUNTIMES.find((other) => other !== runtime)!;
  const name = (behaviour: string) => `client [${runtime}->${serverRuntime}] ${behaviour}`;

  test(name("takes its nick from the first input line without --nick"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using carol = startClient(runtime, server.port);
    carol.write("carol\nhello all\n");
    await alice.expect({ type: "join", nick: "carol" });
    await alice.expect({ type: "msg", from: "carol", text: "hello all" });
    // No prompt on a pipe: the welcome is the first thing printed.
    assert.equal(await carol.stdout.next(), "* you are carol in lobby; here: alice, carol (you)");
    carol.endInput();
    await exitsQuietly(carol, 0);
  });

  test(
    name("exits 1 when a script's first-line nick is taken, using no other line as a nick"),
    async () => {
      await using server = await startServer(serverRuntime);
      await using alice = await TestMember.join(server.port, "alice");
      await using client = startClient(runtime, server.port);
      // All at once, so the lines after the first wait for the server's answer to it.
      client.write("ALICE\nalicia\nhi\n");
      client.endInput();
      assert.equal(await client.stdout.next(), "* The nick ALICE is taken; choose another");
      assert.equal(await client.exitCode(), 1);
      assert.deepEqual(await remainingLines(client.stdout), []);
      assert.deepEqual(await remainingLines(client.stderr), [
        'client: the nick "ALICE", the first line of input, was refused: ' +
        "The nick ALICE is taken; choose another; no line was sent: start the input with " +
        "another nick, or give --nick",
      ]);
      // Had "alicia" been taken as a nick, or "hi" sent, they would reach alice before this pong.
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });
    },
  );

  test(name("exits 1 when a script's --nick is taken, without using its input"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "alice"]);
    client.write("bob\nhello\n");
    assert.equal(await client.stdout.next(), "* The nick alice is taken; choose another");
    assert.equal(await client.exitCode(), 1);
    assert.deepEqual(await remainingLines(client.stderr), [
      "client: --nick alice was refused: The nick alice is taken; choose another; " +
      "no line was sent: give another",
    ]);
    // Had "bob" been taken as a nick, its join would reach alice before this pong.
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
  });

  test(name("sends lines typed before the welcome after it, then leaves at the end"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    client.write("one\n\ntwo\r\nthree");
    client.endInput();
    await alice.expect({ type: "join", nick: "bob" });
    for (const text of ["one", "two", "three"]) {
      await alice.expect({ type: "msg", from: "bob", text });
    }
    await alice.expect({ type: "leave", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    await exitsQuietly(client, 0);
  });

  test(name("leaves on /quit with status 0, after sending what came before it"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    client.write("before\n/quit\nafter\n"); // and the input stays open
    await alice.expect({ type: "msg", from: "bob", text: "before" });
    await alice.expect({ type: "leave", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    await exitsQuietly(client, 0);
  });

  test(name("runs /help and unknown commands locally, and sends //text as /text"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    client.write(`/help\n/frobnicate now\n//slash\n${"x".repeat(5000)}\n`);
    const help = [];
    for (
      let line = await client.stdout.next();
      line !== "* unknown command /frobnicate, try /help";
    ) {
      assert.notEqual(line, null, `output ended before the unknown command; saw ${help}`);
      help.push(line!);
      line = await client.stdout.next();
    }
    for (const command of COMMANDS) {
      assert.ok(help.some((line) => line.startsWith(`* ${command} `)), `/help shows ${command}`);
    }
    assert.equal(await client.stdout.next(), "* Cannot send message: it exceeds 4096 bytes");
    await alice.expect({ type: "msg", from: "bob", text: "/slash" });
    client.endInput();
    await alice.expect({ type: "leave", nick: "bob" });
    await exitsQuietly(client, 0);
  });

  test(
    name("stamps live lines with --timestamps, and /timestamps turns that off and on"),
    async () => {
      await using server = await startServer(serverRuntime);
      await using alice = await TestMember.join(server.port, "alice");
      await using client = startClient(runtime, server.port, ["--nick", "bob", "--timestamps"]);
      await alice.expect({ type: "join", nick: "bob" });
      assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
      alice.send({ type: "msg", text: "stamped" });
      assert.match((await client.stdout.next())!, historyLine("<alice> stamped"));
      client.write("/timestamps\n");
      assert.equal(await client.stdout.next(), "* time stamps off");
      alice.send({ type: "msg", text: "plain" });
      assert.equal(await client.stdout.next(), "<alice> plain");
      client.write("/TIMESTAMPS\n");
      assert.equal(await client.stdout.next(), "* time stamps on");
      alice.send({ type: "msg", text: "stamped again", action: true });
      assert.match((await client.stdout.next())!, historyLine("* alice stamped again"));
      client.endInput();
      await alice.expect({ type: "leave", nick: "bob" });
      await exitsQuietly(client, 0);
    },
  );

  test(name("asks the server /who, acts with /me, and changes nick with /nick"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    client.write("/who\n");
    assert.equal(await client.stdout.next(), "* in lobby: alice, bob (you)");
    client.write("/me waves\n");
    await alice.expect({ type: "msg", from: "bob", text: "waves", action: true });
    client.write("/nick\n");
    assert.equal(await client.stdout.next(), "* usage: /nick NAME");
    client.write("/nick ALICE\n");
    assert.equal(await client.stdout.next(), "* The nick ALICE is taken; choose another");
    client.write("/NICK robert\n");
    await alice.expect({ type: "nick", from: "bob", nick: "robert" });
    assert.equal(await client.stdout.next(), "* bob is now known as robert");
    client.write("still me\n");
    await alice.expect({ type: "msg", from: "robert", text: "still me" });
    client.endInput();
    await alice.expect({ type: "leave", nick: "robert" });
    // A script is told when the server refused any of its lines: here /nick ALICE.
    await exitsRefused(client, 1);
  });

  test(name("joins the room given with --room"), async () => {
    await using server = await startServer(serverRuntime);
    await using lobby = await TestMember.join(server.port, "alice");
    await using den = await TestMember.join(server.port, "carol", "den");
    await using client = startClient(runtime, server.port, ["--nick", "bob", "--room", "den"]);
    assert.equal(await client.stdout.next(), "* you are bob in den; here: carol, bob (you)");
    await den.expect({ type: "join", nick: "bob", room: "den" });
    client.write("hi den\n");
    await den.expect({ type: "msg", from: "bob", room: "den", text: "hi den" });
    client.endInput();
    await exitsQuietly(client, 0);
    // Nothing reached the lobby: the first message alice gets is the answer to her ping.
    lobby.send({ type: "ping" });
    await lobby.expect({ type: "pong" });
  });

  test(name("leaves politely on SIGTERM, with status 143"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    process.kill(client.child.pid!, "SIGTERM");
    await alice.expect({ type: "join", nick: "bob" });
    await alice.expect({ type: "leave", nick: "bob" });
    await exitsQuietly(client, 143);
  });

  test(name("leaves, and exits 1, when nobody reads its output"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    client.child.stdout!.destroy();
    alice.send({ type: "msg", text: "anyone there?" });
    await alice.expect({ type: "leave", nick: "bob" });
    assert.equal(await client.exitCode(), 1);
  });

  test(name("with --reconnect 0, says the server shut down and exits 1"), async () => {
    await using server = await startServer(serverRuntime);
    await using client = startClient(runtime, server.port, ["--nick", "bob", "--reconnect", "0"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    assert.equal(await server.stop(), 0);
    assert.equal(await client.stdout.next(), "* The server is shutting down");
    assert.equal(await client.stdout.next(), "* disconnected: the server shut down");
    await exitsQuietly(client, 1);
  });

  test(name("with --reconnect 0, says the connection closed and exits 1"), async () => {
    await using server = await startServer(serverRuntime);
    await using client = startClient(runtime, server.port, ["--nick", "bob", "--reconnect", "0"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    server.child.kill("SIGKILL");
    assert.equal(await client.stdout.next(), "* disconnected: the server closed the connection");
    await exitsQuietly(client, 1);
  });

  test(name("answers ping, and strips control characters from what the server says"), async () => {
    await using server = await FakeServer.start();
    await using client = startClient(runtime, server.port, ["--nick", "eve", "--reconnect", "0"]);
    const peer = await server.accept();
    assert.deepEqual(await peer.next(), { type: "hello", nick: "eve", echo: true });
    peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve", "m\x1b[31mallory"] });
    assert.equal(
      await client.stdout.next(),
      "* you are eve in lobby; here: eve (you), m[31mallory",
    );
    peer.send({ type: "ping" });
    assert.deepEqual(await peer.next(), { type: "pong" });
    // Skipped: a type from the future, a frame that is not JSON, fields of the wrong types, a chat
    // message for both a room and a member, and a welcome out of turn.
    peer.send({ type: "typing", nick: "mallory" });
    peer.socket.write(rawFrame("{not json"));
    peer.send({ type: "msg", id: 1, from: "mallory", room: "lobby", text: 7, ts: 0 });
    peer.send({ type: "msg", id: 1, from: "mallory", room: "lobby", to: "eve", text: "x", ts: 0 });
    peer.send({ type: "welcome", nick: "x", room: "y", members: [] });
    peer.send({
      type: "msg",
      id: 1,
      from: "m\x1b[31mallory",
      room: "lobby",
      text: "\x1b[2J\x1b[Hgotcha\x07\r\nfake\tline",
      ts: 0,
    });
    assert.equal(await client.stdout.next(), "<m[31mallory> [2J[Hgotchafake line");
    peer.socket.end();
    assert.equal(await client.stdout.next(), "* disconnected: the server closed the connection");
    await exitsQuietly(client, 1);
  });

  test(
    name("speaks first, so the server knows its mode while the user thinks of a nick"),
    async () => {
      await using server = await FakeServer.start();
      await using client = startClient(runtime, server.port);
      const peer = await server.accept();
      // Nothing has been typed yet: a server that heard nothing would take this for a person at nc.
      assert.deepEqual(await peer.next(), { type: "ping" });
      peer.send({ type: "pong" });
      client.write("eve\n");
      assert.deepEqual(await peer.next(), { type: "hello", nick: "eve", echo: true });
      peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve"] });
      assert.equal(await client.stdout.next(), "* you are eve in lobby; nobody else is here yet");
      client.endInput();
      // Before it leaves, a ping asks the server to confirm it has dealt with everything.
      assert.deepEqual(await peer.next(), { type: "ping" });
      peer.send({ type: "pong" });
      assert.equal(await peer.next(), null, "the client ended its side");
      await exitsQuietly(client, 0);
    },
  );

  test(name("gives up, and exits 1, when the server's byte stream is broken"), async () => {
    await using server = await FakeServer.start();
    await using client = startClient(runtime, server.port, ["--nick", "eve"]);
    const peer = await server.accept();
    await peer.next();
    peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve"] });
    assert.equal(await client.stdout.next(), "* you are eve in lobby; nobody else is here yet");
    peer.socket.write(frameHeader(0));
    assert.equal(
      await client.stdout.next(),
      "* disconnected: the server sent a broken frame (Cannot accept frame: length 0)",
    );
    await exitsQuietly(client, 1);
    assert.equal(await peer.next(), null, "the client closed the connection");
  });

  test(name("prints one line and exits 1 when the connection is refused"), async () => {
    const port = await closedPort();
    await using client = startClient(runtime, port, ["--nick", "bob"]);
    assert.equal(await client.exitCode(), 1);
    assert.deepEqual(await remainingLines(client.stderr), [
      `client: cannot connect to 127.0.0.1:${port}: connection refused`,
    ]);
    assert.deepEqual(await remainingLines(client.stdout), []);
  });

  test(name("keeps a half-typed line whole when a message arrives, in a terminal"), async () => {
    await using server = await startServer(serverRuntime);
    await using bob = await TestMember.join(server.port, "bob");
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port)]),
    );
    await terminal.until("the nick prompt", (screen) => screen.line() === "Nick:");
    terminal.type("bob\r");
    await terminal.until(
      "the nick prompt again",
      (screen) =>
        screen.line(1) === "* The nick bob is taken; choose another" && screen.line() === "Nick:",
    );
    terminal.type("zoe\r");
    await bob.expect({ type: "join", nick: "zoe" });
    await terminal.until(
      "the welcome and the chat prompt",
      (screen) =>
        screen.line(1) === "* you are zoe in lobby; here: bob, zoe (you)" &&
        screen.line() === "zoe>",
    );

    terminal.type(`hello wrld${LEFT}${LEFT}${LEFT}`);
    const halfTyped = (screen: Screen) =>
      screen.line() === "zoe> hello wrld" && screen.column === "zoe> hello w".length;
    await terminal.until("the half-typed line", halfTyped);
    bob.send({ type: "msg", text: "hi there" });
    await terminal.until(
      "the message above the half-typed line, redrawn with the cursor where it was",
      (screen) => screen.line(1) === "<bob> hi there" && halfTyped(screen),
    );
    terminal.type("o\r");
    await bob.expect({ type: "msg", from: "zoe", text: "hello world" });
    await terminal.until(
      "the sent line in the transcript",
      (screen) =>
        screen.line(1) === "<zoe> hello world" && screen.line(2) === "<bob> hi there" &&
        screen.line() === "zoe>",
    );

    terminal.type("\x04"); // Ctrl-D on an empty line
    await bob.expect({ type: "leave", nick: "zoe" });
    assert.equal(await terminal.process.exitCode(), 0);
    await remainingLines(terminal.process.stdout);
    assert.match(terminal.screen.text, /(^|[\s;])icanon\b/, "canonical mode is back");
    assert.match(terminal.screen.text, /(^|[\s;])echo\b/, "echo is back");
  });

  test(name("restores the terminal when the server goes away for good"), async () => {
    await using server = await startServer(serverRuntime);
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", [
        "127.0.0.1",
        String(server.port),
        "--nick",
        "zoe",
        "--reconnect",
        "0",
      ]),
    );
    await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
    terminal.type("half");
    await terminal.until("the typing", (screen) => screen.line() === "zoe> half");
    assert.equal(await server.stop(), 0);
    assert.equal(await terminal.process.exitCode(), 1);
    await remainingLines(terminal.process.stdout);
    const rows = terminal.screen.rows.map((row) => row.trimEnd());
    const at = rows.indexOf("* The server is shutting down");
    assert.notEqual(at, -1, terminal.screen.text);
    assert.equal(rows[at + 1], "* disconnected: the server shut down");
    assert.match(rows[at + 2], /^speed /, "the prompt is gone, and stty -a printed next");
    assert.match(terminal.screen.text, /(^|[\s;])icanon\b/, "canonical mode is back");
  });
}

// The chat features: rooms, private messages, reconnecting, and what a terminal shows.
for (const runtime of RUNTIMES) {
  const serverRuntime = RUNTIMES.find((other) => other !== runtime)!;
  const name = (behaviour: string) => `client [${runtime}->${serverRuntime}] ${behaviour}`;

  test(name("joins, lists, asks who is in and parts rooms, and stamps history"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "msg", text: "earlier" });
    await using carol = await TestMember.join(server.port, "carol", "den");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    assert.match((await client.stdout.next())!, historyLine("<alice> earlier"));
    await alice.expect({ type: "join", nick: "bob" });

    client.write("/join den\n");
    assert.equal(await client.stdout.next(), "* you joined den; here: carol, bob (you)");
    await carol.expect({ type: "join", nick: "bob", room: "den" });
    client.write("hi den\n");
    await carol.expect({ type: "msg", from: "bob", room: "den", text: "hi den" });
    // Lines from a room other than the one bob talks in say where they are from.
    alice.send({ type: "msg", text: "still here" });
    assert.equal(await client.stdout.next(), "[lobby] <alice> still here");
    carol.send({ type: "msg", text: "welcome", room: "den" });
    assert.equal(await client.stdout.next(), "<carol> welcome");

    client.write("/rooms\n/who lobby\n/who\n/who nowhere\n");
    assert.equal(await client.stdout.next(), "* rooms: den (2), lobby (2)");
    assert.equal(await client.stdout.next(), "* in lobby: alice, bob (you)");
    assert.equal(await client.stdout.next(), "* in den: carol, bob (you)");
    assert.equal(await client.stdout.next(), "* There is no room called nowhere");

    client.write("/part\n");
    await carol.expect({ type: "leave", nick: "bob", room: "den" });
    assert.equal(await client.stdout.next(), "* you left den; you are now in lobby");
    client.write("/part\n/join\n");
    assert.equal(await client.stdout.next(), "* usage: /join ROOM");
    assert.equal(await client.stdout.next(), "* lobby is your only room; /join another first");
    client.write("back in the lobby\n");
    await alice.expect({ type: "msg", from: "bob", room: "lobby", text: "back in the lobby" });
    client.endInput();
    await alice.expect({ type: "leave", nick: "bob", room: "lobby" });
    await exitsRefused(client, 2); // /who nowhere, and /part from the only room
  });

  test(name("sends a private message with /msg that only its target gets"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using carol = await TestMember.join(server.port, "carol");
    await alice.expect({ type: "join", nick: "carol" });
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.equal(
      await client.stdout.next(),
      "* you are bob in lobby; here: alice, carol, bob (you)",
    );
    await alice.expect({ type: "join", nick: "bob" });
    await carol.expect({ type: "join", nick: "bob" });

    client.write("/msg alice meet me at  noon\n");
    await alice.expect({ type: "msg", from: "bob", to: "alice", text: "meet me at  noon" });
    // Had carol got it, it would come before the answer to her ping.
    carol.send({ type: "ping" });
    await carol.expect({ type: "pong" });
    alice.send({ type: "msg", to: "bob", text: "ok" });
    assert.equal(await client.stdout.next(), "*alice* ok");
    client.write("/msg nobody hello\n");
    assert.equal(await client.stdout.next(), "* Nobody here is called nobody");
    client.write("/msg alice\n");
    assert.equal(await client.stdout.next(), "* usage: /msg NICK TEXT");
    client.endInput();
    await exitsRefused(client, 1); // the message to nobody
  });

  test(
    name("reconnects when the connection is cut, and prints every missed message once, in order"),
    async () => {
      await using server = await startServer(serverRuntime);
      await using proxy = await Proxy.start(server.port);
      await using alice = await TestMember.join(server.port, "alice");
      await using carol = await TestMember.join(server.port, "carol", "den");
      await using client = startClient(runtime, proxy.port, ["--nick", "bob"]);
      assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
      await alice.expect({ type: "join", nick: "bob" });
      alice.send({ type: "msg", text: "one" });
      assert.equal(await client.stdout.next(), "<alice> one");
      client.write("/join den\n");
      assert.equal(await client.stdout.next(), "* you joined den; here: carol, bob (you)");
      await carol.expect({ type: "join", nick: "bob", room: "den" });

      proxy.cutAndHold();
      assert.equal(
        await client.stdout.next(),
        "* disconnected: the server closed the connection; reconnecting",
      );
      await alice.expect({ type: "leave", nick: "bob" });
      await carol.expect({ type: "leave", nick: "bob" });
      // Said while bob is away: the server has them all before bob is let back in.
      for (const text of ["two", "three", "four"]) alice.send({ type: "msg", text });
      carol.send({ type: "msg", text: "meanwhile in den" });
      for (const member of [alice, carol]) {
        member.send({ type: "ping" });
        await member.expect({ type: "pong" });
      }
      await proxy.release();

      // First the room bob talks in, then the other.
      assert.equal(await client.stdout.next(), "* reconnected");
      assert.match((await client.stdout.next())!, historyLine("<carol> meanwhile in den"));
      for (const text of ["two", "three", "four"]) {
        assert.match((await client.stdout.next())!, historyLine(`[lobby] <alice> ${text}`));
      }
      await carol.expect({ type: "join", nick: "bob", room: "den" });
      await alice.expect({ type: "join", nick: "bob", room: "lobby" });
      alice.send({ type: "msg", text: "five" });
      assert.equal(await client.stdout.next(), "[lobby] <alice> five");
      client.write("back\n");
      await carol.expect({ type: "msg", from: "bob", room: "den", text: "back" });
      client.endInput();
      await alice.expect({ type: "leave", nick: "bob" });
      await exitsQuietly(client, 0); // and nothing shown twice
    },
  );

  test(
    name("reconnects to a server restarted with --data on its port, and replays what it missed"),
    async () => {
      using data = temporaryDirectory("parley-client-test-");
      const withData = ["--data", data.path];
      await using first = await startServer(serverRuntime, withData);
      const port = first.port;
      await using client = startClient(runtime, port, ["--nick", "bob"]);
      assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
      {
        await using alice = await TestMember.join(port, "alice");
        assert.equal(await client.stdout.next(), "* alice joined");
        alice.send({ type: "msg", text: "before" });
        assert.equal(await client.stdout.next(), "<alice> before");
      }
      assert.equal(await client.stdout.next(), "* alice left");
      const otherPort = await closedPort(); // while `port` is taken, so not that one
      assert.equal(await first.stop(), 0);
      assert.equal(await client.stdout.next(), "* The server is shutting down");
      assert.equal(
        await client.stdout.next(),
        "* disconnected: the server shut down; reconnecting",
      );
      {
        // Said while bob was away, on the same data, through a server bob cannot reach.
        await using elsewhere = await startServerOn(serverRuntime, otherPort, withData);
        await using carol = await TestMember.join(otherPort, "carol");
        await carol.expect({ type: "msg", text: "before", history: true });
        carol.send({ type: "msg", text: "while you were away" });
        carol.send({ type: "ping" });
        await carol.expect({ type: "pong" });
        assert.equal(await elsewhere.stop(), 0);
      }
      await using second = await startServerOn(serverRuntime, port, withData);
      assert.equal(await client.stdout.next(), "* reconnected");
      assert.match((await client.stdout.next())!, historyLine("<carol> while you were away"));
      await using alice = await TestMember.join(port, "alice");
      await alice.expect({ type: "msg", id: 1, text: "before", history: true });
      await alice.expect({ type: "msg", id: 2, text: "while you were away", history: true });
      assert.equal(await client.stdout.next(), "* alice joined");
      alice.send({ type: "msg", text: "after" });
      assert.equal(await client.stdout.next(), "<alice> after");
      client.endInput();
      await alice.expect({ type: "leave", nick: "bob" });
      await exitsQuietly(client, 0);
      assert.equal(await second.stop(), 0);
    },
  );

  test(
    name("says a server restarted without --data did, and shows what was said since, once each"),
    async () => {
      await using first = await startServer(serverRuntime, ["--history", "3"]);
      const port = first.port;
      await using proxy = await Proxy.start(port);
      await using client = startClient(runtime, proxy.port, ["--nick", "bob"]);
      assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
      {
        await using alice = await TestMember.join(port, "alice");
        assert.equal(await client.stdout.next(), "* alice joined");
        for (const text of ["old one", "old two"]) {
          alice.send({ type: "msg", text });
          assert.equal(await client.stdout.next(), `<alice> ${text}`);
        }
      }
      assert.equal(await client.stdout.next(), "* alice left");
      proxy.cutAndHold();
      assert.equal(
        await client.stdout.next(),
        "* disconnected: the server closed the connection; reconnecting",
      );
      assert.equal(await first.stop(), 0);
      // The new life numbers from 1 again: bob's last id, 2, would hide all but the last two.
      await using second = await startServerOn(serverRuntime, port, ["--history", "3"]);
      await using alice = await TestMember.join(port, "alice");
      for (const text of ["new one", "new two", "new three", "new four"]) {
        alice.send({ type: "msg", text });
      }
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });
      await proxy.release();
      assert.equal(await client.stdout.next(), "* reconnected");
      assert.equal(
        await client.stdout.next(),
        "* the server restarted; showing what was said since",
      );
      assert.equal(await client.stdout.next(), "* 1 earlier message is no longer available");
      for (const text of ["new two", "new three", "new four"]) {
        assert.match((await client.stdout.next())!, historyLine(`<alice> ${text}`));
      }
      await alice.expect({ type: "join", nick: "bob" });
      alice.send({ type: "msg", text: "after" });
      assert.equal(await client.stdout.next(), "<alice> after");
      client.endInput();
      await alice.expect({ type: "leave", nick: "bob" });
      await exitsQuietly(client, 0); // and nothing shown twice
      assert.equal(await second.stop(), 0);
    },
  );

  test(name("gives up reconnecting after --reconnect seconds, and exits 1"), async () => {
    await using server = await startServer(serverRuntime);
    await using client = startClient(runtime, server.port, ["--nick", "bob", "--reconnect", "1"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    server.child.kill("SIGKILL");
    assert.equal(
      await client.stdout.next(),
      "* disconnected: the server closed the connection; reconnecting",
    );
    assert.equal(await client.stdout.next(), "* gave up reconnecting: connection refused");
    await exitsQuietly(client, 1);
  });

  test(name("does not reconnect after being disconnected for flooding"), async () => {
    await using server = await FakeServer.start();
    await using client = startClient(runtime, server.port, ["--nick", "eve"]);
    const peer = await server.accept();
    await peer.next();
    peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve"] });
    assert.equal(await client.stdout.next(), "* you are eve in lobby; nobody else is here yet");
    peer.send({ type: "error", code: "flood", message: "Disconnected for flooding" });
    peer.socket.end();
    assert.equal(await client.stdout.next(), "* Disconnected for flooding");
    assert.equal(
      await client.stdout.next(),
      "* disconnected: the server closed the connection",
    );
    await exitsQuietly(client, 1);
  });

  test(
    name(
      "rejoins every room asking for what it missed, retries a nick still taken, shows all once",
    ),
    async () => {
      await using server = await FakeServer.start();
      await using client = startClient(runtime, server.port, ["--nick", "eve"]);
      const first = await server.accept();
      assert.deepEqual(await first.next(), { type: "hello", nick: "eve", echo: true });
      const ts = Date.now();
      first.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve", "bob"] });
      first.send({ type: "msg", id: 5, from: "bob", room: "lobby", text: "hello", ts });
      assert.equal(await client.stdout.next(), "* you are eve in lobby; here: eve (you), bob");
      assert.equal(await client.stdout.next(), "<bob> hello");
      client.write("/join den\n");
      assert.deepEqual(await first.next(), { type: "join", room: "den" });
      first.send({ type: "joined", room: "den", members: ["carol", "eve"] });
      first.send({ type: "msg", id: 9, from: "carol", room: "den", text: "in den", ts });
      assert.equal(await client.stdout.next(), "* you joined den; here: carol, eve (you)");
      assert.equal(await client.stdout.next(), "<carol> in den");

      first.socket.destroy();
      assert.equal(
        await client.stdout.next(),
        "* disconnected: the server closed the connection; reconnecting",
      );
      // The room eve talks in first, with the last id shown there; a ping marks the replay's end.
      const rejoin = { type: "hello", nick: "eve", room: "den", since: 9, echo: true };
      const second = await server.accept();
      assert.deepEqual(await second.next(), rejoin);
      assert.deepEqual(await second.next(), { type: "ping" });
      second.send({ type: "error", code: "nick_taken", message: "The nick eve is taken" });
      assert.equal(await second.next(), null, "the client closes, to try again later");

      const third = await server.accept();
      assert.deepEqual(await third.next(), rejoin);
      assert.deepEqual(await third.next(), { type: "ping" });
      third.send({ type: "welcome", nick: "eve", room: "den", members: ["carol", "eve"] });
      const history = { type: "msg", from: "carol", room: "den", ts, history: true };
      third.send({ ...history, id: 9, text: "in den" }); // shown already
      third.send({ ...history, id: 10, text: "missed" });
      third.send({ type: "msg", id: 12, from: "carol", room: "den", text: "live", ts });
      third.send({ type: "pong" });
      assert.equal(await client.stdout.next(), "* reconnected");
      assert.match((await client.stdout.next())!, historyLine("<carol> missed"));
      // The other room, then more of den's history: its replay may have been cut short.
      assert.deepEqual(await third.next(), { type: "join", room: "lobby", since: 5 });
      assert.deepEqual(await third.next(), { type: "ping" });
      assert.deepEqual(await third.next(), { type: "history", room: "den", after: 10 });
      assert.deepEqual(await third.next(), { type: "ping" });
      third.send({ type: "joined", room: "lobby", members: ["bob", "eve"] });
      third.send({ type: "pong" }); // nothing more in the lobby
      third.send({ ...history, id: 11, text: "missed too" });
      third.send({ ...history, id: 12, text: "live" }); // held already: shown once, as live
      third.send({ type: "history_end", room: "den" });
      third.send({ type: "pong" });
      assert.match((await client.stdout.next())!, historyLine("<carol> missed too"));
      assert.equal(await client.stdout.next(), "<carol> live");
      assert.deepEqual(await third.next(), { type: "history", room: "den", after: 12 });
      assert.deepEqual(await third.next(), { type: "ping" });
      third.send({ type: "history_end", room: "den" });
      third.send({ type: "pong" });
      third.send({ type: "msg", id: 13, from: "carol", room: "den", text: "and on", ts });
      third.send({ type: "msg", id: 6, from: "bob", room: "lobby", text: "hi eve", ts });
      assert.equal(await client.stdout.next(), "<carol> and on");
      assert.equal(await client.stdout.next(), "[lobby] <bob> hi eve");
      client.write("still in den\n");
      assert.deepEqual(await third.next(), { type: "msg", text: "still in den", room: "den" });
      // It asked for echo: its own message comes back, which a script is not shown again, but
      // whose id counts as seen when it rejoins.
      third.send({ type: "msg", id: 14, from: "eve", room: "den", text: "still in den", ts });
      third.send({ type: "ping" });
      assert.deepEqual(await third.next(), { type: "pong" });
      third.socket.destroy();
      assert.equal(
        await client.stdout.next(),
        "* disconnected: the server closed the connection; reconnecting",
      );
      const fourth = await server.accept();
      assert.deepEqual(await fourth.next(), { ...rejoin, since: 14 });
      assert.deepEqual(await fourth.next(), { type: "ping" });
      client.endInput();
      fourth.send({ type: "welcome", nick: "eve", room: "den", members: ["carol", "eve"] });
      fourth.send({ type: "pong" });
      assert.equal(await client.stdout.next(), "* reconnected");
      const rest = [];
      for (let frame = await fourth.next(); frame; frame = await fourth.next()) {
        rest.push(frame);
        if (frame.type === "ping") fourth.send({ type: "pong" });
      }
      // The other room, then, as the input has ended, a ping whose answer confirms everything.
      assert.deepEqual(rest, [
        { type: "join", room: "lobby", since: 6 },
        { type: "ping" },
        { type: "ping" },
      ]);
      await exitsQuietly(client, 0);
    },
  );

  test(name("completes a nick with Tab in a terminal"), async () => {
    await using server = await startServer(serverRuntime);
    await using robert = await TestMember.join(server.port, "robert");
    await using rosa = await TestMember.join(server.port, "rosa");
    await robert.expect({ type: "join", nick: "rosa" });
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "zoe"]),
    );
    await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
    terminal.type("ro\t");
    await terminal.until("the first nick", (screen) => screen.line() === "zoe> robert:");
    terminal.type("\t");
    await terminal.until("the next nick", (screen) => screen.line() === "zoe> rosa:");
    terminal.type("hi, /w\t");
    await terminal.until("no command mid-line", (screen) => screen.line() === "zoe> rosa: hi, /w");
    terminal.type(" rob\t\r");
    await rosa.expect({ type: "join", nick: "zoe" });
    await rosa.expect({ type: "msg", from: "zoe", text: "rosa: hi, /w robert " });
    terminal.type("/he\t\r");
    await terminal.until("the help", (screen) => screen.text.includes("* /msg NICK TEXT"));
    terminal.type("\x04");
    assert.equal(await terminal.process.exitCode(), 0);
    await remainingLines(terminal.process.stdout);
    await robert.expect({ type: "join", nick: "zoe" });
  });

  test(name("colours nicks and rings the bell on a mention, in a terminal"), async () => {
    await using server = await startServer(serverRuntime);
    await using bob = await TestMember.join(server.port, "bob");
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "zoe"]),
      { NO_COLOR: "" }, // empty: colours stay on
    );
    await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
    bob.send({ type: "msg", text: "nothing for you" });
    await terminal.until("a message", (screen) => screen.line(1) === "<bob> nothing for you");
    bob.send({ type: "msg", text: "hey Zoe, look" });
    await terminal.until("the mention", (screen) => screen.line(1) === "<bob> hey Zoe, look");
    terminal.type("\x04");
    assert.equal(await terminal.process.exitCode(), 0);
    await remainingLines(terminal.process.stdout);
    const bobInColour = `\x1b[${nickColour("bob")}m<bob>\x1b[0m`;
    assert.ok(terminal.raw.includes(`${bobInColour} nothing for you`), "the nick in its colour");
    assert.ok(
      terminal.raw.includes(`${bobInColour} \x1b[1mhey Zoe, look\x1b[0m`),
      "a mention in bold",
    );
    assert.equal(terminal.raw.split("\x07").length - 1, 1, "one bell, for the mention");
    assert.ok(terminal.raw.includes("\x1b[2m* you are zoe in lobby; here: bob, zoe (you)\x1b[0m"));
  });

  for (
    const [how, args, env] of [
      ["--no-color", ["--no-color"], { NO_COLOR: "" }],
      ["NO_COLOR", [], { NO_COLOR: "1" }],
    ] as const
  ) {
    test(name(`has no colours with ${how}, in a terminal`), async () => {
      await using server = await startServer(serverRuntime);
      await using bob = await TestMember.join(server.port, "bob");
      await using terminal = new TerminalSession(
        scriptCommand(runtime, "client.ts", [
          "127.0.0.1",
          String(server.port),
          "--nick",
          "zoe",
          ...args,
        ]),
        env,
      );
      await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
      bob.send({ type: "msg", text: "hi zoe" });
      await terminal.until("the message", (screen) => screen.line(1) === "<bob> hi zoe");
      terminal.type("\x04");
      assert.equal(await terminal.process.exitCode(), 0);
      await remainingLines(terminal.process.stdout);
      assert.doesNotMatch(terminal.raw, SGR, "no colour codes");
      assert.ok(terminal.raw.includes("\x07"), "the bell still rings");
    });
  }
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `client [${runtime}] ${behaviour}`;

  test(name("prints its usage for --help and exits 0"), async () => {
    await using help = new Subprocess(scriptCommand(runtime, "client.ts", ["--help"]));
    assert.equal(await help.exitCode(), 0);
    const usage = await remainingLines(help.stdout);
    assert.match(usage[0], /^Usage: client\.ts \[HOST\] \[PORT\]/);
    for (const flag of ["--nick", "--room", "--reconnect", "--no-color", "--help", ...COMMANDS]) {
      assert.ok(usage.some((line) => line.trimStart().startsWith(flag)), `${flag} is described`);
    }
    assert.deepEqual(await remainingLines(help.stderr), []);
  });

  for (
    const args of [
      ["--bogus"],
      ["--nick"],
      ["--nick", "two words"],
      ["--room", "a/b"],
      ["localhost", "http"],
      ["localhost", "65536"],
      ["localhost", "0"],
      ["localhost", "9009", "stray"],
    ]
  ) {
    test(name(`prints one line and exits 2 for ${args.join(" ")}`), async () => {
      await using bad = new Subprocess(scriptCommand(runtime, "client.ts", args));
      assert.equal(await bad.exitCode(), 2);
      const errors = await remainingLines(bad.stderr);
      assert.equal(errors.length, 1, `one line on stderr; got ${JSON.stringify(errors)}`);
      assert.match(errors[0], /^client: .+ \(try --help\)$/);
      assert.deepEqual(await remainingLines(bad.stdout), [], "nothing on stdout");
    });
  }
}

/** A listener that accepts connections and never says a word; closed on dispose. */
async function silentServer(): Promise<{ port: number } & AsyncDisposable> {
  const sockets: net.Socket[] = [];
  const listener = net.createServer((socket) => sockets.push(socket)).listen(0, "127.0.0.1");
  await once(listener, "listening");
  return {
    port: (listener.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: async () => {
      for (const socket of sockets) socket.destroy();
      listener.close();
      await once(listener, "close");
    },
  };
}

// First steps: a client pointed at something that is not a Parley server, and negative values.
for (const runtime of RUNTIMES) {
  const serverRuntime = RUNTIMES.find((other) => other !== runtime)!;
  const name = (behaviour: string) => `client [${runtime}] ${behaviour}`;

  test(name("gives up on a server that never answers, with one line and status 1"), async () => {
    await using silent = await silentServer();
    await using client = startClient(runtime, silent.port, [
      "--nick",
      "bob",
      "--connect-timeout",
      "0.5",
    ]);
    // Its input stays open: the client must not wait for it.
    assert.equal(
      await client.stdout.next(),
      "* disconnected: no answer from the server within 0.5 s",
    );
    await exitsQuietly(client, 1);
  });

  test(
    name("says it is connecting, then that the server did not answer, in a terminal"),
    async () => {
      await using silent = await silentServer();
      await using terminal = new TerminalSession(
        scriptCommand(runtime, "client.ts", [
          "127.0.0.1",
          String(silent.port),
          "--connect-timeout",
          "0.5",
        ]),
      );
      await terminal.until(
        "the connecting status, then the timeout",
        (screen) =>
          screen.rows.some((row) =>
            row.trimEnd() === `* connecting to 127.0.0.1:${silent.port}...`
          ) &&
          screen.rows.some((row) =>
            row.trimEnd() === "* disconnected: no answer from the server within 0.5 s"
          ),
      );
      assert.equal(await terminal.process.exitCode(), 1);
    },
  );

  test(name("says a line-mode server does not speak Parley's protocol"), async () => {
    await using server = await startServer(serverRuntime, ["--mode", "line"]);
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.match(
      (await client.stdout.next()) ?? "",
      /^\* disconnected: this server does not speak Parley's protocol \(it said "\*\*\* you are guest\d+ in lobby; .*"\)$/,
    );
    await exitsQuietly(client, 1);
  });

  for (
    const [args, line] of [
      [
        ["--reconnect", "-1"],
        'client: --reconnect must be a number of seconds, not "-1" (try --help)',
      ],
      [
        ["--connect-timeout", "0"],
        "client: --connect-timeout must be more than 0 seconds (try --help)",
      ],
    ] as const
  ) {
    test(name(`says what is wrong with ${args.join(" ")} in one line, and exits 2`), async () => {
      await using bad = new Subprocess(scriptCommand(runtime, "client.ts", [...args]));
      assert.equal(await bad.exitCode(), 2);
      assert.deepEqual(await remainingLines(bad.stderr), [line]);
      assert.deepEqual(await remainingLines(bad.stdout), [], "nothing on stdout");
    });
  }
}
