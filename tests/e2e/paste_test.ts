// End-to-end tests of pasting and scripts (issue 17, items 11 and 12): a paste of 400 lines into
// a real nc, a real piped client or the client in a real terminal arrives whole, in order, at the
// room's rate, and nobody is disconnected. Flood control holds what is over the rate unread in TCP
// (server/flood_gate.ts, server/session.ts); the client paces itself to the rate and burst the
// welcome announces (client/pacer.ts). Most tests raise --rate, so that 400 lines still exceed
// the burst many times over but take a few seconds; those at the default rate look at the start
// of the paste only, which the server once cut off at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LOOPBACK_ARGS,
  remainingLines,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
} from "./_helpers.ts";
import { TerminalSession } from "./_terminal.ts";

const PASTE = Array.from({ length: 400 }, (_, i) => `line ${i + 1} of the log`);
const pasted = (lines: string[]) => lines.map((line) => `${line}\n`).join("");

/** Alice receives `texts` from `from`, in order, and nothing else between; returns their stamps. */
async function receives(alice: TestMember, from: string, texts: string[]): Promise<number[]> {
  const stamps: number[] = [];
  for (const text of texts) {
    const message = await alice.next(`"${text}" from ${from}`);
    assert.deepEqual([message?.type, message?.from, message?.text], ["msg", from, text]);
    stamps.push(message!.ts as number);
  }
  return stamps;
}

/** Asserts that `nick` is still in the lobby, as the server tells alice amid its paste. */
async function stillThere(alice: TestMember, nick: string): Promise<void> {
  alice.send({ type: "who" });
  let who = await alice.next("the answer to who");
  while (who?.type === "msg" && who.from === nick) who = await alice.next("the answer to who");
  assert.equal(who?.type, "who", JSON.stringify(who));
  assert.ok((who!.members as string[]).includes(nick), `${nick} is gone: ${JSON.stringify(who)}`);
}

/** A real nc on the server's port, once the server has greeted it; returns it and its nick. */
async function netcat(port: number, alice: TestMember): Promise<{ nc: Subprocess; nick: string }> {
  const nc = new Subprocess(["nc", "127.0.0.1", String(port)]);
  await nc.stdout.waitFor(/^\*\*\* \d+ here\. Type to chat/, "the banner");
  const { nick } = await alice.expect({ type: "join" });
  return { nc, nick: nick as string };
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `paste [${runtime}] ${behaviour}`;
  const start = (args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);
  const client = (port: number, args: string[]) =>
    new Subprocess(scriptCommand(runtime, "client.ts", ["127.0.0.1", String(port), ...args]));

  test(name("keeps a member who pastes 400 lines into nc at the default rate"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    const { nc, nick } = await netcat(server.port, alice);
    await using _nc = nc;
    nc.write(pasted(PASTE));
    // The burst of 20 at once, then ten a second; 38 s in all, where the first three show the way.
    const stamps = await receives(alice, nick, PASTE.slice(0, 30));
    assert.ok(stamps[29] - stamps[0] >= 800, `30 lines in ${stamps[29] - stamps[0]} ms`);
    await stillThere(alice, nick);
    assert.ok(!nc.stdout.seen.some((line) => line.includes("Disconnected")), nc.stdout.seen.join());
  });

  test(name("delivers a paste of 400 lines into nc whole, in order, at --rate"), async () => {
    await using server = await start(["--rate", "200", "--burst", "10"]);
    await using alice = await TestMember.join(server.port, "alice");
    const { nc, nick } = await netcat(server.port, alice);
    await using _nc = nc;
    nc.write(pasted(PASTE));
    const stamps = await receives(alice, nick, PASTE);
    // Ten at once, then 200 a second: 1.95 s.
    assert.ok(stamps[399] - stamps[0] >= 1_700, `400 lines in ${stamps[399] - stamps[0]} ms`);
    await stillThere(alice, nick);
    nc.write("/quit\n");
    assert.equal(await nc.stdout.waitFor(/^\*\*\* bye$/), "*** bye");
    assert.ok(!nc.stdout.seen.some((line) => line.includes("Disconnected")), nc.stdout.seen.join());
    assert.equal(await server.stop(), 0);
  });

  test(
    name("paces a piped client's 400 lines to the default rate, and says so on stderr"),
    async () => {
      await using server = await start();
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = client(server.port, ["--nick", "bob"]);
      await alice.expect({ type: "join", nick: "bob" });
      bob.write(pasted(PASTE));
      const stamps = await receives(alice, "bob", PASTE.slice(0, 20));
      // Half the server's burst at once, then nine a second (a tenth below the rate).
      assert.ok(stamps[19] - stamps[0] >= 900, `20 lines in ${stamps[19] - stamps[0]} ms`);
      assert.match(
        (await bob.stderr.next())!,
        /^client: sending \d+ more lines at 9 a second\.\.\.$/,
      );
      await stillThere(alice, "bob");
    },
  );

  test(
    name("seq 400 | client delivers every line, then exits 0 once the server confirmed them"),
    async () => {
      await using server = await start(["--rate", "200", "--burst", "20"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = client(server.port, ["--nick", "bob"]);
      await alice.expect({ type: "join", nick: "bob" });
      bob.write(pasted(PASTE));
      bob.endInput();
      await receives(alice, "bob", PASTE);
      await alice.expect({ type: "leave", nick: "bob" });
      assert.equal(await bob.exitCode(), 0);
      assert.deepEqual(await remainingLines(bob.stdout), [
        "* you are bob in lobby; here: alice, bob (you)",
      ]);
      const told = await remainingLines(bob.stderr);
      assert.ok(told.length > 0, "it said it was pacing");
      for (const line of told) {
        assert.match(line, /^client: sending \d+ more lines at 180 a second/);
      }
      assert.equal(await server.stop(), 0);
    },
  );

  test(name("shows in the terminal how many pasted lines are still to send"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using terminal = new TerminalSession(
      scriptCommand(runtime, "client.ts", ["127.0.0.1", String(server.port), "--nick", "zoe"]),
    );
    await terminal.until("the chat prompt", (screen) => screen.line() === "zoe>");
    await alice.expect({ type: "join", nick: "zoe" });
    const lines = PASTE.slice(0, 40);
    terminal.type(`\x1b[200~${lines.join("\r")}\r\x1b[201~`);
    await terminal.until(
      "the lines still to send",
      (screen) => /^\(sending \d+ more lines at 9 a second\.\.\.\) zoe>$/.test(screen.line()),
    );
    await receives(alice, "zoe", lines);
    await terminal.until("the prompt alone again", (screen) => screen.line() === "zoe>");
  });
}
