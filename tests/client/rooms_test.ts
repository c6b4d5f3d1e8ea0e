import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientRooms } from "../../client/rooms.ts";
import type { ChatMessage } from "../../protocol.ts";

/** Room messages with these ids, live or from history. */
function said(ids: number[], history = false): ChatMessage[] {
  return ids.map((id) => ({
    type: "msg",
    id,
    from: "bob",
    room: "den",
    text: `#${id}`,
    ts: 0,
    ...(history ? { history: true as const } : {}),
  }));
}

test("ClientRooms shows each message once across a reconnect, and ends a gap it cannot fill", () => {
  const rooms = new ClientRooms();
  rooms.enter("den", ["bob", "eve"]);
  const shown = (messages: ChatMessage[]) =>
    messages.flatMap((message) => rooms.arrived(message)).map(({ id }) => id);
  assert.deepEqual(shown(said([1, 2], true)), [1, 2]);
  assert.deepEqual(shown(said([3])), [3]);

  rooms.beginCatchUp("den");
  assert.deepEqual(shown(said([2, 3, 4], true)), [4], "history already shown is dropped");
  assert.deepEqual(shown(said([8, 9])), [], "live messages wait");
  assert.deepEqual(rooms.caughtUp("den"), { more: true, after: 4 }, "5 to 7 are missing");
  assert.deepEqual(shown(said([5], true)), [5]);
  // The server remembers no more: what waited is shown, and the room is live again.
  assert.deepEqual(rooms.caughtUp("den"), { more: true, after: 5 });
  assert.deepEqual(rooms.caughtUp("den"), { more: false, show: said([8, 9]) });
  assert.equal(rooms.isCatchingUp("den"), false);
  assert.equal(rooms.lastId("den"), 9);

  // A server restarted without --data numbers the room's messages from 1 again.
  assert.deepEqual(shown(said([1, 2])), [1, 2]);
  assert.equal(rooms.lastId("den"), 2);

  // Live messages that follow on from the history need no further request.
  rooms.beginCatchUp("den");
  assert.deepEqual(shown([...said([3], true), ...said([4])]), [3]);
  assert.deepEqual(rooms.caughtUp("den"), { more: false, show: said([4]) });
  // Parting keeps the last id, so joining again shows only what is new.
  rooms.leave("den");
  rooms.enter("den", ["bob", "eve"]);
  assert.deepEqual(shown(said([3, 4, 5], true)), [5]);
});

test("ClientRooms forgets its last ids when the server's epoch changes, and only then", () => {
  const rooms = new ClientRooms();
  rooms.enter("lobby", ["bob"]);
  assert.equal(rooms.newEpoch("first"), false, "the first epoch is no change");
  rooms.arrived({ type: "msg", id: 7, from: "alice", room: "lobby", text: "hi", ts: 1 });
  assert.equal(rooms.newEpoch("first"), false);
  assert.equal(rooms.lastId("lobby"), 7);
  assert.equal(rooms.newEpoch(undefined), false, "a server without epochs says nothing");
  assert.equal(rooms.newEpoch("second"), true);
  assert.equal(rooms.lastId("lobby"), 0);
  assert.equal(rooms.epoch, "second");
});
