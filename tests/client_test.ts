// End-to-end tests of client.ts: real client subprocesses on pipes and in a pseudo-terminal,
// talking to a real server.ts, to test members, or to a server the test plays by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import {
  frame,
  frameHeader,
  type Json,
  LOOPBACK_ARGS,
  rawFrame,
  remainingLines,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
  within,
} from "./_helpers.ts";

function startServer(runtime: RuntimeName): Promise<ServerProcess> {
  return ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet"]);
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

/** A port with nothing listening on it, found by closing a listener. */
async function closedPort(): Promise<number> {
  const listener = net.createServer().listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as net.AddressInfo;
  listener.close();
  await once(listener, "close");
  return port;
}

/** One connection accepted by a FakeServer, speaking native frames. */
class FakePeer {
  #buffer = Buffer.alloc(0);
  #messages: Json[] = [];
  #ended = false;
  #waiter: (() => void) | null = null;

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4 && this.#buffer.length >= 4 + this.#buffer.readUInt32BE(0)) {
        const length = this.#buffer.readUInt32BE(0);
        this.#messages.push(JSON.parse(this.#buffer.subarray(4, 4 + length).toString("utf8")));
        this.#buffer = this.#buffer.subarray(4 + length);
      }
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    this.#waiter?.();
    this.#waiter = null;
  }

  /** The next message from the client, or null once it has closed. */
  async next(what = "a message from the client"): Promise<Json | null> {
    while (this.#messages.length === 0 && !this.#ended) {
      await within(new Promise<void>((resolve) => this.#waiter = resolve), what);
    }
    return this.#messages.shift() ?? null;
  }

  send(message: unknown): void {
    this.socket.write(frame(message));
  }
}

/** A server the test plays by hand, to send what server.ts never would. */
class FakeServer {
  readonly port: number;
  #listener: net.Server;
  #peers: FakePeer[] = [];
  #arrived: (() => void) | null = null;

  private constructor(listener: net.Server) {
    this.#listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
    listener.on("connection", (socket) => {
      this.#peers.push(new FakePeer(socket));
      this.#arrived?.();
    });
  }

  static async start(): Promise<FakeServer> {
    const listener = net.createServer().listen(0, "127.0.0.1");
    await once(listener, "listening");
    return new FakeServer(listener);
  }

  async accept(): Promise<FakePeer> {
    while (this.#peers.length === 0) {
      await within(new Promise<void>((resolve) => this.#arrived = resolve), "a connection");
    }
    return this.#peers.shift()!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const peer of this.#peers) peer.socket.destroy();
    await new Promise((resolve) => this.#listener.close(resolve));
  }
}

/**
 * Just enough of a terminal to tell what a person would see: rows of text and a cursor. It knows
 * the bytes client.ts writes (CR, LF, erase line, cursor left and right); the rows never wrap.
 */
class Screen {
  rows: string[] = [""];
  row = 0;
  column = 0;

  feed(text: string): void {
    for (let at = 0; at < text.length; at++) {
      const char = text[at];
      if (char === "\r") {
        this.column = 0;
      } else if (char === "\n") {
        this.row++;
        if (this.row === this.rows.length) this.rows.push("");
      } else if (char === "\x1b") {
        const sequence = /^\[([\d;?]*)([@-~])/.exec(text.slice(at + 1));
        if (!sequence) continue;
        at += sequence[0].length;
        this.#control(Number(sequence[1] || "0"), sequence[2]);
      } else {
        const line = this.rows[this.row].padEnd(this.column);
        this.rows[this.row] = line.slice(0, this.column) + char + line.slice(this.column + 1);
        this.column++;
      }
    }
  }

  #control(count: number, final: string): void {
    switch (final) {
      case "K":
        this.rows[this.row] = count === 2 ? "" : this.rows[this.row].slice(0, this.column);
        break;
      case "C":
        this.column += count || 1;
        break;
      case "D":
        this.column = Math.max(0, this.column - (count || 1));
        break;
    }
  }

  /** The row the cursor is on, or one `above` it. */
  line(above = 0): string {
    return (this.rows[this.row - above] ?? "").trimEnd();
  }

  get text(): string {
    return this.rows.join("\n");
  }
}

const TERMINAL_COLUMNS = 60;

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A command run in a real pseudo-terminal by util-linux script(1), with the terminal's settings
 * printed by `stty -a` after it exits, so a test can see that they were restored.
 */
class TerminalSession {
  readonly process: Subprocess;
  readonly screen = new Screen();
  #waiter: (() => void) | null = null;

  constructor(argv: string[]) {
    const command = `stty cols ${TERMINAL_COLUMNS} rows 24; ${argv.map(shellQuote).join(" ")}; ` +
      "status=$?; stty -a; exit $status";
    this.process = new Subprocess(["/usr/bin/script", "-qfec", command, "/dev/null"], {
      SHELL: "/bin/sh",
    });
    this.process.child.stdout!.on("data", (text: string) => {
      this.screen.feed(text);
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter?.();
    });
  }

  type(keys: string): void {
    this.process.write(keys);
  }

  /** Waits until what the terminal shows satisfies `check`. */
  async until(what: string, check: (screen: Screen) => boolean): Promise<void> {
    const shown = new Promise<void>((resolve, reject) => {
      const look = () => {
        try {
          if (check(this.screen)) return resolve();
        } catch (error) {
          return reject(error);
        }
        this.#waiter = look;
      };
      look();
    });
    await within(shown, what).catch((error) => {
      throw new Error(`${error.message}; the terminal shows:\n${this.screen.text}`);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.process[Symbol.asyncDispose]();
  }
}

const LEFT = "\x1b[D";

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
        assert.equal(await bob.stdout.next(), "* you are bob in lobby; here: alice");
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
    assert.equal(await carol.stdout.next(), "* you are carol in lobby; here: alice");
    carol.endInput();
    await exitsQuietly(carol, 0);
  });

  test(name("reads another nick from input when the server refuses one"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port);
    // All at once, so the lines after the first wait for the server's answer before they are
    // used: the next one as a nick, then the rest as messages.
    client.write("ALICE\nno spaces\nalicia\nhi\n");
    client.endInput();
    assert.equal(await client.stdout.next(), "* The nick ALICE is taken; choose another");
    assert.match((await client.stdout.next())!, /^\* Nick must not contain spaces/);
    assert.equal(await client.stdout.next(), "* you are alicia in lobby; here: alice");
    await alice.expect({ type: "join", nick: "alicia" });
    await alice.expect({ type: "msg", from: "alicia", text: "hi" });
    await alice.expect({ type: "leave", nick: "alicia" });
    await exitsQuietly(client, 0);
  });

  test(name("exits 1 when a script's --nick is taken, without using its input"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "alice"]);
    client.write("bob\nhello\n");
    assert.equal(await client.stdout.next(), "* The nick alice is taken; choose another");
    await exitsQuietly(client, 1);
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
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
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
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
    await exitsQuietly(client, 0);
  });

  test(name("runs /help and unknown commands locally, and sends //text as /text"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
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
    for (const command of ["/nick", "/who", "/me", "/help", "/quit", "//text"]) {
      assert.ok(help.some((line) => line.startsWith(`* ${command} `)), `/help shows ${command}`);
    }
    assert.equal(await client.stdout.next(), "* Cannot send message: it exceeds 4096 bytes");
    await alice.expect({ type: "msg", from: "bob", text: "/slash" });
    client.endInput();
    await alice.expect({ type: "leave", nick: "bob" });
    await exitsQuietly(client, 0);
  });

  test(name("asks the server /who, acts with /me, and changes nick with /nick"), async () => {
    await using server = await startServer(serverRuntime);
    await using alice = await TestMember.join(server.port, "alice");
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    await alice.expect({ type: "join", nick: "bob" });
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
    client.write("/who\n");
    assert.equal(await client.stdout.next(), "* in lobby: alice, bob");
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
    await exitsQuietly(client, 0);
  });

  test(name("joins the room given with --room"), async () => {
    await using server = await startServer(serverRuntime);
    await using lobby = await TestMember.join(server.port, "alice");
    await using den = await TestMember.join(server.port, "carol", "den");
    await using client = startClient(runtime, server.port, ["--nick", "bob", "--room", "den"]);
    assert.equal(await client.stdout.next(), "* you are bob in den; here: carol");
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
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
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
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: alice");
    client.child.stdout!.destroy();
    alice.send({ type: "msg", text: "anyone there?" });
    await alice.expect({ type: "leave", nick: "bob" });
    assert.equal(await client.exitCode(), 1);
  });

  test(name("says the server shut down, and exits 1, when the server is stopped"), async () => {
    await using server = await startServer(serverRuntime);
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    assert.equal(await server.stop(), 0);
    assert.equal(await client.stdout.next(), "* The server is shutting down");
    assert.equal(await client.stdout.next(), "* disconnected: the server shut down");
    await exitsQuietly(client, 1);
  });

  test(name("says the connection closed, and exits 1, when the server dies"), async () => {
    await using server = await startServer(serverRuntime);
    await using client = startClient(runtime, server.port, ["--nick", "bob"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    server.child.kill("SIGKILL");
    assert.equal(await client.stdout.next(), "* disconnected: the server closed the connection");
    await exitsQuietly(client, 1);
  });

  test(name("answers ping, and strips control characters from what the server says"), async () => {
    await using server = await FakeServer.start();
    await using client = startClient(runtime, server.port, ["--nick", "eve"]);
    const peer = await server.accept();
    assert.deepEqual(await peer.next(), { type: "hello", nick: "eve" });
    peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve", "m\x1b[31mallory"] });
    assert.equal(await client.stdout.next(), "* you are eve in lobby; here: m[31mallory");
    peer.send({ type: "ping" });
    assert.deepEqual(await peer.next(), { type: "pong" });
    // Skipped: a type from the future, a frame that is not JSON, and a welcome out of turn.
    peer.send({ type: "typing", nick: "mallory" });
    peer.socket.write(rawFrame("{not json"));
    peer.send({ type: "welcome", nick: "x", room: "y", members: [] });
    peer.send({
      type: "msg",
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
      assert.deepEqual(await peer.next(), { type: "hello", nick: "eve" });
      peer.send({ type: "welcome", nick: "eve", room: "lobby", members: ["eve"] });
      assert.equal(await client.stdout.next(), "* you are eve in lobby; nobody else is here yet");
      client.endInput();
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
        screen.line(1) === "* you are zoe in lobby; here: bob" && screen.line() === "zoe>",
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
      (screen) => screen.line(1) === "<zoe> hello world" && screen.line() === "zoe>",
    );

    terminal.type("\x04"); // Ctrl-D on an empty line
    await bob.expect({ type: "leave", nick: "zoe" });
    assert.equal(await terminal.process.exitCode(), 0);
    await remainingLines(terminal.process.stdout);
    assert.match(terminal.screen.text, /(^|[\s;])icanon\b/, "canonical mode is back");
    assert.match(terminal.screen.text, /(^|[\s;])echo\b/, "echo is back");
  });

  test(name("restores the terminal when the server goes away"), async () => {
    await using server = await startServer(serverRuntime);
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "zoe"]),
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

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `client [${runtime}] ${behaviour}`;

  test(name("prints its usage for --help and exits 0"), async () => {
    await using help = new Subprocess(scriptCommand(runtime, "client.ts", ["--help"]));
    assert.equal(await help.exitCode(), 0);
    const usage = await remainingLines(help.stdout);
    assert.match(usage[0], /^Usage: client\.ts \[HOST\] \[PORT\]/);
    for (const flag of ["--nick", "--room", "--help", "/nick", "/who", "/me", "/quit", "/help"]) {
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
