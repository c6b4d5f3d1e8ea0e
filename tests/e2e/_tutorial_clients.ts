// Replicas of the four classic socket-chatroom tutorial clients Parley grew from (their tutorials are
// the specification, quirks included). Each sends exactly the bytes its Python client sends, in the
// same order and in the same writes (one `send` is one write), and reads what it receives as that
// client would: over a real socket, with node:net, under `deno test` and `bun test` alike.
import { once } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { Inbox, LineReader, within } from "./_helpers.ts";

const HEADER_LENGTH = 10;

const closes = new WeakMap<net.Socket, Promise<void>>();

/**
 * A connection to the server on `port`; with `ca` (a PEM authority), a TLS one that trusts `ca`:
 * the wrapper (stunnel, or Python's ssl.wrap_socket) a tutorial client would need to reach a TLS
 * port, which changes none of the bytes the client sends and reads.
 */
async function connect(port: number, ca?: string): Promise<net.Socket> {
  // Python sockets keep Nagle's algorithm on, as node:net does by default.
  const socket = ca === undefined
    ? net.connect({ port, host: "127.0.0.1" })
    : tls.connect({ port, host: "127.0.0.1", ca });
  socket.on("error", () => {}); // a reset ends the stream, which the tests assert on
  closes.set(socket, new Promise((resolve) => socket.once("close", () => resolve())));
  const ready = ca === undefined ? "connect" : "secureConnect";
  await within(once(socket, ready), `a connection to port ${port}`);
  return socket;
}

/** Ends the replica's process: its socket is closed, and the close awaited. */
async function exit(socket: net.Socket): Promise<void> {
  socket.destroy();
  await within(closes.get(socket)!, "the replica's socket to close");
}

/** Python's `f"{n:<10}"`: the number left-aligned in ten characters. */
export const pythonLeft10 = (n: number) => String(n).padEnd(HEADER_LENGTH);

/** Python's `f"{n :< 10}"`: the same with the sign flag ` `, which puts a space before n >= 0. */
export const pythonSpaceLeft10 = (n: number) => ` ${n}`.padEnd(HEADER_LENGTH);

/** Python's `int(text.strip())` for the ASCII a header holds; throws where Python would. */
export function pythonInt(text: string): number {
  // deno-lint-ignore no-control-regex -- Python's whitespace: TAB to CR, 0x1C to 0x1F, space
  const match = /^[\t\n\v\f\r\x1c-\x1f ]*([+-]?\d(?:_?\d)*)[\t\n\v\f\r\x1c-\x1f ]*$/.exec(text);
  if (!match) throw new Error(`invalid literal for int() with base 10: ${JSON.stringify(text)}`);
  return Number(match[1].replaceAll("_", ""));
}

/**
 * The 10-byte-header tutorial's client: its username as `f"{len:<10}"` + username in one send,
 * then each non-empty line the user types as `f"{len :< 10}"` + message in one send. It reads
 * (username, message) pairs, each header through `int(header.strip())`, and stops (as its
 * receiving thread's `sys.exit()` does) at a header it cannot read.
 */
export class HeaderTutorialClient {
  readonly socket: net.Socket;
  /** Every write, as its bytes. */
  readonly sent: Buffer[] = [];
  /** What ended the receiving thread other than a close: Python's exception text. */
  failure: string | null = null;
  #pairs = new Inbox<[string, string]>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        while (buffer.length >= HEADER_LENGTH) {
          const nameLength = pythonInt(buffer.subarray(0, HEADER_LENGTH).toString("utf8"));
          const textAt = HEADER_LENGTH + nameLength + HEADER_LENGTH;
          if (buffer.length < textAt) break;
          const textLength = pythonInt(
            buffer.subarray(textAt - HEADER_LENGTH, textAt).toString("utf8"),
          );
          if (buffer.length < textAt + textLength) break;
          const username = buffer.subarray(HEADER_LENGTH, HEADER_LENGTH + nameLength);
          const message = buffer.subarray(textAt, textAt + textLength);
          this.#pairs.push([username.toString("utf8"), message.toString("utf8")]);
          buffer = buffer.subarray(textAt + textLength);
        }
      } catch (error) {
        this.failure = `General error ${(error as Error).message}`;
        this.#pairs.end();
        socket.destroy();
      }
    });
    socket.on("close", () => this.#pairs.end());
  }

  /** Connects (through a TLS wrapper that trusts `ca`, if given) and sends its username. */
  static async connect(port: number, username: string, ca?: string): Promise<HeaderTutorialClient> {
    const client = new HeaderTutorialClient(await connect(port, ca));
    const name = Buffer.from(username, "utf8");
    client.#send(Buffer.concat([Buffer.from(pythonLeft10(name.length)), name]));
    return client;
  }

  /** The user types `line` at the `username > ` prompt. */
  type(line: string): void {
    if (!line) return;
    const message = Buffer.from(line, "utf8");
    this.#send(Buffer.concat([Buffer.from(pythonSpaceLeft10(message.length)), message]));
  }

  #send(bytes: Buffer): void {
    this.sent.push(bytes);
    this.socket.write(bytes);
  }

  /** The next (username, message) pair, or null once the connection has ended. */
  next(what = "a (username, message) pair"): Promise<[string, string] | null> {
    return this.#pairs.next(what);
  }

  /** Skips pairs until `username` says `message`; fails if the connection ends first. */
  async waitFor(username: string, message: string | RegExp): Promise<void> {
    while (true) {
      const pair = await this.next(`${username} > ${message}`);
      if (pair === null) {
        throw new Error(`ended waiting for ${username} > ${message}: ${this.failure ?? "closed"}`);
      }
      const [from, text] = pair;
      const matches = typeof message === "string" ? text === message : message.test(text);
      if (from === username && matches) return;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return exit(this.socket);
  }
}

/**
 * The select-based tutorial clients: silent until the user types, then each line as
 * `sys.stdin.readline()` gives it, newline and all, in one send; whatever arrives is written to the
 * screen as it comes. The "[Me] " client (`prompt`) writes its prompt after each arrival and each
 * line sent; the other prints each arrival with `print`, which adds a newline.
 */
export class SelectTutorialClient {
  readonly socket: net.Socket;
  readonly lines: LineReader;
  /** What its user sees, prompts included. */
  screen: string;

  private constructor(socket: net.Socket, readonly prompt: string | null) {
    this.socket = socket;
    this.lines = new LineReader(socket);
    this.screen = prompt === null
      ? ""
      : `Connected to remote host. You can start sending messages\n${prompt}`;
    socket.on("data", (text: string) => {
      this.screen += prompt === null ? `${text}\n` : `${text}${prompt}`;
    });
  }

  static async connect(port: number, prompt: string | null): Promise<SelectTutorialClient> {
    return new SelectTutorialClient(await connect(port), prompt);
  }

  /** The user types `line` and Enter. */
  type(line: string): void {
    this.socket.write(`${line}\n`);
    if (this.prompt !== null) this.screen += this.prompt;
  }

  /**
   * The Vietnamese tutorial's client sends with `client.sendall(data)`, but its socket is named
   * `server`: the first line its user types raises NameError, and the process exits.
   */
  crashOnTyping(): Promise<void> {
    return exit(this.socket);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return exit(this.socket);
  }
}

/**
 * The nickname-first tutorial's client: `f"{name} connection..."` with no newline as it connects,
 * then each line the user types as `name + ' : ' + line` (the line from `sys.stdin.readline()`,
 * newline and all), each in one send. It prints whatever arrives.
 */
export class NicknameFirstTutorialClient {
  readonly socket: net.Socket;
  readonly lines: LineReader;

  private constructor(socket: net.Socket, readonly name: string) {
    this.socket = socket;
    this.lines = new LineReader(socket);
  }

  static async connect(port: number, name: string): Promise<NicknameFirstTutorialClient> {
    const client = new NicknameFirstTutorialClient(await connect(port), name);
    client.socket.write(`${name} connection...`);
    return client;
  }

  /**
   * As `connect`, with the user's first line sent before the greeting has left (in one write), so
   * that the server reads both at once.
   */
  static async connectTyping(
    port: number,
    name: string,
    line: string,
  ): Promise<NicknameFirstTutorialClient> {
    const client = new NicknameFirstTutorialClient(await connect(port), name);
    client.socket.write(`${name} connection...${name} : ${line}\n`);
    return client;
  }

  type(line: string): void {
    this.socket.write(`${this.name} : ${line}\n`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return exit(this.socket);
  }
}
