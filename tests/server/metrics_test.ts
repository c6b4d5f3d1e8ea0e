import { test } from "node:test";
import assert from "node:assert/strict";
import { Histogram, Metrics, timedReads } from "../../server/metrics.ts";
import type { MessageStore, StoredMessage } from "../../server/history.ts";

const SAMPLE = /^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$/;
const none = { connections: new Map<string, number>(), rooms: 0, members: 0 };

test("Metrics renders every family with HELP and TYPE, and every sample as name{labels} value", () => {
  const metrics = new Metrics();
  metrics.accepted("ws", "native");
  metrics.closed("send_queue_full");
  metrics.messagesIn = 3;
  const text = metrics.render({ connections: new Map([["tcp line", 2]]), rooms: 1, members: 2 });
  assert.ok(text.endsWith("\n"));
  const lines = text.trimEnd().split("\n");
  for (const line of lines) {
    if (!line.startsWith("# ")) assert.match(line, SAMPLE);
  }
  const types = lines.filter((line) => line.startsWith("# TYPE "));
  assert.equal(lines.filter((line) => line.startsWith("# HELP ")).length, types.length);
  for (const type of types) {
    const [, , name, kind] = type.split(" ");
    assert.ok(name.startsWith("parley_"), name);
    if (kind === "counter") assert.ok(name.endsWith("_total"), `${name} is a counter`);
  }
  assert.ok(lines.includes('parley_connections{transport="tcp",mode="line"} 2'));
  assert.ok(lines.includes('parley_connections_accepted_total{transport="ws",mode="native"} 1'));
  assert.ok(lines.includes('parley_connections_closed_total{reason="send_queue_full"} 1'));
  assert.ok(lines.includes("parley_messages_received_total 3"));
  assert.ok(lines.includes("parley_rooms 1"));
  assert.ok(lines.includes("parley_members 2"));
});

test("Metrics counts accepted connections and closes by their labels", () => {
  const metrics = new Metrics();
  metrics.accepted("tcp", "line");
  metrics.accepted("tcp", "line");
  metrics.accepted("tls", "native");
  metrics.closed("flood");
  metrics.closed("flood");
  const lines = metrics.render(none).split("\n");
  assert.ok(lines.includes('parley_connections_accepted_total{transport="tcp",mode="line"} 2'));
  assert.ok(lines.includes('parley_connections_accepted_total{transport="tls",mode="native"} 1'));
  assert.ok(lines.includes('parley_connections_closed_total{reason="flood"} 2'));
});

test("Histogram counts cumulatively per bucket, with +Inf, sum and count", () => {
  const metrics = new Metrics();
  const h: Histogram = metrics.storeReadSeconds;
  h.observe(0.00005);
  h.observe(0.003);
  h.observe(5);
  const lines = metrics.render(none).split("\n");
  const sample = (suffix: string) =>
    Number(
      lines.find((line) => line.startsWith(`parley_history_store_read_seconds${suffix} `))!
        .split(" ")[1],
    );
  assert.equal(sample('_bucket{le="0.0001"}'), 1);
  assert.equal(sample('_bucket{le="0.001"}'), 1);
  assert.equal(sample('_bucket{le="0.005"}'), 2);
  assert.equal(sample('_bucket{le="1"}'), 2);
  assert.equal(sample('_bucket{le="+Inf"}'), 3);
  assert.equal(sample("_count"), 3);
  assert.ok(Math.abs(sample("_sum") - 5.00305) < 1e-9);
});

test("timedReads times the store's reads and passes every call through", () => {
  const calls: string[] = [];
  const message: StoredMessage = { id: 1, room: "lobby", from: "a", text: "hi", ts: 0 };
  const store: MessageStore = {
    epoch: "e1",
    append: () => calls.push("append"),
    lastId: () => (calls.push("lastId"), 7),
    reserve: (_key, _through, done) => (calls.push("reserve"), done()),
    release: () => calls.push("release"),
    last: () => (calls.push("last"), [message]),
    since: () => (calls.push("since"), []),
    oldestId: () => (calls.push("oldestId"), 3),
    prunedThrough: () => (calls.push("prunedThrough"), 2),
    close: () => calls.push("close"),
  };
  const metrics = new Metrics();
  const timed = timedReads(store, metrics.storeReadSeconds);
  timed.append("lobby", message);
  assert.equal(timed.lastId("lobby"), 7);
  let reserved = false;
  timed.reserve("lobby", 10, () => reserved = true);
  timed.release("lobby", 7);
  assert.deepEqual(timed.last("lobby", 5), [message]);
  assert.deepEqual(timed.since("lobby", 0, 5), []);
  assert.equal(timed.oldestId("lobby"), 3);
  assert.equal(timed.prunedThrough("lobby"), 2);
  assert.equal(timed.epoch, "e1");
  timed.close();
  assert.ok(reserved);
  assert.deepEqual(calls, [
    "append",
    "lastId",
    "reserve",
    "release",
    "last",
    "since",
    "oldestId",
    "prunedThrough",
    "close",
  ]);
  assert.equal(metrics.storeReadSeconds.count, 2);
});

test("Metrics escapes label values", () => {
  const metrics = new Metrics();
  metrics.closed('odd "reason"\\\n');
  assert.ok(
    metrics.render(none).includes(
      'parley_connections_closed_total{reason="odd \\"reason\\"\\\\\\n"} 1',
    ),
  );
});
