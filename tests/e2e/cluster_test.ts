// Several servers, one chat: nodes under Deno and Bun share rooms, order, ids and nicks through a
// real redis-server, and members of every kind on every node see the same thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Json,
  LegacyMember,
  LineMember,
  LOOPBACK_ARGS,
  type RuntimeName,
  ServerProcess,
  TestMember,
  within,
} from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";

// A short lease, so that a dead node's members are gone within seconds.
const LEASE_S = 1;

function startNode(runtime: RuntimeName, redis: RedisServer, args: string[] = []) {
  return ServerProcess.start(runtime, [
    ...LOOPBACK_ARGS,
    "--quiet",
    "--rate",
    "0",
    "--redis",
    redis.url,
    "--redis-lease",
    String(LEASE_S),
    ...args,
  ]);
}

async function joinEcho(port: number, nick: string, extra: Json = {}): Promise<TestMember> {
  const member = await TestMember.connect(port);
  member.send({ type: "hello", nick, echo: true, ...extra });
  await member.expect({ type: "welcome", nick });
  return member;
}

// The room's messages a member receives until `count` have come, as "from:text#id".
async function messages(member: TestMember, count: number): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < count) {
    const message = await member.next(`message ${seen.length + 1} of ${count}`);
    if (message === null) throw new Error(`closed after ${seen.length} messages`);
    if (message.type === "msg") seen.push(`${message.from}:${message.text}#${message.id}`);
  }
  return seen;
}

test("cluster: members of every kind on a Deno and a Bun node see one order", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await using cid = await joinEcho(deno.port, "cid");
  await using dee = await joinEcho(bun.port, "dee");
  const { member: line, nick: lineNick } = await LineMember.join(bun.port);
  await using _line = line;
  await using legacy = await LegacyMember.connect(deno.port, "leg");
  await legacy.waitFor("*", /leg/);
  // Everyone is in before anyone speaks: the last join, seen by the first member.
  for (let seen = await ann.next(); seen?.nick !== "leg"; seen = await ann.next());

  const senders: Array<[TestMember, string]> = [[ann, "ann"], [bea, "bea"], [cid, "cid"]];
  const PER_SENDER = 40;
  for (let i = 0; i < PER_SENDER; i++) {
    for (const [member, nick] of senders) member.send({ type: "msg", text: `${nick} ${i}` });
  }
  const total = senders.length * PER_SENDER;
  const [a, b, c, d] = await Promise.all([ann, bea, cid, dee].map((m) => messages(m, total)));
  assert.deepEqual(b, a, "bea (Bun) sees ann's (Deno) order");
  assert.deepEqual(c, a);
  assert.deepEqual(d, a);
  const ids = a.map((entry) => Number(entry.split("#")[1]));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), "ids rise");
  assert.equal(new Set(ids).size, total, "each message once");
  // The line member (Bun) and the legacy member (Deno) see the same order, in their own words.
  const texts = a.map((entry) => entry.split("#")[0]);
  const lineSeen: string[] = [];
  while (lineSeen.length < total) {
    const got = await line.lines.next("a line");
    const match = got?.match(/^<(\w+)> (.*)$/);
    if (match) lineSeen.push(`${match[1]}:${match[2]}`);
  }
  assert.deepEqual(lineSeen, texts, `${lineNick} sees the same order`);
  const legacySeen: string[] = [];
  while (legacySeen.length < total) {
    const pair = await legacy.next();
    if (pair && pair[0] !== "*") legacySeen.push(`${pair[0]}:${pair[1]}`);
  }
  assert.deepEqual(legacySeen, texts, "the legacy member sees the same order");
});

test("cluster: many members asking for one nick on two nodes at once: exactly one wins", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  const members = await Promise.all(
    Array.from({ length: 12 }, (_, i) => TestMember.connect(i % 2 ? bun.port : deno.port)),
  );
  try {
    // Look-alikes count as the same nick.
    const asked = ["zed", "ZED", "Zed", "zeԁ"];
    members.forEach((member, i) => member.send({ type: "hello", nick: asked[i % asked.length] }));
    const answers = await Promise.all(members.map((member) => member.next("the answer")));
    const won = answers.filter((answer) => answer?.type === "welcome");
    const lost = answers.filter((answer) => answer?.code === "nick_taken");
    assert.equal(won.length, 1, JSON.stringify(answers));
    assert.equal(lost.length, members.length - 1);
  } finally {
    for (const member of members) await member[Symbol.asyncDispose]();
  }
});

test("cluster: a node killed with SIGKILL: its members leave everywhere, its nicks are free", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  const bun = await startNode("bun", redis);
  await using _bun = bun;
  await using ann = await joinEcho(deno.port, "ann");
  await using _bea = await joinEcho(bun.port, "bea", { room: "den" });
  ann.send({ type: "join", room: "den" });
  await ann.expect({ type: "joined", room: "den" });
  bun.child.kill("SIGKILL");
  await bun.exited;
  const started = Date.now();
  // Within 4/3 of the lease, plus the time to notice.
  const leave = await within(
    (async () => {
      for (let m = await ann.next(); m; m = await ann.next()) if (m.type === "leave") return m;
    })(),
    "bea's leave",
    LEASE_S * 1000 * 4 / 3 + 3000,
  );
  assert.deepEqual(leave, { type: "leave", nick: "bea", room: "den" });
  assert.ok(Date.now() - started < LEASE_S * 1000 * 4 / 3 + 3000);
  await using bea = await joinEcho(deno.port, "bea");
  await ann.expect({ type: "join", nick: "bea", room: "lobby" });
  ann.send({ type: "who", room: "den" });
  assert.deepEqual(await ann.expect({ type: "who" }), {
    type: "who",
    room: "den",
    members: ["ann"],
  });
  void bea;
});
