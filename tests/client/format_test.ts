import { test } from "node:test";
import assert from "node:assert/strict";
import { DIM, mentions, nickColour, paint, plainText, printable } from "../../client/format.ts";

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
