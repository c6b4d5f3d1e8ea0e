import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { History, MAX_HISTORY_REPLY, type StoredMessage } from "../../server/history.ts";

function message(id: number, room = "lobby"): StoredMessage {
  return { id, room, from: "alice", text: `message ${id}`, ts: 1_700_000_000_000 + id };
}

function say(history: History, ids: Iterable<number>, room = "lobby"): void {
  for (const id of ids) history.record(room.toLowerCase(), message(id, room));
}

const ids = (messages: StoredMessage[]) => messages.map((m) => m.id);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("History keeps the last `limit` messages of each room, oldest first", () => {
  const history = new History({ limit: 3, dataDir: null });
  say(history, range(1, 5));
  say(history, [1], "Den");
  assert.deepEqual(ids(history.recent("lobby")), [3, 4, 5]);
  assert.deepEqual(ids(history.recent("den")), [1]);
  assert.deepEqual(history.recent("empty"), []);
  assert.equal(history.lastId("lobby"), 5);
  assert.equal(history.lastId("empty"), 0);
});

test("History.since returns what follows an id, as far as memory reaches", () => {
  const history = new History({ limit: 3, dataDir: null });
  say(history, range(1, 5));
  assert.deepEqual(ids(history.since("lobby", 3)), [4, 5]);
  assert.deepEqual(ids(history.since("lobby", 5)), []);
  assert.deepEqual(ids(history.since("lobby", 0)), [3, 4, 5], "older ones are gone");
});

test("History with limit 0 keeps and replays nothing", () => {
  const history = new History({ limit: 0, dataDir: null });
  say(history, range(1, 5));
  assert.deepEqual(history.recent("lobby"), []);
  assert.deepEqual(history.since("lobby", 0), []);
  assert.equal(history.lastId("lobby"), 5, "ids go on all the same");
});

test("History with a data directory outlives the process that wrote it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-history-"));
  try {
    const first = new History({ limit: 3, dataDir: dir });
    say(first, range(1, 10));
    say(first, [1, 2], "Den");
    first.close();

    const second = new History({ limit: 3, dataDir: dir });
    assert.equal(second.lastId("lobby"), 10);
    assert.equal(second.lastId("den"), 2);
    assert.deepEqual(second.recent("lobby"), [8, 9, 10].map((id) => message(id)));
    assert.deepEqual(ids(second.since("lobby", 4)), range(5, 10), "older ones from the database");
    say(second, [11]);
    assert.deepEqual(ids(second.recent("lobby")), [9, 10, 11]);
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("History.since caps one reply at MAX_HISTORY_REPLY messages", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-history-"));
  try {
    const history = new History({ limit: 10, dataDir: dir });
    say(history, range(1, MAX_HISTORY_REPLY + 50));
    const reply = history.since("lobby", 0);
    assert.equal(reply.length, MAX_HISTORY_REPLY);
    assert.deepEqual(reply[0].id, 1, "the oldest first, so a client can ask again from the last");
    history.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("History.since from memory also returns the oldest first, capped", () => {
  const history = new History({ limit: MAX_HISTORY_REPLY + 50, dataDir: null });
  say(history, range(1, MAX_HISTORY_REPLY + 50));
  const reply = history.since("lobby", 0);
  assert.equal(reply.length, MAX_HISTORY_REPLY);
  assert.equal(reply[0].id, 1, "a gap is filled from its start, never skipped in the middle");
});

test("History keeps actions and non-ASCII text through the database", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-history-"));
  try {
    const first = new History({ limit: 5, dataDir: dir });
    const action: StoredMessage = { ...message(1), text: "wävës 🎉", action: true };
    first.record("lobby", action);
    first.close();
    const second = new History({ limit: 5, dataDir: dir });
    assert.deepEqual(second.recent("lobby"), [action]);
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
