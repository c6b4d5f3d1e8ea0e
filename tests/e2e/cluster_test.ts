// Several servers, one chat: nodes under Deno and Bun share rooms, order, ids and nicks through a
// real redis-server, and members of every kind on every node see the same thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LegacyMember,
  LineMember,
  RUNTIMES,
  scriptCommand,
  Subprocess,
  TestMember,
  within,
} from "./_helpers.ts";
import { RedisServer } from "./_redis.ts";
import { joinEcho, LEASE_S, onceFree, startNode, until } from "./_cluster.ts";
import { execFileSync } from "node:child_process";

// What members are told when their node loses Redis, and when it is back.
const DOWN =
  "this server has lost its link to the rest of the chat; messages cannot be sent until it is back";
const BACK = "the link to the rest of the chat is back";

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

test("cluster: Redis restarted during traffic, with AOF: nothing lost or doubled", async () => {
  await using redis = await RedisServer.start(true);
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await using cid = await joinEcho(deno.port, "cid");
  await ann.expect({ type: "join", nick: "bea" });
  await ann.expect({ type: "join", nick: "cid" });
  await bea.expect({ type: "join", nick: "cid" });
  const echoed: string[] = [];
  const refused: string[] = [];
  const notices: string[] = [];
  const churn: string[] = [];
  // Sends one message and reads until its echo or its refusal.
  const send = async (text: string) => {
    ann.send({ type: "msg", text });
    for (;;) {
      const got = await ann.next(`the echo of ${text}, or an error`);
      if (got === null) throw new Error("ann was disconnected");
      if (got.type === "notice") notices.push(String(got.text));
      if (got.type === "join" || got.type === "leave") churn.push(`ann: ${JSON.stringify(got)}`);
      if (got.type === "msg") echoed.push(String(got.text));
      if (got.type === "msg" && got.text === text) return;
      if (got.type === "error") {
        assert.equal(got.code, "cluster_down");
        refused.push(text);
        return;
      }
    }
  };
  let i = 0;
  while (i < 15) await send(`m${i++}`);
  // bea keeps talking on the other node while Redis goes away and comes back.
  const talking = (async () => {
    for (let b = 0; b < 40; b++) {
      bea.send({ type: "msg", text: `b${b}` });
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  await redis.stop();
  while (refused.length < 3) await send(`m${i++}`);
  // Down for longer than a lease: every node's presence runs out, and none may take another for
  // dead once Redis is back.
  await new Promise((resolve) => setTimeout(resolve, LEASE_S * 1500));
  await redis.restart();
  while (!notices.includes(BACK)) {
    const got = await ann.next("the link to come back");
    if (got?.type === "notice") notices.push(String(got.text));
    if (got?.type === "msg") echoed.push(String(got.text));
  }
  while (i < 60) await send(`m${i++}`);
  await talking;
  ann.send({ type: "msg", text: "end" });
  const readUntilEnd = async (member: TestMember) => {
    const seen: string[] = [];
    const told: string[] = [];
    for (;;) {
      const got = await member.next("the end");
      if (got === null) throw new Error("disconnected");
      if (got.type === "notice") told.push(String(got.text));
      if (got.type === "join" || got.type === "leave") churn.push(JSON.stringify(got));
      if (got.type !== "msg") continue;
      if (got.text === "end") return { seen, told };
      seen.push(String(got.text));
    }
  };
  const annRest = await readUntilEnd(ann);
  const all = [...echoed, ...annRest.seen];
  for (let m = 0; m < 60; m++) {
    if (!refused.includes(`m${m}`)) assert.ok(all.includes(`m${m}`), `m${m} was not refused`);
  }
  assert.equal(new Set(all).size, all.length, "nothing doubled");
  assert.ok(refused.length >= 3);
  for (const member of [bea, cid]) {
    const { seen, told } = await readUntilEnd(member);
    assert.deepEqual(seen, all, "every node's members see what the sender saw, once, in order");
    assert.deepEqual(told, [DOWN, BACK]);
  }
  assert.deepEqual([...notices, ...annRest.told], [DOWN, BACK]);
  assert.deepEqual(churn, [], "nobody left or joined meanwhile");
});

test("cluster: a client moved to another node catches up exactly once", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  const ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await ann.expect({ type: "join", nick: "bea" });
  bea.send({ type: "msg", text: "one" });
  const one = await ann.expect({ type: "msg", text: "one" });
  await ann[Symbol.asyncDispose]();
  await bea.expect({ type: "msg", text: "one" });
  await bea.expect({ type: "leave", nick: "ann" });
  bea.send({ type: "msg", text: "two" });
  bea.send({ type: "msg", text: "three" });
  await bea.expect({ type: "msg", text: "two" });
  await bea.expect({ type: "msg", text: "three" });
  // Her old node lets go of her nick a round trip after bea saw her leave: till then, refused.
  await using moved = await TestMember.connect(bun.port);
  const hello = { type: "hello", nick: "ann", echo: true, since: one.id };
  await onceFree(moved, hello, { type: "welcome", nick: "ann" });
  bea.send({ type: "msg", text: "four" });
  const seen = await messages(moved, 3);
  assert.deepEqual(seen.map((entry) => entry.split("#")[0]), ["bea:two", "bea:three", "bea:four"]);
  moved.send({ type: "ping" });
  const after = await moved.next();
  assert.deepEqual(after, { type: "pong" }, "nothing more, nothing twice");
  // Whoever joins anywhere else gets the room's last messages as history, then the live ones.
  await using cat = await joinEcho(deno.port, "cat");
  cat.send({ type: "ping" });
  const history: string[] = [];
  for (let got = await cat.next(); got?.type !== "pong"; got = await cat.next()) {
    assert.equal(got?.history, true);
    history.push(String(got?.text));
  }
  assert.deepEqual(history, ["one", "two", "three", "four"]);
});

test("cluster: a room only another node serves, /who, /rooms and private messages", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using bea = await joinEcho(bun.port, "bea", { room: "attic" });
  bea.send({ type: "msg", text: "first" });
  await bea.expect({ type: "msg", text: "first" });
  const { member: line, nick } = await LineMember.join(deno.port);
  await using _line = line;
  line.say("/join attic");
  await line.lines.waitFor(/<bea> first$/, "the attic's history");
  await bea.expect({ type: "join", nick, room: "attic" });
  bea.send({ type: "msg", text: "second" });
  await line.lines.waitFor("<bea> second");
  line.say("hello bea");
  await bea.expect({ type: "msg", from: "bea", text: "second" });
  await bea.expect({ type: "msg", from: nick, room: "attic", text: "hello bea" });
  line.say("/who attic");
  await line.lines.waitFor(`*** in attic: bea, ${nick}`);
  line.say("/rooms");
  await line.lines.waitFor("*** rooms: attic (2), lobby (1)");
  bea.send({ type: "msg", to: nick, text: "psst" });
  await line.lines.waitFor("*bea* psst");
  await bea.expect({ type: "msg", from: "bea", to: nick, text: "psst" });
  line.say("/msg bea back");
  await bea.expect({ type: "msg", from: nick, to: "bea", text: "back" });
  line.say("/msg nobody hi");
  await line.lines.waitFor(/nobody/);
});

test("cluster: subscribers dropped by Redis mid-burst recover what they missed from the streams", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await using cid = await joinEcho(deno.port, "cid");
  await using dee = await joinEcho(bun.port, "dee");
  for (const nick of ["bea", "cid", "dee"]) await ann.expect({ type: "join", nick });
  // Each member's messages until both ends are in; the ends are sent again until accepted.
  const readAll = async (member: TestMember, me: string | null) => {
    const seen: string[] = [];
    let ends = 0;
    while (ends < 2) {
      const got = await member.next("the ends");
      if (got === null) throw new Error("disconnected");
      if (got.type === "error" && me) member.send({ type: "msg", text: `end ${me}` });
      if (got.type !== "msg") continue;
      if (String(got.text).startsWith("end ")) ends++;
      else seen.push(`${got.from}:${got.text}#${got.id}`);
    }
    return seen;
  };
  const reading = [
    readAll(ann, "ann"),
    readAll(bea, "bea"),
    readAll(cid, null),
    readAll(dee, null),
  ];
  for (let i = 0; i < 150; i++) {
    ann.send({ type: "msg", text: `a${i}` });
    bea.send({ type: "msg", text: `b${i}` });
    // Redis drops every subscriber, as it does one that falls too far behind.
    if (i === 75) {
      execFileSync("redis-cli", ["-p", String(redis.port), "client", "kill", "type", "pubsub"]);
    }
  }
  ann.send({ type: "msg", text: "end ann" });
  bea.send({ type: "msg", text: "end bea" });
  const [a, b, c, d] = await Promise.all(reading);
  assert.ok(a.length > 150, `most messages went through (${a.length})`);
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  assert.deepEqual(d, a);
  assert.equal(new Set(a).size, a.length);
});

test("cluster: a node stopped with SIGTERM: its members leave at once, and it exits 0", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  const bun = await startNode("bun", redis);
  await using _bun = bun;
  await using ann = await joinEcho(deno.port, "ann");
  const { member: line, nick } = await LineMember.join(bun.port);
  await using _line = line;
  await ann.expect({ type: "join", nick });
  assert.equal(await bun.stop(), 0);
  // Well before any lease could run out.
  await within(ann.expect({ type: "leave", nick }), "the leave", LEASE_S * 1000 / 2);
  await using again = await joinEcho(deno.port, nick);
  void again;
});

for (const runtime of RUNTIMES) {
  test(`cluster [${runtime}]: a node that cannot reach Redis says so in one line, exit 5`, async () => {
    await using redis = await RedisServer.start();
    const port = redis.port;
    await redis.stop();
    const args = ["--port", "0", "--redis", `redis://127.0.0.1:${port}`];
    await using server = new Subprocess(scriptCommand(runtime, "server.ts", args));
    assert.equal(await server.exitCode(), 5);
    assert.equal(
      await server.stderr.next(),
      `server: cannot reach Redis at redis://127.0.0.1:${port}: connection refused`,
    );
    assert.equal(await server.stderr.next(), null);
  });
}

test("cluster: a node frozen past its lease: its members are swept, then join again, renamed if need be", async () => {
  await using redis = await RedisServer.start();
  await using deno = await startNode("deno", redis);
  await using bun = await startNode("bun", redis);
  await using ann = await joinEcho(deno.port, "ann");
  await using bea = await joinEcho(bun.port, "bea");
  await ann.expect({ type: "join", nick: "bea" });
  await bun.holdUp(LEASE_S * 1000 * 3);
  // While it was frozen, ann saw bea leave; now someone else takes the nick before it can.
  await ann.expect({ type: "leave", nick: "bea" });
  await using usurper = await joinEcho(deno.port, "bea");
  const notice = await until(bea, { type: "notice" });
  assert.match(String(notice.text), /^your nick bea was taken .*; you are now guest\d+$/);
  const renamed = await until(bea, { type: "nick", from: "bea" });
  const guest = String(renamed.nick);
  await ann.expect({ type: "join", nick: "bea" });
  await until(ann, { type: "join", nick: guest });
  bea.send({ type: "msg", text: "back" });
  await until(ann, { type: "msg", from: guest, text: "back" });
  void usurper;
});
