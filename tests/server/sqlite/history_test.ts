import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { History, MAX_HISTORY_REPLY, type StoredMessage } from "../../../server/history.ts";
import { SqliteMessageStore } from "../../../server/sqlite/history.ts";

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
  return new History({ limit, store: new SqliteMessageStore(dir) });
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
  const store = new SqliteMessageStore(path.join(dir.path, "nested"));
  store.append("lobby", message(1));
  store.append("lobby", message(2));
  assert.equal(store.lastId("lobby"), 2);
  assert.deepEqual(ids(store.last("lobby", 1)), [2]);
  assert.deepEqual(ids(store.since("lobby", 0, 10)), [1, 2]);
  assert.equal(store.lastId("den"), 0);
  store.close();
  const reopened = new SqliteMessageStore(path.join(dir.path, "nested"));
  assert.deepEqual(ids(reopened.since("lobby", 1, 10)), [2]);
  reopened.close();
  assert.ok(existsSync(path.join(dir.path, "nested", "parley.db")));
});
