// Message ids and history, end to end in every mode: ids rising per room, replay on joining, history
// requests, --history 0, --data across a restart, and the race between joining and saying.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type Json,
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  RUNTIMES,
  ServerProcess,
  TestMember,
} from "./_helpers.ts";

/** A history line's time, as the server shows it: its local HH:MM (server and tests share TZ). */
function clock(ts: unknown): string {
  const time = new Date(ts as number);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

async function temporaryDirectory(): Promise<AsyncDisposable & { path: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "parley-features-"));
  return { path: dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Connects a line-mode member and reads what it gets on joining: the banner's two lines, then the
 * room's history, which ends where the answer to a /who sent after the banner begins; and its
 * guest nick.
 */
async function lineJoin(
  port: number,
): Promise<{ member: LineMember; nick: string; history: string[] }> {
  const member = await LineMember.connect(port);
  const banner = await member.lines.next("the line-mode banner");
  const nick = /^\*\*\* you are (\S+) in /.exec(banner ?? "")?.[1];
  if (nick === undefined) throw new Error(`expected the banner, got ${banner}`);
  assert.match((await member.lines.next("the banner's notice"))!, /^\*\*\* \d+ here\. /);
  member.say("/who");
  const history: string[] = [];
  while (true) {
    const line = await member.lines.next("history or the answer to /who");
    if (line === null) throw new Error("closed before the answer to /who");
    if (line.startsWith("*** in ")) return { member, nick, history };
    history.push(line);
  }
}

/** Skips `member`'s messages up to the first that has every field of `fields`, and returns it. */
async function skipTo(member: TestMember, fields: Json): Promise<Json> {
  const what = JSON.stringify(fields);
  while (true) {
    const message = await member.next(what);
    if (message === null) throw new Error(`connection closed waiting for ${what}`);
    if (Object.entries(fields).every(([key, value]) => message[key] === value)) return message;
  }
}

/** Sends a history request and returns the whole reply, history_end (or an error) included. */
async function askHistory(member: TestMember, room: string, after: number): Promise<Json[]> {
  member.send({ type: "history", room, after });
  const reply: Json[] = [];
  while (true) {
    const message = await member.next("the history reply");
    if (message === null) throw new Error("connection closed during a history reply");
    reply.push(message);
    if (message.type === "history_end" || message.type === "error") return reply;
  }
}

const asHistory = (messages: Json[]) => messages.map((message) => ({ ...message, history: true }));
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What a joiner or the watcher heard of the room's chat, in the order heard. */
type Said = { from: string; text: string; id?: number; history?: boolean };
/** Anything else a joiner heard: a join, a leave, a notice. */
type Other = { other: string };
type Heard = Said | Other;

const isSaid = (heard: Heard): heard is Said => "text" in heard;
const said = (heard: Heard[]) => heard.filter(isSaid);
const plain = (chat: Said[]) => chat.map(({ from, text }) => `${from}: ${text}`);

for (const runtime of RUNTIMES) {
  const name = (what: string) => `history [${runtime}] ${what}`;
  const start = (args: string[] = []) =>
    ServerProcess.start(runtime, [...LOOPBACK_ARGS, "--quiet", ...args]);

  test(
    name("switching back to a room replays nothing already seen; history names the room"),
    async () => {
      await using server = await start();
      await using alice = await TestMember.join(server.port, "alice");
      for (const text of ["one", "two", "three"]) alice.send({ type: "msg", text });
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });
      await using bob = await TestMember.join(server.port, "bob");
      for (const text of ["one", "two", "three"]) {
        await bob.expect({ type: "msg", text, history: true });
      }
      bob.send({ type: "join", room: "den" });
      await bob.expect({ type: "joined", room: "den" });
      bob.send({ type: "join", room: "LOBBY" });
      bob.send({ type: "ping" });
      await bob.expect({ type: "joined", room: "lobby" });
      await bob.expect({ type: "pong" });
      bob.send({ type: "join", room: "lobby", since: 2 });
      await bob.expect({ type: "joined", room: "lobby" });
      await bob.expect({ type: "msg", id: 3, text: "three", history: true });
      bob.send({ type: "history", room: "LOBBY", after: 2 });
      await bob.expect({ type: "msg", id: 3, history: true });
      await bob.expect({ type: "history_end", room: "lobby" });
    },
  );

  test(name("every message has an id rising by one per room, and a timestamp"), async () => {
    await using server = await start();
    await using alice = await TestMember.join(server.port, "alice");
    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob" });
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    await alice.expect({ type: "join", nick: "bob", room: "den" });

    const before = Date.now();
    const rooms = ["lobby", "den", "lobby", "lobby", "den"];
    rooms.forEach((room, i) => alice.send({ type: "msg", room, text: `${i}` }));
    alice.send({ type: "msg", to: "bob", text: "private" });
    alice.send({ type: "msg", to: "bob", text: "private again" });
    const heard: Json[] = [];
    for (let i = 0; i < 7; i++) heard.push(await bob.expect({ type: "msg" }));
    const after = Date.now();
    assert.deepEqual(heard.map((m) => [m.room ?? `to ${m.to}`, m.id, m.text]), [
      ["lobby", 1, "0"],
      ["den", 1, "1"],
      ["lobby", 2, "2"],
      ["lobby", 3, "3"],
      ["den", 2, "4"],
      ["to bob", 1, "private"],
      ["to bob", 2, "private again"],
    ]);
    for (const { ts } of heard) assert.ok(before <= (ts as number) && (ts as number) <= after);

    // A room that empties is gone, but its ids go on when it opens again.
    alice.send({ type: "part", room: "den" });
    await alice.expect({ type: "leave", nick: "alice", room: "den" });
    bob.send({ type: "part", room: "den" });
    await bob.expect({ type: "leave", nick: "alice", room: "den" });
    await bob.expect({ type: "leave", nick: "bob", room: "den" });
    bob.send({ type: "rooms" });
    assert.deepEqual(await bob.next(), { type: "rooms", rooms: [{ name: "lobby", members: 2 }] });
    bob.send({ type: "join", room: "den", since: 2 });
    assert.deepEqual(await bob.next(), { type: "joined", room: "den", members: ["bob"] });
    alice.send({ type: "join", room: "den", since: 2 });
    assert.deepEqual(await alice.next(), {
      type: "joined",
      room: "den",
      members: ["bob", "alice"],
    });
    alice.send({ type: "msg", text: "reopened" });
    await bob.expect({ type: "join", nick: "alice", room: "den" });
    await bob.expect({ type: "msg", room: "den", id: 3, text: "reopened" });
  });

  test(
    name("a joiner hears the room's last messages as history, in every mode, then live"),
    async () => {
      await using server = await start(["--history", "3"]);
      await using alice = await TestMember.join(server.port, "alice");
      await using carol = await TestMember.join(server.port, "carol");
      await alice.expect({ type: "join", nick: "carol" });
      for (let i = 1; i <= 5; i++) {
        alice.send(
          i === 4 ? { type: "msg", text: `m${i}`, action: true } : { type: "msg", text: `m${i}` },
        );
      }
      const said: Json[] = [];
      for (let i = 1; i <= 5; i++) said.push(await carol.expect({ type: "msg", text: `m${i}` }));
      // Neither a private message nor a join or a leave is history.
      alice.send({ type: "msg", to: "carol", text: "not history" });
      await carol.expect({ type: "msg", to: "carol" });
      {
        await using _dave = await TestMember.join(server.port, "dave");
      }
      await carol.expect({ type: "join", nick: "dave" });
      await carol.expect({ type: "leave", nick: "dave" });

      await using bob = await TestMember.join(server.port, "bob");
      for (const message of asHistory(said.slice(2))) assert.deepEqual(await bob.next(), message);

      await using eve = await LegacyMember.connect(server.port, "eve");
      assert.deepEqual(await eve.next(), [
        "*",
        "you are eve in lobby; here: alice, carol, bob, eve (you)",
      ]);
      // The classic client gets history as it gets live chat, actions from their member too.
      assert.deepEqual(await eve.next(), ["alice", "m3"]);
      assert.deepEqual(await eve.next(), ["alice", "* m4"]);
      assert.deepEqual(await eve.next(), ["alice", "m5"]);

      const { member: line, nick: guest, history } = await lineJoin(server.port);
      await using _line = line;
      assert.deepEqual(history, [
        `[${clock(said[2].ts)}] <alice> m3`,
        `[${clock(said[3].ts)}] * alice m4`,
        `[${clock(said[4].ts)}] <alice> m5`,
      ]);

      alice.send({ type: "msg", text: "live" });
      await bob.expect({ type: "join", nick: "eve" });
      await bob.expect({ type: "join", nick: guest });
      const live = await bob.next();
      assert.deepEqual(live, {
        type: "msg",
        id: 6,
        from: "alice",
        room: "lobby",
        text: "live",
        ts: live?.ts,
      });
      assert.deepEqual(await eve.next(), ["*", `${guest} joined`]);
      assert.deepEqual(await eve.next(), ["alice", "live"]);
      assert.equal(await line.lines.next(), "<alice> live");

      // The same on joining a second room.
      alice.send({ type: "join", room: "den" });
      await skipTo(alice, { type: "joined", room: "den" });
      alice.send({ type: "msg", text: "d1" });
      alice.send({ type: "ping" });
      await skipTo(alice, { type: "pong" });
      bob.send({ type: "join", room: "den" });
      assert.deepEqual(await bob.next(), {
        type: "joined",
        room: "den",
        members: ["alice", "bob"],
      });
      const d1 = await bob.next();
      assert.deepEqual(d1, {
        type: "msg",
        id: 1,
        from: "alice",
        room: "den",
        text: "d1",
        ts: d1?.ts,
        history: true,
      });
      line.say("/join den");
      assert.equal(await line.lines.next(), `*** you joined den; here: alice, bob, ${guest} (you)`);
      assert.equal(await line.lines.next(), `[${clock(d1?.ts)}] [den] <alice> d1`);
      alice.send({ type: "msg", text: "live in the den" });
      assert.equal(await line.lines.next(), "[den] <alice> live in the den");
    },
  );

  test(name("a history request returns exactly the messages after an id"), async () => {
    await using server = await start(["--rate", "0"]);
    await using alice = await TestMember.join(server.port, "alice", "den");
    await using bob = await TestMember.join(server.port, "bob", "den");
    await alice.expect({ type: "join", nick: "bob" });
    for (let i = 1; i <= 10; i++) alice.send({ type: "msg", text: `d${i}` });
    const said: Json[] = [];
    for (let i = 1; i <= 10; i++) said.push(await bob.expect({ type: "msg", text: `d${i}` }));
    assert.deepEqual(said.map((message) => message.id), range(1, 10));

    const end = { type: "history_end", room: "den" };
    assert.deepEqual(await askHistory(bob, "den", 7), [...asHistory(said.slice(7)), end]);
    const all = await askHistory(bob, "DEN", 0);
    assert.deepEqual(all.slice(0, -1), asHistory(said));
    assert.equal(all.at(-1)?.type, "history_end");
    assert.deepEqual(await askHistory(bob, "den", 10), [end]);
    assert.deepEqual(await askHistory(bob, "den", 99), [end]);
    const [refused] = await askHistory(bob, "lobby", 0);
    assert.equal(refused.code, "not_in_room");

    // `since` on a hello or a join: a member that comes back hears exactly what it missed.
    await using carol = await TestMember.connect(server.port);
    carol.send({ type: "hello", nick: "carol", room: "den", since: 8 });
    await carol.expect({ type: "welcome", room: "den" });
    for (const message of asHistory(said.slice(8))) assert.deepEqual(await carol.next(), message);
    await using dave = await TestMember.join(server.port, "dave");
    dave.send({ type: "join", room: "den", since: 5 });
    await dave.expect({ type: "joined", room: "den" });
    for (const message of asHistory(said.slice(5))) assert.deepEqual(await dave.next(), message);
    alice.send({ type: "msg", text: "d11" });
    await carol.expect({ type: "join", nick: "dave", room: "den" });
    await carol.expect({ type: "msg", id: 11, text: "d11" });
    await dave.expect({ type: "msg", id: 11, text: "d11" });
  });

  test(
    name("a since from another epoch, or past the room's ids, gets all the room has"),
    async () => {
      await using server = await start(["--history", "50", "--rate", "0"]);
      await using alice = await TestMember.connect(server.port);
      alice.send({ type: "hello", nick: "alice" });
      const { epoch } = await alice.expect({ type: "welcome" });
      assert.equal(typeof epoch, "string");
      for (let i = 1; i <= 120; i++) alice.send({ type: "msg", text: `m${i}` });
      alice.send({ type: "ping" });
      await alice.expect({ type: "pong" });

      // What a member coming back gets: the welcome, then what is gone, then what is kept.
      const comeBack = async (nick: string, hello: Json) => {
        const member = await TestMember.connect(server.port);
        member.send({ type: "hello", nick, ...hello });
        await member.expect({ type: "welcome", epoch });
        member.send({ type: "ping" });
        const heard: string[] = [];
        for (
          let message = await member.next();
          message?.type !== "pong";
          message = await member.next()
        ) {
          heard.push(message?.type === "msg" ? `${message.id}` : `gap ${message?.missed}`);
        }
        return { member, heard };
      };
      const kept = range(71, 120).map(String);
      // 120 missed, 50 kept: the other 70 are said to be gone.
      const cases: Array<[string, Json, string[]]> = [
        ["bob", { since: 0, epoch }, ["gap 70", ...kept]],
        ["carol", { since: 100, epoch: "an earlier life" }, ["gap 70", ...kept]],
        ["dave", { since: 500 }, ["gap 70", ...kept]],
        ["erin", { since: 100, epoch }, range(101, 120).map(String)],
        ["fred", { since: 100 }, range(101, 120).map(String)],
      ];
      for (const [nick, hello, expected] of cases) {
        const { member, heard } = await comeBack(nick, hello);
        await using _member = member;
        assert.deepEqual(heard, expected, `${nick}: ${JSON.stringify(hello)}`);
      }
      await using gina = await TestMember.join(server.port, "gina");
      gina.send({ type: "ping" });
      await skipTo(gina, { type: "pong" }); // past the history of her join
      const reply = await askHistory(gina, "lobby", 10);
      assert.deepEqual(reply[0], { type: "history_gap", room: "lobby", missed: 60 });
      assert.deepEqual(reply.slice(1, -1).map((message) => message.id), range(71, 120));
    },
  );

  test(
    name("the epoch is the database's with --data, and new at every start without"),
    async () => {
      await using dir = await temporaryDirectory();
      const epochOf = async (args: string[]) => {
        await using server = await start(args);
        await using alice = await TestMember.connect(server.port);
        alice.send({ type: "hello", nick: "alice" });
        const { epoch } = await alice.expect({ type: "welcome" });
        return epoch;
      };
      const withData = ["--data", dir.path];
      const stored = await epochOf(withData);
      assert.equal(await epochOf(withData), stored);
      const first = await epochOf([]);
      const second = await epochOf([]);
      assert.notEqual(first, second);
      assert.notEqual(first, stored);
    },
  );

  test(name("history from another day says its date, in line mode"), async () => {
    await using dir = await temporaryDirectory();
    {
      await using server = await start(["--data", dir.path]);
      assert.equal(await server.stop(), 0); // it has made the database
    }
    const now = Date.now();
    const yesterday = now - 24 * 3600_000;
    const db = new DatabaseSync(path.join(dir.path, "parley.db"));
    const insert = db.prepare(
      "INSERT INTO messages (room_key, id, room, sender, text, ts) VALUES ('lobby', ?, 'lobby', 'alice', ?, ?)",
    );
    insert.run(1, "said yesterday", yesterday);
    insert.run(2, "said today", now);
    db.close();
    await using server = await start(["--data", dir.path]);
    const { member, history } = await lineJoin(server.port);
    await using _member = member;
    const day = new Date(yesterday);
    const date = [day.getFullYear(), day.getMonth() + 1, day.getDate()]
      .map((n) => String(n).padStart(2, "0")).join("-");
    assert.deepEqual(history, [
      `[${date} ${clock(yesterday)}] <alice> said yesterday`,
      `[${clock(now)}] <alice> said today`,
    ]);
  });

  test(name("--history 0 replays nothing, in any mode"), async () => {
    await using server = await start(["--history", "0"]);
    await using alice = await TestMember.join(server.port, "alice");
    alice.send({ type: "msg", text: "unremembered" });
    alice.send({ type: "msg", text: "unremembered too" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });

    await using bob = await TestMember.join(server.port, "bob");
    await alice.expect({ type: "join", nick: "bob" });
    const { member: line, nick: guest, history } = await lineJoin(server.port);
    await using _line = line;
    assert.deepEqual(history, []);
    await using eve = await LegacyMember.connect(server.port, "eve");
    assert.deepEqual(await eve.next(), [
      "*",
      `you are eve in lobby; here: alice, bob, ${guest}, eve (you)`,
    ]);
    await alice.expect({ type: "join", nick: guest });
    await alice.expect({ type: "join", nick: "eve" });

    alice.send({ type: "msg", text: "live" });
    await bob.expect({ type: "join", nick: guest });
    await bob.expect({ type: "join", nick: "eve" });
    await bob.expect({ type: "msg", id: 3, text: "live" });
    assert.equal(await line.lines.next(), "*** eve joined");
    assert.equal(await line.lines.next(), "<alice> live");
    assert.deepEqual(await eve.next(), ["alice", "live"]);
    // Asked for, history says only that all three are gone.
    assert.deepEqual(await askHistory(bob, "lobby", 0), [
      { type: "history_gap", room: "lobby", missed: 3 },
      { type: "history_end", room: "lobby" },
    ]);

    // Nothing is kept, yet a room that empties and opens again numbers on.
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    bob.send({ type: "msg", text: "den 1" });
    bob.send({ type: "part", room: "den" });
    await bob.expect({ type: "leave", nick: "bob", room: "den" });
    bob.send({ type: "rooms" });
    assert.deepEqual(await bob.next(), { type: "rooms", rooms: [{ name: "lobby", members: 4 }] });
    alice.send({ type: "join", room: "den" });
    await alice.expect({ type: "joined", room: "den" });
    alice.send({ type: "msg", text: "den 2" });
    alice.send({ type: "ping" });
    await alice.expect({ type: "pong" });
    bob.send({ type: "join", room: "den" });
    await bob.expect({ type: "joined", room: "den" });
    alice.send({ type: "msg", text: "den 3" });
    await bob.expect({ type: "msg", id: 3, text: "den 3" });
  });

  test(name("--data keeps history through a restart, ids and all"), async () => {
    await using dir = await temporaryDirectory();
    // Memory keeps 3 per room; older ones must come from the database.
    const args = ["--data", dir.path, "--history", "3"];
    const lobby: Json[] = [];
    const den: Json[] = [];
    {
      await using server = await start(args);
      await using alice = await TestMember.join(server.port, "alice");
      await using bob = await TestMember.join(server.port, "bob");
      await alice.expect({ type: "join", nick: "bob" });
      alice.send({ type: "join", room: "den" });
      await alice.expect({ type: "joined", room: "den" });
      bob.send({ type: "join", room: "den" });
      await bob.expect({ type: "joined", room: "den" });
      for (let i = 1; i <= 5; i++) alice.send({ type: "msg", room: "lobby", text: `before ${i}` });
      alice.send({ type: "msg", room: "lobby", text: "wävës 🎉", action: true });
      alice.send({ type: "msg", text: "in the den" });
      for (let i = 1; i <= 6; i++) lobby.push(await bob.expect({ type: "msg", room: "lobby" }));
      den.push(await bob.expect({ type: "msg", room: "den" }));
      assert.equal(await server.stop(), 0);
    }

    {
      await using server = await start(args);
      await using carol = await TestMember.join(server.port, "carol");
      for (const message of asHistory(lobby.slice(-3))) {
        assert.deepEqual(await carol.next(), message);
      }
      assert.deepEqual(await askHistory(carol, "lobby", 1), [
        ...asHistory(lobby.slice(1)),
        { type: "history_end", room: "lobby" },
      ]);
      carol.send({ type: "join", room: "den" });
      assert.deepEqual(await carol.next(), { type: "joined", room: "den", members: ["carol"] });
      assert.deepEqual(await carol.next(), asHistory(den)[0]);
      const { member: line, history } = await lineJoin(server.port);
      await using _line = line;
      assert.deepEqual(history, [
        `[${clock(lobby[3].ts)}] <alice> before 4`,
        `[${clock(lobby[4].ts)}] <alice> before 5`,
        `[${clock(lobby[5].ts)}] * alice wävës 🎉`,
      ]);

      // Ids go on from where they were, in each room.
      carol.send({ type: "msg", room: "den", text: "after in the den" });
      carol.send({ type: "msg", room: "lobby", text: "after in the lobby" });
      assert.equal(await line.lines.next(), "<carol> after in the lobby");
      await using dave = await TestMember.join(server.port, "dave", "den");
      assert.deepEqual(await dave.next(), asHistory(den)[0]);
      await dave.expect({ type: "msg", id: 2, from: "carol", text: "after in the den" });
      dave.send({ type: "join", room: "lobby", since: 6 });
      await dave.expect({ type: "joined", room: "lobby" });
      await dave.expect({ type: "msg", id: 7, text: "after in the lobby", history: true });
      assert.equal(await server.stop(), 0);
    }

    // Without --data, what the server remembers goes with it.
    {
      await using server = await start(["--history", "3"]);
      await using carol = await TestMember.join(server.port, "carol");
      await using dave = await TestMember.join(server.port, "dave");
      await carol.expect({ type: "join", nick: "dave" });
      dave.send({ type: "msg", text: "a fresh start" });
      await carol.expect({ type: "msg", id: 1, text: "a fresh start" });
    }
  });

  test(name("messages said while members join are neither lost nor doubled"), async () => {
    await using server = await start(["--rate", "0"]);
    const { port } = server;
    // The watcher, in the lobby before anyone speaks, hears every message; three senders stream
    // numbered messages into the lobby, each at most WINDOW ahead of what the watcher has heard,
    // so that nobody's send queue fills; members join meanwhile, in each mode and each way.
    await using watcher = await TestMember.join(port, "watcher");
    await using s0 = await TestMember.join(port, "s0");
    await using s1 = await TestMember.join(port, "s1");
    await using s2 = await TestMember.join(port, "s2");
    const senders = [s0, s1, s2];
    const WINDOW = 20;
    const HISTORY = 50; // the default
    const LIVE = 30; // live messages each joiner waits for before it goes

    const heard: Said[] = [];
    const sent = senders.map(() => 0);
    const heardFrom = senders.map(() => 0);
    let progress = Promise.withResolvers<void>();
    let streaming = true;
    let watchFailure: unknown = null;
    const watching = (async () => {
      let ended = 0;
      while (ended < senders.length) {
        const message = await watcher.next("the watcher's next message");
        if (message === null) throw new Error("the watcher was disconnected");
        if (message.type !== "msg") continue;
        const { id, from, text } = message as Said;
        heard.push({ id, from, text });
        const [, sender, count] = /^s(\d) (\d+|end)$/.exec(text)!;
        if (count === "end") ended++;
        else heardFrom[Number(sender)]++;
        progress.resolve();
        progress = Promise.withResolvers();
      }
    })().catch((error) => {
      watchFailure = error;
      streaming = false;
      progress.resolve();
    });
    const streams = senders.map(async (sender, s) => {
      while (streaming) {
        if (sent[s] - heardFrom[s] >= WINDOW) await progress.promise;
        else sender.send({ type: "msg", text: `s${s} ${sent[s]++}` });
      }
      sender.send({ type: "msg", text: `s${s} end` });
    });
    const heardAtLeast = async (count: number) => {
      while (heard.length < count) {
        if (watchFailure) throw watchFailure;
        await progress.promise;
      }
    };

    // Each joiner's view: chat as {from, text}, with id and history where its mode shows them,
    // and anything else it heard after it joined.
    const readNative = async (member: TestMember) => {
      const view: Heard[] = [];
      let live = 0;
      while (live < LIVE) {
        const message = await member.next("the joiner's next message");
        if (message === null) throw new Error("the joiner was disconnected");
        if (message.type !== "msg") view.push({ other: JSON.stringify(message) });
        else {
          const { id, from, text, history } = message as Said;
          view.push(history ? { id, from, text, history } : { id, from, text });
          if (!history) live++;
        }
      }
      return view;
    };
    const joiners: Record<string, (nick: string) => Promise<Heard[]>> = {
      "native hello": async (nick) => {
        await using member = await TestMember.join(port, nick);
        return await readNative(member);
      },
      "native join": async (nick) => {
        await using member = await TestMember.join(port, nick, "elsewhere");
        member.send({ type: "join", room: "lobby" });
        await member.expect({ type: "joined", room: "lobby" });
        return await readNative(member);
      },
      "line": async () => {
        // History follows the banner, stamped; live lines are not.
        await using member = await LineMember.connect(port);
        await member.lines.waitFor(/^\*\*\* \d+ here\. /, "the banner's second line");
        const view: Heard[] = [];
        for (let live = 0; live < LIVE;) {
          const line = await member.lines.next("the joiner's next line");
          if (line === null) throw new Error("the joiner was disconnected");
          const old = /^\[\d\d:\d\d\] <(\S+)> (.*)$/.exec(line);
          const match = /^<(\S+)> (.*)$/.exec(line);
          if (old) view.push({ from: old[1], text: old[2], history: true });
          else view.push(match ? { from: match[1], text: match[2] } : { other: line });
          if (match) live++;
        }
        return view;
      },
      // The classic client cannot tell history from live chat: it only has to hear no gap.
      "legacy": async (nick) => {
        await using member = await LegacyMember.connect(port, nick);
        const view: Heard[] = [];
        while (said(view).length < HISTORY + LIVE) {
          const pair = await member.next("the joiner's next pair");
          if (pair === null) throw new Error("the joiner was disconnected");
          view.push(pair[0] === "*" ? { other: pair[1] } : { from: pair[0], text: pair[1] });
        }
        return view;
      },
    };

    await heardAtLeast(HISTORY + 10);
    const views: Array<{ how: string; view: Heard[] }> = [];
    try {
      for (let round = 0; round < 2; round++) {
        for (const [how, join] of Object.entries(joiners)) {
          views.push({ how, view: await join(`${how.split(" ").at(-1)}${round}`) });
        }
      }
    } finally {
      streaming = false;
      await Promise.all(streams);
      await watching;
    }
    if (watchFailure) throw watchFailure;

    assert.deepEqual(heard.map((message) => message.id), range(1, heard.length));
    senders.forEach((_, s) => {
      const texts = heard.filter((message) => message.from === `s${s}`).map((m) => m.text);
      assert.deepEqual(texts, [...range(0, sent[s] - 1).map((n) => `s${s} ${n}`), `s${s} end`]);
    });
    for (const { how, view } of views) {
      const chat = said(view);
      const at = heard.findIndex((message) => message.text === chat[0].text);
      assert.ok(at >= 0, how);
      assert.deepEqual(plain(chat), plain(heard.slice(at, at + chat.length)), how);
      if (how === "legacy") continue;
      const history = view.slice(0, HISTORY);
      assert.ok(history.every((item) => isSaid(item) && item.history), how);
      assert.ok(view.slice(HISTORY).every((item) => !isSaid(item) || !item.history), how);
      if (how !== "line") {
        assert.deepEqual(chat.map((message) => message.id), range(at + 1, at + chat.length), how);
      }
    }
  });
}
