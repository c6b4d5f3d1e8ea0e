// The Parley server's command line: flags in, a listening ChatServer out.
import process from "node:process";
import { ChatServer } from "./server/chat_server.ts";
import { SqliteMessageStore } from "./server/sqlite/history.ts";
import { parseCommandLine, runProgram, seconds, UsageError, wholeNumber } from "./cli.ts";
import { DEFAULT_FLOOD_LIMITS } from "./server/flood_gate.ts";
import { DEFAULT_LIVENESS_LIMITS } from "./server/liveness.ts";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT } from "./protocol.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./protocol/line.ts";
import { type Mode, MODES } from "./protocol/mode.ts";
import { formatAddress } from "./runtime.ts";
import { runtime } from "./runtime/current.ts";

// A reader may fall 4 MiB behind for a moment, and 1 MiB behind for 10 s: enough for a burst in a
// busy room, too little for a member who cannot keep up to hold the server's memory for long.
const SEND_QUEUE_BYTES = 4 * 1024 * 1024;
const SEND_QUEUE_SOFT_BYTES = 1024 * 1024;
const SEND_QUEUE_GRACE_MS = 10_000;
const CLOSE_FLUSH_MS = 2000;
const MAX_CLIENTS = 10_000;
const HISTORY = 50;
const MAX_PER_ADDRESS = 64;
const inSeconds = (ms: number) => String(ms / 1000);
const flood = DEFAULT_FLOOD_LIMITS;
const live = DEFAULT_LIVENESS_LIMITS;
// The frame header is 32 bits, but a native client's first byte must be 0x00 (PROTOCOL.md).
const LARGEST_MAX_FRAME_BYTES = 16 * 1024 * 1024 - 1;

const USAGE = `Usage: server.ts [options]

Runs a Parley chat server.

Options:
  --host HOST          interface to listen on (default 0.0.0.0, all IPv4 interfaces)
  --port PORT          TCP port, 0 for any free one (default ${DEFAULT_PORT})
  --mode MODE          auto, native, line or legacy: the protocol every connection speaks;
                       auto tells each connection's from its first bytes (default auto)
  --max-frame BYTES    largest native or legacy frame payload accepted
                       (default ${DEFAULT_MAX_FRAME_BYTES})
  --max-line BYTES     longest line accepted in line mode (default ${DEFAULT_MAX_LINE_BYTES})
  --send-queue BYTES   output that may wait for one member (queued or being written); one
                       byte more and it is closed as too slow (default ${SEND_QUEUE_BYTES})
  --send-queue-soft BYTES
                       output that may wait for one member for --send-queue-grace seconds;
                       above it for longer, it is closed as too slow; taken as --send-queue
                       where it is more (default ${SEND_QUEUE_SOFT_BYTES})
  --send-queue-grace S seconds a member's output may stay above --send-queue-soft
                       (default ${inSeconds(SEND_QUEUE_GRACE_MS)})
  --rate N             messages a member may send per second, on average; a faster one is
                       slowed, and disconnected when far behind; 0 turns this off
                       (default ${flood.ratePerSecond})
  --burst N            messages a member may send at once before --rate applies
                       (default ${flood.burst})
  --max-clients N      connections at once (default ${MAX_CLIENTS})
  --max-per-address N  connections at once from one address, 0 for no limit
                       (default ${MAX_PER_ADDRESS})
  --hello-timeout S    seconds a native or legacy connection has to introduce itself
                       (default ${inSeconds(live.helloTimeoutMs)})
  --read-timeout S     seconds a message that has begun to arrive has to finish
                       (default ${inSeconds(live.readTimeoutMs)})
  --ping-after S       seconds of silence after which a native member is pinged
                       (default ${inSeconds(live.pingAfterMs)})
  --ping-timeout S     seconds a pinged member has to answer before it is closed
                       (default ${inSeconds(live.pongTimeoutMs)})
  --idle-timeout S     seconds of silence after which a line or legacy member is closed,
                       0 for never (default ${inSeconds(live.idleTimeoutMs)})
  --history N          messages each room keeps and replays to members who join, 0 for none
                       (default ${HISTORY})
  --data DIR           keep history in DIR/parley.db (SQLite), so it outlives the server;
                       without it, history lives in memory
  --quiet              do not log connects and disconnects to stderr
  --help               show this help
`;

function positiveSeconds(text: string, what: string): number {
  const ms = seconds(text, what);
  if (ms === 0) throw new UsageError(`${what} must be more than 0 seconds`);
  return ms;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    host: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: String(DEFAULT_PORT) },
    mode: { type: "string", default: "auto" },
    "max-frame": { type: "string", default: String(DEFAULT_MAX_FRAME_BYTES) },
    "max-line": { type: "string", default: String(DEFAULT_MAX_LINE_BYTES) },
    "send-queue": { type: "string", default: String(SEND_QUEUE_BYTES) },
    "send-queue-soft": { type: "string", default: String(SEND_QUEUE_SOFT_BYTES) },
    "send-queue-grace": { type: "string", default: inSeconds(SEND_QUEUE_GRACE_MS) },
    rate: { type: "string", default: String(flood.ratePerSecond) },
    burst: { type: "string", default: String(flood.burst) },
    "max-clients": { type: "string", default: String(MAX_CLIENTS) },
    "max-per-address": { type: "string", default: String(MAX_PER_ADDRESS) },
    "hello-timeout": { type: "string", default: inSeconds(live.helloTimeoutMs) },
    "read-timeout": { type: "string", default: inSeconds(live.readTimeoutMs) },
    "ping-after": { type: "string", default: inSeconds(live.pingAfterMs) },
    "ping-timeout": { type: "string", default: inSeconds(live.pongTimeoutMs) },
    "idle-timeout": { type: "string", default: inSeconds(live.idleTimeoutMs) },
    history: { type: "string", default: String(HISTORY) },
    data: { type: "string" },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const mode = values.mode as Mode | "auto";
  if (mode !== "auto" && !MODES.includes(mode)) {
    throw new UsageError(`--mode must be auto, native, line or legacy, not "${values.mode}"`);
  }
  const quiet = values.quiet;
  const port = wholeNumber(values.port, "--port", 0, 65535);
  const options = {
    mode,
    maxFrameBytes: wholeNumber(values["max-frame"], "--max-frame", 1, LARGEST_MAX_FRAME_BYTES),
    maxLineBytes: wholeNumber(values["max-line"], "--max-line", 1, LARGEST_MAX_FRAME_BYTES),
    sendQueueBytes: wholeNumber(values["send-queue"], "--send-queue", 1024, 2 ** 31),
    sendQueueSoftBytes: wholeNumber(values["send-queue-soft"], "--send-queue-soft", 1024, 2 ** 31),
    sendQueueGraceMs: seconds(values["send-queue-grace"], "--send-queue-grace"),
    closeFlushMs: CLOSE_FLUSH_MS,
    historyLimit: wholeNumber(values.history, "--history", 0, 100_000),
    maxClients: wholeNumber(values["max-clients"], "--max-clients", 1, 10_000_000),
    maxPerAddress: wholeNumber(values["max-per-address"], "--max-per-address", 0, 10_000_000),
    flood: {
      ...flood,
      ratePerSecond: wholeNumber(values.rate, "--rate", 0, 1_000_000),
      burst: wholeNumber(values.burst, "--burst", 1, 1_000_000),
    },
    liveness: {
      helloTimeoutMs: positiveSeconds(values["hello-timeout"], "--hello-timeout"),
      readTimeoutMs: positiveSeconds(values["read-timeout"], "--read-timeout"),
      pingAfterMs: positiveSeconds(values["ping-after"], "--ping-after"),
      pongTimeoutMs: positiveSeconds(values["ping-timeout"], "--ping-timeout"),
      idleTimeoutMs: seconds(values["idle-timeout"], "--idle-timeout"),
    },
    clock: () => performance.now(),
    log: quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`),
  };
  const listener = runtime.listen(values.host, port);
  // Opened once every flag has passed, so that a usage error leaves no database behind.
  const store = values.data === undefined ? null : new SqliteMessageStore(values.data);
  const history = { limit: options.historyLimit, store };
  const server = new ChatServer([listener], { ...options, history });
  // Listen for signals before announcing the port: a supervisor may signal as soon as it reads it.
  const signal = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stdout.write(`listening on ${formatAddress(listener.hostname, listener.port)}\n`);

  await signal;
  if (!quiet) process.stderr.write(`${await signal}: shutting down (${runtime.name})\n`);
  await server.shutdown();
  return 0;
}

await runProgram("server", main);
