// Registered nicks across a cluster: a node under Deno and a node under Bun share one real
// redis-server, and an account made on one is the same account on the other: refused to guests,
// proved, changed and dropped anywhere, throttled across nodes, taken back from a connection left
// behind, and kept across a restart of Redis with AOF, which registering needs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Json, LineMember, type RuntimeName, TestMember } from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { onceFree, startNode as startClusterNode, until } from "./_cluster.ts";

// With no grace, a greeting with a registered nick is refused at once, as these tests expect
// (cluster_identify_test.ts has the grace).
const startNode = (runtime: RuntimeName, redis: RedisServer) =>
  startClusterNode(runtime, redis, ["--identify-grace", "0"]);

// A member on `port` that sends a hello and reads the answer: a welcome, or an error's code.
async function hello(port: number, fields: Json): Promise<{ member: TestMember; answer: Json }> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", ...fields });
  const answer = await member.next("the answer to hello");
  assert.ok(answer !== null, "closed instead of answering hello");
  return { member, answer };
}

async function register(port: number, nick: string, password: string): Promise<TestMember> {
  const { member, answer } = await hello(port, { nick });
  assert.equal(answer.type, "welcome");
  member.send({ type: "register", password });
  await member.expect({
    type: "notice",
    text: `${nick} is registered to you; next time, /login ${nick} PASSWORD`,
  });
  return member;
}

test("cluster accounts: registered on Deno, refused, proved, changed and dropped on Bun", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  {
    await using _owner = await register(deno.port, "alice", "first-pw");
  }
  // A guest on the other node cannot have it, by hello, by /nick, or by greeting at nc.
  const { member: guest, answer: refused } = await hello(bun.port, { nick: "Alice" });
  await using _guest = guest;
  assert.equal(refused.code, "nick_registered");
  assert.match(String(refused.message), /The nick Alice is registered/);
  guest.send({ type: "hello", nick: "bob" });
  await guest.expect({ type: "welcome", nick: "bob" });
  guest.send({ type: "nick", nick: "alice" });
  await guest.expect({ type: "error", code: "nick_registered" });
  const greeted = await LineMember.connect(bun.port);
  await using _greeted = greeted;
  greeted.socket.write("alice connection...");
  await greeted.lines.waitFor(/^\*\*\* you are guest\d+ in /, "a guest nick");
  await greeted.lines.waitFor(
    "*** not alice: The nick alice is registered; give its password, or choose another",
    "the notice saying why",
  );

  // The password set on Deno proves it on Bun; a new one set on Bun is the one Deno knows.
  {
    const { member, answer } = await hello(bun.port, { nick: "alice", password: "first-pw" });
    await using _member = member;
    assert.equal(answer.nick, "alice");
    member.send({ type: "passwd", old: "first-pw", password: "second-pw" });
    await member.expect({ type: "notice", text: "the password of alice is changed" });
  }
  {
    const { member, answer } = await hello(deno.port, { nick: "alice", password: "first-pw" });
    await using _member = member;
    assert.equal(answer.code, "wrong_password");
    member.send({ type: "hello", nick: "alice", password: "second-pw" });
    await member.expect({ type: "welcome", nick: "alice" });
    member.send({ type: "unregister", password: "second-pw" });
    await member.expect({ type: "notice", text: "alice is no longer registered" });
  }
  // Dropped on Deno, and let go of there as its connection closed: free on Bun, to anyone.
  await onceFree(guest, { type: "nick", nick: "alice" }, {
    type: "nick",
    from: "bob",
    nick: "alice",
  });
});

test("cluster accounts: 3 wrong passwords on Deno, the 4th attempt on Bun is throttled", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  {
    await using _owner = await register(bun.port, "dave", "right-one");
  }
  const { member: guesser, answer } = await hello(deno.port, {
    nick: "dave",
    password: "wrong-1",
  });
  await using _guesser = guesser;
  assert.equal(answer.code, "wrong_password");
  for (const password of ["wrong-2", "wrong-3"]) {
    guesser.send({ type: "hello", nick: "dave", password });
    await guesser.expect({ type: "error", code: "wrong_password" });
  }
  // Another node, and even the right password: the account has had its 3 attempts this minute.
  const { member: other, answer: throttled } = await hello(bun.port, {
    nick: "dave",
    password: "right-one",
  });
  await using _other = other;
  assert.equal(throttled.code, "login_throttled");
  assert.match(String(throttled.message), /Too many password attempts; try again in \d+ s/);
});

test("cluster accounts: the password takes the nick back from a connection on the other node", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  // alice, identified on Deno, is left behind; cid watches from Bun.
  const old = await register(deno.port, "alice", "her-pw");
  await using _old = old;
  const { member: cid } = await hello(bun.port, { nick: "cid" });
  await using _cid = cid;
  await until(old, { type: "join", nick: "cid" });

  // A hello with the password on Bun: the new connection is alice, the old one a guest.
  const { member: fresh, answer } = await hello(bun.port, { nick: "alice", password: "her-pw" });
  await using _fresh = fresh;
  assert.equal(answer.type, "welcome");
  assert.equal(answer.nick, "alice");
  const told = await until(old, { type: "notice" });
  assert.match(
    String(told.text),
    /^your nick alice was taken by a connection that gave its password; you are now guest\d+$/,
  );
  const guest = String(told.text).split(" ").at(-1)!;
  await until(cid, { type: "nick", from: "alice", nick: guest });
  fresh.send({ type: "msg", to: "alice", text: "to whoever is alice now" });
  await until(fresh, { type: "msg", from: "alice", text: "to whoever is alice now" });

  // A plain /nick takes it from nobody, even for a connection that proved it once.
  old.send({ type: "nick", nick: "alice" });
  await until(old, { type: "error", code: "nick_taken" });

  // A person at nc takes it back on Deno with /login.
  const { member: line, nick: lineNick } = await LineMember.join(deno.port);
  await using _line = line;
  line.say("/login alice her-pw");
  await line.lines.waitFor(`*** ${lineNick} is now known as alice`, "the rename");
  await line.lines.waitFor("*** you are identified as alice", "the identification");
  await until(fresh, { type: "notice" });
  await until(cid, { type: "nick", from: lineNick, nick: "alice" });
});

test("cluster accounts: accounts outlive a restart of Redis with AOF", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  {
    await using _owner = await register(deno.port, "erin", "kept-pw");
  }
  const { member: watcher } = await hello(bun.port, { nick: "watcher" });
  await using _watcher = watcher;
  await redis.stop();
  await until(watcher, { type: "notice" }); // the link is down
  // Meanwhile a password cannot be checked: the member is told so, and the node goes on.
  {
    const { member, answer } = await hello(deno.port, { nick: "erin", password: "kept-pw" });
    await using _member = member;
    assert.equal(answer.code, "cluster_down");
    assert.match(String(answer.message), /accounts could not be reached/);
  }
  await redis.restart();
  await until(watcher, { type: "notice", text: "the link to the rest of the chat is back" });
  const { member: guest, answer } = await hello(bun.port, { nick: "erin" });
  await using _guest = guest;
  assert.equal(answer.code, "nick_registered");
  guest.send({ type: "hello", nick: "erin", password: "kept-pw" });
  await guest.expect({ type: "welcome", nick: "erin" });
});

test("cluster accounts: a Redis without an append-only file refuses registration with one line", async () => {
  await using redis = await RedisServer.start(false);
  await using bun = await startNode("bun", redis);
  const { member } = await LineMember.join(bun.port);
  await using _member = member;
  member.say("/register some-password");
  assert.equal(
    await member.lines.next("the refusal"),
    "*** Registration needs durable storage: this chat's Redis keeps no append-only file " +
      "(appendonly yes)",
  );
});
