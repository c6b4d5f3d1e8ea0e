import { test } from "node:test";
import assert from "node:assert/strict";
import { clock, describe, duration, whoisText } from "../../protocol/text.ts";
import { encodeLine } from "../../protocol/line.ts";
import { encodeLegacy } from "../../protocol/legacy.ts";

test("describe says how many more a large room's lists leave out", () => {
  assert.equal(
    describe({ type: "who", room: "lobby", members: ["a", "b"], count: 1002 }),
    "* in lobby: a, b and 1000 more",
  );
  assert.equal(
    describe({ type: "welcome", nick: "me", room: "lobby", members: ["a", "me"], count: 5 }),
    "* you are me in lobby; here: a, me (you) and 3 more",
  );
  assert.equal(
    describe({ type: "joined", room: "den", members: ["a"], count: 2 }, "* ", "me"),
    "* you joined den; here: a and 1 more",
  );
});

test("describe lists everyone in a room, the member it speaks to marked, in every answer", () => {
  const members = ["alice", "bob"];
  assert.equal(
    describe({ type: "welcome", nick: "bob", room: "lobby", members }),
    "* you are bob in lobby; here: alice, bob (you)",
  );
  assert.equal(
    describe({ type: "joined", room: "den", members }, "*** ", "bob"),
    "*** you joined den; here: alice, bob (you)",
  );
  assert.equal(
    describe({ type: "who", room: "den", members }, "* ", "bob"),
    "* in den: alice, bob (you)",
  );
  assert.equal(
    describe({ type: "who", room: "den", members }, "* ", "carol"),
    "* in den: alice, bob",
  );
  // Alone, there is no list to give.
  assert.equal(
    describe({ type: "welcome", nick: "bob", room: "lobby", members: ["bob"] }),
    "* you are bob in lobby; nobody else is here yet",
  );
  assert.equal(
    describe({ type: "joined", room: "den", members: ["bob"] }, "* ", "bob"),
    "* you joined den; nobody else is here yet",
  );
});

// Local times, made with the local Date constructor: the tests hold in any time zone.
const at = (y: number, mo: number, d: number, h: number, mi: number, s = 0) =>
  new Date(y, mo - 1, d, h, mi, s).getTime();

test("clock gives a message's local time as HH:MM on the day it is read", () => {
  const noon = at(2026, 1, 2, 12, 0);
  assert.equal(clock(at(2026, 1, 2, 9, 5, 59), noon), "09:05");
  assert.equal(clock(at(2026, 1, 2, 0, 0), noon), "00:00", "the first minute of the day");
  assert.equal(clock(at(2026, 1, 2, 23, 59), at(2026, 1, 2, 0, 1)), "23:59", "later today");
});

test("clock adds the local date when the message is not from today", () => {
  const justAfterMidnight = at(2026, 1, 2, 0, 1);
  assert.equal(clock(at(2026, 1, 1, 23, 59), justAfterMidnight), "2026-01-01 23:59");
  assert.equal(clock(at(2025, 12, 31, 23, 0), justAfterMidnight), "2025-12-31 23:00");
  assert.equal(clock(at(2025, 1, 2, 8, 0), at(2026, 1, 2, 9, 0)), "2025-01-02 08:00", "a year ago");
  assert.equal(
    clock(at(2026, 1, 3, 0, 0), at(2026, 1, 2, 23, 59)),
    "2026-01-03 00:00",
    "a clock ahead",
  );
  // Days are local calendar days, whatever their length: 24 h apart is another day, and so is 2
  // minutes apart across midnight; 23 h 58 apart on one day is the same day.
  assert.equal(clock(at(2026, 3, 29, 0, 1), at(2026, 3, 29, 23, 59)), "00:01");
  assert.equal(clock(at(2026, 10, 25, 0, 1), at(2026, 10, 25, 23, 59)), "00:01");
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

test("whois reads as one line, and idle times as people say them", () => {
  assert.deepEqual([0, 42, 60, 3599, 3600, 4800, 86400, 90000].map(duration), [
    "0 s",
    "42 s",
    "1 min",
    "59 min",
    "1 h",
    "1 h 20 min",
    "1 d",
    "1 d 1 h",
  ]);
  const since = new Date(2026, 11, 3, 9, 31).getTime();
  const base = { type: "whois" as const, nick: "bob", rooms: ["lobby", "den"], since, idle: 42 };
  assert.equal(
    whoisText({ ...base, transport: "tls", mode: "line", account: "Bob", away: "lunch" }, since),
    "bob (identified as Bob), in lobby, den; here since 09:31, idle 42 s; over tls, line mode; away: lunch",
  );
  assert.equal(
    describe({ ...base, rooms: [], transport: "ws", mode: "native" }, "*** "),
    `*** bob (not identified), in no room; here since ${
      clock(since, Date.now())
    }, idle 42 s; over ws, native mode`,
  );
  assert.equal(
    describe({ type: "away", nick: "bob", text: "lunch" }, "* "),
    "* bob is away: lunch",
  );
  assert.equal(describe({ type: "ignoring", nicks: [] }, "*** "), "*** ignoring: nobody");
  assert.equal(
    describe(
      { type: "who", room: "lobby", members: ["ann", "bob"], away: ["ann", "bob"] },
      "",
      "ann",
    ),
    "in lobby: ann (you), bob (away)",
  );
});
