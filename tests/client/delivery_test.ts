import { test } from "node:test";
import assert from "node:assert/strict";
import { Delivery, joinRefused } from "../../client/delivery.ts";

test("Delivery finds no problem when every message came back", () => {
  const delivery = new Delivery();
  delivery.sent();
  delivery.sent();
  delivery.echoed();
  delivery.echoed();
  delivery.lostConnection();
  assert.equal(delivery.problem, null);
});

test("Delivery counts refusals, but not errors about the connection", () => {
  const delivery = new Delivery();
  delivery.sent();
  delivery.error("flood");
  delivery.error("server_shutdown");
  assert.equal(delivery.problem, null);
  delivery.error("no_such_nick");
  assert.equal(delivery.problem, "the server refused 1 line (said above)");
});

test("Delivery counts what a lost connection had not answered", () => {
  const delivery = new Delivery();
  for (let i = 0; i < 3; i++) delivery.sent();
  delivery.echoed();
  delivery.lostConnection();
  assert.equal(delivery.problem, "2 lines sent as the connection dropped may not have arrived");
});

test("joinRefused says where a script's nick came from and what to do", () => {
  assert.equal(
    joinRefused("ann", true, "nick_taken", "The nick ann is taken"),
    'the nick "ann", the first line of input, was refused: The nick ann is taken; ' +
      "no line was sent: start the input with another nick, or give --nick",
  );
  assert.equal(
    joinRefused("ann", false, "bad_room", "No"),
    "the server refused to let ann join: No; no line was sent",
  );
});
