// The benchmark's command line, checked: the help text, and the options that main.ts runs with.
import { parseCommandLine, UsageError, wholeNumber } from "../cli.ts";
import type { TargetKind } from "./members.ts";
import { MAX_MEMBERS, MAX_MESSAGES, STAMP_BYTES } from "./payload.ts";
import type { RuntimeName } from "./servers.ts";

export const USAGE = `Usage: bench/main.ts [options]

Measures Parley's server, and Redis pub/sub side by side, under a chat workload: N members in
one room, each publishing K messages of S bytes, with at most W of its messages in flight (closed
loop) or at a fixed offered rate. Each message carries its sender, sequence number and send time,
so every delivery is checked: lost, duplicated and out-of-order deliveries are counted (and must
be 0). Starts each server itself, fresh for every run, on its own core where there are two.

Servers:
  --target T         parley, redis, relay, parley-ws, bun-room, cluster, or a comma list of
                     them; both is parley,redis (default parley). relay is bench/relay.ts:
                     Parley's runtime edge and write path with nothing else, speaking Redis's
                     protocol, on each --runtime; parley-ws is Parley with its members over
                     WebSocket (/ws); bun-room is bench/bun_room.ts, a room on Bun.serve's own
                     pub/sub (always on Bun); cluster is two Parley nodes of the --runtime and
                     a Redis, members split between the nodes
  --runtime R        deno, bun or both: what Parley's server and the relay run on (default deno)
  --host HOST        with --port: measure a server that is already running, not one of ours
  --port PORT        its port (then --target names one protocol, parley or redis)
  --server-pid PID   the running server's pid, to report its CPU and memory
  --redis-server P   the redis-server to start (default redis-server, from PATH)
  --cluster-nodes C  Parley nodes in the cluster target, 1 to 8 (default 2); with 1, one node
                     serves every member through Redis
  --send-queue B     Parley's --send-queue in bytes (default: enough for the workload)
  --server-log FILE  append the servers' output to FILE, with Parley's connection log on
  --parley-flags=F   more flags for Parley's server.ts, as one string: --parley-flags="--history 0"
  --tls              measure each Parley target over TLS too (parley-deno-tls beside
                     parley-deno): its members connect with TLS to its --tls-port, and its
                     certificate comes from a test authority made with openssl for the run

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
  npm run bench -- --runtime both --tls --members 100 --deliveries 5000000
`;

const TARGET_KINDS = ["parley", "relay", "redis", "parley-ws", "bun-room", "cluster"] as const;

export interface Target {
  kind: typeof TARGET_KINDS[number];
  runtime: RuntimeName | null;
  /** Parley over TLS. */
  tls: boolean;
}

/** The command line, checked. */
export interface Options {
  targets: Target[];
  /** With --port: a server someone else runs, measured in place of ours. */
  external: { host: string; port: number; pid: number | null } | null;
  redisServer: string;
  clusterNodes: number;
  /** --send-queue as given: checked when one of our servers starts, the only place it applies. */
  sendQueue: string | undefined;
  serverLog: string | null;
  parleyFlags: string;
  /** With --idle: the member counts; null for the message workload. */
  idleCounts: number[] | null;
  memberCounts: number[];
  sizes: number[];
  messages: number;
  deliveries: number | null;
  window: number;
  echo: boolean;
  rate: number;
  spin: "auto" | "on" | "off";
  warmup: number | null;
  roomSize: number;
  settleMs: number;
  runs: number;
  stallMs: number;
  pin: string;
  json: boolean;
}

export function parseOptions(args: string[]): Options | "help" {
  const { values, positionals } = parseCommandLine(args, {
    target: { type: "string", default: "parley" },
    runtime: { type: "string", default: "deno" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "server-pid": { type: "string" },
    "redis-server": { type: "string", default: "redis-server" },
    "cluster-nodes": { type: "string", default: "2" },
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
    tls: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help";
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const targets = chooseTargets(values.target, values.runtime, values.tls);
  if (values.port !== undefined && values.tls) {
    throw new UsageError("--tls measures servers the benchmark starts: not with --port");
  }
  if (values.port !== undefined && targets.length !== 1) {
    throw new UsageError("--port measures one running server: --target must be parley or redis");
  }
  const port = values.port === undefined ? null : wholeNumber(values.port, "--port", 1, 65535);
  const pid = values["server-pid"] === undefined
    ? null
    : wholeNumber(values["server-pid"], "--server-pid", 1, 2 ** 22);
  const idleCounts = values.idle === undefined
    ? null
    : list(values.idle, "--idle", 1, MAX_MEMBERS - 1);
  const memberCounts = list(values.members, "--members", 2, MAX_MEMBERS - 1);
  const sizes = list(values.size, "--size", STAMP_BYTES, 4096);
  const messages = wholeNumber(values.messages, "--messages", 1, MAX_MESSAGES - 1);
  const deliveries = values.deliveries === undefined
    ? null
    : wholeNumber(values.deliveries, "--deliveries", 1, Number.MAX_SAFE_INTEGER);
  const window = wholeNumber(values.window, "--window", 1, 1_000_000);
  if (!["on", "off"].includes(values.echo)) {
    throw new UsageError(`--echo must be on or off, not "${values.echo}"`);
  }
  const rate = wholeNumber(values.rate, "--rate", 0, 100_000_000);
  const warmup = values.warmup === undefined
    ? null
    : wholeNumber(values.warmup, "--warmup", 0, MAX_MESSAGES - 1);
  const roomSize = wholeNumber(values["room-size"], "--room-size", 0, MAX_MEMBERS);
  const settleMs = Number(values.settle) * 1000;
  if (!(settleMs >= 0)) throw new UsageError(`--settle must be a number of seconds`);
  const runs = wholeNumber(values.runs, "--runs", 1, 1000);
  const stallMs = wholeNumber(values.stall, "--stall", 1, 3600) * 1000;
  if (!["auto", "on", "off"].includes(values.spin)) {
    throw new UsageError(`--spin must be auto, on or off, not "${values.spin}"`);
  }
  return {
    targets,
    external: port === null ? null : { host: values.host, port, pid },
    redisServer: values["redis-server"],
    clusterNodes: wholeNumber(values["cluster-nodes"], "--cluster-nodes", 1, 8),
    sendQueue: values["send-queue"],
    serverLog: values["server-log"] ?? null,
    parleyFlags: values["parley-flags"],
    idleCounts,
    memberCounts,
    sizes,
    messages,
    deliveries,
    window,
    echo: values.echo === "on",
    rate,
    spin: values.spin as Options["spin"],
    warmup,
    roomSize,
    settleMs,
    runs,
    stallMs,
    pin: values.pin,
    json: values.json,
  };
}

function list(text: string, what: string, min: number, max: number): number[] {
  return text.split(",").map((item) => wholeNumber(item.trim(), what, min, max));
}

function chooseTargets(target: string, runtime: string, tls: boolean): Target[] {
  const kinds = (target === "both" ? "parley,redis" : target).split(",") as Target["kind"][];
  const unknown = kinds.find((kind) => !TARGET_KINDS.includes(kind));
  if (unknown !== undefined) {
    throw new UsageError(
      `--target must be parley, redis, relay, parley-ws, bun-room, cluster, a comma list of ` +
        `them, or both, not "${unknown}"`,
    );
  }
  const runtimes: RuntimeName[] = runtime === "both" ? ["deno", "bun"] : [runtime as RuntimeName];
  if (!["deno", "bun", "both"].includes(runtime)) {
    throw new UsageError(`--runtime must be deno, bun or both, not "${runtime}"`);
  }
  return kinds.flatMap((kind): Target[] =>
    kind === "redis"
      ? [{ kind, runtime: null, tls: false }]
      : kind === "bun-room"
      ? [{ kind, runtime: "bun", tls: false }]
      : runtimes.flatMap((name): Target[] =>
        (kind === "parley" && tls ? [false, true] : [false]).map((overTls) => ({
          kind,
          runtime: name,
          tls: overTls,
        }))
      )
  );
}

// The protocol that the members speak to a target: the relay speaks Redis's.
export const protocolOf = (target: Target): TargetKind =>
  target.kind === "parley" || target.kind === "cluster"
    ? "parley"
    : target.kind === "parley-ws" || target.kind === "bun-room"
    ? "ws"
    : "redis";

export const nameOf = (options: Options, target: Target) =>
  options.external
    ? protocolOf(target)
    : target.runtime
    ? `${kindName(options, target)}-${target.runtime}${target.tls ? "-tls" : ""}`
    : "redis";

// "cluster" for the usual two nodes, "cluster1" for --cluster-nodes 1.
const kindName = (options: Options, target: Target) =>
  target.kind === "cluster" && options.clusterNodes !== 2
    ? `cluster${options.clusterNodes}`
    : target.kind;

/** Messages per member at `members`: --messages, or what makes about --deliveries. */
export const messagesFor = (options: Options, members: number) =>
  options.deliveries === null ? options.messages : Math.min(
    MAX_MESSAGES - 1,
    Math.max(1, Math.round(options.deliveries / (members * (members - 1)))),
  );
