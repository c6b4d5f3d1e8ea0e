import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import path from "node:path";
import { History, MAX_HISTORY_REPLY, type StoredMessage } from "../../../server/history.ts";
import { DataProblem, SqliteMessageStore } from "../../../server/sqlite/history.ts";

const KEEP_ALL = { retainMs: 0, retainPerRoom: 0, log: () => {} };

function message(id: number, room = "lobby"): StoredMessage {
  return { id, room, from: "alice", text: `message ${id}`, ts: 1_700_000_000_000 + id };
}

function say(history: History, ids: Iterable<number>, room = "lobby"): void {
  for (const id of ids) history.record(room.toLowerCase(), message(id, room));
}

const ids = (messages: StoredMessage[]) => messages.map((m) => m.id);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A fresh data directory, removed when disposed of. */
function dataDir(): { path: string } & Disposable {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-history-"));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function sqliteHistory(limit: number, dir: string): History {
  return new History({ limit, store: new SqliteMessageStore(dir, KEEP_ALL) });
}

test("History with a data directory outlives the process that wrote it", () => {
  using dir = dataDir();
  const first = sqliteHistory(3, dir.path);
  say(first, range(1, 10));
  say(first, [1, 2], "Den");
  first.close();

  const second = sqliteHistory(3, dir.path);
  assert.equal(second.lastId("lobby"), 10);
  assert.equal(second.lastId("den"), 2);
  assert.deepEqual(second.recent("lobby"), [8, 9, 10].map((id) => message(id)));
  assert.deepEqual(ids(second.since("lobby", 4)), range(5, 10), "older ones from the database");
  say(second, [11]);
  assert.deepEqual(ids(second.recent("lobby")), [9, 10, 11]);
  second.close();
});

test("History.since caps one reply at MAX_HISTORY_REPLY messages", () => {
  using dir = dataDir();
  const history = sqliteHistory(10, dir.path);
  say(history, range(1, MAX_HISTORY_REPLY + 50));
  const reply = history.since("lobby", 0);
  assert.equal(reply.length, MAX_HISTORY_REPLY);
  assert.deepEqual(reply[0].id, 1, "the oldest first, so a client can ask again from the last");
  history.close();
});

test("History keeps actions and non-ASCII text through the database", () => {
  using dir = dataDir();
  const first = sqliteHistory(5, dir.path);
  const action: StoredMessage = { ...message(1), text: "wävës 🎉", action: true };
  first.record("lobby", action);
  first.close();
  const second = sqliteHistory(5, dir.path);
  assert.deepEqual(second.recent("lobby"), [action]);
  second.close();
});

test("SqliteMessageStore keeps DIR/parley.db, and reads see appends not yet committed", () => {
  using dir = dataDir();
  const store = new SqliteMessageStore(path.join(dir.path, "nested"), KEEP_ALL);
  store.append("lobby", message(1));
  store.append("lobby", message(2));
  assert.equal(store.lastId("lobby"), 2);
  assert.deepEqual(ids(store.last("lobby", 1)), [2]);
  assert.deepEqual(ids(store.since("lobby", 0, 10)), [1, 2]);
  assert.equal(store.lastId("den"), 0);
  store.close();
  const reopened = new SqliteMessageStore(path.join(dir.path, "nested"), KEEP_ALL);
  assert.deepEqual(ids(reopened.since("lobby", 1, 10)), [2]);
  reopened.close();
  assert.ok(existsSync(path.join(dir.path, "nested", "parley.db")));
});

test("SqliteMessageStore keeps its epoch for as long as its database lives", () => {
  using dir = dataDir();
  const first = new SqliteMessageStore(dir.path, KEEP_ALL);
  const { epoch } = first;
  first.close();
  const again = new SqliteMessageStore(dir.path, KEEP_ALL);
  assert.equal(again.epoch, epoch);
  again.close();
  using other = dataDir();
  const elsewhere = new SqliteMessageStore(other.path, KEEP_ALL);
  assert.notEqual(elsewhere.epoch, epoch);
  elsewhere.close();
});

test("SqliteMessageStore.oldestId is the oldest kept, committed or not, and tells what retention took", () => {
  using dir = dataDir();
  const store = new SqliteMessageStore(dir.path, KEEP_ALL);
  assert.equal(store.oldestId("lobby"), undefined);
  store.append("lobby", message(1));
  assert.equal(store.oldestId("lobby"), 1, "not committed yet");
  store.close();
  const first = sqliteHistory(2, dir.path); // through History, which reserves the room's ids
  say(first, range(2, 10));
  first.close();
  const pruned = new SqliteMessageStore(dir.path, { ...KEEP_ALL, retainPerRoom: 4 });
  assert.equal(pruned.oldestId("lobby"), 7);
  assert.equal(pruned.prunedThrough("lobby"), 6);
  const history = new History({ limit: 2, store: pruned });
  assert.equal(history.missing("lobby", 0), 6);
  assert.equal(history.missing("lobby", 8), 0);
  history.close();
});

test("SqliteMessageStore opens a database from before epochs and pruning marks", () => {
  using dir = dataDir();
  const old = new DatabaseSync(path.join(dir.path, "parley.db"));
  old.exec(`
    CREATE TABLE messages (room_key TEXT NOT NULL, id INTEGER NOT NULL, room TEXT NOT NULL,
      sender TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL,
      action INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (room_key, id)) WITHOUT ROWID;
    CREATE TABLE rooms (room_key TEXT PRIMARY KEY, reserved INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO messages VALUES ('lobby', 1, 'lobby', 'alice', 'old', 1, 0);
    INSERT INTO messages VALUES ('lobby', 2, 'lobby', 'alice', 'old too', 2, 0);
    INSERT INTO rooms VALUES ('lobby', 2);
    PRAGMA user_version = 1;
  `);
  old.close();
  const store = new SqliteMessageStore(dir.path, { ...KEEP_ALL, retainPerRoom: 1 });
  assert.match(store.epoch, /^[0-9a-f]{16}$/);
  assert.equal(store.lastId("lobby"), 2);
  assert.equal(store.prunedThrough("lobby"), 1, "retention, run at start, says how far it went");
  assert.equal(store.oldestId("lobby"), 2);
  store.close();
});

test("SqliteMessageStore keeps reservations: a store opened after a crash goes on past them", () => {
  using dir = dataDir();
  const crashed = new SqliteMessageStore(dir.path, KEEP_ALL);
  let reserved = false;
  crashed.reserve("lobby", 1000, () => reserved = true);
  assert.ok(reserved, "written at once when the database is free");
  crashed.append("lobby", message(1)); // never committed: the process dies first
  const next = new SqliteMessageStore(dir.path, KEEP_ALL); // the lock of a dead holder (ours)
  assert.equal(next.lastId("lobby"), 1000);
  next.release("lobby", 1200);
  next.close();
  const after = new SqliteMessageStore(dir.path, KEEP_ALL);
  assert.equal(after.lastId("lobby"), 1200, "a clean stop leaves the reservation it was given");
  after.close();
});

test("SqliteMessageStore refuses a data directory another store holds", () => {
  using dir = dataDir();
  const first = new SqliteMessageStore(dir.path, KEEP_ALL);
  first.close();
  // A lock file naming a live process that is not this one: pid 1 is always running.
  writeFileSync(path.join(dir.path, "parley.lock"), "1\n");
  assert.throws(
    () => new SqliteMessageStore(dir.path, KEEP_ALL),
    (error) => error instanceof DataProblem && error.inUse && error.message.includes("pid 1"),
  );
});

test("SqliteMessageStore keeps what waits, readable, while another connection holds the lock", () => {
  using dir = dataDir();
  const log: string[] = [];
  const store = new SqliteMessageStore(dir.path, { ...KEEP_ALL, log: (line) => log.push(line) });
  store.reserve("lobby", 1000, () => {});
  const other = new DatabaseSync(path.join(dir.path, "parley.db"));
  other.exec("BEGIN IMMEDIATE");
  for (const id of range(1, 5)) store.append("lobby", message(id));
  let reserved = false;
  store.reserve("den", 1000, () => reserved = true);
  assert.equal(reserved, false, "not durable while another process holds the lock");
  assert.match(log.join("\n"), /parley\.db is locked by another process/);
  assert.deepEqual(ids(store.since("lobby", 2, 10)), [3, 4, 5]);
  assert.deepEqual(ids(store.last("lobby", 2)), [4, 5]);
  assert.equal(store.lastId("lobby"), 1000);
  other.exec("COMMIT");
  other.close();
  store.close();
  assert.ok(reserved, "written on close");
  const reopened = new SqliteMessageStore(dir.path, KEEP_ALL);
  assert.deepEqual(ids(reopened.since("lobby", 0, 10)), range(1, 5));
  assert.equal(reopened.lastId("den"), 1000);
  reopened.close();
});

test("SqliteMessageStore deletes messages past the retention, by count and by age", () => {
  using dir = dataDir();
  const first = new SqliteMessageStore(dir.path, KEEP_ALL);
  first.reserve("lobby", 100, () => {});
  first.reserve("den", 100, () => {});
  for (const id of range(1, 2500)) first.append("lobby", { ...message(id), ts: id });
  for (const id of range(1, 5)) first.append("den", { ...message(id, "den"), ts: id });
  first.close();
  const byCount = new SqliteMessageStore(dir.path, { ...KEEP_ALL, retainPerRoom: 2000 });
  assert.deepEqual(ids(byCount.since("lobby", 0, 1)), [501], "in steps, then all of it");
  assert.deepEqual(ids(byCount.since("den", 0, 10)), range(1, 5));
  byCount.close();
  // Age: messages with ts below now - retainMs go, in id order.
  const byAge = new SqliteMessageStore(dir.path, { ...KEEP_ALL, retainMs: 10, now: () => 2010 });
  assert.deepEqual(ids(byAge.since("lobby", 0, 1)), [2000]);
  assert.deepEqual(ids(byAge.since("den", 0, 10)), []);
  assert.equal(byAge.lastId("den"), 100, "a room's ids outlive its messages");
  byAge.close();
});
