import { test } from "node:test";
import assert from "node:assert/strict";
import {
  History,
  MAX_HISTORY_REPLY,
  type MessageStore,
  type StoredMessage,
} from "../../server/history.ts";

function message(id: number, room = "lobby"): StoredMessage {
  return { id, room, from: "alice", text: `message ${id}`, ts: 1_700_000_000_000 + id };
}

function say(history: History, ids: Iterable<number>, room = "lobby"): void {
  for (const id of ids) history.record(room.toLowerCase(), message(id, room));
}

const ids = (messages: StoredMessage[]) => messages.map((m) => m.id);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A MessageStore in an array, as a database would hold it, which counts what it is asked. */
class ArrayStore implements MessageStore {
  readonly rows: Array<[string, StoredMessage]> = [];
  readonly calls: string[] = [];
  closed = false;
  append(roomKey: string, message: StoredMessage): void {
    this.rows.push([roomKey, message]);
  }
  lastId(roomKey: string): number {
    this.calls.push("lastId");
    return this.#of(roomKey).at(-1)?.id ?? 0;
  }
  last(roomKey: string, limit: number): StoredMessage[] {
    this.calls.push("last");
    return this.#of(roomKey).slice(-limit);
  }
  since(roomKey: string, afterId: number, limit: number): StoredMessage[] {
    this.calls.push("since");
    return this.#of(roomKey).filter((m) => m.id > afterId).slice(0, limit);
  }
  close(): void {
    this.closed = true;
  }
  #of(roomKey: string): StoredMessage[] {
    return this.rows.filter(([key]) => key === roomKey).map(([, m]) => m);
  }
}

test("History keeps the last `limit` messages of each room, oldest first", () => {
  const history = new History({ limit: 3, store: null });
  say(history, range(1, 5));
  say(history, [1], "Den");
  assert.deepEqual(ids(history.recent("lobby")), [3, 4, 5]);
  assert.deepEqual(ids(history.recent("den")), [1]);
  assert.deepEqual(history.recent("empty"), []);
  assert.equal(history.lastId("lobby"), 5);
  assert.equal(history.lastId("empty"), 0);
});

test("History.since returns what follows an id, as far as memory reaches", () => {
  const history = new History({ limit: 3, store: null });
  say(history, range(1, 5));
  assert.deepEqual(ids(history.since("lobby", 3)), [4, 5]);
  assert.deepEqual(ids(history.since("lobby", 5)), []);
  assert.deepEqual(ids(history.since("lobby", 0)), [3, 4, 5], "older ones are gone");
});

test("History with limit 0 keeps and replays nothing", () => {
  const history = new History({ limit: 0, store: null });
  say(history, range(1, 5));
  assert.deepEqual(history.recent("lobby"), []);
  assert.deepEqual(history.since("lobby", 0), []);
  assert.equal(history.lastId("lobby"), 5, "ids go on all the same");
});

test("History.since from memory also returns the oldest first, capped", () => {
  const history = new History({ limit: MAX_HISTORY_REPLY + 50, store: null });
  say(history, range(1, MAX_HISTORY_REPLY + 50));
  const reply = history.since("lobby", 0);
  assert.equal(reply.length, MAX_HISTORY_REPLY);
  assert.equal(reply[0].id, 1, "a gap is filled from its start, never skipped in the middle");
});

test("History hands every message to its store and asks it only for what memory lacks", () => {
  const store = new ArrayStore();
  const history = new History({ limit: 3, store });
  say(history, range(1, 5));
  assert.deepEqual(ids(store.rows.map(([, m]) => m)), range(1, 5));
  assert.deepEqual(ids(history.since("lobby", 2)), [3, 4, 5]);
  assert.deepEqual(store.calls, ["last"], "the ring was filled from the store once, then covered");
  assert.deepEqual(ids(history.since("lobby", 0)), range(1, 5), "the rest from the store");
  assert.deepEqual(store.calls, ["last", "since"]);
  history.close();
  assert.ok(store.closed);
});

test("History starts a room from what its store remembers", () => {
  const store = new ArrayStore();
  for (const id of range(1, 10)) store.append("lobby", message(id));
  const history = new History({ limit: 3, store });
  assert.equal(history.lastId("lobby"), 10);
  assert.deepEqual(ids(history.recent("lobby")), [8, 9, 10]);
  assert.equal(history.lastId("den"), 0);
});
