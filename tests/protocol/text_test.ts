import { test } from "node:test";
import assert from "node:assert/strict";
import { clock, describe } from "../../protocol/text.ts";
import { encodeLine } from "../../protocol/line.ts";
import { encodeLegacy } from "../../protocol/legacy.ts";

test("describe says how many more a large room's lists leave out", () => {
  assert.equal(
    describe({ type: "who", room: "lobby", members: ["a", "b"], count: 1002 }),
    "* in lobby: a, b and 1000 more",
  );
  assert.equal(
    describe({ type: "welcome", nick: "me", room: "lobby", members: ["a", "me"], count: 5 }),
    "* you are me in lobby; here: a and 3 more",
  );
  assert.equal(
    describe({ type: "joined", room: "den", members: ["a"], count: 2 }),
    "* you joined den; here: a and 1 more",
  );
});

test("clock gives a message's local time as HH:MM", () => {
  assert.equal(clock(new Date(2026, 0, 2, 9, 5, 59).getTime()), "09:05");
  assert.equal(clock(new Date(2026, 0, 2, 23, 59).getTime()), "23:59");
  assert.equal(clock(new Date(2026, 0, 2, 0, 0).getTime()), "00:00");
});

test("a history gap reads the same in the client, line mode and legacy mode", () => {
  const gap = { type: "history_gap", room: "lobby", missed: 70 } as const;
  const text = "70 earlier messages are no longer available";
  assert.equal(describe(gap), `* ${text}`);
  assert.equal(new TextDecoder().decode(encodeLine(gap)!), `*** ${text}\n`);
  assert.equal(new TextDecoder().decode(encodeLegacy(gap)!), `1         *43        ${text}`);
  assert.equal(
    describe({ type: "history_gap", room: "den", missed: 1 }),
    "* 1 earlier message in den is no longer available",
  );
});
