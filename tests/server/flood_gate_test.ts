import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_FLOOD_LIMITS,
  FloodGate,
  type FloodLimits,
  MAX_WORK_DEBT_MS,
} from "../../server/flood_gate.ts";

const limits: FloodLimits = {
  ratePerSecond: 10,
  burst: 5,
  bytesPerMessage: 1_000,
  warnAfterMs: 1_000,
  disconnectAfterMs: 3_000,
};

test("FloodGate lets a burst through at once", () => {
  const gate = new FloodGate(limits, 0);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(gate.admit(0), { action: "go", delayMs: 0, warn: false });
  }
});

test("FloodGate delays input past the burst by the sustained rate, dropping none", () => {
  const gate = new FloodGate(limits, 0);
  for (let i = 0; i < 5; i++) gate.admit(0);
  // Ten a second: each further input waits 100 ms longer than the one before.
  const delays = Array.from({ length: 5 }, () => gate.admit(0));
  assert.deepEqual(
    delays.map((verdict) => verdict.action === "go" && Math.round(verdict.delayMs)),
    [100, 200, 300, 400, 500],
  );
});

test("FloodGate earns tokens back with time, up to the burst", () => {
  const gate = new FloodGate(limits, 0);
  for (let i = 0; i < 7; i++) gate.admit(0); // two into debt
  // A minute later the bucket is full again, but no fuller than the burst.
  const later = 60_000;
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(gate.admit(later), { action: "go", delayMs: 0, warn: false });
  }
  const sixth = gate.admit(later);
  assert.ok(sixth.action === "go" && Math.round(sixth.delayMs) === 100);
});

test("FloodGate keeps a steady sender at the rate undelayed", () => {
  const gate = new FloodGate(limits, 0);
  for (let t = 0; t < 10_000; t += 100) {
    assert.deepEqual(gate.admit(t), { action: "go", delayMs: 0, warn: false }, `at ${t} ms`);
  }
});

test("FloodGate warns once when the backlog passes warnAfterMs", () => {
  const gate = new FloodGate(limits, 0);
  const verdicts = Array.from({ length: 25 }, () => gate.admit(0));
  const warned = verdicts.flatMap((verdict, i) =>
    verdict.action === "go" && verdict.warn ? [i] : []
  );
  // Input 16 is the first to wait more than a second (11 past the burst of 5, 100 ms each).
  assert.deepEqual(warned, [15]);
});

test("FloodGate disconnects when the backlog passes disconnectAfterMs", () => {
  const gate = new FloodGate(limits, 0);
  const verdicts = Array.from({ length: 40 }, () => gate.admit(0));
  const first = verdicts.findIndex((verdict) => verdict.action === "disconnect");
  // 3 s of backlog at 10 a second, past a burst of 5: the 36th input.
  assert.equal(first, 35);
});

test("FloodGate warns again after the member has calmed down and floods anew", () => {
  const gate = new FloodGate(limits, 0);
  const warnings = (at: number) =>
    Array.from({ length: 20 }, () => gate.admit(at)).filter((v) => v.action === "go" && v.warn)
      .length;
  assert.equal(warnings(0), 1);
  gate.admit(600_000); // calm: back in credit
  assert.equal(warnings(600_000), 1);
});

test("FloodGate with rate 0 never delays", () => {
  const gate = new FloodGate({ ...DEFAULT_FLOOD_LIMITS, ratePerSecond: 0 }, 0);
  for (let i = 0; i < 100_000; i++) {
    const verdict = gate.admit(0);
    assert.ok(verdict.action === "go" && verdict.delayMs === 0);
  }
});

test("FloodGate charges bytes that form no message, at the rate of messages' allowances", () => {
  const gate = new FloodGate(limits, 0);
  // A burst of five allowances of 1,000 bytes goes at once, in any number of inputs.
  assert.deepEqual(gate.admit(0, 0, 5_000), { action: "go", delayMs: 0, warn: false });
  // Each further 1,000 bytes waits 100 ms, as a message would.
  const next = gate.admit(0, 0, 2_000);
  assert.ok(next.action === "go" && Math.round(next.delayMs) === 200);
  // Bytes in debt delay messages too, though the message bucket is full.
  const message = gate.admit(0);
  assert.ok(message.action === "go" && Math.round(message.delayMs) === 200);
});

test("FloodGate disconnects a member whose bytes alone pass disconnectAfterMs", () => {
  const gate = new FloodGate(limits, 0);
  const verdicts = Array.from({ length: 100 }, () => gate.admit(0, 0, 1_000));
  // 3 s of backlog at 10 allowances a second, past a burst of 5: the 36th kilobyte.
  assert.equal(verdicts.findIndex((verdict) => verdict.action === "disconnect"), 35);
});

test("FloodGate charges inputs that form no message as messages", () => {
  const gate = new FloodGate(limits, 0);
  const verdict = gate.admit(0, 10_000, 10_000); // ten thousand blank lines
  assert.deepEqual(verdict, { action: "disconnect" });
});

test("FloodGate keeps a steady sender of long messages undelayed", () => {
  const gate = new FloodGate(limits, 0);
  // Ten a second of a full allowance each: the rate, in bytes as in messages.
  for (let t = 0; t < 10_000; t += 100) {
    assert.deepEqual(gate.admit(t, 1, 1_000), { action: "go", delayMs: 0, warn: false });
  }
});

test("FloodGate.owe makes the next input wait for work charged after the fact", () => {
  const gate = new FloodGate(limits, 0);
  gate.admit(0);
  gate.owe(6); // 4 inputs were left of the burst: 2 are owed
  const verdict = gate.admit(0);
  assert.equal(verdict.action === "go" && Math.round(verdict.delayMs), 300);
});

test("FloodGate.owe never puts a member more than MAX_WORK_DEBT_MS behind", () => {
  const gate = new FloodGate({ ...limits, disconnectAfterMs: 30_000, warnAfterMs: 5_000 }, 0);
  for (let i = 0; i < 50; i++) gate.owe(100);
  const verdict = gate.admit(0);
  assert.equal(verdict.action === "go" && Math.round(verdict.delayMs), MAX_WORK_DEBT_MS + 100);
  assert.equal(verdict.action === "go" && verdict.warn, false);
});
