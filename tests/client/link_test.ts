import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../client/link.ts";

test("Backoff tries at once, then waits 0.5 s doubling to 10 s, less up to a half at random", () => {
  const longest = new Backoff(() => 0);
  assert.deepEqual(
    Array.from({ length: 9 }, () => longest.next()),
    [0, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
  );
  const shortest = new Backoff(() => 0.999_999);
  assert.deepEqual(
    Array.from({ length: 7 }, () => shortest.next()),
    [0, 250, 500, 1000, 2000, 4000, 5000],
  );
});
