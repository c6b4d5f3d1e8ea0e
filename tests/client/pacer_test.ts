import { test } from "node:test";
import assert from "node:assert/strict";
import { Pacer } from "../../client/pacer.ts";

test("Pacer sends half the server's burst at once, then a tenth below its rate", () => {
  const pacer = new Pacer(10, 20, 0);
  for (let i = 0; i < 10; i++) {
    assert.equal(pacer.waitMs(0), 0);
    pacer.spend(0, 30);
  }
  assert.equal(Math.round(pacer.waitMs(0)), 111); // nine a second
  assert.equal(pacer.perSecond, 9);
});

test("Pacer counts a long frame as the allowances of bytes it takes on the server", () => {
  const pacer = new Pacer(10, 2, 0); // a burst of one
  pacer.spend(0, 3 * 4096);
  assert.equal(Math.round(pacer.waitMs(0)), 333); // three allowances: two more to earn back
});
