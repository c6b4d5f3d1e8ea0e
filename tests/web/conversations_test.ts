import { test } from "node:test";
import assert from "node:assert/strict";
import { Conversations, dayLabel, MAX_ENTRIES } from "../../web/conversations.ts";

test("dayLabel says Today, Yesterday, or the date", () => {
  const now = new Date(2026, 11, 3, 0, 5).getTime();
  assert.equal(dayLabel(new Date(2026, 11, 3, 0, 1).getTime(), now), "Today");
  assert.equal(dayLabel(new Date(2026, 11, 2, 23, 59).getTime(), now), "Yesterday");
  assert.equal(dayLabel(new Date(2026, 10, 30, 12).getTime(), now), "Monday, 30 November 2026");
});

test("Conversations keep a log's newest entries, numbered in one sequence", () => {
  const conversations = new Conversations();
  const lobby = conversations.open("room", "lobby");
  const den = conversations.open("room", "den");
  assert.equal(conversations.active, lobby, "the first opened is on screen");
  for (let i = 0; i < MAX_ENTRIES + 10; i++) {
    conversations.add(lobby, { kind: "notice", ts: 0, text: `${i}`, error: false });
  }
  conversations.add(den, { kind: "notice", ts: 0, text: "den", error: false }, true);
  // The view draws what follows the last number it drew: a separator comes before its line.
  assert.deepEqual(den.entries.map(({ kind }) => kind), ["day", "notice"]);
  assert.ok(den.entries[0].seq < den.entries[1].seq);
  assert.equal(lobby.entries.length, MAX_ENTRIES);
  const last = lobby.entries.at(-1)!;
  assert.equal(last.kind === "notice" && last.text, `${MAX_ENTRIES + 9}`);
  assert.ok(den.entries.at(-1)!.seq > last.seq);
  assert.equal(den.unread, 1);
  conversations.close(lobby);
  assert.equal(conversations.active, den);
  assert.equal(den.unread, 0, "put on screen, it is read");
});
