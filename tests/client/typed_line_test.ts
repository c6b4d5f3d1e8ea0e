import { test } from "node:test";
import assert from "node:assert/strict";
import { answeredLocally, helpText, typedLine } from "../../client/typed_line.ts";
import { helpLines } from "../../protocol/typed_lines.ts";

test("typedLine fills in the room the user talks in, and answers /help and /quit itself", () => {
  const send = (message: object) => ({ type: "send", message });
  assert.deepEqual(typedLine("hi", "den"), send({ type: "msg", text: "hi", room: "den" }));
  assert.deepEqual(typedLine("//x", "den"), send({ type: "msg", text: "/x", room: "den" }));
  assert.deepEqual(
    typedLine("/me waves", "den"),
    send({ type: "msg", text: "waves", action: true, room: "den" }),
  );
  assert.deepEqual(typedLine("/msg bob hi", "den"), send({ type: "msg", to: "bob", text: "hi" }));
  assert.deepEqual(typedLine("/part", "den"), send({ type: "part", room: "den" }));
  assert.deepEqual(typedLine("/who lobby", "den"), send({ type: "who", room: "lobby" }));
  assert.deepEqual(typedLine("/join Lobby", "den"), send({ type: "join", room: "Lobby" }));
  assert.deepEqual(typedLine("/nick al", "den"), send({ type: "nick", nick: "al" }));
  assert.deepEqual(typedLine("/rooms", "den"), send({ type: "rooms" }));
  assert.deepEqual(
    typedLine("/kick bob rude", "den"),
    send({ type: "kick", nick: "bob", reason: "rude", room: "den" }),
  );
  assert.deepEqual(typedLine("/klines", "den"), send({ type: "klines" }));
  assert.deepEqual(typedLine("/help", "den"), { type: "help" });
  assert.deepEqual(typedLine("/QUIT", "den"), { type: "quit" });
  assert.equal(typedLine("  ", "den"), null);
});

test("typedLine turns a usage error or a message too long into a problem to show", () => {
  assert.deepEqual(typedLine("/nick", "den"), { type: "problem", text: "usage: /nick NAME" });
  assert.deepEqual(typedLine("/x", "den"), {
    type: "problem",
    text: "unknown command /x, try /help",
  });
  assert.deepEqual(typedLine("x".repeat(5000), "den"), {
    type: "problem",
    text: "Cannot send message: it exceeds 4096 bytes",
  });
  assert.deepEqual(typedLine(`/msg bob ${"x".repeat(5000)}`, "den"), {
    type: "problem",
    text: "Cannot send message: it exceeds 4096 bytes",
  });
});

test("answeredLocally is true for /help and /quit only; helpText adds the keys on a terminal", () => {
  assert.ok(answeredLocally("/help") && answeredLocally("/Quit now"));
  assert.ok(!answeredLocally("/who") && !answeredLocally("//quit") && !answeredLocally("quit"));
  assert.deepEqual(helpText(false), helpLines("client"));
  const interactive = helpText(true);
  assert.deepEqual(interactive.slice(0, helpLines("client").length), helpLines("client"));
  assert.match(interactive[helpLines("client").length], /^keys: /);
});

test("typedLine asks for the password of /register or /identify typed without it", () => {
  const asked = typedLine("/identify  ", "lobby");
  assert.equal(asked?.type, "ask-password");
  assert.equal(asked?.type === "ask-password" && asked.command.name, "/identify");
  assert.equal(typedLine("/REGISTER", "lobby")?.type, "ask-password");
  assert.deepEqual(typedLine("/identify pw-one", "lobby"), {
    type: "send",
    message: { type: "identify", password: "pw-one" },
  });
});
