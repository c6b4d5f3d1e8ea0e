import { test } from "node:test";
import assert from "node:assert/strict";
import { LOGIN_ATTEMPTS, LOGIN_WINDOW_MS, LoginThrottle } from "../../server/login_throttle.ts";

test("three attempts a minute per key, then the wait until the oldest is a minute old", () => {
  assert.equal(LOGIN_ATTEMPTS, 3);
  assert.equal(LOGIN_WINDOW_MS, 60_000);
  const throttle = new LoginThrottle();
  assert.equal(throttle.attempt(["account:a"], 0), 0);
  assert.equal(throttle.attempt(["account:a"], 10_000), 0);
  assert.equal(throttle.attempt(["account:a"], 20_000), 0);
  assert.equal(throttle.attempt(["account:a"], 30_000), 30_000);
  assert.equal(throttle.attempt(["account:a"], 59_999), 1);
  assert.equal(throttle.attempt(["account:a"], 60_000), 0, "the first has left the window");
});

test("a refused attempt counts against none of its keys", () => {
  const throttle = new LoginThrottle(1, 1000);
  assert.equal(throttle.attempt(["account:a", "address:h"], 0), 0);
  assert.ok(throttle.attempt(["account:b", "address:h"], 1) > 0, "the address is used up");
  // account:b was not charged for the refusal: from another address it may try at once.
  assert.equal(throttle.attempt(["account:b", "address:other"], 2), 0);
});

test("keys are apart: one account's failures do not hold another's", () => {
  const throttle = new LoginThrottle(2, 1000);
  throttle.attempt(["account:a"], 0);
  throttle.attempt(["account:a"], 0);
  assert.ok(throttle.attempt(["account:a"], 0) > 0);
  assert.equal(throttle.attempt(["account:b"], 0), 0);
});

test("a forgiven attempt, one that succeeded, costs nothing", () => {
  const throttle = new LoginThrottle(1, 1000);
  assert.equal(throttle.attempt(["account:a"], 0), 0);
  throttle.forgive(["account:a"]);
  assert.equal(throttle.attempt(["account:a"], 1), 0);
});
