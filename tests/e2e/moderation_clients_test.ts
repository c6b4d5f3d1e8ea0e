// What the terminal client does once an operator puts it out, under each runtime (client and
// server alike): a script kicked from its only room, or banned from it, says why on stderr and exits
// 1, and connects no second time (a proxy in between counts the connections); so does a person's
// client in a terminal, showing why; kicked from one of two rooms, it only leaves that room.
import { test } from "node:test";
import assert from "node:assert/strict";
import { identified, skipTo, startModerated, temporaryDirectory } from "./_moderation.ts";
import { remainingLines, RUNTIMES, scriptCommand, Subprocess } from "./_helpers.ts";
import { Proxy } from "./_fake_server.ts";
import { TerminalSession } from "./_terminal.ts";

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `moderation clients [${runtime}] ${behaviour}`;

  for (const action of ["kick", "ban"] as const) {
    test(
      name(
        `a script ${
          action === "kick" ? "kicked" : "banned"
        } from its only room exits 1, not reconnecting`,
      ),
      async () => {
        using dir = temporaryDirectory();
        await using server = await startModerated(runtime, dir.path);
        await using proxy = await Proxy.start(server.port);
        await using root = await identified(server.port, "root");
        await using client = new Subprocess(
          scriptCommand(runtime, "client.ts", ["127.0.0.1", String(proxy.port), "--nick", "bob"]),
        );
        assert.equal(await client.stdout.next(), "* you are bob in lobby; here: root, bob (you)");
        await root.expect({ type: "join", nick: "bob" });

        const said = action === "kick"
          ? "You were kicked from lobby by root (cool off)"
          : "You are banned from lobby permanently (cool off)";
        if (action === "kick") root.send({ type: "kick", nick: "bob", reason: "cool off" });
        else root.send({ type: "ban", mask: "bob", reason: "cool off" });
        assert.equal(await client.exitCode(), 1);
        assert.deepEqual(await remainingLines(client.stdout), [
          ...(action === "ban" ? ["* root banned nick:bob (cool off)"] : []),
          `* ${said}`,
          "* disconnected by an operator; not reconnecting",
        ]);
        assert.deepEqual(await remainingLines(client.stderr), [`client: ${said}`]);
        assert.equal(proxy.connections, 1);
        // The server still has only root in the room.
        root.send({ type: "who", room: "lobby" });
        assert.deepEqual((await skipTo(root, { type: "who" })).members, ["root"]);
      },
    );
  }

  test(name("a person kicked at a terminal is told why, and left at the shell"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using proxy = await Proxy.start(server.port);
    await using root = await identified(server.port, "root");
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(proxy.port), "--nick", "zoe"]),
    );
    await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
    await root.expect({ type: "join", nick: "zoe" });
    root.send({ type: "kick", nick: "zoe", reason: "cool off" });
    assert.equal(await terminal.process.exitCode(), 1);
    await remainingLines(terminal.process.stdout);
    const rows = terminal.screen.rows.map((row) => row.trimEnd());
    const at = rows.indexOf("* You were kicked from lobby by root (cool off)");
    assert.notEqual(at, -1, terminal.screen.text);
    assert.equal(rows[at + 1], "* disconnected by an operator; not reconnecting");
    assert.match(rows[at + 2], /^speed /, "the prompt is gone, and stty -a printed next");
    assert.equal(proxy.connections, 1);
  });

  test(name("a script kicked from one of its rooms stays, in the other"), async () => {
    using dir = temporaryDirectory();
    await using server = await startModerated(runtime, dir.path);
    await using root = await identified(server.port, "root");
    await using client = new Subprocess(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "bob"]),
    );
    assert.equal(await client.stdout.next(), "* you are bob in lobby; here: root, bob (you)");
    client.write("/join den\n");
    assert.equal(await client.stdout.next(), "* you joined den; nobody else is here yet");
    root.send({ type: "kick", nick: "bob", reason: "cool off" });
    assert.equal(await client.stdout.next(), "* You were kicked from lobby by root (cool off)");
    assert.equal(await client.stdout.next(), "* you left lobby");
    client.write("still here\n");
    client.endInput();
    assert.equal(await client.exitCode(), 0);
    assert.deepEqual(await remainingLines(client.stderr), []);
  });
}
