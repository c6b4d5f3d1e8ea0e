// The benchmark tool end to end: bench/main.ts run with tiny workloads against real Parley servers
// and relays on each runtime, whose JSON report must show every message delivered once and in
// order; the relay spoken to directly; bench/plot.ts drawing a report; bench/redis_client_cost.ts
// pricing a message. Its pieces have pure tests in tests/bench/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
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

const ascii = new TextEncoder();
const text = new TextDecoder();

// ---- bench/main.ts end to end

interface Report {
  results: Array<{
    target: string;
    mode: string;
    median: Record<string, unknown> & { latencyMs: Record<string, number> };
  }>;
}

const BENCH_TIMEOUT_MS = 60_000;

/** Runs bench/main.ts, itself on Deno unless `loadGenerator` says Bun (`npm run bench:bun`). */
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
  const status = await within(run.exited, "bench to finish", BENCH_TIMEOUT_MS);
  await within(closed, "bench's output to end");
  assert.equal(status, 0, `bench failed:\n${run.stderr.seen.join("\n")}`);
  return JSON.parse(run.stdout.seen.join("\n")) as Report;
}

test("bench [cluster-bun] members split across two nodes and a Redis: every message, once, in order", async () => {
  const report = await bench([
    ...["--target", "cluster", "--runtime", "bun", "--members", "4", "--messages", "50"],
    ...["--window", "3", "--warmup", "5", "--pin", "off"],
  ]);
  const [result] = report.results;
  assert.equal(result.target, "cluster-bun");
  const run = result.median;
  assert.equal(run.deliveries, 4 * 50 * 4);
  assert.deepEqual(
    [run.lost, run.duplicated, run.outOfOrder, run.unexpected, run.stalled],
    [0, 0, 0, 0, false],
  );
  assert.deepEqual(run.failures, []);
  // The server's CPU is that of all three processes, and each one's share is shown.
  const parts = run.serverCpuPercentByProcess as Record<string, number>;
  assert.deepEqual(Object.keys(parts), ["node1", "node2", "redis"]);
  assert.ok(Object.values(parts).every((percent) => typeof percent === "number"));
  const sum = Object.values(parts).reduce((a, b) => a + b, 0);
  assert.ok(
    Math.abs((run.serverCpuPercent as number) - sum) <= 2,
    `${run.serverCpuPercent} != ${sum}`,
  );
});

test("bench [cluster1-deno] --cluster-nodes 1: one node serves every member through Redis", async () => {
  const report = await bench([
    ...["--target", "cluster", "--cluster-nodes", "1", "--runtime", "deno", "--members", "4"],
    ...["--messages", "50", "--window", "3", "--warmup", "5", "--pin", "off"],
  ]);
  const [result] = report.results;
  assert.equal(result.target, "cluster1-deno");
  const run = result.median;
  assert.equal(run.deliveries, 4 * 50 * 4);
  assert.deepEqual([run.lost, run.duplicated, run.outOfOrder, run.unexpected], [0, 0, 0, 0]);
  assert.deepEqual(Object.keys(run.serverCpuPercentByProcess as object), ["node1", "redis"]);
});

for (const runtime of RUNTIMES) {
  const name = (behaviour: string) => `bench [parley-${runtime}] ${behaviour}`;

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

  test(name("--tls: the same workload plain and over TLS, every message delivered"), async () => {
    const report = await bench([
      ...["--runtime", runtime, "--tls", "--members", "3", "--messages", "20", "--warmup", "2"],
    ]);
    assert.deepEqual(report.results.map((result) => result.target), [
      `parley-${runtime}`,
      `parley-${runtime}-tls`,
    ]);
    for (const { median: run } of report.results) {
      assert.equal(run.deliveries, 3 * 20 * 3);
      assert.deepEqual([run.lost, run.duplicated, run.outOfOrder], [0, 0, 0]);
      assert.ok((run.deliveriesPerSecond as number) > 0);
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
  test(`bench [relay-${runtime}] every message reaches every subscriber once, in order`, async () => {
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

for (
  const [target, runtime] of [["parley-ws", "deno"], ["parley-ws", "bun"], ["bun-room", "bun"]]
) {
  test(`bench [${target}-${runtime}] members over WebSocket get every message once, in order`, async () => {
    const report = await bench([
      ...["--target", target, "--runtime", runtime, "--members", "4", "--messages", "50"],
      ...["--window", "3", "--warmup", "5", "--pin", "off"],
    ]);
    const [{ target: name, median: run }] = report.results;
    assert.equal(name, `${target}-${runtime}`);
    assert.ok((run.deliveries as number) >= 4 * 50 * 3);
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

test("bench runs on Bun too: a fixed-rate run with every delivery counted", async () => {
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

for (const runtime of RUNTIMES) {
  test(`bench/redis_client_cost.ts [${runtime}] prices a message through the npm client and a bare socket`, async () => {
    const args = ["--messages", "40", "--rate", "400", "--runs", "1"];
    await using run = new Subprocess(scriptCommand(runtime, "bench/redis_client_cost.ts", args));
    const closed = once(run.child, "close");
    assert.equal(
      await run.exitCode("redis_client_cost.ts to finish"),
      0,
      run.stderr.seen.join("\n"),
    );
    await within(closed, "its output to end");
    const lines = run.stdout.seen.join("\n").trim().split("\n");
    assert.match(lines[0], new RegExp(`^${runtime}: CPU µs per message published and heard back`));
    assert.equal(lines.length, 3, lines.join("\n"));
    for (const [line, client] of [[lines[1], "npm redis"], [lines[2], "bare socket"]]) {
      const found = line.match(/^(.+?) +at 400\/s: +([\d.]+) +all at once: +([\d.]+)$/);
      assert.ok(found, line);
      assert.equal(found[1], client);
      assert.ok(Number(found[2]) > 0 && Number(found[3]) > 0, line);
    }
  });
}

test("bench/redis_client_cost.ts refuses a bad count in one line, with status 2", async () => {
  const args = ["--messages", "0"];
  await using run = new Subprocess(scriptCommand("deno", "bench/redis_client_cost.ts", args));
  assert.equal(await run.exitCode(), 2);
  assert.deepEqual(run.stderr.seen.filter((line) => line !== ""), [
    '--messages must be a whole number from 1 to 1000000, not "0"',
  ]);
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
