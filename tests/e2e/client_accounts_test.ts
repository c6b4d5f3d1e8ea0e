// The terminal client with registered nicks, end to end: it gives the password it identified with
// again when it reconnects (so a restart with --data keeps the user's nick), takes a script's
// password from PARLEY_PASSWORD, asks a person for one without echo, and never sends one in clear
// to a remote server unless told to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  LOOPBACK_ARGS,
  NO_WEB,
  remainingLines,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  startQuietServer,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { TerminalSession } from "./_terminal.ts";

/** This machine's address on a network, not loopback: where passwords may not go in clear. */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces()).flat()
    .find((face) => face && face.family === "IPv4" && !face.internal)?.address;
}

function dataDirectory(): { path: string } & Disposable {
  const dir = mkdtempSync(path.join(os.tmpdir(), "parley-client-accounts-"));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** server.ts on `port` exactly, as after a restart. */
async function startServerOn(runtime: RuntimeName, port: number, args: string[]) {
  const server = new ServerProcess(
    scriptCommand(runtime, "server.ts", [
      "--port",
      String(port),
      ...NO_WEB,
      ...LOOPBACK_ARGS,
      "--quiet",
      ...args,
    ]),
  );
  await server.stdout.waitFor(/^listening on /, `the listening line on port ${port}`);
  server.port = port;
  return server;
}

function startClient(
  runtime: RuntimeName,
  port: number,
  args: string[],
  env: Record<string, string> = {},
  host = "127.0.0.1",
): Subprocess {
  return new Subprocess(scriptCommand(runtime, "client.ts", [host, String(port), ...args]), env);
}

// A native member that registers `nick` with `password`, then leaves.
async function register(server: ServerProcess, nick: string, password: string) {
  await using owner = await TestMember.join(server.port, nick);
  owner.send({ type: "register", password });
  await owner.expect({
    type: "notice",
    text: `${nick} is registered to you; next time, /login ${nick} PASSWORD`,
  });
}

for (const runtime of RUNTIMES) {
  const serverRuntime = RUNTIMES.find((other) => other !== runtime)!;
  const name = (behaviour: string) => `client [${runtime}->${serverRuntime}] ${behaviour}`;

  test(name("identifies again when it reconnects, keeping its nick across a restart"), async () => {
    using data = dataDirectory();
    const withData = ["--data", data.path];
    const first = await startQuietServer(serverRuntime, withData);
    const port = first.port;
    await using client = startClient(runtime, port, ["--nick", "bob"]);
    assert.equal(await client.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    client.write("/register bobs-pw\n");
    assert.equal(
      await client.stdout.next(),
      "* bob is registered to you; next time, /login bob PASSWORD",
    );
    assert.equal(await first.stop(), 0);
    assert.equal(await client.stdout.next(), "* The server is shutting down");
    assert.equal(await client.stdout.next(), "* disconnected: the server shut down; reconnecting");
    await using second = await startServerOn(serverRuntime, port, withData);
    assert.equal(await client.stdout.next(), "* reconnected");
    // Identified: what only the owner may do, it may.
    client.write("/passwd bobs-pw bobs-new-pw\n");
    assert.equal(await client.stdout.next(), "* the password of bob is changed");
    await using guest = await TestMember.connect(port);
    guest.send({ type: "hello", nick: "bob" });
    await guest.expect({ type: "error", code: "nick_registered" });
    client.endInput();
    assert.equal(await client.exitCode(), 0);
    assert.deepEqual(await remainingLines(client.stderr), []);
    assert.equal(await second.stop(), 0);
  });
}

for (const runtime of RUNTIMES) {
  const serverRuntime = RUNTIMES.find((other) => other !== runtime)!;
  const name = (behaviour: string) => `client [${runtime}->${serverRuntime}] ${behaviour}`;

  test(name("a script identifies with PARLEY_PASSWORD; a wrong one exits 1"), async () => {
    using data = dataDirectory();
    await using server = await startQuietServer(serverRuntime, ["--data", data.path]);
    await register(server, "carol", "carols-pw");
    {
      await using client = startClient(runtime, server.port, ["--nick", "carol"], {
        PARLEY_PASSWORD: "carols-pw",
      });
      assert.equal(await client.stdout.next(), "* you are carol in lobby; nobody else is here yet");
      client.write("/passwd carols-pw carols-pw2\n");
      assert.equal(await client.stdout.next(), "* the password of carol is changed");
      client.endInput();
      assert.equal(await client.exitCode(), 0);
    }
    await using wrong = startClient(runtime, server.port, ["--nick", "carol"], {
      PARLEY_PASSWORD: "carols-pw", // changed above
    });
    assert.equal(await wrong.stdout.next(), "* Wrong password for carol");
    assert.equal(await wrong.exitCode(), 1);
    assert.deepEqual(await remainingLines(wrong.stderr), [
      "client: the server refused to let carol join: Wrong password for carol; no line was sent",
    ]);
  });

  test(name("asks for the password without echo, in a terminal"), async () => {
    using data = dataDirectory();
    await using server = await startQuietServer(serverRuntime, ["--data", data.path]);
    await register(server, "dave", "daves-pw");
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "dave"]),
    );
    await terminal.until(
      "the refusal and the password prompt",
      (screen) =>
        screen.line(1) === "* The nick dave is registered; give its password, or choose another" &&
        screen.line() === "password:",
    );
    terminal.type("wrong-pw\r");
    await terminal.until(
      "the second prompt",
      (screen) => screen.line(1) === "* Wrong password for dave" && screen.line() === "password:",
    );
    terminal.type("daves-pw");
    // What is typed does not show, even before Enter.
    await using watcher = await TestMember.join(server.port, "watcher");
    terminal.type("\r");
    await watcher.expect({ type: "join", nick: "dave" });
    await terminal.until("the chat prompt", (screen) => screen.line() === "dave>");
    // /identify without its password asks for it the same way.
    terminal.type("/identify\r");
    await terminal.until("the prompt", (screen) => screen.line() === "password:");
    terminal.type("daves-pw\r");
    await terminal.until(
      "the identification",
      (screen) => screen.line(1) === "* you are identified as dave" && screen.line() === "dave>",
    );
    terminal.type("\x1b[A"); // up: the last line typed was /identify, not the password
    await terminal.until("the line recalled", (screen) => screen.line() === "dave> /identify");
    terminal.type("\x15\x04"); // Ctrl-U, Ctrl-D
    assert.equal(await terminal.process.exitCode(), 0);
    await remainingLines(terminal.process.stdout);
    assert.ok(!terminal.raw.includes("daves-pw"), terminal.raw);
    assert.ok(!terminal.raw.includes("wrong-pw"), terminal.raw);
    assert.match(terminal.screen.text, /(^|[\s;])echo\b/, "echo is back");
  });

  test(name("never sends a password in clear to another machine unless told"), async (t) => {
    // PARLEY_PASSWORD for a plain connection elsewhere: one line at start, nothing sent.
    await using early = startClient(runtime, 9, ["--nick", "erin"], {
      PARLEY_PASSWORD: "erins-pw",
    }, "192.0.2.1");
    assert.equal(await early.exitCode(), 1);
    assert.deepEqual(await remainingLines(early.stderr), [
      "client: not sending PARLEY_PASSWORD in clear to 192.0.2.1: use --tls, or " +
      "--allow-plain-password",
    ]);
    const address = networkAddress();
    if (!address) return t.skip("this machine has no network address but loopback");
    using data = dataDirectory();
    await using server = await startQuietServer(serverRuntime, [
      "--data",
      data.path,
      "--host",
      "0.0.0.0",
    ]);
    await using client = startClient(runtime, server.port, ["--nick", "erin"], {}, address);
    assert.equal(await client.stdout.next(), "* you are erin in lobby; nobody else is here yet");
    client.write("/register erins-pw\n");
    assert.equal(
      await client.stdout.next(),
      `* not sending a password in clear to ${address}: connect with --tls, or allow it with ` +
        "--allow-plain-password",
    );
    client.endInput();
    assert.equal(await client.exitCode(), 0);
    // With leave, it goes.
    await using allowed = startClient(
      runtime,
      server.port,
      [
        "--nick",
        "erin",
        "--allow-plain-password",
      ],
      {},
      address,
    );
    assert.equal(await allowed.stdout.next(), "* you are erin in lobby; nobody else is here yet");
    allowed.write("/register erins-pw\n");
    assert.equal(
      await allowed.stdout.next(),
      "* erin is registered to you; next time, /login erin PASSWORD",
    );
    allowed.endInput();
    assert.equal(await allowed.exitCode(), 0);
  });
}
