// Delivery accounting: lost, duplicated and out-of-order deliveries counted exactly, and a message
// complete once every receiver has it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DeliveryTracker } from "../../bench/delivery_tracker.ts";
import { parleyMessage } from "../../bench/payload.ts";

/** Delivers (sender, seq) to `receiver`, stamped at time 0 and received at `nowUs`. */
function deliver(
  tracker: DeliveryTracker,
  receiver: number,
  sender: number,
  seq: number,
  nowUs = 0,
) {
  const stamped = parleyMessage(sender, 40).stamp(seq, 1, 0);
  tracker.deliver(receiver, stamped, parleyMessage(sender, 40).textAt, nowUs);
}

test("bench DeliveryTracker counts lost, duplicated and out-of-order deliveries exactly", () => {
  const tracker = new DeliveryTracker({
    members: 2,
    messagesPerMember: 6,
    echoes: false,
    window: 0,
  });
  // Member 1 hears member 0's 0, 2, 1, 1, 4: 1 came late, the second 1 is a duplicate, 3 and 5
  // never came.
  for (const seq of [0, 2, 1, 1, 4]) deliver(tracker, 1, 0, seq);
  // Member 0 hears all of member 1's, and then its own, which Parley never sends back.
  for (let seq = 0; seq < 6; seq++) deliver(tracker, 0, 1, seq);
  deliver(tracker, 0, 0, 0);
  assert.equal(tracker.outOfOrder, 1);
  assert.equal(tracker.duplicated, 1);
  assert.equal(tracker.lost(), 2);
  assert.equal(tracker.unexpected, 1);
  assert.equal(tracker.unique, 10);
  assert.equal(tracker.expected, 12);
  assert.equal(tracker.done, false);
});

test("bench DeliveryTracker completes a message once every receiver has it, in order", () => {
  const tracker = new DeliveryTracker({
    members: 3,
    messagesPerMember: 4,
    echoes: true,
    window: 2,
  });
  const completions: number[] = [];
  tracker.onComplete = (sender) => completions.push(tracker.completed[sender]);
  let done = false;
  tracker.onDone = () => done = true;
  for (const receiver of [0, 1, 2]) deliver(tracker, receiver, 0, 1); // 1 before 0: not yet
  assert.deepEqual(completions, []);
  for (const receiver of [0, 1]) deliver(tracker, receiver, 0, 0);
  assert.deepEqual(completions, []);
  deliver(tracker, 2, 0, 0); // 0 complete, and 1 with it
  assert.deepEqual(completions, [2]);
  for (const seq of [2, 3]) for (const receiver of [0, 1, 2]) deliver(tracker, receiver, 0, seq);
  assert.deepEqual(completions, [2, 3, 4]);
  assert.equal(done, false);
  for (const sender of [1, 2]) {
    for (let seq = 0; seq < 4; seq++) for (const r of [0, 1, 2]) deliver(tracker, r, sender, seq);
  }
  assert.equal(done, true);
  assert.equal(tracker.lost(), 0);
  assert.equal(tracker.outOfOrder, 3); // each receiver had 0 after 1
});
