import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_FLOOD_LIMITS,
  FloodGate,
  type FloodLimits,
  type FloodVerdict,
  MAX_WORK_DEBT_MS,
} from "../../server/flood_gate.ts";

const limits: FloodLimits = {
  ratePerSecond: 10,
  burst: 6,
  bytesPerMessage: 1_000,
  warnAfterMs: 1_000,
  maxDebtMs: 3_000,
  floodTimeoutMs: 60_000,
};

const GO = { action: "go" };
const waits = (verdict: FloodVerdict) => verdict.action === "wait" ? Math.round(verdict.ms) : 0;

/**
 * Drives `gate` as a session does a paste of `count` messages, all read at `start`: each taken as
 * soon as flood control lets it go. Returns when each went, and every verdict that was not a go.
 */
function paste(gate: FloodGate, start: number, count: number) {
  const went: number[] = [];
  const told: FloodVerdict[] = [];
  let now = start;
  while (went.length < count) {
    const verdict = gate.take(now);
    if (verdict.action === "go") went.push(now);
    else if (verdict.action === "disconnect") return { went, told: [...told, verdict] };
    else {
      if (verdict.warn) told.push(verdict);
      now += verdict.ms;
    }
  }
  return { went, told, end: now };
}

test("FloodGate lets a burst through at once", () => {
  const gate = new FloodGate(limits, 0);
  for (let i = 0; i < 6; i++) assert.deepEqual(gate.take(0), GO);
  assert.equal(waits(gate.take(0)), 100);
});

test("FloodGate lets a paste of 400 go whole, at the rate, and never disconnects it", () => {
  const gate = new FloodGate(DEFAULT_FLOOD_LIMITS, 0);
  const { went, told } = paste(gate, 0, 400);
  assert.equal(went.length, 400);
  // The burst of 20 at once, then ten a second: the last one 38 s after the first.
  assert.equal(Math.round(went[399]), 38_000);
  for (let i = 21; i < 400; i++) assert.equal(Math.round(went[i] - went[i - 1]), 100);
  // One warning after 5 s behind, and nothing more.
  assert.equal(told.length, 1);
});

test("FloodGate does not charge a message until its turn", () => {
  const gate = new FloodGate(limits, 0);
  paste(gate, 0, 6);
  // Waiting costs nothing: asked again and again, the next still goes after 100 ms.
  for (let i = 0; i < 50; i++) assert.equal(waits(gate.take(50)), 50);
  assert.deepEqual(gate.take(100), GO);
});

test("FloodGate keeps a steady sender at the rate undelayed and never behind", () => {
  const gate = new FloodGate({ ...limits, floodTimeoutMs: 1_000 }, 0);
  for (let t = 0; t < 100_000; t += 100) assert.deepEqual(gate.take(t), GO, `at ${t} ms`);
});

test("FloodGate disconnects a member behind without a break for floodTimeoutMs", () => {
  const gate = new FloodGate(limits, 0);
  const { went, told } = paste(gate, 0, 10_000);
  assert.deepEqual(told.at(-1), { action: "disconnect" });
  // Six at once, then ten a second for a minute.
  assert.ok(went.length >= 6 + 600 && went.length <= 6 + 601, `${went.length} went`);
});

test("FloodGate forgets a member was behind once it has had a break", () => {
  const gate = new FloodGate(limits, 0);
  // Pastes of 500 (50 s each) with a pause of a second between them: never disconnected, and
  // warned once a paste.
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const { went, told, end } = paste(gate, start, 500);
    assert.equal(went.length, 500, `paste ${i}`);
    assert.equal(told.length, 1, `paste ${i}`);
    start = end! + 1_000;
  }
});

test("FloodGate counts no break that is shorter than half the burst", () => {
  const gate = new FloodGate(limits, 0);
  let start = 0;
  let told: FloodVerdict[] = [];
  // Pauses of 100 ms, one message's time, do not end being behind.
  for (let i = 0; i < 100 && told.at(-1)?.action !== "disconnect"; i++) {
    const pasted = paste(gate, start, 50);
    told = pasted.told;
    start = (pasted.end ?? start) + 100;
  }
  assert.deepEqual(told.at(-1), { action: "disconnect" });
});

test("FloodGate with rate 0 never delays", () => {
  const gate = new FloodGate({ ...DEFAULT_FLOOD_LIMITS, ratePerSecond: 0 }, 0);
  for (let i = 0; i < 100_000; i++) assert.deepEqual(gate.take(0), GO);
  assert.deepEqual(gate.arrived(0, 100_000, 100_000_000), GO);
  assert.deepEqual(gate.mayRead(0), GO);
});

test("FloodGate charges bytes as they arrive, and holds reading until they are paid for", () => {
  const gate = new FloodGate(limits, 0);
  // A burst of six allowances of 1,000 bytes goes at once.
  assert.deepEqual(gate.arrived(0, 0, 6_000), GO);
  assert.deepEqual(gate.mayRead(0), GO);
  // Each further 1,000 bytes costs 100 ms, before more is read and before any message goes.
  assert.equal(waits(gate.arrived(0, 0, 2_000)), 200);
  assert.equal(waits(gate.mayRead(0)), 200);
  assert.equal(waits(gate.take(0)), 200);
  assert.deepEqual(gate.mayRead(200), GO);
});

test("FloodGate charges inputs that form no message as they arrive, as messages", () => {
  const gate = new FloodGate(limits, 0);
  assert.equal(waits(gate.arrived(0, 10, 10)), 400); // ten blank lines, past a burst of six
  assert.equal(waits(gate.take(0)), 500);
});

test("FloodGate disconnects at once a member whose arrival alone puts it maxDebtMs behind", () => {
  const gate = new FloodGate(limits, 0);
  assert.deepEqual(gate.arrived(0, 10_000, 10_000), { action: "disconnect" }); // blank lines
  const bytes = new FloodGate(limits, 0);
  assert.equal(waits(bytes.arrived(0, 0, 30_000)), 2_400);
  assert.deepEqual(bytes.arrived(0, 0, 10_000), { action: "disconnect" });
});

test("FloodGate keeps a steady sender of long messages undelayed", () => {
  const gate = new FloodGate(limits, 0);
  // Ten a second of a full allowance each: the rate, in bytes as in messages.
  for (let t = 0; t < 10_000; t += 100) {
    assert.deepEqual(gate.arrived(t, 0, 1_000), GO);
    assert.deepEqual(gate.take(t), GO);
  }
});

test("FloodGate.owe makes the next input wait for work charged after the fact", () => {
  const gate = new FloodGate(limits, 0);
  gate.take(0);
  gate.owe(7); // 5 inputs were left of the burst: 2 are owed
  assert.equal(waits(gate.take(0)), 300);
});

test("FloodGate.owe never puts a member more than MAX_WORK_DEBT_MS behind", () => {
  const gate = new FloodGate({ ...limits, warnAfterMs: 5_000 }, 0);
  for (let i = 0; i < 50; i++) gate.owe(100);
  const verdict = gate.take(0);
  assert.equal(waits(verdict), MAX_WORK_DEBT_MS + 100);
  assert.equal(verdict.action === "wait" && verdict.warn, false);
});

test("FloodGate does not count a member slowed only by work it owes as behind", () => {
  const gate = new FloodGate({ ...limits, warnAfterMs: 1_000, floodTimeoutMs: 3_000 }, 0);
  // A history page after another, each owing 1.1 s of work, for ten seconds: slowed, never
  // warned or disconnected.
  let now = 0;
  for (let page = 0; page < 10; page++) {
    let verdict = gate.take(now);
    while (verdict.action === "wait") {
      assert.equal(verdict.warn, false, `page ${page}`);
      now += verdict.ms;
      verdict = gate.take(now);
    }
    assert.deepEqual(verdict, GO, `page ${page}`);
    gate.owe(10);
  }
  assert.ok(now >= 9_000, `ten pages in ${now} ms`);
});
