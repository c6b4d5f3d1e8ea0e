// The database under faults, end to end: ids across a SIGKILL, another process holding the write
// lock, a second server on the same --data, damaged and unusable data directories, retention, and
// forgetting rooms nobody is in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  chmodSync,
  closeSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import {
  type Json,
  LOOPBACK_ARGS,
  NO_WEB,
  remainingLines,
  runtimeBinary,
  type RuntimeName,
  RUNTIMES,
  scriptCommand,
  ServerProcess,
  Subprocess,
  TestMember,
} from "./_helpers.ts";

function temporaryDirectory(): Disposable & { path: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-storage-"));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

// Another process with the database's write lock, as an operator's sqlite3 or a backup takes it.
const HOLD_LOCK = `
  import { DatabaseSync } from "node:sqlite";
  import process from "node:process";
  const db = new DatabaseSync(process.env.PARLEY_DB);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("BEGIN IMMEDIATE");
  console.log("locked");
  process.stdin.once("data", () => {
    db.exec("COMMIT");
    db.close();
    console.log("released");
    process.exit(0);
  });
`;

class LockHolder extends Subprocess {
  static async hold(runtime: RuntimeName, file: string): Promise<LockHolder> {
    const argv = runtime === "deno"
      ? [runtimeBinary("deno"), "eval", HOLD_LOCK]
      : [runtimeBinary("bun"), "-e", HOLD_LOCK];
    const holder = new LockHolder(argv, { PARLEY_DB: file });
    await holder.stdout.waitFor("locked", "the other process to take the write lock");
    return holder;
  }

  async release(): Promise<void> {
    this.write("release\n");
    await this.stdout.waitFor("released", "the other process to let go of the lock");
    assert.equal(await this.exitCode(), 0);
  }
}

/** The messages of the room after `after`, by a history request. */
async function historyAfter(member: TestMember, room: string, after: number): Promise<Json[]> {
  member.send({ type: "history", room, after });
  const messages: Json[] = [];
  for (let i = 0; i <= 1000; i++) {
    const message = await member.next("the history reply");
    if (message === null) throw new Error("closed during a history reply");
    if (message.type === "history_end") return messages;
    if (message.type === "msg") messages.push(message);
  }
  throw new Error("a history reply of more than 1000 messages");
}

/** The `count` history messages a member receives on joining. */
async function expectHistory(member: TestMember, count: number): Promise<Json[]> {
  const messages: Json[] = [];
  for (let i = 0; i < count; i++) {
    messages.push(await member.expect({ type: "msg", history: true }));
  }
  return messages;
}

const texts = (messages: Json[]) => messages.map((message) => message.text);

/** Runs server.ts, expecting it to refuse to start: returns its exit status and its stderr. */
async function refusal(runtime: RuntimeName, args: string[]): Promise<[number | null, string[]]> {
  return await refusalOf(
    scriptCommand(runtime, "server.ts", [...LOOPBACK_ARGS, "--port", "0", ...NO_WEB, ...args]),
  );
}

/** Runs a server `command` that must refuse to start: its exit status and what it said. */
async function refusalOf(command: string[]): Promise<[number | null, string[]]> {
  await using server = new Subprocess(command);
  const status = await server.exitCode("the server to refuse to start");
  const lines = await remainingLines(server.stderr);
  assert.deepEqual(await remainingLines(server.stdout), [], "it never says it is listening");
  return [status, lines];
}

/** As refusal(), with `target` (a file or directory) read-only for the server, even as root. */
async function refusalReadOnly(
  runtime: RuntimeName,
  target: string,
  args: string[],
): Promise<[number | null, string[]]> {
  const command = scriptCommand(runtime, "server.ts", [
    ...LOOPBACK_ARGS,
    "--port",
    "0",
    ...NO_WEB,
    ...args,
  ]);
  if (process.getuid?.() !== 0) {
    const mode = statSync(target).mode & 0o777;
    chmodSync(target, mode & ~0o222);
    try {
      return await refusalOf(command);
    } finally {
      chmodSync(target, mode);
    }
  }
  const mountReadOnly = 'mount --bind -o ro "$0" "$0" && exec "$@"';
  return await refusalOf(["unshare", "--mount", "sh", "-c", mountReadOnly, target, ...command]);
}

for (const runtime of RUNTIMES) {
  const name = (what: string) => `storage [${runtime}] ${what}`;
  const start = (dir: string, args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", "--data", dir, ...args]);

  test(
    name("ids are never given twice across a SIGKILL: a reconnecting client misses nothing"),
    async () => {
      using dir = temporaryDirectory();
      let lastSeen: number;
      {
        await using server = await start(dir.path);
        await using alice = await TestMember.join(server.port, "alice");
        await using bob = await TestMember.join(server.port, "bob");
        await alice.expect({ type: "join", nick: "bob" });
        // Nothing said from here on reaches the database before the crash.
        await using holder = await LockHolder.hold(runtime, path.join(dir.path, "parley.db"));
        for (const text of ["one", "two", "three"]) alice.send({ type: "msg", text });
        for (const text of ["one", "two", "three"]) {
          lastSeen = (await bob.expect({ type: "msg", text })).id as number;
        }
        process.kill(server.child.pid!, "SIGKILL");
        await server.exitCode("the killed server to go");
        await holder.release();
      }
      await using server = await start(dir.path);
      await using carol = await TestMember.join(server.port, "carol");
      for (const text of ["four", "five"]) carol.send({ type: "msg", text });
      carol.send({ type: "ping" });
      await carol.expect({ type: "pong" });
      await using bob = await TestMember.connect(server.port);
      bob.send({ type: "hello", nick: "bob", since: lastSeen! });
      await bob.expect({ type: "welcome" });
      const missed = [await bob.expect({ type: "msg" }), await bob.expect({ type: "msg" })];
      assert.deepEqual(texts(missed), ["four", "five"]);
      assert.ok(missed.every((message) => (message.id as number) > lastSeen!));
    },
  );

  test(name("a database locked by another process holds up neither chat nor history"), async () => {
    using dir = temporaryDirectory();
    const said = Array.from({ length: 20 }, (_, i) => `message ${i + 1}`);
    {
      await using server = await start(dir.path);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await TestMember.join(server.port, "bob");
      await alice.expect({ type: "join", nick: "bob" });
      await using holder = await LockHolder.hold(runtime, path.join(dir.path, "parley.db"));
      for (const text of said.slice(0, 10)) alice.send({ type: "msg", text });
      for (const text of said.slice(0, 10)) await bob.expect({ type: "msg", text });
      await server.stderr.waitFor(/parley\.db is locked by another process/, "the busy log line");
      for (const text of said.slice(10)) alice.send({ type: "msg", text });
      for (const text of said.slice(10)) await bob.expect({ type: "msg", text });
      await holder.release();
      await server.stderr.waitFor(/parley\.db written again/, "the recovery log line");
      assert.deepEqual(texts(await historyAfter(bob, "lobby", 0)), said);
      assert.equal(await server.stop(), 0);
    }
    await using server = await start(dir.path);
    await using carol = await TestMember.join(server.port, "carol");
    const replayed = await expectHistory(carol, said.length);
    assert.deepEqual(texts(replayed), said, "all of it committed");
  });

  test(name("a second server on the same --data is refused in one line, exit 4"), async () => {
    using dir = temporaryDirectory();
    {
      await using first = await start(dir.path);
      const [status, lines] = await refusal(runtime, ["--data", dir.path]);
      assert.equal(status, 4);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(
        lines[0],
        /^server: cannot use --data: .* is in use by another server \(pid \d+/,
      );
      assert.ok(lines[0].includes(dir.path));
      await using _alice = await TestMember.join(first.port, "alice");
      process.kill(first.child.pid!, "SIGKILL");
      await first.exitCode("the killed server to go");
    }
    await using next = await start(dir.path); // the lock of a crashed server is taken over
    await using _bob = await TestMember.join(next.port, "bob");
  });

  test(name("a damaged database is refused at start in one line naming it, exit 3"), async () => {
    using dir = temporaryDirectory();
    const file = path.join(dir.path, "parley.db");
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO notes (text) VALUES (?)");
    for (let i = 0; i < 300; i++) insert.run("x".repeat(200));
    db.close();
    const fd = openSync(file, "r+");
    writeSync(fd, new Uint8Array(4096).fill(0x5a), 0, 4096, 3 * 4096); // the fourth page
    closeSync(fd);
    const [status, lines] = await refusal(runtime, ["--data", dir.path]);
    assert.equal(status, 3);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.ok(lines[0].startsWith(`server: cannot use --data: ${file} is damaged (`), lines[0]);
  });

  test(name("an unusable --data is one line naming the path and the cause, exit 3"), async () => {
    using dir = temporaryDirectory();
    const file = path.join(dir.path, "a-file");
    writeFileSync(file, "not a directory");
    writeFileSync(path.join(dir.path, "parley.db"), "this is no database ".repeat(100));
    const cases: Array<[string, RegExp]> = [
      [file, /^server: cannot use --data: .*a-file is not a directory$/],
      [dir.path, /^server: cannot use --data: .*parley\.db is not an SQLite database$/],
      // A directory that not even root may write in.
      ["/proc", /^server: cannot use --data: cannot write in \/proc: /],
      [`${file}/below`, /^server: cannot use --data: cannot create .*a-file\/below: /],
    ];
    for (const [data, expected] of cases) {
      const [status, lines] = await refusal(runtime, ["--data", data]);
      assert.equal(status, 3, data);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], expected);
    }
  });

  // Root writes through any file mode, so as root the test makes the path read-only the way root
  // cannot write through either: a read-only bind mount, in a mount namespace of the server's own.
  test(name("a read-only directory or database is one line, exit 3"), async () => {
    using dir = temporaryDirectory();
    const readOnlyDir = path.join(dir.path, "read-only");
    {
      await using server = await start(readOnlyDir);
      assert.equal(await server.stop(), 0);
    }
    const database = path.join(readOnlyDir, "parley.db");
    const [status, lines] = await refusalReadOnly(runtime, database, ["--data", readOnlyDir]);
    assert.equal(status, 3);
    assert.match(lines.join("\n"), /^server: cannot use --data: .*parley\.db is read-only$/);
    const [dirStatus, dirLines] = await refusalReadOnly(runtime, readOnlyDir, [
      "--data",
      readOnlyDir,
    ]);
    assert.equal(dirStatus, 3);
    assert.match(dirLines.join("\n"), /^server: cannot use --data: cannot write in .*/);
  });

  test(name("--retain-messages keeps each room's newest messages in the database"), async () => {
    using dir = temporaryDirectory();
    {
      await using server = await start(dir.path);
      await using alice = await TestMember.join(server.port, "alice");
      alice.send({ type: "join", room: "den" });
      await alice.expect({ type: "joined", room: "den" });
      for (let i = 1; i <= 10; i++) alice.send({ type: "msg", room: "lobby", text: `lobby ${i}` });
      alice.send({ type: "msg", room: "den", text: "den 1" });
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });
      assert.equal(await server.stop(), 0);
    }
    await using server = await start(dir.path, ["--retain-messages", "3"]);
    await using bob = await TestMember.join(server.port, "bob");
    assert.deepEqual(texts(await expectHistory(bob, 3)), ["lobby 8", "lobby 9", "lobby 10"]);
    assert.deepEqual(texts(await historyAfter(bob, "lobby", 0)), [
      "lobby 8",
      "lobby 9",
      "lobby 10",
    ]);
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    assert.deepEqual(texts(await expectHistory(bob, 1)), ["den 1"]);
    bob.send({ type: "msg", room: "lobby", text: "lobby 11" });
    bob.send({ type: "ping" });
    await bob.expect({ type: "pong" });
    const [newest] = await historyAfter(bob, "lobby", 10);
    assert.equal(newest.id, 11, "ids go on past the deleted messages");
    // A member back from id 2 is told that the 5 after it are gone, then gets what is kept.
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", since: 2 });
    await carol.expect({ type: "welcome" });
    await carol.expect({ type: "history_gap", room: "lobby", missed: 5 });
    const kept = [];
    for (let i = 0; i < 4; i++) kept.push(await carol.expect({ type: "msg", history: true }));
    assert.deepEqual(texts(kept), ["lobby 8", "lobby 9", "lobby 10", "lobby 11"]);
  });

  test(name("--idle-rooms 0 forgets an empty room's messages but never its ids"), async () => {
    await using server = await ServerProcess.start(runtime, [
      ...LOOPBACK_ARGS,
      "--quiet",
      "--idle-rooms",
      "0",
    ]);
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    alice.send({ type: "msg", room: "den", text: "said in den" });
    alice.send({ type: "part", room: "den" });
    await alice.expect({ type: "leave", room: "den" });
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    alice.send({ type: "history", room: "den", after: 0 });
    await alice.expect({ type: "history_end", room: "den" });
    alice.send({ type: "msg", room: "den", text: "said again" });
    alice.send({ type: "history", room: "den", after: 0 });
    const again = await alice.expect({ type: "msg", text: "said again" });
    assert.equal(again.id, 2);
  });
}
