import { test } from "node:test";
import assert from "node:assert/strict";
import {
  budgetFor,
  MIN_REFUSALS,
  parseOpenFilesLimit,
  SPARE_DESCRIPTORS,
} from "../../server/descriptor_budget.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
`;

test("parseOpenFilesLimit reads the soft limit on open files", () => {
  assert.equal(parseOpenFilesLimit(LIMITS), 1024);
  assert.equal(parseOpenFilesLimit(LIMITS.replace(/1024 /, "unlimited")), null);
  assert.equal(parseOpenFilesLimit("Max cpu time unlimited unlimited seconds\n"), null);
});

test("budgetFor leaves spare descriptors, and room to turn connections away", () => {
  const budget = budgetFor(1024, 24);
  assert.equal(budget.connections, 1024 - 24 - SPARE_DESCRIPTORS);
  assert.equal(budget.clients, budget.connections - Math.floor(budget.connections / 8));
  // A small limit still keeps MIN_REFUSALS for refusals.
  const small = budgetFor(128, 24);
  assert.equal(small.clients, small.connections - MIN_REFUSALS);
  assert.equal(budgetFor(40, 24).clients, 0);
});
