// The names a node leases a nick under, and what it reads back from a lease.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  leaseKeys,
  memberList,
  nameLeaseKey,
  nickTaken,
  nodeOf,
  parseLease,
  streamLength,
} from "../../../server/cluster/members.ts";
import { LARGE_ROOM_MEMBERS } from "../../../server/chat.ts";

test("cluster members: look-alike nicks share a lease key, and only a name key names a member", () => {
  const shared = (a: string, b: string) => leaseKeys(a).some((key) => leaseKeys(b).includes(key));
  assert.ok(shared("alice", "ALICE"));
  assert.ok(shared("alice", "аlice"), "Cyrillic а");
  assert.ok(shared("bob", "b0b"));
  assert.ok(!shared("alice", "bob"));
  assert.equal(leaseKeys("Alice")[0], nameLeaseKey("alice"), "the first key is the name key");
  assert.notEqual(nameLeaseKey("alice"), nameLeaseKey("аlice"), "look-alikes are other names");
});

test("cluster members: a lease's value and a holder id read back", () => {
  assert.deepEqual(parseLease("ab12:7 José Ñ"), { holder: "ab12:7", nick: "José Ñ" });
  assert.equal(nodeOf("ab12:7"), "ab12");
  assert.equal(nickTaken("Alice", "alice").code, "nick_taken");
  assert.match(nickTaken("аlice", "alice").message, /looks like alice/);
});

test("cluster members: member lists name as many as a large room does, with the count", () => {
  assert.deepEqual(memberList(["a", "b"]), { members: ["a", "b"] });
  const many = Array.from({ length: LARGE_ROOM_MEMBERS + 5 }, (_, i) => `m${i}`);
  const list = memberList(many);
  assert.equal(list.members.length, LARGE_ROOM_MEMBERS);
  assert.equal(list.count, many.length);
  assert.equal(streamLength(50), 1000);
  assert.equal(streamLength(1000), 4000);
});
