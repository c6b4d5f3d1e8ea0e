import { test } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError } from "../../protocol.ts";
import {
  History,
  MAX_HISTORY_REPLY,
  type MessageStore,
  RESERVED_IDS,
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
  readonly reserved = new Map<string, number>();
  readonly epoch = "the store's";
  closed = false;
  append(roomKey: string, message: StoredMessage): void {
    this.rows.push([roomKey, message]);
  }
  lastId(roomKey: string): number {
    this.calls.push("lastId");
    return Math.max(this.#of(roomKey).at(-1)?.id ?? 0, this.reserved.get(roomKey) ?? 0);
  }
  last(roomKey: string, limit: number): StoredMessage[] {
    this.calls.push("last");
    return this.#of(roomKey).slice(-limit);
  }
  reserve(roomKey: string, throughId: number, done: () => void): void {
    this.reserved.set(roomKey, throughId);
    done();
  }
  release(roomKey: string, lastId: number): void {
    this.reserved.set(roomKey, lastId);
  }
  since(roomKey: string, afterId: number, limit: number): StoredMessage[] {
    this.calls.push("since");
    return this.#of(roomKey).filter((m) => m.id > afterId).slice(0, limit);
  }
  oldestId(roomKey: string): number | undefined {
    return this.#of(roomKey)[0]?.id;
  }
  readonly pruned = new Map<string, number>();
  prunedThrough(roomKey: string): number {
    return this.pruned.get(roomKey) ?? 0;
  }
  /** Deletes the room's messages up to `throughId`, as retention does. */
  prune(roomKey: string, throughId: number): void {
    const kept = this.rows.filter(([key, m]) => key !== roomKey || m.id > throughId);
    this.rows.splice(0, this.rows.length, ...kept);
    this.pruned.set(roomKey, throughId);
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

test("History.missing counts the messages after an id that memory no longer holds", () => {
  const history = new History({ limit: 50, store: null });
  say(history, range(1, 120));
  assert.equal(history.missing("lobby", 0), 70);
  assert.equal(history.missing("lobby", 10), 60);
  assert.equal(history.missing("lobby", 70), 0);
  assert.equal(history.missing("lobby", 100), 0);
  assert.equal(history.missing("lobby", 500), 0);
  assert.equal(history.missing("empty", 0), 0);
  const none = new History({ limit: 0, store: null });
  say(none, range(1, 5));
  assert.equal(none.missing("lobby", 2), 3, "with --history 0 everything after it is gone");
});

test("History.missing without a store counts only ids this process gave", () => {
  // A forgotten room's ids go on above the highest any forgotten room gave: those below were
  // never this room's.
  const history = new History({ limit: 3, store: null, idleRooms: 0 });
  say(history, range(1, 40), "den");
  history.idle("den");
  history.lastId("lobby");
  say(history, [41, 42]);
  assert.equal(history.missing("lobby", 0), 0);
});

test("History.missing with a store counts what retention deleted", () => {
  const store = new ArrayStore();
  const history = new History({ limit: 3, store });
  say(history, range(1, 20));
  assert.equal(history.missing("lobby", 0), 0, "the store holds what memory does not");
  store.prune("lobby", 12);
  assert.equal(history.missing("lobby", 0), 12);
  assert.equal(history.missing("lobby", 5), 7);
  assert.equal(history.missing("lobby", 15), 0);
});

test("History.missing with a store does not count ids a crash skipped", () => {
  // The store holds 1 and 2; 3 to 5 were said and lost in a crash; the next life went on past
  // its reservation. Nothing was deleted: nothing is missing, whatever the gap in ids.
  const store = new ArrayStore();
  const crashed = new History({ limit: 3, store });
  say(crashed, [1, 2]);
  const next = new History({ limit: 3, store });
  const first = next.lastId("lobby") + 1;
  say(next, [first, first + 1]);
  assert.equal(next.missing("lobby", 5), 0);
  assert.equal(next.missing("lobby", 0), 0);
  store.prune("lobby", 1);
  assert.equal(next.missing("lobby", 0), 1);
});

test("History's epoch is its store's, or one of its own, new for every History", () => {
  assert.equal(new History({ limit: 3, store: new ArrayStore() }).epoch, "the store's");
  assert.equal(new History({ limit: 3, store: null, epoch: "given" }).epoch, "given");
  const one = new History({ limit: 3, store: null }).epoch;
  assert.match(one, /^[0-9a-f]{16}$/);
  assert.notEqual(new History({ limit: 3, store: null }).epoch, one);
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
  assert.deepEqual(store.calls, ["last", "lastId"], "the room was opened once, then covered");
  assert.deepEqual(ids(history.since("lobby", 0)), range(1, 5), "the rest from the store");
  assert.deepEqual(store.calls, ["last", "lastId", "since"]);
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

/** An ArrayStore whose reservations wait until the test lets them through. */
class SlowStore extends ArrayStore {
  readonly waiting: Array<() => void> = [];
  override reserve(roomKey: string, throughId: number, done: () => void): void {
    this.waiting.push(() => super.reserve(roomKey, throughId, done));
  }
  letThrough(): void {
    for (const reservation of this.waiting.splice(0)) reservation();
  }
}

test("History gives no id its store has not reserved, and goes on once it has", () => {
  const store = new SlowStore();
  const history = new History({ limit: 3, store });
  assert.equal(history.lastId("lobby"), 0);
  assert.throws(
    () => say(history, [1]),
    (error) => error instanceof ProtocolError && error.code === "storage_busy",
  );
  assert.deepEqual(store.rows, [], "a refused message is neither kept nor stored");
  store.letThrough();
  say(history, [2]);
  assert.deepEqual(ids(history.recent("lobby")), [2]);
  assert.equal(store.reserved.get("lobby"), RESERVED_IDS);
});

test("History reserves more ids once half of its reservation is used", () => {
  const store = new ArrayStore();
  const history = new History({ limit: 1, store });
  history.lastId("lobby");
  assert.equal(store.reserved.get("lobby"), RESERVED_IDS);
  say(history, [RESERVED_IDS / 2 - 1]);
  assert.equal(store.reserved.get("lobby"), RESERVED_IDS);
  say(history, [RESERVED_IDS / 2 + 1]);
  assert.equal(store.reserved.get("lobby"), RESERVED_IDS / 2 + 1 + RESERVED_IDS);
});

test("History after a crash goes on past every id reserved, and after a clean stop without a gap", () => {
  const store = new ArrayStore();
  const crashed = new History({ limit: 3, store });
  crashed.lastId("lobby");
  say(crashed, range(1, 3));
  store.rows.pop(); // message 3 was delivered, and lost with the process
  const next = new History({ limit: 3, store });
  assert.equal(next.lastId("lobby"), RESERVED_IDS, "ids 1 to 3 are never given again");
  say(next, [RESERVED_IDS + 1]);
  next.close();
  assert.equal(store.reserved.get("lobby"), RESERVED_IDS + 1, "a clean stop gives the rest back");
  assert.equal(new History({ limit: 3, store }).lastId("lobby"), RESERVED_IDS + 1);
});

test("History forgets the rooms longest empty past idleRooms, and reads them again", () => {
  const store = new ArrayStore();
  const history = new History({ limit: 3, store, idleRooms: 2 });
  for (const room of ["a", "b", "c", "d"]) {
    history.lastId(room);
    say(history, [1, 2], room);
  }
  history.idle("a");
  history.idle("b");
  history.lastId("a"); // someone is in a again
  history.idle("c");
  history.idle("d");
  assert.equal(history.roomCount, 3, "a is open, c and d remembered, b forgotten");
  assert.equal(store.reserved.get("b"), 2, "b gave back its reservation");
  assert.equal(history.lastId("b"), 2, "and goes on from its last id");
  assert.deepEqual(ids(history.recent("b")), [1, 2], "its messages read again from the store");
});

test("History without a store never starts a forgotten room's ids again", () => {
  const history = new History({ limit: 3, store: null, idleRooms: 0 });
  history.lastId("den");
  say(history, range(1, 7), "den");
  history.idle("den");
  assert.equal(history.roomCount, 0);
  assert.equal(history.lastId("den"), 7);
  assert.equal(history.lastId("new"), 7, "a room it does not know goes on above any it forgot");
});
