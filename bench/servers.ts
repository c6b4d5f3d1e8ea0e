// The servers under test, as processes: Parley's server.ts and bench/relay.ts under Deno or Bun,
// and redis-server; started on a free port and a core of their own, and stopped whatever happens,
// Ctrl-C included. What they cost is read by machine.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { hasCommand } from "./machine.ts";
import { respCommand } from "./payload.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RUNTIMES = ["deno", "bun"] as const;
export type RuntimeName = typeof RUNTIMES[number];

const START_TIMEOUT_MS = 60_000; // a first `deno run` may have to type-strip the whole server
const STOP_TIMEOUT_MS = 5_000;

/** A server to measure: where to connect, and its pid when we know it. */
export interface Server {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number | null;
  /** The authority (PEM) to trust for a server that speaks TLS; undefined for plain TCP. */
  readonly ca?: string;
  /** A cluster's nodes, which members take in turn (`port` is the first). */
  readonly ports?: readonly number[];
  /**
   * Every process of a cluster (its nodes and Redis, `pid` first), so that the server's CPU is
   * theirs together and each one's share can be shown; undefined for a server of one process.
   */
  readonly processes?: readonly { name: string; pid: number }[];
  /** Stops it if we started it; a server someone else started is left running. */
  stop(): Promise<void>;
}

// Every process we started and have not seen exit, so that a failure or Ctrl-C stops them too.
const children = new Set<ChildProcess>();

/** Kills every child still running; synchronous, for exit handlers. */
export function killChildren(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

let cleanupInstalled = false;

/** Stops our children when the benchmark exits or is interrupted. */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", killChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping the servers\n`);
      killChildren();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

export interface ServerSettings {
  sendQueueBytes: number;
  maxClients: number;
  /** A file to append the server's output to, with its connection log on; null for quiet. */
  logFile: string | null;
  /** More flags for Parley's server.ts, after the benchmark's own (so they win). */
  parleyFlags: string[];
  /** For Parley over TLS: its certificate and key files, and the authority that signed them. */
  tls: { certFile: string; keyFile: string; ca: string } | null;
}

// Runs `argv` on `cpu` with the soft open-file limit raised to the hard one (10,000 members need
// 10,000 descriptors). `sh` and `taskset` both exec, so the child's pid is the server's own.
function spawnServer(argv: string[], cpu: number | null): ChildProcess {
  const pin = cpu === null ? [] : ["taskset", "-c", String(cpu)];
  const child = spawn(
    "sh",
    ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...pin, ...argv],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** The last lines a stream wrote, for error messages; keeps the pipe drained. */
function tail(
  stream: NodeJS.ReadableStream | null,
  logFile: string | null,
  keep = 20,
): () => string {
  const lines: string[] = [];
  stream?.setEncoding("utf8");
  stream?.on("data", (text: string) => {
    if (logFile) appendFileSync(logFile, text);
    lines.push(...text.split("\n").filter((line) => line !== ""));
    lines.splice(0, Math.max(0, lines.length - keep));
  });
  return () => lines.join("\n");
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid!, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) =>
    timer = setTimeout(() => resolve("late"), STOP_TIMEOUT_MS)
  );
  if (await Promise.race([exited, late]) === "late") {
    child.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
}

export function runtimeBinary(runtime: RuntimeName): string {
  const binary = path.join(ROOT, "node_modules", ".bin", runtime);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run "npm ci" first`);
  return binary;
}

/**
 * server.ts under `runtime`, on a free loopback port, with the limits a benchmark trips lifted;
 * with `web`, the port returned is its web port, where members join over WebSocket.
 */
export function startParley(
  runtime: RuntimeName,
  cpu: number | null,
  settings: ServerSettings,
  web = false,
): Promise<Server> {
  const { tls } = settings;
  const name = web ? `parley-ws-${runtime}` : `parley-${runtime}${tls ? "-tls" : ""}`;
  const portLine = web ? /^web client at http:\/\/(.+):(\d+)\/$/m : LISTENING;
  return startScript(name, "server.ts", runtime, cpu, settings, portLine, [
    "--host",
    "127.0.0.1",
    "--port",
    tls ? "off" : "0",
    ...(tls ? ["--tls-port", "0", "--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : []),
    "--http-port",
    web ? "0" : "off",
    ...(settings.logFile ? [] : ["--quiet"]),
    "--rate",
    "0",
    "--max-per-address",
    "0",
    "--max-clients",
    String(settings.maxClients),
    "--send-queue",
    String(settings.sendQueueBytes),
    ...settings.parleyFlags,
  ]);
}

/** bench/relay.ts under `runtime`, on a free loopback port: Parley's runtime edge alone. */
export function startRelay(
  runtime: RuntimeName,
  cpu: number | null,
  settings: ServerSettings,
): Promise<Server> {
  return startScript(`relay-${runtime}`, "bench/relay.ts", runtime, cpu, settings, LISTENING, [
    "0",
  ]);
}

/** bench/bun_room.ts on a free loopback port: Bun.serve's own WebSocket pub/sub, nothing else. */
export function startBunRoom(cpu: number | null, settings: ServerSettings): Promise<Server> {
  return startScript("bun-room", "bench/bun_room.ts", "bun", cpu, settings, LISTENING, ["0"]);
}

const LISTENING = /^listening (?:with TLS )?on (.+):(\d+)$/m;

// Starts `script` (relative to the repository) under `runtime`, and waits for the line that says
// where it listens.
async function startScript(
  name: string,
  script: string,
  runtime: RuntimeName,
  cpu: number | null,
  settings: ServerSettings,
  portLine: RegExp,
  args: string[],
): Promise<Server> {
  const file = path.join(ROOT, script);
  const argv = runtime === "deno"
    ? [runtimeBinary("deno"), "run", "-A", file, ...args]
    : [runtimeBinary("bun"), file, ...args];
  const child = spawnServer(argv, cpu);
  const stderr = tail(child.stderr, settings.logFile);
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => fail("no listening line"), START_TIMEOUT_MS);
    function fail(why: string) {
      clearTimeout(timer);
      reject(new Error(`Cannot start ${name}: ${why}\n${stderr()}`));
    }
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (text: string) => {
      out += text;
      const match = out.match(portLine);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[2]));
      }
    });
    child.once("exit", (code, signal) => fail(`it exited (${signal ?? code})`));
  });
  const ca = settings.tls?.ca;
  return { name, host: "127.0.0.1", port, pid: child.pid!, ca, stop: () => stopChild(child) };
}

/** A free TCP port on the loopback interface (free when asked: it could be taken again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once a Redis server on `port` answers PING, or rejects after `timeoutMs`. */
async function redisReady(port: number, timeoutMs: number, exited: () => string | null) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("error", () => resolve(false));
      socket.once("connect", () => socket.write(respCommand("PING")));
      socket.once("data", (reply: Uint8Array) => {
        socket.destroy();
        resolve(new TextDecoder().decode(reply).startsWith("+PONG"));
      });
    });
    if (answered) return;
    const why = exited();
    if (why !== null) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`no answer to PING in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * redis-server on a free loopback port, without persistence, and with its limits lifted as
 * Parley's are: no cap on connections, no output-buffer cap on subscribers.
 */
export async function startRedis(
  binary: string,
  cpu: number | null,
  settings: ServerSettings,
): Promise<Server> {
  if (!binary.includes("/") && !hasCommand(binary)) {
    throw new Error(
      `Cannot start Redis: ${binary} is not installed (apt-get install redis-server)`,
    );
  }
  const port = await freePort();
  const child = spawnServer([
    binary,
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--maxclients",
    String(settings.maxClients),
    "--client-output-buffer-limit",
    "pubsub 0 0 0",
    "--loglevel",
    settings.logFile ? "verbose" : "warning",
  ], cpu);
  const output = tail(child.stdout, settings.logFile);
  const errors = tail(child.stderr, settings.logFile);
  let exit: string | null = null;
  child.once("exit", (code, signal) => exit = `it exited (${signal ?? code})`);
  try {
    await redisReady(port, START_TIMEOUT_MS, () => exit);
  } catch (error) {
    await stopChild(child);
    throw new Error(`Cannot start Redis: ${(error as Error).message}\n${output()}\n${errors()}`);
  }
  return { name: "redis", host: "127.0.0.1", port, pid: child.pid!, stop: () => stopChild(child) };
}

/** A server someone else runs: measured through `pid` if given, never stopped. */
export function runningServer(
  name: string,
  host: string,
  port: number,
  pid: number | null,
): Server {
  return { name, host, port, pid, stop: () => Promise.resolve() };
}

/**
 * A cluster on this machine: a Redis and `count` Parley nodes under `runtime` sharing it, all on
 * the server's core, as one node alone is. Members take the nodes in turn.
 */
export async function startCluster(
  runtime: RuntimeName,
  count: number,
  redisBinary: string,
  cpu: number | null,
  settings: ServerSettings,
): Promise<Server> {
  const redis = await startRedis(redisBinary, cpu, settings);
  const nodeSettings = {
    ...settings,
    parleyFlags: ["--redis", `redis://127.0.0.1:${redis.port}`, ...settings.parleyFlags],
  };
  const nodes: Server[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startParley(runtime, cpu, nodeSettings));
  } catch (error) {
    for (const node of nodes) await node.stop();
    await redis.stop();
    throw error;
  }
  return {
    name: `cluster-${runtime}`,
    host: "127.0.0.1",
    port: nodes[0].port,
    ports: nodes.map((node) => node.port),
    pid: nodes[0].pid,
    processes: [
      ...nodes.map((node, i) => ({ name: `node${i + 1}`, pid: node.pid! })),
      { name: "redis", pid: redis.pid! },
    ],
    stop: async () => {
      for (const node of nodes) await node.stop();
      await redis.stop();
    },
  };
}
