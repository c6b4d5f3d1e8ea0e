// What the end-to-end tests share: the runtimes under test, real server and client subprocesses,
// and a test member that speaks native frames over a real socket. Everything here uses node:
// built-ins, so the suite runs under `deno test` and `bun test` alike.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { frame } from "../_frames.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const RUNTIMES = ["deno", "bun"] as const;
export type RuntimeName = typeof RUNTIMES[number];

/** How long any one awaited event may take before the test fails, rather than hangs. */
export const EVENT_TIMEOUT_MS = 10_000;

/** The pinned runtime from node_modules; a missing install fails the test rather than skipping it. */
export function runtimeBinary(runtime: RuntimeName): string {
  const binary = path.join(ROOT, "node_modules", ".bin", runtime);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run "npm install" first`);
  return binary;
}

/** argv that runs `script` (a file in the repository root) under `runtime`. */
export function scriptCommand(runtime: RuntimeName, script: string, args: string[]): string[] {
  const file = path.join(ROOT, script);
  return runtime === "deno"
    ? [runtimeBinary("deno"), "run", "-A", file, ...args]
    : [runtimeBinary("bun"), file, ...args];
}

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = EVENT_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What a stream delivers, in order: `next()` awaits the next item, or null once it has ended. */
export class Inbox<T> {
  #items: T[] = [];
  #ended = false;
  #waiter: (() => void) | null = null;

  /** `timeoutMs` bounds each wait in `next()`. */
  constructor(readonly timeoutMs = EVENT_TIMEOUT_MS) {}

  push(...items: T[]): void {
    this.#items.push(...items);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  async next(what: string): Promise<T | null> {
    while (this.#items.length === 0 && !this.#ended) {
      await within(new Promise<void>((resolve) => this.#waiter = resolve), what, this.timeoutMs);
    }
    return this.#items.shift() ?? null;
  }

  #wake(): void {
    this.#waiter?.();
    this.#waiter = null;
  }
}

/** `message`, which must have every field of `fields` (null: the connection closed first). */
export function withFields(message: Json | null, fields: Json): Json {
  if (message === null) throw new Error(`connection closed; expected ${JSON.stringify(fields)}`);
  for (const [key, value] of Object.entries(fields)) {
    if (message[key] !== value) {
      throw new Error(`expected ${JSON.stringify(fields)}, got ${JSON.stringify(message)}`);
    }
  }
  return message;
}

/** The native frames a socket receives, decoded as JSON; the inbox ends when the socket closes. */
export function nativeFrames(socket: net.Socket): Inbox<Json> {
  const inbox = new Inbox<Json>();
  let buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
      const length = buffer.readUInt32BE(0);
      inbox.push(JSON.parse(buffer.subarray(4, 4 + length).toString("utf8")));
      buffer = buffer.subarray(4 + length);
    }
  });
  socket.on("error", () => {}); // a reset shows as a close, which the tests assert on
  socket.on("close", () => inbox.end());
  return inbox;
}

/** Reads a stream line by line; `next()` awaits the next line, or null at its end. */
export class LineReader {
  #lines: Inbox<string>;
  #partial = "";
  /** Every line seen so far, for failure messages. */
  readonly seen: string[] = [];

  /** `timeoutMs` bounds each wait for a line. */
  constructor(stream: NodeJS.ReadableStream, timeoutMs = EVENT_TIMEOUT_MS) {
    this.#lines = new Inbox<string>(timeoutMs);
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => {
      const parts = (this.#partial + text).split("\n");
      this.#partial = parts.pop()!;
      this.#lines.push(...parts.map((line) => line.replace(/\r$/, "")));
      this.seen.push(...parts);
    });
    stream.on("end", () => {
      if (this.#partial) this.#lines.push(this.#partial);
      this.#lines.end();
    });
  }

  next(what = "a line"): Promise<string | null> {
    return this.#lines.next(what);
  }

  /** Skips lines until one matches `pattern`, and returns it; fails at the end of the stream. */
  async waitFor(pattern: RegExp | string, what = String(pattern)): Promise<string> {
    while (true) {
      const line = await this.next(what);
      if (line === null) {
        throw new Error(`stream ended waiting for ${what}; saw:\n${this.seen.join("\n")}`);
      }
      if (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line)) return line;
    }
  }
}

/**
 * A subprocess with line readers on its output, stopped (SIGKILL if need be) on dispose. Each wait
 * for a line or the exit may take `timeoutMs` (longer for one run under an emulator).
 */
export class Subprocess {
  readonly child: ChildProcess;
  readonly stdout: LineReader;
  readonly stderr: LineReader;
  readonly exited: Promise<number | null>;

  constructor(
    argv: string[],
    env: Record<string, string> = {},
    cwd = ROOT,
    readonly timeoutMs = EVENT_TIMEOUT_MS,
  ) {
    this.child = spawn(argv[0], argv.slice(1), {
      cwd,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...env },
    });
    this.stdout = new LineReader(this.child.stdout!, timeoutMs);
    this.stderr = new LineReader(this.child.stderr!, timeoutMs);
    this.exited = once(this.child, "exit").then(([code]) => code as number | null);
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  endInput(): void {
    this.child.stdin!.end();
  }

  /** The exit status, failing the test if it does not come in time. */
  exitCode(what = "the process to exit"): Promise<number | null> {
    return within(this.exited, what, this.timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** Server flags that turn the web port off; a later --http-port wins. */
export const NO_WEB = ["--http-port", "off"];

/** A server.ts subprocess on a free port, ready once it has printed its listening line. */
export class ServerProcess extends Subprocess {
  port = 0;

  static async start(runtime: RuntimeName, args: string[] = []): Promise<ServerProcess> {
    // No web port unless a test asks for one: the default port would be shared by every test.
    const command = scriptCommand(runtime, "server.ts", ["--port", "0", ...NO_WEB, ...args]);
    const server = new ServerProcess(command);
    const line = await server.stdout.waitFor(/^listening on /, "the listening line");
    server.port = Number(line.slice(line.lastIndexOf(":") + 1));
    return server;
  }

  /**
   * Stops the server (SIGSTOP) for `ms`, as a loaded machine or a long pause would hold it up,
   * calling `meanwhile` once it is stopped; then lets it go on (SIGCONT).
   */
  async holdUp(ms: number, meanwhile = () => {}): Promise<void> {
    process.kill(this.child.pid!, "SIGSTOP");
    try {
      meanwhile();
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      process.kill(this.child.pid!, "SIGCONT");
    }
  }

  /** SIGTERM, then the exit status. */
  async stop(): Promise<number | null> {
    // Not child.kill(): under `deno test` that reports any child it signalled as killed by the
    // signal, whatever status the child really exited with.
    process.kill(this.child.pid!, "SIGTERM");
    return await this.exitCode("the server to exit after SIGTERM");
  }
}

/** A fresh directory (a server's --data, say) named after `prefix`, removed whole on dispose. */
export function temporaryDirectory(prefix = "parley-test-"): Disposable & { path: string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { path: dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** server.ts on `port` exactly, as after a restart, ready once it has printed its listening line. */
export async function startServerOn(
  runtime: RuntimeName,
  port: number,
  args: string[],
): Promise<ServerProcess> {
  const server = new ServerProcess(
    scriptCommand(runtime, "server.ts", [
      "--port",
      String(port),
      ...NO_WEB,
      ...LOOPBACK_ARGS,
      "--quiet",
      ...args,
    ]),
  );
  await server.stdout.waitFor(/^listening on /, `the listening line on port ${port}`);
  server.port = port;
  return server;
}

/** A server.ts subprocess on 127.0.0.1 that logs nothing, with `args` on top. */
export function startQuietServer(
  runtime: RuntimeName,
  args: string[] = [],
): Promise<ServerProcess> {
  return ServerProcess.start(runtime, ["--host", "127.0.0.1", "--quiet", ...args]);
}

export type Json = Record<string, unknown>;

/** A native member over a real socket, decoding frames itself so the test checks real bytes. */
export class TestMember {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  #messages: Inbox<Json>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#messages = nativeFrames(socket);
    // Not once(): it rejects when "error" comes first, and a reset should read as a close.
    this.closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<TestMember> {
    const socket = net.connect({ port, host, noDelay: true });
    await within(once(socket, "connect"), `a connection to ${host}:${port}`);
    return new TestMember(socket);
  }

  /** Connects and joins as `nick`, returning once the welcome has arrived. */
  static async join(port: number, nick: string, room?: string): Promise<TestMember> {
    const member = await TestMember.connect(port);
    member.send(room === undefined ? { type: "hello", nick } : { type: "hello", nick, room });
    await member.expect({ type: "welcome" });
    return member;
  }

  send(message: unknown): void {
    this.socket.write(frame(message));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next message, or null once the server has closed the connection. */
  next(what = "a message"): Promise<Json | null> {
    return this.#messages.next(what);
  }

  /** The next message, which must have every field of `fields`; returns the whole message. */
  async expect(fields: Json): Promise<Json> {
    return withFields(await this.next(JSON.stringify(fields)), fields);
  }

  /** Waits until the server closes the connection, returning what arrived before. */
  async untilClosed(): Promise<Json[]> {
    const rest: Json[] = [];
    for (
      let message = await this.next("the close");
      message;
      message = await this.next("the close")
    ) {
      rest.push(message);
    }
    return rest;
  }

  close(): void {
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

// Added for the server battery: the helpers above keep their signatures.

/** Server flags that keep a test server on the loopback interface. */
export const LOOPBACK_ARGS = ["--host", "127.0.0.1"];

/** Writes `bytes` and resolves once the socket has handed them to the operating system. */
export function writeAll(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  return within(
    new Promise<void>((resolve, reject) => {
      socket.write(bytes, (error) => error ? reject(error) : resolve());
    }),
    `writing ${bytes.length} bytes`,
  );
}

/** Writes `bytes` one byte per write, each once the one before has left. */
export async function writeByteByByte(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  for (let i = 0; i < bytes.length; i++) await writeAll(socket, bytes.subarray(i, i + 1));
}

/** Every line `reader` has not handed out yet, once its stream has ended. */
export async function remainingLines(reader: LineReader, what = "the end of output"): Promise<
  string[]
> {
  const lines: string[] = [];
  for (let line = await reader.next(what); line !== null; line = await reader.next(what)) {
    lines.push(line);
  }
  return lines;
}

/** A person at `nc`: a real socket, read line by line. */
export class LineMember {
  readonly socket: net.Socket;
  readonly lines: LineReader;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("error", () => {}); // a reset ends the stream, which the tests assert on
    this.lines = new LineReader(socket);
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<LineMember> {
    const socket = net.connect({ port, host, noDelay: true });
    await within(once(socket, "connect"), `a connection to ${host}:${port}`);
    return new LineMember(socket);
  }

  /** Connects, says nothing, and reads the banner: the guest nick it was given. */
  static async join(port: number): Promise<{ member: LineMember; nick: string }> {
    const member = await LineMember.connect(port);
    const welcome = await member.lines.waitFor(/^\*\*\* you are \S+ in /, "the line-mode banner");
    await member.lines.waitFor(/^\*\*\* \d+ here\. /, "the banner's second line");
    return { member, nick: welcome.split(" ")[3] };
  }

  say(line: string): void {
    this.socket.write(`${line}\n`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.socket.destroyed) {
      this.socket.destroy();
      await new Promise((resolve) => this.socket.once("close", resolve));
    }
  }
}

/** The classic tutorial's client: 10-byte ASCII length headers, messages as (user, text) pairs. */
export class LegacyMember {
  readonly socket: net.Socket;
  #payloads = new Inbox<string>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let buffer = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 10) {
        const length = Number(buffer.subarray(0, 10).toString("ascii").trim());
        if (buffer.length < 10 + length) break;
        this.#payloads.push(buffer.subarray(10, 10 + length).toString("utf8"));
        buffer = buffer.subarray(10 + length);
      }
    });
    socket.on("close", () => this.#payloads.end());
  }

  static encode(text: string): Buffer {
    const payload = Buffer.from(text, "utf8");
    return Buffer.concat([Buffer.from(String(payload.length).padEnd(10, " ")), payload]);
  }

  /** Connects and sends `username` as the first frame, as the classic client does. */
  static async connect(port: number, username: string): Promise<LegacyMember> {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await within(once(socket, "connect"), `a connection to port ${port}`);
    socket.write(LegacyMember.encode(username));
    return new LegacyMember(socket);
  }

  send(text: string): void {
    this.socket.write(LegacyMember.encode(text));
  }

  /** The next (username, text) pair, or null once the server has closed the connection. */
  async next(what = "a legacy message"): Promise<[string, string] | null> {
    const user = await this.#payloads.next(what);
    if (user === null) return null;
    const text = await this.#payloads.next(what);
    if (text === null) throw new Error(`connection closed between ${user}'s name and text`);
    return [user, text];
  }

  /** Skips pairs until one matches, and returns it; fails if the connection closes first. */
  async waitFor(user: string, text: string | RegExp): Promise<[string, string]> {
    while (true) {
      const pair = await this.next(`${user}: ${text}`);
      if (pair === null) throw new Error(`closed while waiting for ${user}: ${text}`);
      const [from, body] = pair;
      if (from === user && (typeof text === "string" ? body === text : text.test(body))) {
        return pair;
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.socket.destroyed) {
      this.socket.destroy();
      await new Promise((resolve) => this.socket.once("close", resolve));
    }
  }
}

/** Joins `nick` and has every member of `others` see it arrive. */
export async function joinSeen(
  port: number,
  nick: string,
  others: TestMember[],
): Promise<TestMember> {
  const member = await TestMember.join(port, nick);
  for (const other of others) await other.expect({ type: "join", nick });
  return member;
}

/** `from` says `text`, and each of `to` must receive exactly that as its next message. */
export async function chatsWith(from: TestMember, nick: string, text: string, to: TestMember[]) {
  from.send({ type: "msg", text });
  for (const member of to) await member.expect({ type: "msg", from: nick, text });
}

/** A welcome as the tests compare it: its epoch, random per server, checked and left out. */
export function withoutEpoch(message: Json | null): Json | null {
  if (message?.type !== "welcome") return message;
  const { epoch, ...rest } = message;
  if (typeof epoch !== "string") {
    throw new Error(`a welcome without an epoch: ${JSON.stringify(message)}`);
  }
  return rest;
}
