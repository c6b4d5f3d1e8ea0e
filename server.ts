// The Parley server's command line: flags in, a listening ChatServer out.
import process from "node:process";
import { ChatServer } from "./server/chat_server.ts";
import { DEFAULT_RETAIN_DAYS, DEFAULT_RETAIN_PER_ROOM } from "./server/sqlite/retention.ts";
import { DEFAULT_IDLE_ROOMS } from "./server/history.ts";
import { openAccounts, openModeration, openStore } from "./server/sqlite/open.ts";
import { MemoryModerationStore, Moderation } from "./server/moderation.ts";
import { readMotd, readOperators } from "./server/moderation_flags.ts";
import { Accounts } from "./server/accounts.ts";
import {
  certificateFiles,
  credentialsOrExplain,
  flagFiles,
  positiveSeconds,
  webPort,
  webUrl,
} from "./server/flag_values.ts";
import {
  listenOrExplain,
  parseCommandLine,
  programName,
  runProgram,
  seconds,
  UsageError,
  versionLine,
  wholeNumber,
} from "./cli.ts";
import { DEFAULT_FLOOD_LIMITS } from "./server/flood_gate.ts";
import { descriptorBudget } from "./server/descriptor_budget.ts";
import { DEFAULT_LIVENESS_LIMITS } from "./server/liveness.ts";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT, DEFAULT_TLS_PORT } from "./protocol.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./protocol/line.ts";
import { type Mode, MODES } from "./protocol/mode.ts";
import { formatAddress, type Listener, systemProblem, type TlsListener } from "./runtime.ts";
import { watchCredentials } from "./server/tls_certificates.ts";
import { runtime } from "./runtime/current.ts";
import { Metrics, type Snapshot, timedReads } from "./server/metrics.ts";
import { DEFAULT_HTTP_PORT, openWeb } from "./server/web.ts";
import { assets } from "./web/assets.ts";
import { EXIT_REDIS_UNREACHABLE, moderateNode, startNode } from "./server/cluster/start.ts";
import { overPlainText } from "./server/cluster/plain_text.ts";

// A reader may fall 4 MiB behind for a moment, and 1 MiB behind for 10 s: enough for a burst in a
// busy room, too little for a member who cannot keep up to hold the server's memory for long.
const SEND_QUEUE_BYTES = 4 * 1024 * 1024;
const SEND_QUEUE_SOFT_BYTES = 1024 * 1024;
const SEND_QUEUE_GRACE_MS = 10_000;
const CLOSE_FLUSH_MS = 2000;
const MAX_CLIENTS = 10_000;
const HISTORY = 50;
const MAX_PER_ADDRESS = 64;
const DAY_MS = 86_400_000;
const IDENTIFY_GRACE_SECONDS = 30;
const inSeconds = (ms: number) => String(ms / 1000);
const flood = DEFAULT_FLOOD_LIMITS;
const live = DEFAULT_LIVENESS_LIMITS;
// The frame header is 32 bits, but a native client's first byte must be 0x00 (PROTOCOL.md).
const LARGEST_MAX_FRAME_BYTES = 16 * 1024 * 1024 - 1;

const usage = (name: string) =>
  `Usage: ${name} [options]

Runs a Parley chat server.

Options:
  --host HOST          interface to listen on (default 0.0.0.0, all IPv4 interfaces)
  --port PORT          TCP port, 0 for any free one, off for none (default ${DEFAULT_PORT})
  --tls-cert FILE      with --tls-key, also listen for TLS, with the certificate (chain) in
                       FILE (PEM); re-read when the file changes, without a restart
  --tls-key FILE       the certificate's private key (PEM)
  --tls-port PORT      TLS port, 0 for any free one (default ${DEFAULT_TLS_PORT})
  --http-port PORT     port of the web client, its WebSockets (/ws), /metrics and
                       /healthz; 0 for any free one, off for none (default ${DEFAULT_HTTP_PORT});
                       HTTPS and WSS only, with --tls-cert and --tls-key
  --allow-origin URL   let pages from URL (scheme://host[:port]) join over /ws, besides the
                       server's own; repeatable; * for any page
  --mode MODE          the protocol connections speak: native, line or legacy for all of
                       them, or auto to recognise each one's from its first bytes
                       (default auto)
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
  --rate N             messages a member may send per second, on average, and
                       ${flood.bytesPerMessage} bytes for each: blank lines and bytes that form no
                       message count too; a faster one's input waits its turn, unread, so a
                       paste arrives whole at this rate; 0 turns this off
                       (default ${flood.ratePerSecond})
  --burst N            messages (and ${flood.bytesPerMessage} bytes each) a member may send at once
                       before --rate applies (default ${flood.burst})
  --flood-timeout S    seconds a member may stay over --rate without a break before it is
                       disconnected for flooding: a paste of S times --rate lines is fine
                       (default ${inSeconds(flood.floodTimeoutMs)})
  --max-clients N      connections at once (default ${MAX_CLIENTS}); lowered, with a line
                       on stderr, to what the limit on open files (ulimit -n) allows
  --max-per-address N  connections at once from one address, 0 for no limit
                       (default ${MAX_PER_ADDRESS})
  --hello-timeout S    seconds a native or legacy connection has to join (a hello
                       accepted), whatever else it sends meanwhile; and a TLS one to
                       finish its handshake
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
  --idle-rooms N       rooms nobody is in whose history stays in memory; past it the one
                       empty longest is forgotten (and read again from --data if it reopens)
                       (default ${DEFAULT_IDLE_ROOMS})
  --data DIR           keep history in DIR/parley.db (SQLite), so it outlives the server;
                       without it, history lives in memory. One server per DIR.
  --identify-grace S   seconds a tutorial client that greets with a registered nick keeps
                       it, told to /identify, before it is renamed; 0 refuses it at once
                       (default ${IDENTIFY_GRACE_SECONDS})
  --identify-needs-tls refuse passwords (register, identify, login, a hello's) on plain TCP
                       and plain WebSocket: only TLS and HTTPS connections may send them
  --retain-days D      with --data, delete messages older than D days, 0 for never
                       (default ${DEFAULT_RETAIN_DAYS})
  --retain-messages N  with --data, keep each room's newest N messages only, 0 for all
                       (default ${DEFAULT_RETAIN_PER_ROOM})
  --operators FILE     server operators: account names, one a line (# comments); an operator
                       acts once identified, in every room; needs --data or --redis
  --operator ACCOUNT   one more server operator; repeatable
  --motd FILE          the message of the day, shown to everyone who joins
  --redis URL          be one node of a cluster: rooms, nicks, accounts, moderation and
                       history are shared through the Redis at URL (redis://HOST:PORT);
                       not with --data
  --redis-lease S      with --redis, seconds a nick and the node's presence outlive the
                       node: a dead node's members leave within 4/3 of it (default 10)
  --redis-cluster      with --redis, URL is a node of a Redis Cluster (Redis 7 or later):
                       rooms are spread over its shards, with sharded pub/sub
  --quiet              do not log connects and disconnects to stderr
  --version            print the version and the commit it was built from
  --help               show this help

Exit status:
  0  after a clean stop on SIGINT (Ctrl-C), SIGTERM or SIGHUP
  1  it cannot start: the address cannot be listened on, --tls-cert or --tls-key cannot be
     read or do not make a pair, --motd or --operators cannot be read or name a bad account, or
     the limit on open files leaves no room for connections (one line on stderr says what and
     why); or an unexpected failure
  2  a bad command line
  3  --data cannot be used (not a directory, not writable, not an SQLite database, damaged)
  4  another running server uses --data
  ${EXIT_REDIS_UNREACHABLE}  --redis cannot be reached within 5 seconds
`;

// Lines on stderr that go out even with --quiet: audit lines, and what cannot be kept.
const stderr = (line: string) => void process.stderr.write(`${line}\n`);

/** The server's command line `args`, run; `name` is how its usage names it. */
export async function main(args: string[], name = programName()): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    host: { type: "string", default: "0.0.0.0" },
    port: { type: "string", default: String(DEFAULT_PORT) },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "tls-port": { type: "string" },
    mode: { type: "string", default: "auto" },
    "http-port": { type: "string", default: String(DEFAULT_HTTP_PORT) },
    "allow-origin": { type: "string", multiple: true, default: [] },
    "max-frame": { type: "string", default: String(DEFAULT_MAX_FRAME_BYTES) },
    "max-line": { type: "string", default: String(DEFAULT_MAX_LINE_BYTES) },
    "send-queue": { type: "string", default: String(SEND_QUEUE_BYTES) },
    "send-queue-soft": { type: "string", default: String(SEND_QUEUE_SOFT_BYTES) },
    "send-queue-grace": { type: "string", default: inSeconds(SEND_QUEUE_GRACE_MS) },
    rate: { type: "string", default: String(flood.ratePerSecond) },
    burst: { type: "string", default: String(flood.burst) },
    "flood-timeout": { type: "string", default: String(inSeconds(flood.floodTimeoutMs)) },
    "max-clients": { type: "string", default: String(MAX_CLIENTS) },
    "max-per-address": { type: "string", default: String(MAX_PER_ADDRESS) },
    "hello-timeout": { type: "string", default: inSeconds(live.helloTimeoutMs) },
    "read-timeout": { type: "string", default: inSeconds(live.readTimeoutMs) },
    "ping-after": { type: "string", default: inSeconds(live.pingAfterMs) },
    "ping-timeout": { type: "string", default: inSeconds(live.pongTimeoutMs) },
    "idle-timeout": { type: "string", default: inSeconds(live.idleTimeoutMs) },
    history: { type: "string", default: String(HISTORY) },
    "idle-rooms": { type: "string", default: String(DEFAULT_IDLE_ROOMS) },
    data: { type: "string" },
    "identify-needs-tls": { type: "boolean", default: false },
    "identify-grace": { type: "string", default: String(IDENTIFY_GRACE_SECONDS) },
    "retain-days": { type: "string", default: String(DEFAULT_RETAIN_DAYS) },
    "retain-messages": { type: "string", default: String(DEFAULT_RETAIN_PER_ROOM) },
    operators: { type: "string" },
    operator: { type: "string", multiple: true, default: [] },
    motd: { type: "string" },
    redis: { type: "string" },
    "redis-lease": { type: "string", default: "10" },
    "redis-cluster": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    version: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(usage(name));
    return 0;
  }
  if (values.version) {
    process.stdout.write(versionLine());
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const mode = values.mode as Mode | "auto";
  if (mode !== "auto" && !MODES.includes(mode)) {
    throw new UsageError(`--mode must be auto, native, line or legacy, not "${values.mode}"`);
  }
  if (values.host === "") throw new UsageError("--host must not be empty");
  const quiet = values.quiet;
  const port = values.port === "off" ? null : wholeNumber(values.port, "--port", 0, 65535);
  const httpPort = values["http-port"] === "off" ? null : webPort(values["http-port"]);
  const tlsFiles = certificateFiles(values["tls-cert"], values["tls-key"]);
  const tlsPort = wholeNumber(
    values["tls-port"] ?? String(DEFAULT_TLS_PORT),
    "--tls-port",
    0,
    65535,
  );
  if (!tlsFiles && values["tls-port"] !== undefined) {
    throw new UsageError("--tls-port needs --tls-cert and --tls-key");
  }
  if (port === null && !tlsFiles && httpPort === null) {
    throw new UsageError("--port off and --http-port off leave no port without --tls-cert");
  }
  const metrics = new Metrics();
  const options = {
    mode,
    maxFrameBytes: wholeNumber(values["max-frame"], "--max-frame", 1, LARGEST_MAX_FRAME_BYTES),
    maxLineBytes: wholeNumber(values["max-line"], "--max-line", 1, LARGEST_MAX_FRAME_BYTES),
    sendQueueBytes: wholeNumber(values["send-queue"], "--send-queue", 1024, 2 ** 31),
    sendQueueSoftBytes: wholeNumber(values["send-queue-soft"], "--send-queue-soft", 1024, 2 ** 31),
    sendQueueGraceMs: seconds(values["send-queue-grace"], "--send-queue-grace"),
    closeFlushMs: CLOSE_FLUSH_MS,
    historyLimit: wholeNumber(values.history, "--history", 0, 100_000),
    idleRooms: wholeNumber(values["idle-rooms"], "--idle-rooms", 0, 10_000_000),
    retainMs: wholeNumber(values["retain-days"], "--retain-days", 0, 100_000) * DAY_MS,
    retainPerRoom: wholeNumber(values["retain-messages"], "--retain-messages", 0, 2 ** 40),
    maxClients: wholeNumber(values["max-clients"], "--max-clients", 1, 10_000_000),
    maxPerAddress: wholeNumber(values["max-per-address"], "--max-per-address", 0, 10_000_000),
    flood: {
      ...flood,
      ratePerSecond: wholeNumber(values.rate, "--rate", 0, 1_000_000),
      burst: wholeNumber(values.burst, "--burst", 1, 1_000_000),
      floodTimeoutMs: positiveSeconds(values["flood-timeout"], "--flood-timeout"),
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
    metrics,
  };
  const redisLeaseMs = positiveSeconds(values["redis-lease"], "--redis-lease");
  const graceMs = seconds(values["identify-grace"], "--identify-grace");
  if (values.redis !== undefined && values.data !== undefined) {
    throw new UsageError("--redis and --data cannot be used together: Redis keeps the history");
  }
  const operatorsGiven = values.operators !== undefined || values.operator.length > 0;
  if (operatorsGiven && values.data === undefined && values.redis === undefined) {
    throw new UsageError(
      "--operator and --operators need --data or --redis: an operator acts once identified",
    );
  }
  if (values["redis-cluster"] && values.redis === undefined) {
    throw new UsageError("--redis-cluster needs --redis URL, one node of the Redis Cluster");
  }
  // Read before anything listens, so that bad files leave no port open even for a moment.
  const credentials = tlsFiles && credentialsOrExplain(tlsFiles);
  const [operators, motd] = flagFiles(() => [
    readOperators(values.operators, values.operator),
    readMotd(values.motd),
  ]);
  const listeners: Listener[] = [];
  if (port !== null) {
    listeners.push(
      await listenOrExplain(values.host, port, () => runtime.listen(values.host, port)),
    );
  }
  let stopWatching = () => {};
  let tls: TlsListener | null = null;
  if (tlsFiles && credentials) {
    const secure = await listenOrExplain(
      values.host,
      tlsPort,
      // A handshake gets as long as a native member has to join: both come before any chat.
      () => runtime.listenTls(values.host, tlsPort, credentials, options.liveness.helloTimeoutMs),
    );
    listeners.push(tls = secure);
  }
  let snapshot = (): Snapshot => ({ connections: new Map(), rooms: 0, members: 0 });
  const web = httpPort === null ? null : await listenOrExplain(values.host, httpPort, () =>
    openWeb(
      runtime,
      values.host,
      httpPort,
      {
        assets,
        allowOrigins: values["allow-origin"],
        metrics: () => metrics.render(snapshot()),
      },
      options.maxFrameBytes,
      credentials ?? undefined,
    ));
  if (tlsFiles) {
    // Logged even with --quiet, as a problem with --data is: what every client sees is at stake.
    const log = (line: string) => void process.stderr.write(`${line}\n`);
    stopWatching = watchCredentials(tlsFiles, (renewed) => {
      tls?.renew(renewed);
      return web?.renew(renewed).catch((error) => {
        log(`tls: the web port could not be served again: ${systemProblem(error)}`);
      });
    }, log);
  }
  // Opened once every flag has passed, so that a usage error leaves no database behind.
  const committed = (seconds: number) => metrics.storeCommitSeconds.observe(seconds);
  const opened = values.data === undefined
    ? null
    : openStore(values.data, { ...options, committed });
  const store = opened && timedReads(opened, metrics.storeReadSeconds);
  const accountStore = opened && openAccounts(opened.file);
  const moderationStore = opened ? openModeration(opened.file) : new MemoryModerationStore(stderr);
  // On a node of a cluster, moderation is kept in Redis: see moderateNode below.
  const moderation = values.redis === undefined
    ? await Moderation.open(moderationStore, operators)
    : null;
  const history = { limit: options.historyLimit, store, idleRooms: options.idleRooms };
  // Counted once the listener and the database are open: what is left is for connections.
  const budget = descriptorBudget();
  const maxConnections = budget?.connections ?? Infinity;
  if (budget && budget.clients < 1) {
    process.stderr.write(
      `server: the limit of ${budget.limit} open files leaves no room for connections ` +
        `(${budget.inUse} in use); raise it with ulimit -n\n`,
    );
    return 1;
  }
  if (budget && options.maxClients > budget.clients) {
    process.stderr.write(
      `server: serving at most ${budget.clients} connections at once, not ${options.maxClients} ` +
        `(--max-clients): the limit of ${budget.limit} open files allows no more ` +
        `(${budget.inUse} in use, the rest kept for turning connections away); raise it with ` +
        `ulimit -n\n`,
    );
    options.maxClients = budget.clients;
  }
  const node = values.redis === undefined ? undefined : await startNode(values.redis, {
    historyLimit: options.historyLimit,
    leaseMs: redisLeaseMs,
    sharded: values["redis-cluster"],
    graceMs,
  });
  const clustered = node && await moderateNode(node, operators);
  const tcpAndTls = [...listeners];
  if (web) listeners.push(web);
  const server = new ChatServer(listeners, {
    ...options,
    history,
    maxConnections,
    service: node,
    moderation: {
      moderation: clustered?.moderation ?? moderation,
      motd,
      audit: stderr,
      site: clustered?.site,
    },
    accounts: accountStore ? Object.assign(new Accounts(accountStore), { graceMs }) : undefined,
    passwordsNeedTls: values["identify-needs-tls"],
    plainTextService: node && overPlainText(node),
  });
  snapshot = () => server.snapshot();
  // Listen for signals before announcing the port: a supervisor may signal as soon as it reads it.
  const signal = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    // Closing the terminal or SSH session that runs the server: stop as cleanly as on SIGTERM.
    process.once("SIGHUP", () => resolve("SIGHUP"));
  });
  for (const listener of tcpAndTls) {
    const what = listener === tls ? " with TLS" : "";
    process.stdout.write(
      `listening${what} on ${formatAddress(listener.hostname, listener.port)}\n`,
    );
  }
  if (web) {
    process.stdout.write(`web client at ${webUrl(values.host, web.port, tlsFiles !== null)}\n`);
  }

  await signal;
  if (!quiet) process.stderr.write(`${await signal}: shutting down (${runtime.name})\n`);
  stopWatching();
  await server.shutdown();
  accountStore?.close();
  moderationStore.close();
  await node?.close();
  return 0;
}

// Run as a script; parley.ts runs main() itself.
if (import.meta.main) await runProgram("server", () => main(process.argv.slice(2)));
