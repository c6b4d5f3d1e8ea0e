// The benchmark's command line: which servers, which workload, how many runs; then a table for
// people, or JSON for bench/plot.ts and for comparing runs. bench/ holds the machinery.
import process from "node:process";
import { parseCommandLine, runProgram, UsageError, wholeNumber } from "../cli.ts";
import { runtime } from "../runtime/current.ts";
import { MAX_MEMBERS, MAX_MESSAGES, STAMP_BYTES } from "./payload.ts";
import { formatResults, type Result, summarize } from "./report.ts";
import {
  type IdleWorkload,
  type MessageWorkload,
  runIdle,
  runMessages,
  type RunResult,
} from "./runner.ts";
import { choosePinning, describeMachine, ensureOpenFiles, pinSelf, versionOf } from "./machine.ts";
import {
  installCleanup,
  runningServer,
  type RuntimeName,
  type Server,
  startParley,
  startRedis,
  startRelay,
} from "./servers.ts";
import type { TargetKind } from "./members.ts";

const MIB = 1024 * 1024;
const ROOM = "bench";

const USAGE = `Usage: bench/main.ts [options]

Measures Parley's server, and Redis pub/sub side by side, under a chat workload: N members in
one room, each publishing K messages of S bytes, with at most W of its messages in flight (closed
loop) or at a fixed offered rate. Each message carries its sender, sequence number and send time,
so every delivery is checked: lost, duplicated and out-of-order deliveries are counted (and must
be 0). Starts each server itself, fresh for every run, on its own core where there are two.

Servers:
  --target T         parley, redis, relay, or a comma list of them; both is parley,redis
                     (default parley). relay is bench/relay.ts: Parley's runtime edge and write
                     path with nothing else, speaking Redis's protocol, on each --runtime
  --runtime R        deno, bun or both: what Parley's server and the relay run on (default deno)
  --host HOST        with --port: measure a server that is already running, not one of ours
  --port PORT        its port (then --target names one protocol, parley or redis)
  --server-pid PID   the running server's pid, to report its CPU and memory
  --redis-server P   the redis-server to start (default redis-server, from PATH)
  --send-queue B     Parley's --send-queue in bytes (default: enough for the workload)
  --server-log FILE  append the servers' output to FILE, with Parley's connection log on
  --parley-flags=F   more flags for Parley's server.ts, as one string: --parley-flags="--history 0"

Workload:
  --members N        members in the room; a comma list (10,100,500) measures each (default 10)
  --messages K       messages each member publishes (default 1000)
  --deliveries D     instead of --messages: for each N, as many messages per member as make
                     about D deliveries (D / (N * (N - 1))), so that a sweep over N takes
                     about as long at every N
  --size S           bytes of text per message, at least ${STAMP_BYTES}; a comma list measures each
                     (default 64)
  --window W         messages of a member in flight at once: sent, not yet at every receiver
                     (default 10)
  --echo E           on or off: Parley's members ask for their own messages back, so that each
                     message goes to all N members, as Redis sends it to every subscriber, its
                     publisher's included; off: to the N - 1 others (default on)
  --rate R           offer R messages per second in all, spread evenly over the members, instead
                     of the closed loop (then W does not apply)
  --spin S           with --rate: on, off or auto: wait for each send in a busy loop rather
                     than on a timer, which fires only every 1 to 2 ms and so sends in bursts
                     (default auto: on where the load generator has a core of its own)
  --warmup K         messages per member sent and awaited, unmeasured, before each measured run
                     (default K/10)
  --idle C           instead: C members join and stay silent, and the server's memory per member
                     is reported; a comma list measures each
  --room-size M      with --idle: M members per room (default: all in one room)
  --settle S         with --idle: seconds to leave the server alone before reading its memory,
                     before and after the joins (default 2)

Run:
  --runs R           repeat each measurement R times and report medians (default 1)
  --pin P            auto, off, or SERVER_CPU,BENCH_CPU: cores for the server and the load
                     generator (default auto: different cores when there are two)
  --stall S          give a run up after S seconds without a delivery (default 10)
  --json             print the results as JSON on stdout (for bench/plot.ts); the table goes to
                     stderr
  --help             show this help

Examples:
  npm run bench -- --target both --runtime both --members 10,100,500 --deliveries 5000000
  npm run bench -- --target both --members 100 --rate 1000 --messages 100
  npm run bench -- --target both --runtime both --idle 10000
`;

function list(text: string, what: string, min: number, max: number): number[] {
  return text.split(",").map((item) => wholeNumber(item.trim(), what, min, max));
}

const TARGET_KINDS = ["parley", "relay", "redis"] as const;

interface Target {
  kind: typeof TARGET_KINDS[number];
  runtime: RuntimeName | null;
}

// The protocol that the members speak to a target: the relay speaks Redis's.
const protocolOf = (target: Target): TargetKind => target.kind === "parley" ? "parley" : "redis";

function chooseTargets(target: string, runtime: string): Target[] {
  const kinds = (target === "both" ? "parley,redis" : target).split(",") as Target["kind"][];
  const unknown = kinds.find((kind) => !TARGET_KINDS.includes(kind));
  if (unknown !== undefined) {
    throw new UsageError(
      `--target must be parley, redis, relay, a comma list of them, or both, not "${unknown}"`,
    );
  }
  const runtimes: RuntimeName[] = runtime === "both" ? ["deno", "bun"] : [runtime as RuntimeName];
  if (!["deno", "bun", "both"].includes(runtime)) {
    throw new UsageError(`--runtime must be deno, bun or both, not "${runtime}"`);
  }
  return kinds.flatMap((kind): Target[] =>
    kind === "redis" ? [{ kind, runtime: null }] : runtimes.map((name) => ({ kind, runtime: name }))
  );
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    target: { type: "string", default: "parley" },
    runtime: { type: "string", default: "deno" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "server-pid": { type: "string" },
    "redis-server": { type: "string", default: "redis-server" },
    "send-queue": { type: "string" },
    "server-log": { type: "string" },
    "parley-flags": { type: "string", default: "" },
    members: { type: "string", default: "10" },
    messages: { type: "string", default: "1000" },
    deliveries: { type: "string" },
    size: { type: "string", default: "64" },
    window: { type: "string", default: "10" },
    echo: { type: "string", default: "on" },
    rate: { type: "string", default: "0" },
    spin: { type: "string", default: "auto" },
    warmup: { type: "string" },
    idle: { type: "string" },
    "room-size": { type: "string", default: "0" },
    settle: { type: "string", default: "2" },
    runs: { type: "string", default: "1" },
    pin: { type: "string", default: "auto" },
    stall: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const external = values.port !== undefined;
  const targets = chooseTargets(values.target, values.runtime);
  if (external && targets.length !== 1) {
    throw new UsageError("--port measures one running server: --target must be parley or redis");
  }
  const port = external ? wholeNumber(values.port!, "--port", 1, 65535) : 0;
  const serverPid = values["server-pid"] === undefined
    ? null
    : wholeNumber(values["server-pid"], "--server-pid", 1, 2 ** 22);
  const idleCounts = values.idle === undefined
    ? null
    : list(values.idle, "--idle", 1, MAX_MEMBERS - 1);
  const memberCounts = list(values.members, "--members", 2, MAX_MEMBERS - 1);
  const sizes = list(values.size, "--size", STAMP_BYTES, 4096);
  const fixedMessages = wholeNumber(values.messages, "--messages", 1, MAX_MESSAGES - 1);
  const deliveries = values.deliveries === undefined
    ? null
    : wholeNumber(values.deliveries, "--deliveries", 1, Number.MAX_SAFE_INTEGER);
  const messagesFor = (members: number) =>
    deliveries === null
      ? fixedMessages
      : Math.min(MAX_MESSAGES - 1, Math.max(1, Math.round(deliveries / (members * (members - 1)))));
  const window = wholeNumber(values.window, "--window", 1, 1_000_000);
  if (!["on", "off"].includes(values.echo)) {
    throw new UsageError(`--echo must be on or off, not "${values.echo}"`);
  }
  const echo = values.echo === "on";
  const rate = wholeNumber(values.rate, "--rate", 0, 100_000_000);
  const fixedWarmup = values.warmup === undefined
    ? null
    : wholeNumber(values.warmup, "--warmup", 0, MAX_MESSAGES - 1);
  const warmupFor = (messages: number) => fixedWarmup ?? Math.ceil(messages / 10);
  const roomSize = wholeNumber(values["room-size"], "--room-size", 0, MAX_MEMBERS);
  const settleMs = Number(values.settle) * 1000;
  if (!(settleMs >= 0)) throw new UsageError(`--settle must be a number of seconds`);
  const runs = wholeNumber(values.runs, "--runs", 1, 1000);
  const stallMs = wholeNumber(values.stall, "--stall", 1, 3600) * 1000;

  // Every member holds a socket (two for Redis), and each must fit under the open-file limit.
  const most = idleCounts ? Math.max(...idleCounts) : Math.max(...memberCounts);
  const sockets = idleCounts
    ? most
    : most * (targets.some((t) => protocolOf(t) === "redis") ? 2 : 1);
  const limit = ensureOpenFiles(sockets + 256);
  if (sockets + 256 > limit) {
    throw new UsageError(
      `${sockets} sockets need more open files than the limit of ${limit}: raise it, as in ` +
        `"ulimit -n ${sockets + 1024}"`,
    );
  }

  const pinning = choosePinning(values.pin);
  if (!["auto", "on", "off"].includes(values.spin)) {
    throw new UsageError(`--spin must be auto, on or off, not "${values.spin}"`);
  }
  const spin = values.spin === "on" || (values.spin === "auto" && pinning.benchCpu !== null);
  if (pinning.benchCpu !== null) pinSelf(pinning.benchCpu);
  installCleanup();

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const startServer = async (target: Target, members: number, size: number): Promise<Server> => {
    if (external) {
      return runningServer(protocolOf(target), values.host, port, serverPid);
    }
    const frameBytes = size + 128;
    const computed = rate > 0 ? 256 * MIB : Math.max(16 * MIB, 4 * members * window * frameBytes);
    const settings = {
      logFile: values["server-log"] ?? null,
      parleyFlags: values["parley-flags"].split(/\s+/).filter((flag) => flag !== ""),
      maxClients: Math.max(10_000, 2 * members + 100),
      sendQueueBytes: values["send-queue"] === undefined
        ? Math.min(2 ** 31, computed)
        : wholeNumber(values["send-queue"], "--send-queue", 1024, 2 ** 31),
    };
    if (target.kind === "redis") {
      return await startRedis(values["redis-server"], pinning.serverCpu, settings);
    }
    const start = target.kind === "parley" ? startParley : startRelay;
    return await start(target.runtime!, pinning.serverCpu, settings);
  };

  const name = (target: Target) =>
    external ? protocolOf(target) : target.runtime ? `${target.kind}-${target.runtime}` : "redis";
  const runsOf = new Map<string, RunResult[]>();
  const record = (key: string, run: RunResult) => {
    if (!runsOf.has(key)) runsOf.set(key, []);
    runsOf.get(key)!.push(run);
  };

  // Targets take turns within each repetition, so that a drift of the machine hits all alike.
  const workloads = idleCounts
    ? idleCounts.map((count) => ({ members: count, size: 0 }))
    : sizes.flatMap((size) => memberCounts.map((members) => ({ members, size })));
  for (const { members, size } of workloads) {
    for (let run = 1; run <= runs; run++) {
      for (const target of targets) {
        const what = idleCounts
          ? `${name(target)} idle C=${members}`
          : `${name(target)} N=${members} S=${size}`;
        let server: Server;
        try {
          server = await startServer(target, members, size);
        } catch (error) {
          // Nothing to measure without the server: say why in a line, not a stack trace.
          log(`bench: ${(error as Error).message}`);
          return 1;
        }
        let result: RunResult;
        try {
          if (idleCounts) {
            const workload: IdleWorkload = {
              target: protocolOf(target),
              members,
              roomSize,
              settleMs,
              room: ROOM,
            };
            result = await runIdle(server, workload);
          } else {
            const workload: MessageWorkload = {
              target: protocolOf(target),
              members,
              messagesPerMember: messagesFor(members),
              size,
              window,
              echo,
              ratePerSecond: rate,
              spin,
              warmupPerMember: warmupFor(messagesFor(members)),
              stallMs,
              room: ROOM,
            };
            result = await runMessages(server, workload);
          }
        } finally {
          await server.stop();
        }
        result.target = name(target);
        log(`${what} run ${run}/${runs}: ${describe(result)}`);
        record(`${what}`, result);
      }
    }
  }

  const results: Result[] = [...runsOf.values()].map(summarize);
  const text = formatResults(results, runs);
  const failed = results.some((result) => !passed(result));
  if (values.json) {
    const report = {
      tool: "parley bench/main.ts",
      date: new Date().toISOString(),
      command: ["bench/main.ts", ...process.argv.slice(2)].join(" "),
      benchRuntime: `${runtime.name} ${process.versions[runtime.name] ?? "?"}`,
      machine: describeMachine(),
      pinning: pinning.note,
      redisVersion: targets.some((t) => t.kind === "redis") && !external
        ? versionOf(values["redis-server"])
        : null,
      options: {
        members: memberCounts,
        messagesPerMember: deliveries === null ? fixedMessages : null,
        deliveries,
        sizes,
        window,
        rate,
        spin: rate > 0 ? spin : null,
        warmup: fixedWarmup ?? "K/10",
        idle: idleCounts,
        roomSize,
        runs,
        parleyFlags: values["parley-flags"],
      },
      results,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(text);
  } else {
    process.stdout.write(text);
  }
  return failed ? 1 : 0;
}

function describe(run: RunResult): string {
  if (run.mode === "idle") {
    const per = run.rssPerMemberBytes === null ? "?" : (run.rssPerMemberBytes / 1024).toFixed(1);
    return `${per} KiB RSS per member, joined in ${run.join.seconds} s` +
      (run.join.retries ? ` (${run.join.retries} joins retried)` : "") +
      (run.failures.length ? `, ${run.failures[0]}` : "");
  }
  const errors = run.lost + run.duplicated + run.outOfOrder + run.unexpected;
  return `${run.deliveriesPerSecond.toLocaleString("en-US")} deliveries/s, ` +
    `p99 ${run.latencyMs.p99} ms, server CPU ${run.serverCpuPercent ?? "?"}%, ` +
    `bench CPU ${run.benchCpuPercent}%` + (errors ? `, ${errors} bad deliveries` : "") +
    (run.stalled ? ", STALLED" : "") + (run.failures.length ? `, ${run.failures[0]}` : "");
}

/** Passed: every delivery came exactly once and in order, and nothing failed. */
function passed(result: Result): boolean {
  const run = result.median;
  if (run.failures.length > 0) return false;
  if (run.mode === "idle") return true;
  return run.lost + run.duplicated + run.outOfOrder + run.unexpected === 0 && !run.stalled;
}

await runProgram("bench", main);
