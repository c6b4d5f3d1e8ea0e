// The Parley server's command line: flags in, a listening ChatServer out.
import process from "node:process";
import { ChatServer } from "./chat_server.ts";
import { parseCommandLine, runProgram, UsageError, wholeNumber } from "./cli.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./protocol.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./line_mode.ts";
import { type Mode, MODES } from "./mode.ts";
import { formatAddress, runtime } from "./runtime.ts";

const DEFAULT_PORT = 9009;
const SEND_QUEUE_BYTES = 1024 * 1024;
const CLOSE_FLUSH_MS = 2000;
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
  --send-queue BYTES   output that may wait for one member before it is closed as too slow
                       (default ${SEND_QUEUE_BYTES})
  --quiet              do not log connects and disconnects to stderr
  --help               show this help
`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    host: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: String(DEFAULT_PORT) },
    mode: { type: "string", default: "auto" },
    "max-frame": { type: "string", default: String(DEFAULT_MAX_FRAME_BYTES) },
    "max-line": { type: "string", default: String(DEFAULT_MAX_LINE_BYTES) },
    "send-queue": { type: "string", default: String(SEND_QUEUE_BYTES) },
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
  const server = new ChatServer({
    hostname: values.host,
    port: wholeNumber(values.port, "--port", 0, 65535),
    mode,
    maxFrameBytes: wholeNumber(values["max-frame"], "--max-frame", 1, LARGEST_MAX_FRAME_BYTES),
    maxLineBytes: wholeNumber(values["max-line"], "--max-line", 1, LARGEST_MAX_FRAME_BYTES),
    sendQueueBytes: wholeNumber(values["send-queue"], "--send-queue", 1024, 2 ** 31),
    closeFlushMs: CLOSE_FLUSH_MS,
    log: quiet ? () => {} : (line) => process.stderr.write(`${line}\n`),
  });
  // Listen for signals before announcing the port: a supervisor may signal as soon as it reads it.
  const signal = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stdout.write(`listening on ${formatAddress(server.hostname, server.port)}\n`);

  await signal;
  if (!quiet) process.stderr.write(`${await signal}: shutting down (${runtime.name})\n`);
  await server.shutdown();
  return 0;
}

await runProgram("server", main);
