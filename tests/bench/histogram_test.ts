// The latency histogram: percentiles within 1%, and the exact maximum.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Histogram } from "../../bench/histogram.ts";

test("bench Histogram reports percentiles within 1% and the exact maximum", () => {
  const histogram = new Histogram();
  for (let us = 1; us <= 100_000; us++) histogram.record(us);
  assert.equal(histogram.count, 100_000);
  assert.equal(histogram.max, 100_000);
  for (const percent of [50, 90, 99, 99.9]) {
    const exact = percent * 1000;
    const reported = histogram.percentile(percent);
    assert.ok(Math.abs(reported - exact) / exact < 0.01, `p${percent}: ${reported} vs ${exact}`);
  }
  assert.equal(histogram.percentile(100), 100_000);
  const small = new Histogram();
  for (const us of [3, 3, 3, 200]) small.record(us);
  assert.equal(small.percentile(50), 3);
  assert.equal(small.percentile(99), 200);
  assert.equal(new Histogram().percentile(99), 0);
});
