import { test } from "node:test";
import assert from "node:assert/strict";
import {
  auditLine,
  canonicalMask,
  maskMatches,
  MemoryModerationStore,
  Moderation,
  parseMask,
  SERVER_WIDE,
  type Subject,
} from "../../server/moderation.ts";
import { parseAddress } from "../../server/addresses.ts";
import { formatDuration, parseDuration } from "../../protocol/moderation.ts";
import { ProtocolError } from "../../protocol.ts";

const at = (host: string, nick: string | null = "bob", account: string | null = null): Subject => ({
  nick,
  account,
  host,
});

test("address masks: IPv4 and IPv6 prefixes, mapped IPv4, and nothing across families", () => {
  const eight = parseMask("127.0.0.0/8");
  assert.ok(maskMatches(eight, at("127.0.0.1")));
  assert.ok(maskMatches(eight, at("127.255.3.4")));
  assert.ok(maskMatches(eight, at("::ffff:127.0.0.1")), "IPv4 mapped into IPv6");
  assert.ok(!maskMatches(eight, at("128.0.0.1")));
  assert.ok(!maskMatches(eight, at("::1")));
  const loopback = parseMask("::1/128");
  assert.ok(maskMatches(loopback, at("::1")));
  assert.ok(maskMatches(loopback, at("0:0:0:0:0:0:0:1")));
  assert.ok(!maskMatches(loopback, at("::2")));
  const net = parseMask("2001:db8::/48");
  assert.ok(maskMatches(net, at("2001:db8:0:ffff::1")));
  assert.ok(!maskMatches(net, at("2001:db8:1::1")));
  assert.ok(maskMatches(parseMask("::1/64"), at("::abcd")));
  assert.ok(maskMatches(parseMask("203.0.113.7"), at("203.0.113.7")));
  assert.ok(!maskMatches(parseMask("203.0.113.7"), at("203.0.113.8")));
  assert.equal(parseAddress("1.2.3"), null);
  assert.equal(parseAddress("1::2::3"), null);
  assert.equal(parseAddress("12345::"), null);
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/x", "a/b"]) {
    assert.throws(() => parseMask(bad), (e: ProtocolError) => e.code === "bad_mask", bad);
  }
});

test("nick masks match look-alikes and case; account masks match the proved account only", () => {
  const bob = parseMask("bob");
  assert.equal(bob.kind, "nick");
  assert.ok(maskMatches(bob, at("10.0.0.1", "BOB")));
  assert.ok(maskMatches(bob, at("10.0.0.1", "b0b")), "a look-alike");
  assert.ok(!maskMatches(bob, at("10.0.0.1", "bobby")));
  assert.ok(!maskMatches(bob, at("10.0.0.1", null)));
  assert.equal(canonicalMask(parseMask("Bob")), canonicalMask(parseMask("nick:bob")));
  const account = parseMask("account:Eve");
  assert.ok(maskMatches(account, at("10.0.0.1", "x", "eve")));
  assert.ok(!maskMatches(account, at("10.0.0.1", "eve", null)), "a nick is not an account");
  assert.equal(canonicalMask(account), "account:eve");
});

test("durations as typed, and bans that run out stop holding without a restart", async () => {
  assert.equal(parseDuration("10m"), 600);
  assert.equal(parseDuration("2h"), 7200);
  assert.equal(parseDuration("7d"), 604800);
  assert.equal(parseDuration("0m"), null);
  assert.equal(parseDuration("soon"), null);
  assert.equal(formatDuration(7200), "2h");
  let now = 1_000_000;
  const moderation = await Moderation.open(new MemoryModerationStore(), [], () => now);
  await moderation.ban("lobby", "ban", parseMask("bob"), "alice", "spam", 60);
  assert.equal(moderation.find("lobby", "ban", at("1.2.3.4"))?.reason, "spam");
  assert.equal(moderation.find("den", "ban", at("1.2.3.4")), null, "another room");
  assert.equal(moderation.find(SERVER_WIDE, "ban", at("1.2.3.4")), null);
  assert.equal(moderation.find("lobby", "mute", at("1.2.3.4")), null);
  assert.equal(moderation.list("lobby").length, 1);
  now += 60_000;
  assert.equal(moderation.find("lobby", "ban", at("1.2.3.4")), null);
  assert.deepEqual(moderation.list("lobby"), []);
  await moderation.ban("lobby", "ban", parseMask("bob"), "alice", "again");
  assert.ok(await moderation.unban("lobby", "ban", parseMask("BOB")));
  assert.ok(!(await moderation.unban("lobby", "ban", parseMask("bob"))));
});

test("roles: server operators everywhere, owners and ops in their claimed rooms only", async () => {
  const moderation = await Moderation.open(new MemoryModerationStore(), ["Root"]);
  await moderation.claim("lobby", "lobby", "alice");
  await moderation.setOp("lobby", "carol", true);
  assert.equal(moderation.roleOf("root", "anywhere"), "server-operator");
  assert.equal(moderation.roleOf("Alice", "lobby"), "owner");
  assert.equal(moderation.roleOf("carol", "lobby"), "op");
  assert.equal(moderation.roleOf("carol", "den"), null);
  assert.equal(moderation.roleOf(null, "lobby"), null);
  assert.ok(moderation.allows("room-operator", "carol", "lobby"));
  assert.ok(!moderation.allows("room-owner", "carol", "lobby"));
  assert.ok(moderation.allows("room-owner", "alice", "lobby"));
  assert.ok(!moderation.allows("server-operator", "alice", "lobby"));
  assert.ok(moderation.allows("server-operator", "root", null));
  assert.ok(moderation.allows("anyone", null, null));
  await assert.rejects(
    moderation.claim("lobby", "lobby", "bob"),
    (e: ProtocolError) => e.code === "already_claimed",
  );
  await moderation.setOp("lobby", "carol", false);
  assert.equal(moderation.roleOf("carol", "lobby"), null);
  await assert.rejects(
    moderation.setOp("den", "carol", true),
    (e: ProtocolError) => e.code === "not_claimed",
  );
});

test("an audit line is logfmt: bare words bare, the rest quoted, the empty left out", () => {
  assert.equal(
    auditLine({
      action: "ban",
      room: "lobby",
      by: "alice",
      target: "nick:bob",
      reason: 'say "hi"',
    }),
    'audit action=ban room=lobby by=alice target=nick:bob reason="say \\"hi\\""',
  );
  assert.equal(auditLine({ action: "kick", reason: "", until: null }), "audit action=kick");
});

test("what another node changed is taken as it is, without keeping it again", async () => {
  const kept: string[] = [];
  const store = {
    load: () => ({ bans: [], rooms: [] }),
    putBan: () => void kept.push("ban"),
    dropBan: () => void kept.push("unban"),
    putRoom: () => void kept.push("room"),
  };
  const moderation = await Moderation.open(store, []);
  const ban = {
    scope: "lobby",
    kind: "ban" as const,
    mask: "nick:mallory",
    by: "root",
    reason: "",
    until: null,
    at: 0,
  };
  moderation.heard({ kind: "ban", ban });
  assert.equal(moderation.find("lobby", "ban", at("10.0.0.1", "Mallory"))?.by, "root");
  moderation.heard({ kind: "unban", scope: "lobby", ban: "ban", mask: "nick:mallory" });
  assert.equal(moderation.find("lobby", "ban", at("10.0.0.1", "mallory")), null);
  const room = { key: "den", name: "den", owner: "alice", ops: [], topic: null };
  moderation.heard({ kind: "room", room });
  assert.equal(moderation.roleOf("alice", "den"), "owner");
  // Everything again (a node whose link came back): what is no longer there is gone.
  moderation.heard({ kind: "reset", state: { bans: [ban], rooms: [] } });
  assert.equal(moderation.roleOf("alice", "den"), null);
  assert.ok(moderation.find("lobby", "ban", at("10.0.0.1", "mallory")));
  assert.deepEqual(kept, []);
});
