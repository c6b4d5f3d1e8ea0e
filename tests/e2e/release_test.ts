// The release as a user downloads it: `npm run release` is run once for this file, into a
// temporary directory. The linux-x64 binary then chats here with an empty PATH (it must carry its
// runtime), and so does the linux-arm64 one under qemu-aarch64 (Debian's qemu-user, with
// libc6-arm64-cross for its C library); every other binary is checked to be an executable of its
// platform, and SHA256SUMS to check out with sha256sum.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { assets } from "../../web/assets.ts";
import {
  EVENT_TIMEOUT_MS,
  remainingLines,
  ROOT,
  RUNTIMES,
  scriptCommand,
  Subprocess,
  within,
} from "./_helpers.ts";

const VERSION = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
// One place per checkout, emptied first: a run that stops early (or filters out the last test, so
// that `after` is not called) leaves at most one release behind, not one per run.
const OUT = path.join(
  tmpdir(),
  `parley-release-test-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}`,
);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT);
after(() => rmSync(OUT, { recursive: true, force: true }));

// About a minute once Bun has every platform's runtime in its cache; the first build fetches each
// (about 50 MB) from the npm registry.
const BUILD_TIMEOUT_MS = 10 * 60_000;
// Each step of a program emulated on another CPU, on a busy machine: starting takes seconds.
const EMULATED_TIMEOUT_MS = 90_000;
// What `file` says each target's binary is.
const FORMATS: Record<string, RegExp> = {
  "linux-x64": /^ELF 64-bit LSB executable, x86-64, .*interpreter \/lib64\/ld-linux-x86-64\.so/,
  "linux-arm64": /^ELF 64-bit LSB executable, ARM aarch64, .*interpreter \/lib\/ld-linux-aarch64/,
  "linux-x64-musl": /^ELF 64-bit LSB executable, x86-64, .*interpreter \/lib\/ld-musl-x86_64/,
  "linux-arm64-musl": /^ELF 64-bit LSB executable, ARM aarch64, .*interpreter \/lib\/ld-musl-aarch/,
  "darwin-x64": /^Mach-O 64-bit x86_64 executable/,
  "darwin-arm64": /^Mach-O 64-bit arm64 executable/,
  "windows-x64": /^PE32\+ executable \(console\) x86-64, for MS Windows/,
};
const fileName = (target: string) =>
  `parley-${VERSION}-${target}${target.startsWith("windows") ? ".exe" : ""}`;
// Nothing on the PATH: no Deno, Bun or Node for the binary to lean on.
const BARE = { PATH: "" };

let building: Promise<void> | null = null;

/** The release, built on first use. */
function release(): Promise<void> {
  building ??= (async () => {
    await using npm = new Subprocess(
      ["npm", "run", "release", "--", "--out", OUT],
      {},
      ROOT,
      BUILD_TIMEOUT_MS,
    );
    const status = await npm.exitCode("npm run release");
    assert.equal(status, 0, `npm run release failed:\n${npm.stderr.seen.join("\n")}`);
  })();
  return building;
}

/** The absolute path of `command` on the PATH: an empty PATH is passed on to what it runs. */
function installed(command: string, hint: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, command))) return path.join(dir, command);
  }
  throw new Error(`${command} is not installed (${hint})`);
}

/** How to run one release binary here, and how long each of its steps may take. */
type Launcher = { argv: (args: string[]) => string[]; timeoutMs: number; emulated: boolean };

const nativeX64: Launcher = {
  argv: (args) => [path.join(OUT, fileName("linux-x64")), ...args],
  timeoutMs: EVENT_TIMEOUT_MS,
  emulated: false,
};

function emulatedArm64(): Launcher {
  const qemu = installed("qemu-aarch64", "Debian: apt-get install qemu-user");
  const libc = "/usr/aarch64-linux-gnu";
  assert.ok(existsSync(libc), `${libc} is missing (Debian: apt-get install libc6-arm64-cross)`);
  return {
    argv: (args) => [qemu, "-L", libc, path.join(OUT, fileName("linux-arm64")), ...args],
    timeoutMs: EMULATED_TIMEOUT_MS,
    emulated: true,
  };
}

/**
 * A relay to the server at `port` that connects each client to it only once the client has said
 * its first bytes, and changes none. An emulated client on a busy machine can take more than half
 * a second after connecting to send its hello, and the server's auto mode would rightly take it
 * for a person at nc (PROTOCOL.md); the relay takes that race out of the test.
 */
async function relayAfterFirstBytes(port: number) {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    return socket;
  };
  const listener = net.createServer((client) => {
    track(client).once("data", (first: Buffer) => {
      client.pause();
      const server = track(net.connect(port, "127.0.0.1"));
      server.write(first);
      client.pipe(server);
      server.pipe(client);
      client.on("close", () => server.destroy());
      server.on("close", () => client.destroy());
    });
  }).listen(0, "127.0.0.1");
  await within(once(listener, "listening"), "the relay's listener");
  return {
    port: String((listener.address() as net.AddressInfo).port),
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}

/** The port a client of `launcher` connects to, for the server on `port`. */
async function clientPort(launcher: Launcher, port: string) {
  if (!launcher.emulated) return { port, async [Symbol.asyncDispose]() {} };
  return await relayAfterFirstBytes(Number(port));
}

function run(launcher: Launcher, args: string[]): Subprocess {
  return new Subprocess(launcher.argv(args), BARE, ROOT, launcher.timeoutMs);
}

/** What `--version` says: this checkout's commit, "-dirty" if tracked files were changed. */
function expectedVersion(): RegExp {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT })
    .toString().trim();
  return new RegExp(`^parley ${VERSION.replaceAll(".", "\\.")} \\(commit ${commit}(-dirty)?\\)$`);
}

async function startServer(launcher: Launcher, data: string): Promise<[Subprocess, string]> {
  const args = [
    "server",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--quiet",
    "--http-port",
    "off",
    "--data",
    data,
  ];
  const server = run(launcher, args);
  const listening = await server.stdout.waitFor(/^listening on /, "the listening line");
  return [server, listening.slice(listening.lastIndexOf(":") + 1)];
}

async function stop(server: Subprocess): Promise<void> {
  process.kill(server.child.pid!, "SIGTERM");
  assert.equal(await server.exitCode("the server to stop on SIGTERM"), 0);
}

/**
 * The smoke test: the binary's server, its client and a real nc chat; stopped and started again
 * on the same --data, the server replays what was said to a client that joins.
 */
async function smoke(launcher: Launcher): Promise<void> {
  await release();
  await using version = run(launcher, ["--version"]);
  assert.equal(await version.exitCode(), 0);
  assert.match((await remainingLines(version.stdout))[0] ?? "", expectedVersion());

  const data = mkdtempSync(path.join(tmpdir(), "parley-release-data-"));
  try {
    {
      const [started, port] = await startServer(launcher, data);
      await using server = started;
      await using relay = await clientPort(launcher, port);
      await using alice = run(launcher, ["client", "127.0.0.1", relay.port, "--nick", "alice"]);
      assert.equal(await alice.stdout.next(), "* you are alice in lobby; nobody else is here yet");
      await using nc = new Subprocess(["nc", "127.0.0.1", port]);
      const banner = await nc.stdout.waitFor(/^\*\*\* you are guest\d+ in lobby/, "nc's banner");
      const guest = banner.split(" ")[3];
      assert.equal(await alice.stdout.next(), `* ${guest} joined`);
      alice.write("hello from the binary\n");
      await nc.stdout.waitFor("<alice> hello from the binary");
      nc.write("hello from nc\n");
      assert.equal(await alice.stdout.next(), `<${guest}> hello from nc`);
      nc.write("/quit\n");
      await nc.stdout.waitFor("*** bye");
      assert.equal(await alice.stdout.next(), `* ${guest} left`);
      alice.endInput();
      assert.equal(await alice.exitCode(), 0);
      await stop(server);
    }
    const [started, port] = await startServer(launcher, data);
    await using server = started;
    await using relay = await clientPort(launcher, port);
    await using bob = run(launcher, ["client", "127.0.0.1", relay.port, "--nick", "bob"]);
    assert.equal(await bob.stdout.next(), "* you are bob in lobby; nobody else is here yet");
    assert.match(await bob.stdout.next() ?? "", /^\[\d\d:\d\d\] <alice> hello from the binary$/);
    assert.match(await bob.stdout.next() ?? "", /^\[\d\d:\d\d\] <guest\d+> hello from nc$/);
    bob.endInput();
    assert.equal(await bob.exitCode(), 0);
    await stop(server);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

test("release: npm run release builds every target, each an executable of its platform", async () => {
  await release();
  const names = Object.keys(FORMATS).map(fileName);
  assert.deepEqual(readdirSync(OUT).sort(), [...names, "SHA256SUMS"].sort());
  for (const target of Object.keys(FORMATS)) {
    await using file = new Subprocess(["file", "-b", path.join(OUT, fileName(target))]);
    assert.equal(await file.exitCode(), 0);
    assert.match(await file.stdout.next() ?? "", FORMATS[target], target);
  }
});

test("release: SHA256SUMS names every binary, and sha256sum -c checks them", async () => {
  await release();
  const listed = readFileSync(path.join(OUT, "SHA256SUMS"), "utf8").trimEnd().split("\n")
    .map((line) => line.split("  ")[1]);
  assert.deepEqual(listed.sort(), Object.keys(FORMATS).map(fileName).sort());
  await using check = new Subprocess(["sha256sum", "-c", "SHA256SUMS"], {}, OUT);
  assert.equal(await check.exitCode(), 0);
  const lines = await remainingLines(check.stdout);
  assert.deepEqual(lines.sort(), listed.map((name) => `${name}: OK`).sort());
});

test("release [linux-x64] server, client and nc chat, and --data outlives a restart", async () => {
  await smoke(nativeX64);
});

test("release [linux-arm64 under qemu] server, client and nc chat, and --data outlives a restart", async () => {
  await smoke(emulatedArm64());
});

test("release [linux-x64] serves the browser page from inside itself, run from an empty folder", async () => {
  await release();
  const empty = mkdtempSync(path.join(tmpdir(), "parley-release-empty-"));
  try {
    const args = ["server", "--host", "127.0.0.1", "--port", "0", "--http-port", "0", "--quiet"];
    await using server = new Subprocess(nativeX64.argv(args), BARE, empty);
    const line = await server.stdout.waitFor(/^web client at /, "the web client's address");
    const port = line.match(/:(\d+)\/$/)![1];
    assert.ok(assets.size > 1, "the page has its files");
    for (const [file, asset] of assets) {
      const response = await within(fetch(`http://127.0.0.1:${port}${file}`), `GET ${file}`);
      assert.equal(response.status, 200, file);
      assert.equal(await response.text(), asset.body, `${file} is the page's, as built in`);
    }
    await stop(server);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

// First steps with a download: its help names it, and a failure to start is one line.
test("release [linux-x64] says its own name, and fails to start in one line", async () => {
  await release();
  const name = fileName("linux-x64");
  for (
    const [args, usage] of [
      [[], `Usage: ${name} COMMAND [options]`],
      [["--help"], `Usage: ${name} COMMAND [options]`],
      [["server", "--help"], `Usage: ${name} server [options]`],
      [["client", "--help"], `Usage: ${name} client [HOST] [PORT] [options]`],
    ]
  ) {
    await using help = run(nativeX64, args as string[]);
    assert.equal(await help.exitCode(), 0);
    assert.equal((await remainingLines(help.stdout))[0], usage);
  }
  await using unknown = run(nativeX64, ["serve"]);
  assert.equal(await unknown.exitCode(), 2);
  assert.deepEqual(await remainingLines(unknown.stderr), [
    `parley: unknown command "serve" (try --help)`,
  ]);

  const taken = net.createServer().listen(0, "127.0.0.1");
  try {
    await within(once(taken, "listening"), "a listener on a free port");
    const { port } = taken.address() as net.AddressInfo;
    await using server = run(nativeX64, [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--http-port",
      "off",
    ]);
    assert.equal(await server.exitCode(), 1);
    assert.deepEqual(await remainingLines(server.stderr), [
      `server: cannot listen on 127.0.0.1:${port}: address already in use`,
    ]);
    assert.deepEqual(await remainingLines(server.stdout), []);
  } finally {
    taken.close();
  }
});

// From a checkout, as from a binary: the version is package.json's, the commit git's.
for (const runtime of RUNTIMES) {
  test(`release [${runtime}] server.ts, client.ts and parley.ts say the version and the commit`, async () => {
    for (const script of ["server.ts", "client.ts", "parley.ts"]) {
      await using version = new Subprocess(scriptCommand(runtime, script, ["--version"]));
      assert.equal(await version.exitCode(), 0, script);
      assert.match((await remainingLines(version.stdout))[0] ?? "", expectedVersion(), script);
    }
  });
}
