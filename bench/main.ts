// The benchmark's entry point: the command line (options.ts) says which servers, which workload and
// how many runs; each run gets a fresh server; then a table for people, or JSON for bench/plot.ts
// and for comparing runs. bench/ holds the machinery.
import { readFileSync } from "node:fs";
import process from "node:process";
import { runProgram, UsageError, wholeNumber } from "../cli.ts";
import { runtime } from "../runtime/current.ts";
import {
  choosePinning,
  describeMachine,
  ensureOpenFiles,
  type Pinning,
  pinSelf,
  versionOf,
} from "./machine.ts";
import type { TargetKind } from "./members.ts";
import {
  messagesFor,
  nameOf,
  type Options,
  parseOptions,
  protocolOf,
  type Target,
  USAGE,
} from "./options.ts";
import {
  describeRun,
  formatResults,
  passed,
  type Result,
  type RunResult,
  summarize,
} from "./report.ts";
import { runIdle, runMessages } from "./runner.ts";
import {
  installCleanup,
  runningServer,
  type Server,
  type ServerSettings,
  startBunRoom,
  startCluster,
  startParley,
  startRedis,
  startRelay,
} from "./servers.ts";
// The tests' certificate maker: a private authority and a server certificate, made by openssl.
import { TestCertificates } from "../tests/e2e/_certs.ts";

const MIB = 1024 * 1024;
const ROOM = "bench";

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const setup = prepare(options);
  using certs = options.targets.some((target) => target.tls) ? await TestCertificates.make() : null;
  if (certs) {
    const { certFile, keyFile, caFile } = certs;
    setup.tls = { certFile, keyFile, ca: readFileSync(caFile, "utf8") };
  }
  const results = await measure(options, setup);
  if (results === null) return 1;
  return report(options, setup, results);
}

// ---- the machine

/** Where the server and the load generator run, and how the load generator waits to send. */
interface Setup {
  pinning: Pinning;
  spin: boolean;
  /** For Parley over TLS: the server's certificate files and the authority that signed them. */
  tls: ServerSettings["tls"];
}

function prepare(options: Options): Setup {
  // Every member holds a socket (two for Redis), and each must fit under the open-file limit.
  const { idleCounts, memberCounts, targets } = options;
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
  const pinning = choosePinning(options.pin);
  const spin = options.spin === "on" || (options.spin === "auto" && pinning.benchCpu !== null);
  if (pinning.benchCpu !== null) pinSelf(pinning.benchCpu);
  installCleanup();
  return { pinning, spin, tls: null };
}

// ---- the runs

/**
 * Every workload on every target, --runs times over, each run on a fresh server; null when a
 * server could not start (said on stderr). Targets take turns within each repetition, so that a
 * drift of the machine hits all alike.
 */
async function measure(options: Options, setup: Setup): Promise<Result[] | null> {
  const { idleCounts, runs } = options;
  const workloads = idleCounts
    ? idleCounts.map((count) => ({ members: count, size: 0 }))
    : options.sizes.flatMap((size) => options.memberCounts.map((members) => ({ members, size })));
  const runsOf = new Map<string, RunResult[]>();
  for (const { members, size } of workloads) {
    for (let run = 1; run <= runs; run++) {
      for (const target of options.targets) {
        const name = nameOf(options, target);
        const what = idleCounts ? `${name} idle C=${members}` : `${name} N=${members} S=${size}`;
        let server: Server;
        try {
          server = await startServer(options, setup, target, members, size);
        } catch (error) {
          // Nothing to measure without the server: say why in a line, not a stack trace.
          log(`bench: ${(error as Error).message}`);
          return null;
        }
        let result: RunResult;
        try {
          result = await measureOnce(options, setup, server, protocolOf(target), members, size);
        } finally {
          await server.stop();
        }
        result.target = name;
        log(`${what} run ${run}/${runs}: ${describeRun(result)}`);
        if (!runsOf.has(what)) runsOf.set(what, []);
        runsOf.get(what)!.push(result);
      }
    }
  }
  return [...runsOf.values()].map(summarize);
}

function startServer(
  options: Options,
  setup: Setup,
  target: Target,
  members: number,
  size: number,
): Promise<Server> {
  const { external } = options;
  if (external) {
    return Promise.resolve(
      runningServer(protocolOf(target), external.host, external.port, external.pid),
    );
  }
  const frameBytes = size + 128;
  const computed = options.rate > 0
    ? 256 * MIB
    : Math.max(16 * MIB, 4 * members * options.window * frameBytes);
  const settings = {
    logFile: options.serverLog,
    parleyFlags: options.parleyFlags.split(/\s+/).filter((flag) => flag !== ""),
    tls: target.tls ? setup.tls : null,
    maxClients: Math.max(10_000, 2 * members + 100),
    sendQueueBytes: options.sendQueue === undefined
      ? Math.min(2 ** 31, computed)
      : wholeNumber(options.sendQueue, "--send-queue", 1024, 2 ** 31),
  };
  const cpu = setup.pinning.serverCpu;
  if (target.kind === "redis") return startRedis(options.redisServer, cpu, settings);
  if (target.kind === "bun-room") return startBunRoom(cpu, settings);
  if (target.kind === "parley-ws") return startParley(target.runtime!, cpu, settings, true);
  if (target.kind === "cluster") {
    return startCluster(target.runtime!, options.clusterNodes, options.redisServer, cpu, settings);
  }
  const start = target.kind === "parley" ? startParley : startRelay;
  return start(target.runtime!, cpu, settings);
}

function measureOnce(
  options: Options,
  setup: Setup,
  server: Server,
  target: TargetKind,
  members: number,
  size: number,
): Promise<RunResult> {
  if (options.idleCounts) {
    const { roomSize, settleMs } = options;
    return runIdle(server, { target, members, roomSize, settleMs, room: ROOM });
  }
  const messagesPerMember = messagesFor(options, members);
  return runMessages(server, {
    target,
    members,
    messagesPerMember,
    size,
    window: options.window,
    echo: options.echo,
    ratePerSecond: options.rate,
    spin: setup.spin,
    warmupPerMember: options.warmup ?? Math.ceil(messagesPerMember / 10),
    stallMs: options.stallMs,
    room: ROOM,
  });
}

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the report

/** The table on stdout, or the JSON report there and the table on stderr; 1 if a result failed. */
function report(options: Options, setup: Setup, results: Result[]): number {
  const text = formatResults(results, options.runs);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(jsonReport(options, setup, results), null, 2)}\n`);
    process.stderr.write(text);
  } else {
    process.stdout.write(text);
  }
  return results.every(passed) ? 0 : 1;
}

function jsonReport(options: Options, setup: Setup, results: Result[]) {
  const { targets, external, deliveries, rate } = options;
  return {
    tool: "parley bench/main.ts",
    date: new Date().toISOString(),
    command: ["bench/main.ts", ...process.argv.slice(2)].join(" "),
    benchRuntime: `${runtime.name} ${process.versions[runtime.name] ?? "?"}`,
    machine: describeMachine(),
    pinning: setup.pinning.note,
    redisVersion: targets.some((t) => t.kind === "redis") && !external
      ? versionOf(options.redisServer)
      : null,
    options: {
      members: options.memberCounts,
      messagesPerMember: deliveries === null ? options.messages : null,
      deliveries,
      sizes: options.sizes,
      window: options.window,
      rate,
      spin: rate > 0 ? setup.spin : null,
      warmup: options.warmup ?? "K/10",
      idle: options.idleCounts,
      roomSize: options.roomSize,
      runs: options.runs,
      parleyFlags: options.parleyFlags,
    },
    results,
  };
}

await runProgram("bench", main);
