import { test } from "node:test";
import assert from "node:assert/strict";
import { Liveness, type LivenessLimits } from "../../server/liveness.ts";

const limits: LivenessLimits = {
  helloTimeoutMs: 1_000,
  readTimeoutMs: 2_000,
  pingAfterMs: 5_000,
  pongTimeoutMs: 3_000,
  idleTimeoutMs: 0,
};

test("Liveness leaves a connection alone while its mode is undecided and nothing is partial", () => {
  const liveness = new Liveness(limits, 0);
  assert.equal(liveness.check(60_000, null, false), "ok");
});

test("Liveness closes a native or legacy connection that has not said hello in time", () => {
  for (const mode of ["native", "legacy"] as const) {
    const liveness = new Liveness(limits, 0);
    assert.equal(liveness.check(1_000, mode, false), "ok");
    assert.equal(liveness.check(1_001, mode, false), "hello_timeout");
    assert.equal(liveness.check(1_001, mode, true), "ok", "once greeted");
  }
  assert.equal(new Liveness(limits, 0).check(60_000, "line", false), "ok", "line needs no hello");
});

test("Liveness closes a connection whose input stays incomplete past the read timeout", () => {
  const liveness = new Liveness(limits, 0);
  liveness.heard(100, true);
  // More bytes of the same input do not restart the clock: a slowloris trickles.
  liveness.heard(1_500, true);
  assert.equal(liveness.check(2_100, "native", true), "ok");
  assert.equal(liveness.check(2_101, "native", true), "read_timeout");
});

test("Liveness forgets a partial input once it completes", () => {
  const liveness = new Liveness(limits, 0);
  liveness.heard(100, true);
  liveness.heard(200, false);
  assert.equal(liveness.check(4_000, "native", true), "ok");
  liveness.heard(4_000, true);
  assert.equal(liveness.check(6_000, "native", true), "ok", "a new input gets its own time");
  assert.equal(liveness.check(6_001, "native", true), "read_timeout");
});

test("Liveness pings a silent native member once, then closes it if it stays silent", () => {
  const liveness = new Liveness(limits, 0);
  assert.equal(liveness.check(5_000, "native", true), "ok");
  assert.equal(liveness.check(5_001, "native", true), "ping");
  assert.equal(liveness.check(5_002, "native", true), "ok", "one ping, not one per sweep");
  assert.equal(liveness.check(8_001, "native", true), "ok");
  assert.equal(liveness.check(8_002, "native", true), "idle_timeout");
});

test("Liveness counts an answer to a ping as life", () => {
  const liveness = new Liveness(limits, 0);
  assert.equal(liveness.check(5_001, "native", true), "ping");
  liveness.heard(6_000, false);
  assert.equal(liveness.check(10_000, "native", true), "ok");
  assert.equal(liveness.check(11_001, "native", true), "ping");
});

test("Liveness never closes a silent line or legacy member when the idle timeout is off", () => {
  for (const mode of ["line", "legacy"] as const) {
    const liveness = new Liveness(limits, 0);
    assert.equal(liveness.check(86_400_000, mode, true), "ok");
  }
});

test("Liveness closes a silent line or legacy member after the idle timeout", () => {
  for (const mode of ["line", "legacy"] as const) {
    const liveness = new Liveness({ ...limits, idleTimeoutMs: 10_000 }, 0);
    liveness.heard(1_000, false);
    assert.equal(liveness.check(11_000, mode, true), "ok");
    assert.equal(liveness.check(11_001, mode, true), "idle_timeout");
  }
});
