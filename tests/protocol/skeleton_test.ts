import { test } from "node:test";
import assert from "node:assert/strict";
import { skeleton } from "../../protocol/skeleton.ts";
import { lookalikeKeys, nameKey } from "../../protocol.ts";

test("skeleton maps characters to the prototype they look like, per UTS #39", () => {
  assert.equal(skeleton("\u0430lice"), "alice"); // Cyrillic а
  assert.equal(skeleton("al\u0131ce"), "alice"); // dotless ı
  assert.equal(skeleton("m"), "rn");
  assert.equal(skeleton("1Il"), "lll");
  assert.equal(skeleton("jos\u00e9"), skeleton("jose\u0301"));
  assert.equal(skeleton("ali\u200bce"), "alice", "invisible characters are dropped");
  assert.equal(skeleton("bob"), "bob");
});

test("nameKey is one for a name in any case and any Unicode normal form", () => {
  assert.equal(nameKey("Jos\u00e9"), nameKey("jose\u0301"));
  assert.equal(nameKey("\uff21\uff4c\uff49\uff43\uff45"), "alice"); // fullwidth
  assert.equal(nameKey("DEN"), "den");
  assert.notEqual(nameKey("\u0430lice"), nameKey("alice"), "look-alikes are lookalikeKeys' work");
});

test("lookalikeKeys: nicks a reader could take for one another share a key", () => {
  const shares = (a: string, b: string) =>
    lookalikeKeys(a).some((key) => lookalikeKeys(b).includes(key));
  const alike = [
    ["alice", "\u0430lice"],
    ["alice", "al\u0131ce"],
    ["alice", "\uff41\uff4c\uff49\uff43\uff45"],
    ["alice", "AIice"],
    ["alice", "ALICE"],
    ["alice", "\u0391LICE"],
    ["ALICE", "ALlCE"],
    ["jos\u00e9", "JOSE\u0301"],
    ["bob", "b0b"],
    ["mary", "rnary"],
  ];
  for (const [a, b] of alike) assert.ok(shares(a, b), `${a} and ${b}`);
  for (
    const [a, b] of [["alice", "alice2"], ["alice", "bob"], ["jos\u00e9", "jose"], ["ann", "anna"]]
  ) {
    assert.ok(!shares(a, b), `${a} and ${b}`);
  }
});
