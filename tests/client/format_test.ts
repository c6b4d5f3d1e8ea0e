import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chatLine,
  DIM,
  eventLine,
  mentions,
  nickColour,
  paint,
  plainText,
  printable,
} from "../../client/format.ts";
import { clock } from "../../protocol/text.ts";

test("printable drops control and bidirectional characters, and turns tabs into spaces", () => {
  assert.equal(
    printable("<m\x1balory> \x1b[2Jhi\x07\tthere\u202e!\u0085\r\n"),
    "<malory> [2Jhi there!",
  );
  assert.equal(printable("ünïcode ✓ 日本"), "ünïcode ✓ 日本");
});

test("mentions finds the nick as a word of its own, in any case", () => {
  for (const text of ["zoe", "hi zoe", "Zoe: look", "@ZOE!", "(zoe)", "zoe's", "ok,zoe"]) {
    assert.ok(mentions(text, "zoe"), text);
  }
  for (const text of ["zoey", "zozoe", "zoe2", "zoe_x", "zoé", "z o e", ""]) {
    assert.ok(!mentions(text, "zoe"), text);
  }
  assert.ok(mentions("hey [m]a.x+, and you", "[m]a.x+"), "nicks with regex characters");
  assert.ok(!mentions("hey [m]aax+", "[m]a.x+"));
  assert.ok(mentions("ÉMILE, hi", "émile"));
  assert.ok(!mentions("anything", ""));
});

test("nickColour gives a nick the same colour every time, whatever its case", () => {
  const nicks = ["alice", "bob", "carol", "dave", "eve", "mallory", "zoe", "日本"];
  for (const nick of nicks) {
    assert.match(nickColour(nick), /^(3[1-6]|9[1-6])$/);
    assert.equal(nickColour(nick), nickColour(nick.toUpperCase()));
    assert.notEqual(nickColour(nick), "33", "yellow is for errors");
  }
  assert.ok(new Set(nicks.map(nickColour)).size >= 4, "nicks get different colours");
});

test("paint styles pieces only with colour on, and lets no escape through either way", () => {
  const line = ["* ", { text: "<m\x1b[2Jallory>", sgr: "31" }, " ", { text: "hi\x07", sgr: DIM }];
  assert.equal(paint(line, true), "* \x1b[31m<m[2Jallory>\x1b[0m \x1b[2mhi\x1b[0m");
  assert.equal(paint(line, false), "* <m[2Jallory> hi");
  assert.equal(plainText(line), "* <m[2Jallory> hi");
  assert.equal(paint([{ text: "", sgr: "1" }, "x"], true), "x", "no codes around nothing");
});

test("chatLine and eventLine say who, where and when, in the words pipes get", () => {
  const msg = { type: "msg", id: 1, from: "bob", text: "hi alice", ts: 0 } as const;
  assert.equal(plainText(chatLine({ ...msg, room: "lobby" }, "lobby", "alice")), "<bob> hi alice");
  assert.equal(
    plainText(chatLine({ ...msg, room: "den" }, "lobby", "alice")),
    "[den] <bob> hi alice",
  );
  assert.equal(
    plainText(chatLine({ ...msg, room: "den", action: true }, "den", "eve")),
    "* bob hi alice",
  );
  assert.equal(plainText(chatLine({ ...msg, to: "alice" }, "lobby", "alice")), "*bob* hi alice");
  assert.equal(plainText(chatLine({ ...msg, to: "eve" }, "lobby", "bob")), "-> *eve* hi alice");
  const now = Date.now();
  const today = { ...msg, ts: now };
  assert.match(
    plainText(chatLine({ ...today, room: "den", history: true }, "den", "x")),
    /^\[\d\d:\d\d\] <bob> hi alice$/,
  );
  assert.equal(plainText(chatLine({ ...today, room: "den" }, "den", "x")), "<bob> hi alice");
  // With time stamps on, live lines say when too, as history does.
  assert.match(
    plainText(chatLine({ ...today, room: "den" }, "den", "x", true)),
    /^\[\d\d:\d\d\] <bob> hi alice$/,
  );
  assert.match(
    plainText(eventLine({ type: "join", nick: "bob", room: "den" }, "den", true)),
    /^\[\d\d:\d\d\] \* bob joined$/,
  );
  assert.equal(
    plainText(chatLine({ ...msg, room: "den", history: true }, "den", "x", false, 3_600_000)),
    `[${clock(0, 3_600_000)}] <bob> hi alice`,
    "the clock of the moment it is shown",
  );
  assert.deepEqual(chatLine({ ...msg, room: "den" }, "den", "alice").at(-1), {
    text: "hi alice",
    sgr: "1",
  });
  assert.equal(
    plainText(eventLine({ type: "join", nick: "bob", room: "den" }, "lobby")),
    "* bob joined den",
  );
  assert.equal(
    plainText(eventLine({ type: "leave", nick: "bob", room: "den" }, "den")),
    "* bob left",
  );
  assert.equal(
    plainText(eventLine({ type: "nick", from: "bob", nick: "rob", room: "den" }, "den")),
    "* bob is now known as rob",
  );
  assert.deepEqual(eventLine({ type: "error", code: "bad_nick", message: "No" }, "den"), [{
    text: "* No",
    sgr: "33",
  }]);
  assert.deepEqual(eventLine({ type: "notice", text: "bye" }, "den"), [{
    text: "* bye",
    sgr: DIM,
  }]);
});
