import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ClientMessage,
  type ErrorCode,
  MAX_NICK_CHARS,
  MAX_TEXT_BYTES,
  nickProblem,
  parseClientMessage,
  parseServerMessage,
  ProtocolError,
  roomProblem,
  textProblem,
} from "../protocol.ts";

const utf8 = new TextEncoder();

test("parseClientMessage accepts each client message and keeps only its fields", () => {
  const cases: [unknown, ClientMessage][] = [
    [{ type: "hello", nick: "alice" }, { type: "hello", nick: "alice" }],
    [{ type: "hello", nick: "alice", room: "den" }, { type: "hello", nick: "alice", room: "den" }],
    [{ type: "hello", nick: "alice", extra: 1 }, { type: "hello", nick: "alice" }],
    [{ type: "msg", text: "hi" }, { type: "msg", text: "hi" }],
    [{ type: "msg", text: "", from: "mallory", ts: 0 }, { type: "msg", text: "" }],
    [{ type: "hello", nick: "al", password: "pw-1" }, {
      type: "hello",
      nick: "al",
      password: "pw-1",
    }],
    [{ type: "register", password: "pw-1", nick: "x" }, { type: "register", password: "pw-1" }],
    [{ type: "identify", password: "pw-1" }, { type: "identify", password: "pw-1" }],
    [{ type: "login", nick: "al", password: "pw-1" }, {
      type: "login",
      nick: "al",
      password: "pw-1",
    }],
    [{ type: "passwd", old: "a1b2", password: "c3d4" }, {
      type: "passwd",
      old: "a1b2",
      password: "c3d4",
    }],
    [{ type: "unregister", password: "pw-1" }, { type: "unregister", password: "pw-1" }],
    [{ type: "ping" }, { type: "ping" }],
    [{ type: "pong", extra: true }, { type: "pong" }],
  ];
  for (const [value, expected] of cases) {
    assert.deepEqual(parseClientMessage(value), expected, JSON.stringify(value));
  }
});

function assertRejects(value: unknown, code: ErrorCode): void {
  assert.throws(
    () => parseClientMessage(value),
    (error) =>
      error instanceof ProtocolError && error.code === code && !error.fatal &&
      error.message.length > 0,
    `${JSON.stringify(value)} should be rejected with ${code}`,
  );
}

test("parseClientMessage rejects a value that is not an object", () => {
  for (const value of [null, 1, "hello", true, [], [{ type: "ping" }]]) {
    assertRejects(value, "bad_message");
  }
});

test("parseClientMessage rejects an object without a string type", () => {
  for (const value of [{}, { nick: "alice" }, { type: 1 }, { type: null }, { type: ["msg"] }]) {
    assertRejects(value, "bad_message");
  }
});

test("parseClientMessage rejects an account message without its password", () => {
  const values = [
    { type: "register" },
    { type: "identify", password: 1234 },
    { type: "login", password: "pw-1" },
    { type: "passwd", password: "pw-1" },
    { type: "unregister", password: null },
    { type: "hello", nick: "al", password: true },
  ];
  for (const value of values) assertRejects(value, "bad_message");
});

test("parseClientMessage rejects an unknown type", () => {
  for (const type of ["nope", "HELLO", "welcome", "leave", "", "x".repeat(1000)]) {
    assertRejects({ type }, "unknown_type");
  }
  assert.throws(
    () => parseClientMessage({ type: "x".repeat(1000) }),
    (error) => error instanceof ProtocolError && error.message.length < 100,
    "the message quotes a bounded part of the type",
  );
});

test("parseClientMessage rejects fields of the wrong type", () => {
  const cases: unknown[] = [
    { type: "hello" },
    { type: "hello", nick: 7 },
    { type: "hello", nick: null },
    { type: "hello", nick: "alice", room: 1 },
    { type: "hello", nick: "alice", room: null },
    { type: "msg" },
    { type: "msg", text: 42 },
    { type: "msg", text: ["hi"] },
    { type: "msg", text: { toString: "hi" } },
  ];
  for (const value of cases) assertRejects(value, "bad_message");
});

test("parseServerMessage accepts each server message as it came, unknown fields included", () => {
  const messages: unknown[] = [
    { type: "welcome", nick: "ann", room: "lobby", members: ["ann", "bob"], count: 2 },
    { type: "joined", room: "den", members: [] },
    { type: "msg", id: 1, from: "bob", room: "lobby", text: "hi", ts: 5, history: true },
    { type: "msg", id: 2, from: "bob", to: "ann", text: "psst", ts: 6, action: true },
    { type: "history_end", room: "lobby" },
    { type: "join", nick: "cy", room: "lobby" },
    { type: "leave", nick: "cy", room: "lobby" },
    { type: "nick", from: "cy", nick: "cyd", room: "lobby" },
    { type: "who", room: "lobby", members: ["ann"] },
    { type: "rooms", rooms: [{ name: "lobby", members: 2 }] },
    { type: "notice", text: "hello", colour: "from a newer server" },
    { type: "error", code: "a_newer_code", message: "no" },
    { type: "ping" },
    { type: "pong" },
  ];
  for (const value of messages) {
    assert.equal(parseServerMessage(value), value, JSON.stringify(value));
  }
});

function assertServerRejects(value: unknown, code: ErrorCode): void {
  assert.throws(
    () => parseServerMessage(value),
    (error) => error instanceof ProtocolError && error.code === code && !error.fatal,
    `${JSON.stringify(value)} should be rejected with ${code}`,
  );
}

test("parseServerMessage rejects a type from a newer server, and what is not a message", () => {
  for (const type of ["typing", "hello", "msg ", "constructor", "toString", ""]) {
    assertServerRejects({ type }, "unknown_type");
  }
  for (const value of [null, 1, "msg", [], { type: 1 }, { text: "hi" }]) {
    assertServerRejects(value, "bad_message");
  }
});

test("parseServerMessage rejects a field a client reads when it has the wrong type", () => {
  const msg = { type: "msg", id: 1, from: "bob", room: "lobby", text: "hi", ts: 5 };
  const cases: unknown[] = [
    { type: "welcome", nick: "ann", room: "lobby" },
    { type: "welcome", nick: "ann", room: "lobby", members: ["ann", 7] },
    { type: "joined", room: 1, members: [] },
    { ...msg, id: "1" },
    { ...msg, from: null },
    { ...msg, text: 7 },
    { ...msg, ts: undefined },
    { ...msg, room: undefined },
    { ...msg, to: "ann" },
    { ...msg, room: 5 },
    { ...msg, room: undefined, to: ["ann"] },
    { type: "history_end" },
    { type: "join", nick: "cy" },
    { type: "leave", room: "lobby" },
    { type: "nick", from: "cy", nick: 2 },
    { type: "who", room: "lobby", members: "ann" },
    { type: "rooms", rooms: [{ name: "lobby" }] },
    { type: "rooms", rooms: [null] },
    { type: "rooms", rooms: {} },
    { type: "notice" },
    { type: "error", code: "flood" },
  ];
  for (const value of cases) assertServerRejects(value, "bad_message");
});

test("nickProblem allows 32 characters but not 33, counting code points", () => {
  assert.equal(MAX_NICK_CHARS, 32);
  assert.equal(nickProblem("a"), null);
  assert.equal(nickProblem("a".repeat(32)), null);
  assert.match(nickProblem("a".repeat(33)) ?? "", /longer than 32/);
  // 32 astral characters are 64 UTF-16 code units, and still 32 characters.
  assert.equal(nickProblem("🦊".repeat(32)), null);
  assert.match(nickProblem("🦊".repeat(33)) ?? "", /longer than 32/);
  assert.equal(nickProblem("é".repeat(32)), null);
  assert.equal(nickProblem("zoë_O'Brien-2.0"), null);
});

test("nickProblem rejects an empty nick, whitespace and control characters", () => {
  assert.match(nickProblem("") ?? "", /empty/);
  const bad = [
    " ",
    "a b",
    " alice",
    "alice ",
    "a\tb",
    "a\nb",
    "a\rb",
    "a\u00a0b", // no-break space
    "a\u3000b", // ideographic space
    "a\u0000b",
    "a\u0007b",
    "a\u001bb",
    "a\u007fb",
    "a\u0085b", // C1 control
    "a\u009bb", // C1 CSI
    "a\u200bb", // zero-width space, a format character
    "a\u202eb", // right-to-left override
    "<alice>",
    "a*",
    "/nick",
  ];
  for (const nick of bad) {
    assert.notEqual(nickProblem(nick), null, `${JSON.stringify(nick)} should be refused`);
  }
});

test("roomProblem has the same limits as nickProblem", () => {
  assert.equal(roomProblem("lobby"), null);
  assert.equal(roomProblem("r".repeat(32)), null);
  assert.equal(roomProblem("🏠".repeat(32)), null);
  assert.match(roomProblem("r".repeat(33)) ?? "", /Room name is longer than 32/);
  assert.match(roomProblem("🏠".repeat(33)) ?? "", /longer than 32/);
  assert.match(roomProblem("") ?? "", /Room name must not be empty/);
  for (const room of ["a room", "a\tb", "a\u0000b", "a\u0085b", "a\u200bb", "#a\n"]) {
    assert.notEqual(roomProblem(room), null, `${JSON.stringify(room)} should be refused`);
  }
});

function assertTextProblem(text: string, code: ErrorCode | null): void {
  const problem = textProblem(text);
  const what = `${[...text].length} characters, ${utf8.encode(text).length} bytes`;
  if (code === null) {
    assert.equal(problem, null, what);
  } else {
    assert.ok(problem instanceof ProtocolError, what);
    assert.equal(problem.code, code, what);
    assert.equal(problem.fatal, false);
  }
}

test("textProblem refuses empty text", () => {
  assertTextProblem("", "empty_text");
  assertTextProblem("a", null);
  assertTextProblem(" ", null);
});

test("textProblem allows 4096 UTF-8 bytes but not 4097", () => {
  assert.equal(MAX_TEXT_BYTES, 4096);
  assertTextProblem("a".repeat(4096), null);
  assertTextProblem("a".repeat(4097), "text_too_long");
  // Two-byte characters.
  assertTextProblem("é".repeat(2048), null);
  assertTextProblem("é".repeat(2048) + "a", "text_too_long");
  // Three-byte characters: 1365 of them fit in 3 * 1365 = 4095 bytes whatever their content,
  // so these cross the point where the byte count has to be taken.
  assertTextProblem("€".repeat(1365) + "a", null);
  assertTextProblem("€".repeat(1365) + "é", "text_too_long");
  assertTextProblem("€".repeat(1366), "text_too_long");
  // Four-byte characters, two UTF-16 code units each.
  assertTextProblem("🎉".repeat(1024), null);
  assertTextProblem("🎉".repeat(1024) + "a", "text_too_long");
  assertTextProblem("a".repeat(4092) + "🎉", null);
  assertTextProblem("a".repeat(4093) + "🎉", "text_too_long");
});

test("nickProblem refuses invisible characters, unpaired surrogates and a leading mark", () => {
  const bad = [
    "alice\u034f", // combining grapheme joiner, invisible
    "alice\ufe0f", // variation selector 16
    "alice\u3164", // Hangul filler, a letter that shows as nothing
    "\u115falice", // Hangul choseong filler
    "a\u2800b", // braille blank
    "ali\ud800ce", // an unpaired high surrogate
    "alice\udc00", // an unpaired low surrogate
    "\u0301", // a mark alone
    "\u0301\u0308",
    "\u0301alice", // a mark with nothing of the nick's own to sit on
  ];
  for (const name of bad) {
    assert.notEqual(nickProblem(name), null, `${JSON.stringify(name)} should be refused`);
    assert.notEqual(roomProblem(name), null, `${JSON.stringify(name)} should be refused`);
  }
  for (const name of ["josé", "jose\u0301", "zoë", "ñandú", "Ωmega", "🦊", "аня"]) {
    assert.equal(nickProblem(name), null, `${JSON.stringify(name)} should be allowed`);
  }
});
