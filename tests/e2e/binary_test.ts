// The standalone binaries: built with `bun build --compile` as `npm run build` does, then run with
// no Deno, Bun or Node on their PATH, and made to chat.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { remainingLines, ROOT, runtimeBinary, Subprocess, within } from "./_helpers.ts";

async function build(entry: string, outfile: string): Promise<void> {
  await using bun = new Subprocess([
    runtimeBinary("bun"),
    "build",
    "--compile",
    path.join(ROOT, entry),
    "--outfile",
    outfile,
  ]);
  const status = await bun.exitCode(`bun build --compile ${entry}`);
  assert.equal(status, 0, `bun build --compile ${entry} failed:\n${bun.stderr.seen.join("\n")}`);
}

test("binaries [bun --compile] a compiled server and two compiled clients chat", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-binaries-"));
  try {
    const serverBinary = path.join(dir, "parley-server");
    const clientBinary = path.join(dir, "parley-client");
    await build("server.ts", serverBinary);
    await build("client.ts", clientBinary);
    // An empty PATH: the binaries must carry their runtime.
    const bare = { PATH: "" };

    await using server = new Subprocess(
      [serverBinary, "--host", "127.0.0.1", "--port", "0", "--quiet"],
      bare,
    );
    const listening = await server.stdout.waitFor(/^listening on /, "the listening line");
    const port = listening.slice(listening.lastIndexOf(":") + 1);

    await using alice = new Subprocess([clientBinary, "127.0.0.1", port, "--nick", "alice"], bare);
    assert.equal(await alice.stdout.next(), "* you are alice in lobby; nobody else is here yet");
    await using bob = new Subprocess([clientBinary, "127.0.0.1", port, "--nick", "bob"], bare);
    assert.equal(await bob.stdout.next(), "* you are bob in lobby; here: alice, bob (you)");
    assert.equal(await alice.stdout.next(), "* bob joined");
    alice.write("hello from a binary\n");
    assert.equal(await bob.stdout.next(), "<alice> hello from a binary");
    bob.write("and back\n");
    assert.equal(await alice.stdout.next(), "<bob> and back");
    bob.endInput();
    assert.equal(await bob.exitCode(), 0);
    assert.equal(await alice.stdout.next(), "* bob left");
    alice.endInput();
    assert.equal(await alice.exitCode(), 0);

    process.kill(server.child.pid!, "SIGTERM");
    assert.equal(await server.exitCode(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// First steps with the binaries: their usage names them, and a failure to start is one line.
test("binaries [bun --compile] say their own names and fail to start in one line", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-binaries-"));
  const taken = net.createServer().listen(0, "127.0.0.1");
  const listening = once(taken, "listening");
  try {
    const serverBinary = path.join(dir, "parley-server");
    const clientBinary = path.join(dir, "parley-client");
    await build("server.ts", serverBinary);
    await build("client.ts", clientBinary);
    const bare = { PATH: "" };
    for (const binary of [serverBinary, clientBinary]) {
      await using help = new Subprocess([binary, "--help"], bare);
      assert.equal(await help.exitCode(), 0);
      const usage = await remainingLines(help.stdout);
      assert.match(usage[0], new RegExp(`^Usage: ${path.basename(binary)} \\[`));
    }

    await within(listening, "a listener on a free port");
    const { port } = taken.address() as net.AddressInfo;
    await using server = new Subprocess(
      [serverBinary, "--host", "127.0.0.1", "--port", String(port)],
      bare,
    );
    assert.equal(await server.exitCode(), 1);
    assert.deepEqual(await remainingLines(server.stderr), [
      `server: cannot listen on 127.0.0.1:${port}: address already in use`,
    ]);
    assert.deepEqual(await remainingLines(server.stdout), []);
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
