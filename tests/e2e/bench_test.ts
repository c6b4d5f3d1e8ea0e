// The benchmark tool: its pieces driven directly (stamps, stream scanners, delivery accounting,
// the latency histogram), then bench.ts itself run with tiny workloads against real Parley servers
// on each runtime, whose JSON report must show every message delivered once and in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { DeliveryTracker } from "../../bench/delivery_tracker.ts";
import { Histogram } from "../../bench/histogram.ts";
import {
  benchNick,
  locateText,
  parleyMessage,
  readStamp,
  redisMessage,
  STAMP_BYTES,
  textTemplate,
} from "../../bench/payload.ts";
import { FrameScanner, RespScanner } from "../../bench/scanners.ts";
import {
  Inbox,
  ROOT,
  runtimeBinary,
  RUNTIMES,
  scriptCommand,
  Subprocess,
  within,
  writeAll,
  writeByteByByte,
} from "./_helpers.ts";
import { frame } from "../_frames.ts";

const ascii = new TextEncoder();
const text = new TextDecoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

test("bench stamp: a message's text carries its sender, sequence and time at fixed places", () => {
  const template = parleyMessage(42, 64);
  const bytes = template.stamp(7, 3, 123_456_789);
  const one = bytes.length / 3;
  for (let i = 0; i < 3; i++) {
    const payload = bytes.subarray(i * one + 4, (i + 1) * one);
    const message = JSON.parse(text.decode(payload));
    assert.equal(message.type, "msg");
    assert.equal(ascii.encode(message.text).length, 64);
    assert.deepEqual(readStamp(ascii.encode(message.text), 0), {
      sender: 42,
      seq: 7 + i,
      timeUs: 123_456_789,
    });
    assert.equal(new DataView(bytes.buffer, i * one).getUint32(0), one - 4);
  }
  assert.throws(() => textTemplate(0, STAMP_BYTES - 1), /at least 30/);
});

test("bench locateText finds the text of a relayed msg whatever comes before it", () => {
  const stamped = text.decode(textTemplate(999_999, 40));
  const frames = [
    { type: "msg", from: benchNick(7), room: "bench", text: stamped, ts: 1795319154851 },
    { type: "msg", id: 1, from: benchNick(0), room: "bench", text: stamped, ts: 1 },
    { type: "msg", id: 123456, from: benchNick(0), room: 'a"text":"', text: stamped, ts: 1 },
  ].map((message) => ascii.encode(`xx${JSON.stringify(message)}`));
  let guess = 0;
  for (const bytes of frames) {
    const at = locateText(bytes, 2, bytes.length, guess);
    assert.equal(text.decode(bytes.subarray(at, at + 40)), stamped);
    guess = at - 2;
    // Found again at once from where it was.
    assert.equal(locateText(bytes, 2, bytes.length, guess), at);
  }
  assert.equal(locateText(ascii.encode('{"type":"join"}'), 0, 15, 0), -1);
});

test("bench stamp: a PUBLISH command carries the text as its last argument", () => {
  const command = text.decode(redisMessage(3, 32, "bench").stamp(5, 1, 99));
  const lines = command.split("\r\n");
  assert.deepEqual(lines.slice(0, 6), ["*3", "$7", "PUBLISH", "$5", "bench", "$32"]);
  assert.deepEqual(readStamp(ascii.encode(lines[6]), 0), { sender: 3, seq: 5, timeUs: 99 });
});

function scanFrames(chunks: Uint8Array[]): string[] {
  const payloads: string[] = [];
  const scanner = new FrameScanner((bytes, start, end) => {
    payloads.push(text.decode(bytes.subarray(start, end)));
  });
  for (const chunk of chunks) scanner.push(chunk);
  assert.equal(scanner.pendingBytes, 0);
  return payloads;
}

test("bench FrameScanner finds every frame whatever the split point", () => {
  const messages = [{ type: "join", nick: "a" }, { type: "msg", text: "x".repeat(300) }, {
    type: "ping",
  }];
  const stream = concat(...messages.map(frame));
  const expected = messages.map((message) => JSON.stringify(message));
  for (let split = 0; split <= stream.length; split++) {
    assert.deepEqual(
      scanFrames([stream.subarray(0, split), stream.subarray(split)]),
      expected,
      `split at ${split}`,
    );
  }
});

test("bench FrameScanner finds every frame across any three reads", () => {
  const messages = [{ type: "a" }, { type: "msg", text: "x".repeat(40) }, { type: "b" }];
  const stream = concat(...messages.map(frame));
  const expected = messages.map((message) => JSON.stringify(message));
  for (let first = 0; first <= stream.length; first++) {
    for (let second = first; second <= stream.length; second++) {
      const reads = [
        stream.subarray(0, first),
        stream.subarray(first, second),
        stream.subarray(second),
      ];
      assert.deepEqual(scanFrames(reads.filter((read) => read.length > 0)), expected);
    }
  }
});

test("bench FrameScanner takes a stream one byte at a time", () => {
  const stream = concat(frame({ type: "a" }), frame({ type: "b".repeat(1000) }));
  const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
  assert.deepEqual(scanFrames(bytes), ['{"type":"a"}', `{"type":"${"b".repeat(1000)}"}`]);
});

function scanReplies(chunks: Uint8Array[]): string[] {
  const replies: string[] = [];
  const scanner = new RespScanner((bytes, type, firstStart, firstEnd, lastStart, lastEnd) => {
    const first = text.decode(bytes.subarray(firstStart, firstEnd));
    const last = text.decode(bytes.subarray(lastStart, lastEnd));
    replies.push(`${String.fromCharCode(type)} ${first} ${last}`);
  });
  for (const chunk of chunks) scanner.push(chunk);
  return replies;
}

test("bench RespScanner finds every reply whatever the split point", () => {
  const stream = ascii.encode(
    "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n" +
      "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$12\r\nhello\r\nworld\r\n" +
      ":4\r\n+PONG\r\n-ERR unknown command\r\n",
  );
  const expected = [
    "* subscribe 1",
    "* message hello\r\nworld",
    ": 4 4",
    "+ PONG PONG",
    "- ERR unknown command ERR unknown command",
  ];
  for (let split = 0; split <= stream.length; split++) {
    assert.deepEqual(
      scanReplies([stream.subarray(0, split), stream.subarray(split)]),
      expected,
      `split at ${split}`,
    );
  }
  assert.deepEqual(scanReplies(Array.from(stream, (byte) => Uint8Array.of(byte))), expected);
});

/** Delivers (sender, seq) to `receiver`, stamped at time 0 and received at `nowUs`. */
function deliver(
  tracker: DeliveryTracker,
  receiver: number,
  sender: number,
  seq: number,
  nowUs = 0,
) {
  const stamped = parleyMessage(sender, 40).stamp(seq, 1, 0);
  tracker.deliver(receiver, stamped, parleyMessage(sender, 40).textAt, nowUs);
}

test("bench DeliveryTracker counts lost, duplicated and out-of-order deliveries exactly", () => {
  const tracker = new DeliveryTracker({
    members: 2,
    messagesPerMember: 6,
    echoes: false,
    window: 0,
  });
  // Member 1 hears member 0's 0, 2, 1, 1, 4: 1 came late, the second 1 is a duplicate, 3 and 5
  // never came.
  for (const seq of [0, 2, 1, 1, 4]) deliver(tracker, 1, 0, seq);
  // Member 0 hears all of member 1's, and then its own, which Parley never sends back.
  for (let seq = 0; seq < 6; seq++) deliver(tracker, 0, 1, seq);
  deliver(tracker, 0, 0, 0);
  assert.equal(tracker.outOfOrder, 1);
  assert.equal(tracker.duplicated, 1);
  assert.equal(tracker.lost(), 2);
  assert.equal(tracker.unexpected, 1);
  assert.equal(tracker.unique, 10);
  assert.equal(tracker.expected, 12);
  assert.equal(tracker.done, false);
});

test("bench DeliveryTracker completes a message once every receiver has it, in order", () => {
  const tracker = new DeliveryTracker({
    members: 3,
    messagesPerMember: 4,
    echoes: true,
    window: 2,
  });
  const completions: number[] = [];
  tracker.onComplete = (sender) => completions.push(tracker.completed[sender]);
  let done = false;
  tracker.onDone = () => done = true;
  for (const receiver of [0, 1, 2]) deliver(tracker, receiver, 0, 1); // 1 before 0: not yet
  assert.deepEqual(completions, []);
  for (const receiver of [0, 1]) deliver(tracker, receiver, 0, 0);
  assert.deepEqual(completions, []);
  deliver(tracker, 2, 0, 0); // 0 complete, and 1 with it
  assert.deepEqual(completions, [2]);
  for (const seq of [2, 3]) for (const receiver of [0, 1, 2]) deliver(tracker, receiver, 0, seq);
  assert.deepEqual(completions, [2, 3, 4]);
  assert.equal(done, false);
  for (const sender of [1, 2]) {
    for (let seq = 0; seq < 4; seq++) for (const r of [0, 1, 2]) deliver(tracker, r, sender, seq);
  }
  assert.equal(done, true);
  assert.equal(tracker.lost(), 0);
  assert.equal(tracker.outOfOrder, 3); // each receiver had 0 after 1
});

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

// ---- bench.ts end to end

interface Report {
  results: Array<{
    target: string;
    mode: string;
    median: Record<string, unknown> & { latencyMs: Record<string, number> };
  }>;
}

const BENCH_TIMEOUT_MS = 60_000;

/** Runs bench.ts, itself on Deno unless `loadGenerator` says Bun (`npm run bench:bun`). */
async function bench(args: string[], loadGenerator: "deno" | "bun" = "deno"): Promise<Report> {
  const script = path.join(ROOT, "bench", "main.ts");
  await using run = new Subprocess(
    loadGenerator === "deno"
      ? [runtimeBinary("deno"), "run", "-A", script, "--json", ...args]
      : [runtimeBinary("bun"), script, "--json", ...args],
  );
  // "close" comes once stdout has ended too, and the report is all on stdout.
  const closed = once(run.child, "close");
  // Each run starts its own servers: allow more than one event's time.
  const status = await within(run.exited, "bench.ts to finish", BENCH_TIMEOUT_MS);
  await within(closed, "bench.ts's output to end");
  assert.equal(status, 0, `bench.ts failed:\n${run.stderr.seen.join("\n")}`);
  return JSON.parse(run.stdout.seen.join("\n")) as Report;
}

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `bench.ts [parley-${runtime}] ${behaviour}`;

  test(name("closed loop: every message reaches every member once, in order"), async () => {
    const report = await bench([
      ...["--runtime", runtime, "--members", "4", "--messages", "50", "--window", "3"],
      ...["--size", "64", "--warmup", "5", "--pin", "auto"],
    ]);
    assert.equal(report.results.length, 1);
    const [result] = report.results;
    assert.equal(result.target, `parley-${runtime}`);
    const run = result.median;
    // With echo (the default), as with Redis, each message reaches its sender too.
    assert.equal(run.fanout, 4);
    assert.equal(run.deliveries, 4 * 50 * 4);
    assert.equal(run.expectedDeliveries, 4 * 50 * 4);
    assert.equal(run.messages, 4 * 50);
    assert.deepEqual(
      [run.lost, run.duplicated, run.outOfOrder, run.unexpected, run.stalled],
      [0, 0, 0, 0, false],
    );
    assert.deepEqual(run.failures, []);
    assert.equal(run.parsedInFull, 0, "the load generator decoded messages in full");
    assert.ok((run.deliveriesPerSecond as number) > 0);
    assert.ok(run.latencyMs.p50 > 0 && run.latencyMs.p50 <= run.latencyMs.p99);
    assert.ok(run.latencyMs.p99 <= run.latencyMs.max);
    assert.ok((run.serverPeakRssBytes as number) > 1024 * 1024);
    assert.equal(typeof run.serverCpuSeconds, "number");
    assert.equal(typeof run.benchCpuPercent, "number");
  });

  test(name("fixed rate, two sizes, two runs: medians with every delivery counted"), async () => {
    const report = await bench([
      ...["--runtime", runtime, "--members", "3", "--messages", "10", "--rate", "300"],
      ...["--size", "30,1024", "--runs", "2", "--warmup", "0", "--pin", "off", "--spin", "on"],
      ...["--echo", "off"],
    ]);
    assert.deepEqual(report.results.map((result) => result.median.size), [30, 1024]);
    for (const { median: run } of report.results) {
      assert.equal(run.mode, "rate");
      assert.equal(run.fanout, 2, "without echo, each message reaches the others only");
      assert.equal(run.deliveries, 3 * 10 * 2);
      assert.equal(run.lost, 0);
      assert.equal(run.duplicated, 0);
      assert.equal(run.outOfOrder, 0);
      assert.equal(run.offeredRate, 300);
      assert.equal(run.spin, true);
      assert.equal(typeof (run.sendLagMs as Record<string, number>).max, "number");
    }
  });

  test(name("idle: members join and stay silent, and memory per member is reported"), async () => {
    const report = await bench([
      ...["--runtime", runtime, "--idle", "30", "--room-size", "10", "--settle", "0.2"],
    ]);
    const [{ median: run }] = report.results;
    assert.equal(run.mode, "idle");
    assert.equal(run.members, 30);
    assert.equal(run.roomSize, 10);
    assert.equal(typeof run.rssPerMemberBytes, "number");
    assert.ok((run.rssAfterBytes as number) > 1024 * 1024);
    assert.deepEqual(run.failures, []);
  });
}

for (const runtime of RUNTIMES) {
  test(`bench.ts [relay-${runtime}] every message reaches every subscriber once, in order`, async () => {
    const report = await bench([
      ...["--target", "relay", "--runtime", runtime, "--members", "4", "--messages", "50"],
      ...["--window", "3", "--warmup", "5", "--pin", "off"],
    ]);
    const [{ target, median: run }] = report.results;
    assert.equal(target, `relay-${runtime}`);
    assert.equal(
      run.deliveries,
      4 * 50 * 4,
      "as Redis does, the relay sends the publisher its own",
    );
    assert.deepEqual(
      [run.lost, run.duplicated, run.outOfOrder, run.unexpected, run.stalled],
      [0, 0, 0, 0, false],
    );
    assert.deepEqual(run.failures, []);
  });
}

/** What `socket` receives, as text; the inbox ends when the connection closes. */
function received(socket: net.Socket): Inbox<string> {
  const inbox = new Inbox<string>();
  socket.on("data", (chunk: Uint8Array) => inbox.push(text.decode(chunk)));
  socket.on("close", () => inbox.end());
  return inbox;
}

/** Takes text from `inbox` until it ends with `expected`, and returns all of it. */
async function readUntil(inbox: Inbox<string>, expected: string): Promise<string> {
  let seen = "";
  while (!seen.endsWith(expected)) {
    const chunk = await inbox.next(JSON.stringify(expected));
    if (chunk === null) assert.fail(`the connection closed after ${JSON.stringify(seen)}`);
    seen += chunk;
  }
  return seen;
}

test("bench/relay.ts takes commands split at every byte, and closes after one it does not know", async () => {
  await using relay = new Subprocess(scriptCommand("deno", "bench/relay.ts", ["0"]));
  const line = await relay.stdout.waitFor(/^listening on /, "the relay's listening line");
  const port = Number(line.slice(line.lastIndexOf(":") + 1));
  const connect = async () => {
    const socket = net.connect(port, "127.0.0.1");
    await within(once(socket, "connect"), "a connection to the relay");
    return socket;
  };
  const subscriber = await connect();
  const publisher = await connect();
  const [toSubscriber, toPublisher] = [received(subscriber), received(publisher)];
  try {
    await writeByteByByte(subscriber, ascii.encode("*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nroom\r\n"));
    assert.equal(
      await readUntil(toSubscriber, ":1\r\n"),
      "*3\r\n$9\r\nsubscribe\r\n$4\r\nroom\r\n:1\r\n",
    );
    const publish = "*3\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$7\r\nhi\r\nyou\r\n";
    await writeByteByByte(publisher, ascii.encode(publish));
    assert.equal(await readUntil(toPublisher, "\r\n"), ":1\r\n");
    assert.equal(
      await readUntil(toSubscriber, "you\r\n"),
      "*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$7\r\nhi\r\nyou\r\n",
    );
    await writeAll(publisher, ascii.encode("*1\r\n$4\r\nPING\r\n"));
    assert.match(await readUntil(toPublisher, "\r\n"), /^-ERR /);
    assert.equal(await toPublisher.next("the relay to close the connection"), null);
  } finally {
    subscriber.destroy();
    publisher.destroy();
  }
});

test("bench.ts runs on Bun too: a fixed-rate run with every delivery counted", async () => {
  const report = await bench([
    ...["--runtime", "deno", "--members", "3", "--messages", "10", "--rate", "300"],
    ...["--warmup", "0", "--pin", "off", "--spin", "on"],
  ], "bun");
  const [{ median: run }] = report.results;
  assert.equal(run.target, "parley-deno");
  assert.equal(run.mode, "rate");
  assert.equal(run.deliveries, 3 * 10 * 3);
  assert.deepEqual([run.lost, run.duplicated, run.outOfOrder, run.unexpected], [0, 0, 0, 0]);
  assert.equal(run.parsedInFull, 0, "the load generator decoded messages in full");
});

test("bench/plot.ts draws deliveries per second against members, one line per server", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "parley-plot-"));
  try {
    const results = (target: string, perSecond: number[]) =>
      [10, 100, 500].map((members, i) => ({
        target,
        mode: "closed",
        members,
        size: 64,
        median: { deliveriesPerSecond: perSecond[i], size: 64 },
        runs: [],
      }));
    const input = path.join(dir, "results.json");
    const output = path.join(dir, "plot.svg");
    writeFileSync(
      input,
      JSON.stringify({
        results: [
          ...results("parley-deno", [1e5, 2e5, 1.5e5]),
          ...results("redis", [1e6, 2e6, 2e6]),
        ],
      }),
    );
    await using plot = new Subprocess([
      runtimeBinary("deno"),
      "run",
      "-A",
      path.join(ROOT, "bench", "plot.ts"),
      input,
      "--out",
      output,
    ]);
    assert.equal(await plot.exitCode("plot.ts to finish"), 0, plot.stderr.seen.join("\n"));
    assert.ok(existsSync(output));
    const svg = readFileSync(output, "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /parley-deno/);
    assert.match(svg, /redis/);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.match(svg, /<\/svg>\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
