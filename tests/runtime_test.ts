import { test } from "node:test";
import assert from "node:assert/strict";
import { Arrivals } from "../runtime.ts";

test("Arrivals hands over in order, to a waiting iteration too, and ends once closed and empty", async () => {
  const arrivals = new Arrivals<string>();
  assert.ok(arrivals.push("a"));
  const taken: string[] = [];
  const iterating = (async () => {
    for await (const item of arrivals) taken.push(item);
  })();
  await Promise.resolve();
  assert.ok(arrivals.push("b"), "to the iteration waiting for it");
  assert.ok(arrivals.push("c"));
  arrivals.close();
  assert.equal(arrivals.push("d"), false, "refused once closed: the caller closes it");
  await iterating;
  assert.deepEqual(taken, ["a", "b", "c"]);
});
