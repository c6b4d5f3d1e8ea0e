// Moderation across a cluster: a node under Deno (A) and a node under Bun (B) share one real
// redis-server (with an append-only file, which registering needs), and what an operator does on A
// holds for the members of B as it would on one server: bans by nick, account and address keep
// them out and put out those inside, a kick and a mute reach the member on the other node, a topic
// set on A greets joiners on B, a room claimed on A is run from B by its owner, a non-operator is
// refused, and bans and owners outlive a restart of both nodes and of Redis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { remainingLines, scriptCommand, Subprocess, TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { RedisCluster } from "./_redis_cluster.ts";
import { startNode, until } from "./_cluster.ts";
import { identified, temporaryDirectory } from "./_moderation.ts";
import { LineMember } from "./_helpers.ts";

const OPERATOR = ["--operator", "root"];

/** A native member that gives `nick`'s password in its hello (registered before). */
async function login(port: number, nick: string, room = "lobby"): Promise<TestMember> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", nick, room, password: `${nick}-password` });
  await member.expect({ type: "welcome", nick });
  return member;
}

test("cluster moderation: bans by nick, account and address made on A hold on B", async () => {
  await using redis = await RedisServer.start(true);
  await using a = await startNode("deno", redis, OPERATOR);
  await using b = await startNode("bun", redis, OPERATOR);
  await using root = await identified(a.port, "root");
  await using bob = await TestMember.join(b.port, "bob");
  await until(root, { type: "join", nick: "bob" });

  // A non-operator on B is refused, with the same words as on one server.
  bob.send({ type: "ban", mask: "root" });
  const refused = await bob.expect({ type: "error", code: "not_operator" });
  assert.equal(
    refused.message,
    "/ban is for operators of lobby: identify first (/identify PASSWORD)",
  );

  // By nick: bob, on B, is put out (lobby was its only room), and cannot come back to B.
  root.send({ type: "ban", mask: "bob", reason: "spam" });
  await until(root, { type: "notice", text: "root banned nick:bob (spam)" });
  await until(bob, {
    type: "error",
    code: "banned",
    message: "You are banned from lobby permanently (spam)",
  });
  await bob.untilClosed();
  await until(root, { type: "leave", nick: "bob" });
  {
    await using again = await TestMember.connect(b.port);
    again.send({ type: "hello", nick: "Bob" });
    await again.expect({ type: "error", code: "banned" });
    await again.untilClosed();
  }

  // By account: dave, registered on B, is put out of den and stays in lobby. Nor can he become bob.
  await using dave = await identified(b.port, "dave");
  dave.send({ type: "nick", nick: "bob" });
  await until(dave, {
    type: "error",
    code: "banned",
    message: "You cannot be bob: it is banned from lobby permanently (spam)",
  });
  dave.send({ type: "join", room: "den" });
  await until(dave, { type: "joined", room: "den" });
  root.send({ type: "join", room: "den" });
  await until(root, { type: "joined", room: "den" });
  root.send({ type: "ban", mask: "account:dave", room: "den" });
  await until(dave, { type: "notice", text: "root banned account:dave" });
  await until(dave, {
    type: "error",
    code: "banned",
    message: "You are banned from den permanently",
  });
  await until(dave, { type: "leave", nick: "dave", room: "den" });
  await until(root, { type: "leave", nick: "dave", room: "den" });
  dave.send({ type: "join", room: "den" });
  await until(dave, { type: "error", code: "banned" });

  // By address, server-wide: every non-operator of B is closed, and B turns new connections away.
  const { member: line } = await LineMember.join(b.port);
  await using _line = line;
  root.send({ type: "kline", mask: "127.0.0.0/8", reason: "closing time" });
  await until(root, {
    type: "notice",
    text: "127.0.0.0/8 is banned from this server (closing time)",
  });
  await until(dave, {
    type: "error",
    code: "banned",
    message: "You are banned from this server permanently (closing time)",
  });
  await dave.untilClosed();
  await line.lines.waitFor(
    "*** You are banned from this server permanently (closing time)",
    "the line member's ban",
  );
  const turned = await LineMember.connect(b.port);
  await using _turned = turned;
  assert.deepEqual(await remainingLines(turned.lines), [
    "*** You are banned from this server permanently (closing time)",
  ]);
  const audit = await a.stderr.waitFor("audit action=kline", "the audit line on A");
  assert.equal(
    audit,
    'audit action=kline by=root account=root target=127.0.0.0/8 reason="closing time"',
  );
});

test("cluster moderation: a kick and a mute from A reach members on B", async () => {
  await using redis = await RedisServer.start(true);
  await using a = await startNode("deno", redis, OPERATOR);
  await using b = await startNode("bun", redis, OPERATOR);
  await using root = await identified(a.port, "root");
  await using carol = await TestMember.join(b.port, "carol");
  await until(root, { type: "join", nick: "carol" });

  // The terminal client on B, kicked by root on A: told why, and it does not come back.
  await using client = new Subprocess(
    scriptCommand("bun", "client.ts", ["127.0.0.1", String(b.port), "--nick", "bob"]),
  );
  await until(root, { type: "join", nick: "bob" });
  root.send({ type: "kick", nick: "bob", reason: "cool off" });
  assert.equal(await client.exitCode(), 1);
  assert.deepEqual(await remainingLines(client.stderr), [
    "client: You were kicked from lobby by root (cool off)",
  ]);
  // The room hears it once, on both nodes, before bob's leave.
  await until(carol, { type: "notice", text: "bob was kicked by root (cool off)" });
  await carol.expect({ type: "leave", nick: "bob" });
  await until(root, { type: "notice", text: "bob was kicked by root (cool off)" });
  await root.expect({ type: "leave", nick: "bob" });
  assert.match(
    await a.stderr.waitFor("audit action=kick", "the audit line"),
    /^audit action=kick room=lobby by=root account=root target=bob reason="cool off"$/,
  );
  // Nobody by that name anywhere: the operator is told.
  root.send({ type: "kick", nick: "bob" });
  await until(root, {
    type: "error",
    code: "no_such_nick",
    message: "Nobody in lobby is called bob",
  });

  // Kicked from den, one of her two rooms, carol (on B) leaves den only.
  root.send({ type: "join", room: "den" });
  await until(root, { type: "joined", room: "den" });
  carol.send({ type: "join", room: "den" });
  await until(root, { type: "join", nick: "carol", room: "den" });
  root.send({ type: "kick", nick: "carol", room: "den" });
  await until(carol, {
    type: "error",
    code: "kicked",
    message: "You were kicked from den by root",
  });
  await carol.expect({ type: "leave", nick: "carol", room: "den" });
  await until(root, { type: "leave", nick: "carol", room: "den" });

  // A mute of carol, on B: her messages are refused there, and nobody hears them.
  root.send({ type: "mute", nick: "carol", room: "lobby" });
  await until(carol, { type: "notice", text: "root muted nick:carol" });
  await until(root, { type: "notice", text: "root muted nick:carol" });
  carol.send({ type: "msg", text: "can you hear me" });
  await carol.expect({
    type: "error",
    code: "muted",
    message: "You are muted in lobby permanently: nobody hears you there",
  });
  // The mute follows her connection on B, whatever she is called.
  carol.send({ type: "nick", nick: "cora" });
  await until(carol, { type: "nick", from: "carol", nick: "cora" });
  carol.send({ type: "msg", text: "and now" });
  await carol.expect({ type: "error", code: "muted" });
  root.send({ type: "unmute", nick: "cora", room: "lobby" });
  await until(carol, { type: "notice", text: "root lifted the mute of nick:carol" });
  carol.send({ type: "msg", text: "back" });
  await until(root, { type: "msg", from: "cora", text: "back" });
});

test("cluster moderation: a room claimed on A is run from B; its topic greets joiners on B", async () => {
  await using redis = await RedisServer.start(true);
  using dir = temporaryDirectory();
  const motd = path.join(dir.path, "motd.txt");
  writeFileSync(motd, "Welcome to B.\n");
  await using a = await startNode("deno", redis, OPERATOR);
  await using b = await startNode("bun", redis, [...OPERATOR, "--motd", motd]);
  {
    await using alice = await identified(a.port, "alice", "den");
    alice.send({ type: "claim" });
    await until(alice, { type: "notice", text: "alice claimed den: alice owns it" });
  }
  await using carol = await identified(a.port, "carol", "den");
  await using alice = await login(b.port, "alice", "den");
  // The owner, on B, makes carol (on A) an operator; carol sets the topic from A.
  alice.send({ type: "op", nick: "carol" });
  await until(carol, { type: "notice", text: "alice made carol an operator of den" });
  await until(alice, { type: "notice", text: "alice made carol an operator of den" });
  carol.send({ type: "topic", text: "tea at four" });
  await until(alice, { type: "notice", text: "carol set the topic of den: tea at four" });
  carol.send({ type: "msg", text: "hello all" });
  await until(alice, { type: "msg", from: "carol", text: "hello all" });
  // Someone else is refused, saying the room is alice's.
  await using eve = await identified(b.port, "eve", "den");
  eve.send({ type: "topic", text: "mine now" });
  const refused = await until(eve, { type: "error", code: "not_operator" });
  assert.equal(refused.message, "/topic is for operators of den: you (eve) are not one");
  eve.send({ type: "claim" });
  await until(eve, { type: "error", code: "already_claimed" });

  // Joining den on B: the welcome, B's message of the day, the topic, then the history.
  await using dan = await TestMember.connect(b.port);
  dan.send({ type: "hello", nick: "dan", room: "den" });
  await dan.expect({ type: "welcome", nick: "dan", room: "den" });
  await dan.expect({ type: "notice", text: "Welcome to B." });
  await dan.expect({ type: "notice", text: "topic of den: tea at four (set by carol)" });
  await dan.expect({ type: "msg", from: "carol", text: "hello all" });
});

test("cluster moderation: bans and owners outlive a restart of both nodes and of Redis", async () => {
  await using redis = await RedisServer.start(true);
  {
    await using a = await startNode("deno", redis, OPERATOR);
    await using root = await identified(a.port, "root");
    await using alice = await identified(a.port, "alice");
    alice.send({ type: "join", room: "den" });
    await until(alice, { type: "joined", room: "den" });
    alice.send({ type: "claim" });
    await until(alice, { type: "notice", text: "alice claimed den: alice owns it" });
    root.send({ type: "ban", mask: "mallory", reason: "again" });
    await until(root, { type: "notice", text: "root banned nick:mallory (again)" });
  }
  await redis.stop();
  await redis.restart();
  await using a = await startNode("deno", redis, OPERATOR);
  await using b = await startNode("bun", redis, OPERATOR);
  for (const node of [a, b]) {
    await using mallory = await TestMember.connect(node.port);
    mallory.send({ type: "hello", nick: "mallory" });
    await mallory.expect({
      type: "error",
      code: "banned",
      message: "You are banned from lobby permanently (again)",
    });
    await mallory.untilClosed();
  }
  await using alice = await login(b.port, "alice", "den");
  await using carol = await identified(a.port, "carol", "den");
  await until(alice, { type: "join", nick: "carol" });
  alice.send({ type: "op", nick: "carol" });
  await until(carol, { type: "notice", text: "alice made carol an operator of den" });
});

test("cluster moderation: a ban made while a node's link was down holds there once it is back", async () => {
  await using redis = await RedisServer.start(true);
  // A lease long enough that B, held up below, is not taken for dead meanwhile.
  const args = [...OPERATOR, "--redis-lease", "10"];
  await using a = await startNode("deno", redis, args);
  await using b = await startNode("bun", redis, args);
  await using root = await identified(a.port, "root");
  await using bob = await TestMember.join(b.port, "bob");
  await until(root, { type: "join", nick: "bob" });

  // While B is held up, Redis drops every subscriber: B misses what is published until it is back.
  let banned: Promise<unknown> = Promise.resolve();
  await b.holdUp(2000, () => {
    banned = (async () => {
      await using kill = new Subprocess(
        ["redis-cli", "-p", String(redis.port), "CLIENT", "KILL", "TYPE", "pubsub"],
      );
      await kill.exitCode();
      await until(root, { type: "notice", text: "the link to the rest of the chat is back" });
      root.send({ type: "ban", mask: "bob", reason: "missed" });
      await until(root, { type: "notice", text: "root banned nick:bob (missed)" });
    })();
  });
  await banned;
  await until(bob, {
    type: "error",
    code: "banned",
    message: "You are banned from lobby permanently (missed)",
  });
  await bob.untilClosed();
  await using again = await TestMember.connect(b.port);
  again.send({ type: "hello", nick: "bob" });
  await again.expect({ type: "error", code: "banned" });
});

test("cluster moderation: on a Redis Cluster, a ban and a kick from A reach members on B", async () => {
  await using redis = await RedisCluster.start();
  // Registering needs an append-only file: these shards start without one.
  for (const port of redis.ports) redis.cli(port, "CONFIG", "SET", "appendonly", "yes");
  const args = ["--redis-cluster", ...OPERATOR];
  await using a = await startNode("deno", redis, args);
  await using b = await startNode("bun", redis, args);
  await using root = await identified(a.port, "root");
  await using bob = await TestMember.join(b.port, "bob");
  await using carol = await TestMember.join(b.port, "carol");
  await until(root, { type: "join", nick: "carol" });
  root.send({ type: "ban", mask: "bob" });
  // The ban's change and its notice come over two shards: bob is put out all the same.
  await until(carol, { type: "notice", text: "root banned nick:bob" });
  await carol.expect({ type: "leave", nick: "bob" });
  await until(bob, { type: "error", code: "banned" });
  await bob.untilClosed();
  root.send({ type: "kick", nick: "carol", reason: "bye" });
  await until(carol, {
    type: "error",
    code: "kicked",
    message: "You were kicked from lobby by root (bye)",
  });
  await carol.untilClosed();
  await until(root, { type: "notice", text: "carol was kicked by root (bye)" });
});
