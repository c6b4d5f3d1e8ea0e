// The Parley terminal client. On a terminal it is interactive: a prompt, a line editor, and
// messages printed above the line being typed without garbling it. On pipes it is a line filter:
// each input line is a message and each event is an output line, so scripts can chat too.
// The wire format is protocol.ts and the editing is line_editor.ts; this file moves the bytes.
import process from "node:process";
import { parseCommandLine, runProgram, UsageError, wholeNumber } from "./cli.ts";
import { KeyDecoder, LineEditor, printable } from "./line_editor.ts";
import {
  type ClientMessage,
  describe,
  encodeFrame,
  FrameDecoder,
  nickProblem,
  parseServerMessage,
  roomProblem,
  type ServerMessage,
  textProblem,
} from "./protocol.ts";
import { type Connection, formatAddress, runtime } from "./runtime.ts";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 9009;
// Larger than any frame a client sends: a welcome lists every member of the room.
const MAX_SERVER_FRAME_BYTES = 1024 * 1024;
// Input from a pipe is paused while this much waits to go out, so that piping in a large file
// takes bounded memory.
const OUTBOX_PAUSE_BYTES = 256 * 1024;
// After we half-close, the server closes once it has told the room we left. This bounds the wait
// for a server that never does.
const LEAVE_TIMEOUT_MS = 3000;
// For a terminal that does not say how wide it is.
const DEFAULT_COLUMNS = 80;

const COMMANDS = [
  "/nick NAME   change your nick",
  "/who         list who is in the room",
  "/me ACTION   say what you do; others see * you ACTION",
  "/help        list these commands",
  "/quit        leave (so do Ctrl-C, and Ctrl-D on an empty line)",
  '//text       send a message that starts with "/"',
];

const KEYS = [
  "keys: Left/Right, Home/End (Ctrl-A/Ctrl-E), Up/Down recall what you sent,",
  "      Ctrl-U/Ctrl-K delete to the start/end, Ctrl-W deletes a word",
];

const USAGE = `Usage: client.ts [HOST] [PORT] [options]

Joins the Parley chat server at HOST (default ${DEFAULT_HOST}) and PORT (default ${DEFAULT_PORT}).

On a terminal, type a message and press Enter to send it. Otherwise each line of input is a
message (the first is the nick, without --nick), and the client leaves at the end of its input.

Options:
  --nick NAME   join as NAME instead of being asked for a nick
  --room ROOM   join ROOM instead of the server's default room
  --help        show this help

Commands:
${COMMANDS.map((line) => `  ${line}`).join("\n")}

Exit status:
  0        after leaving
  1        the server cannot be reached or goes away, refuses a script's --nick, or
           output cannot be written
  2        a bad command line
  128 + N  after signal N (SIGINT, SIGTERM, SIGHUP), on which the client leaves politely
`;

/** What the user's side gives the client: lines typed or piped in, and the end of them. */
interface InputHandler {
  line(text: string): void;
  /** No more input: leave once what was typed has been sent. */
  end(): void;
  /** Leave now. */
  interrupt(): void;
  /** Nobody reads the transcript any more, as in `client | head -1`. */
  outputClosed(): void;
  /** A bug in a callback: end the program, restoring the terminal first. */
  fail(error: unknown): void;
}

/** The user's side of the client: a terminal or pipes. */
interface Ui {
  /** Input is typed by a person, so the client shows what was sent. */
  readonly interactive: boolean;
  open(input: InputHandler): void;
  /** Adds one line to the transcript. The line may come from the server: it is made printable. */
  show(line: string): void;
  setPrompt(prompt: string): void;
  /** Asks for input or for a pause in it; only pipes pause. */
  setReading(reading: boolean): void;
  /** Ignores further input and takes the prompt away. */
  stop(): void;
  /** Restores the terminal, and resolves once everything shown has been written. */
  close(): Promise<void>;
}

/**
 * process.stdout, and a way to wait until everything written has left the process: Bun's
 * process.exit drops output that a pipe has not taken yet. Write callbacks say when it has.
 */
class Output {
  #unwritten = 0;
  #written: (() => void) | null = null;
  #closed = false;

  constructor(onClosed: () => void) {
    process.stdout.on("error", () => {
      this.#closed = true;
      this.#written?.(); // the callbacks of what could not be written may never come
      onClosed();
    });
  }

  write(text: string): void {
    if (this.#closed) return;
    this.#unwritten++;
    process.stdout.write(text, () => {
      if (--this.#unwritten === 0) this.#written?.();
    });
  }

  async flushed(): Promise<void> {
    if (this.#unwritten > 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#written = resolve);
    }
  }
}

// Lines shown while the client works through one chunk from the server are written together
// once it is done, in one write instead of one per message: a client that falls behind a busy
// room is closed by the server.

class TerminalUi implements Ui {
  readonly interactive = true;
  #output = new Output(() => this.#input?.outputClosed());
  #editor = new LineEditor();
  #keys = new KeyDecoder();
  #input: InputHandler | null = null;
  #shown: string[] = []; // printable lines waiting to be written
  #active = false; // reading keys, with the editor on screen
  #raw = false;

  open(input: InputHandler): void {
    this.#input = input;
    process.stdin.setRawMode(true);
    this.#raw = true;
    // process.exit, which runProgram calls even after a crash, must not leave the shell raw.
    process.once("exit", this.#restore);
    process.stdin.on("data", this.#onData);
    process.on("SIGWINCH", this.#paint);
    this.#active = true;
    this.#paint();
  }

  #columns(): number {
    return process.stdout.columns || DEFAULT_COLUMNS;
  }

  // Writes the lines waiting to be shown, and redraws the editor below them.
  #paint = (): void => {
    const lines = this.#shown.splice(0);
    if (this.#active) this.#output.write(this.#editor.printAbove(lines, this.#columns()));
    else if (lines.length > 0) this.#output.write(lines.map((line) => `${line}\r\n`).join(""));
  };

  #onData = (chunk: Uint8Array): void => {
    const input = this.#input!;
    try {
      let changed = false;
      for (const key of this.#keys.push(chunk)) {
        if (!this.#active) return;
        const outcome = this.#editor.apply(key);
        switch (outcome.type) {
          case "unchanged":
            break;
          case "changed":
            changed = true;
            break;
          case "clear-screen":
            this.#output.write(this.#editor.redrawScreen(this.#columns()));
            break;
          case "submit":
            changed = true;
            input.line(outcome.line);
            break;
          case "eof":
            return input.end();
          case "interrupt":
            return input.interrupt();
        }
      }
      if (changed) this.#paint();
    } catch (error) {
      input.fail(error);
    }
  };

  show(line: string): void {
    if (this.#shown.push(printable(line)) === 1) queueMicrotask(this.#paintShown);
  }

  #paintShown = (): void => {
    if (this.#shown.length > 0) this.#paint();
  };

  setPrompt(prompt: string): void {
    this.#editor.prompt = printable(prompt);
    if (this.#active) this.#paint();
  }

  setReading(): void {
    // A person types slower than any server reads.
  }

  stop(): void {
    if (!this.#active) return;
    this.#output.write(this.#editor.clear());
    this.#active = false;
    this.#paint();
  }

  #restore = (): void => {
    if (!this.#raw) return;
    this.#raw = false;
    process.stdin.setRawMode(false);
  };

  async close(): Promise<void> {
    this.stop();
    this.#paint();
    process.stdin.off("data", this.#onData);
    process.off("SIGWINCH", this.#paint);
    this.#restore();
    process.stdin.pause();
    await this.#output.flushed();
  }
}

class PipeUi implements Ui {
  readonly interactive = false;
  #output = new Output(() => this.#input?.outputClosed());
  #utf8 = new TextDecoder();
  #partial = ""; // the start of a line whose end has not arrived
  #input: InputHandler | null = null;
  #shown: string[] = [];
  #active = false;

  open(input: InputHandler): void {
    this.#input = input;
    this.#active = true;
    process.stdin.on("data", this.#onData);
    process.stdin.on("end", this.#onEnd);
  }

  #onData = (chunk: Uint8Array): void => {
    const lines = (this.#partial + this.#utf8.decode(chunk, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    this.#deliver(lines);
  };

  #onEnd = (): void => {
    const last = this.#partial + this.#utf8.decode();
    this.#partial = "";
    this.#deliver(last ? [last] : []);
    if (this.#active) this.#input!.end();
  };

  #deliver(lines: string[]): void {
    try {
      for (const line of lines) {
        if (!this.#active) return;
        this.#input!.line(line.endsWith("\r") ? line.slice(0, -1) : line);
      }
    } catch (error) {
      this.#input!.fail(error);
    }
  }

  show(line: string): void {
    if (this.#shown.push(printable(line)) === 1) queueMicrotask(this.#write);
  }

  #write = (): void => {
    const lines = this.#shown.splice(0);
    if (lines.length > 0) this.#output.write(lines.map((line) => `${line}\n`).join(""));
  };

  setPrompt(): void {
    // Scripts are not asked for anything.
  }

  setReading(reading: boolean): void {
    if (reading) process.stdin.resume();
    else process.stdin.pause();
  }

  stop(): void {
    this.#active = false;
  }

  async close(): Promise<void> {
    this.stop();
    this.#write();
    process.stdin.off("data", this.#onData);
    process.stdin.off("end", this.#onEnd);
    process.stdin.pause();
    await this.#output.flushed();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const whole = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.length;
  }
  return whole;
}

/** The command a line starts with, like "/quit", or null for a message. "//" escapes a "/". */
function commandOf(line: string): { name: string; argument: string } | null {
  if (!line.startsWith("/") || line.startsWith("//")) return null;
  const space = line.indexOf(" ");
  return space < 0
    ? { name: line.toLowerCase(), argument: "" }
    : { name: line.slice(0, space).toLowerCase(), argument: line.slice(space + 1).trim() };
}

interface ClientOptions {
  nick?: string;
  room?: string;
  interactive: boolean;
  /** A person can answer when a nick given with --nick is refused. */
  canAskForNick: boolean;
}

// naming: waiting for the user to give a nick. joining: a hello is out, and input lines wait for
// its answer. chatting: joined. leaving: half-closed, waiting for the server to close.
type Phase = "naming" | "joining" | "chatting" | "leaving";

class Client implements InputHandler {
  readonly #conn: Connection;
  readonly #ui: Ui;
  readonly #wantedRoom: string | undefined;
  readonly #canAskForNick: boolean;
  #phase: Phase = "naming";
  #nick = "";
  #nickRefused = false;
  #inputEnded = false;
  #waiting: string[] = []; // input lines that arrived while joining
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0; // queued or being written
  #writing: Promise<void> | null = null;
  #leaveStatus = 0;
  #leaveTimer: ReturnType<typeof setTimeout> | undefined;
  #connectionEnded = false;
  #shutdownAnnounced = false;
  #broken: string | null = null; // why the server's byte stream could not be read
  #failure: { error: unknown } | null = null;

  constructor(conn: Connection, options: ClientOptions) {
    this.#conn = conn;
    this.#ui = options.interactive ? new TerminalUi() : new PipeUi();
    this.#nick = options.nick ?? "";
    this.#wantedRoom = options.room;
    this.#canAskForNick = options.nick === undefined || options.canAskForNick;
  }

  /** Chats until the user leaves or the connection ends; resolves with the exit status. */
  async run(): Promise<number> {
    try {
      this.#ui.open(this);
      if (this.#nick) {
        this.#hello();
      } else {
        // The server takes a connection that stays silent for 500 ms for a person at nc
        // (PROTOCOL.md, "Telling the modes apart"): a frame now says we speak native frames while
        // the user thinks of a nick.
        this.#send({ type: "ping" });
        this.#askForNick();
      }
      await this.#receive();
      this.#connectionEnded = true;
      clearTimeout(this.#leaveTimer);
      if (this.#failure) throw this.#failure.error;
      if (this.#phase === "leaving") return this.#leaveStatus;
      const why = this.#broken ??
        (this.#shutdownAnnounced ? "the server shut down" : "the server closed the connection");
      this.#ui.show(`* disconnected: ${why}`);
      return 1;
    } finally {
      this.#conn.close();
      await this.#ui.close();
    }
  }

  line(text: string): void {
    switch (this.#phase) {
      case "naming":
        return this.#offerNick(text);
      case "joining":
        this.#waiting.push(text);
        return this.#updateReading();
      case "chatting":
        return this.#chat(text);
      case "leaving":
        return;
    }
  }

  end(): void {
    this.#inputEnded = true;
    // While joining, the answer decides: the waiting lines go out after a welcome.
    if (this.#phase === "naming") this.leave(this.#nickRefused ? 1 : 0);
    else if (this.#phase === "chatting") this.leave(0);
  }

  interrupt(): void {
    this.leave(0);
  }

  outputClosed(): void {
    this.leave(1);
  }

  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#conn.close();
  }

  /**
   * Half-closes once everything queued is written, so the server reads every message and then the
   * end; it tells the room we left and closes, which ends run().
   */
  leave(status: number): void {
    if (this.#phase === "leaving") return;
    this.#phase = "leaving";
    this.#leaveStatus = status;
    this.#waiting = [];
    this.#ui.stop();
    void this.#halfClose();
  }

  async #halfClose(): Promise<void> {
    while (this.#writing) await this.#writing;
    try {
      await this.#conn.closeWrite();
    } catch {
      this.#conn.close();
    }
    if (!this.#connectionEnded) {
      this.#leaveTimer = setTimeout(() => this.#conn.close(), LEAVE_TIMEOUT_MS);
    }
  }

  #askForNick(): void {
    this.#phase = "naming";
    this.#ui.setPrompt("Nick: ");
    while (this.#phase === "naming" && this.#waiting.length > 0) this.line(this.#waiting.shift()!);
    if (this.#phase === "naming" && this.#inputEnded) this.end();
    this.#updateReading();
  }

  #offerNick(text: string): void {
    if (text === "") return;
    const command = commandOf(text);
    if (command?.name === "/quit" || command?.name === "/help") return this.#command(command);
    // Anything else is a nick, even "/x": the server says why it is not one.
    if (this.#ui.interactive) this.#ui.show(`Nick: ${text}`);
    this.#nick = text;
    this.#hello();
  }

  #hello(): void {
    this.#phase = "joining";
    this.#send(
      this.#wantedRoom === undefined
        ? { type: "hello", nick: this.#nick }
        : { type: "hello", nick: this.#nick, room: this.#wantedRoom },
    );
  }

  #chat(text: string): void {
    if (text === "") return;
    const command = commandOf(text);
    if (command) return this.#command(command);
    this.#say(text.startsWith("//") ? text.slice(1) : text, false);
  }

  #say(text: string, action: boolean): void {
    const problem = textProblem(text);
    if (problem) return this.#ui.show(`* ${problem.message}`);
    this.#send(action ? { type: "msg", text, action } : { type: "msg", text });
    // The server does not echo our messages: on a terminal the typed line is replaced by this.
    if (this.#ui.interactive) {
      this.#ui.show(action ? `* ${this.#nick} ${text}` : `<${this.#nick}> ${text}`);
    }
  }

  #command({ name, argument }: { name: string; argument: string }): void {
    switch (name) {
      case "/nick":
        if (!argument) return this.#ui.show("* usage: /nick NAME");
        return this.#send({ type: "nick", nick: argument });
      case "/who":
        return this.#send({ type: "who" });
      case "/me":
        if (!argument) return this.#ui.show("* usage: /me ACTION");
        return this.#say(argument, true);
      case "/quit":
        return this.leave(0);
      case "/help":
        for (const line of COMMANDS) this.#ui.show(`* ${line}`);
        if (this.#ui.interactive) { for (const line of KEYS) this.#ui.show(`* ${line}`); }
        return;
      default:
        return this.#ui.show(`* unknown command ${name}, try /help`);
    }
  }

  async #receive(): Promise<void> {
    const decoder = new FrameDecoder(MAX_SERVER_FRAME_BYTES);
    while (true) {
      const chunk = await this.#conn.read();
      if (chunk === null) return;
      for (const frame of decoder.push(chunk)) {
        if (frame.ok) {
          this.#handle(frame.value);
        } else if (frame.error.fatal) {
          this.#broken = `the server sent a broken frame (${frame.error.message})`;
          return;
        }
        // A frame that is not JSON spoils only itself.
      }
    }
  }

  #handle(value: unknown): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(value);
    } catch {
      return; // a type from a newer server, meant for clients that know it
    }
    switch (message.type) {
      case "ping":
        return this.#send({ type: "pong" });
      case "welcome":
        return this.#welcome(message);
      case "nick":
        if (message.from === this.#nick && this.#phase === "chatting") {
          this.#nick = String(message.nick);
          this.#ui.setPrompt(`${this.#nick}> `);
        }
        break;
      case "error":
        if (message.code === "server_shutdown") this.#shutdownAnnounced = true;
        if (this.#phase === "joining") {
          this.#show(message);
          return this.#refused(message.code);
        }
        break;
    }
    this.#show(message);
  }

  #show(message: ServerMessage): void {
    let line: string | null;
    try {
      line = describe(message);
    } catch {
      return; // a field of the wrong type: parseServerMessage trusts the server's fields
    }
    if (line !== null) this.#ui.show(line);
  }

  #welcome(message: Extract<ServerMessage, { type: "welcome" }>): void {
    if (this.#phase !== "joining") return;
    this.#phase = "chatting";
    this.#nick = String(message.nick);
    this.#show(message);
    this.#ui.setPrompt(`${this.#nick}> `);
    for (const line of this.#waiting.splice(0)) this.line(line);
    if (this.#inputEnded) this.leave(0);
    this.#updateReading();
  }

  #refused(code: string): void {
    if ((code === "nick_taken" || code === "bad_nick") && this.#canAskForNick) {
      this.#nickRefused = true;
      this.#askForNick();
    } else {
      // A script's nick, or a room: nobody is there to choose another.
      this.leave(1);
    }
  }

  #send(message: ClientMessage): void {
    const bytes = encodeFrame(message);
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.length;
    this.#writing ??= this.#writeOutbox();
    this.#updateReading();
  }

  // One write at a time, of everything queued since the last one.
  async #writeOutbox(): Promise<void> {
    try {
      while (this.#outbox.length > 0) {
        const bytes = concat(this.#outbox.splice(0));
        await this.#conn.write(bytes);
        this.#outboxBytes -= bytes.length;
        this.#updateReading();
      }
    } catch {
      this.#conn.close(); // #receive then ends, and run() reports the lost connection
    } finally {
      this.#writing = null;
    }
  }

  #updateReading(): void {
    this.#ui.setReading(this.#phase !== "joining" && this.#outboxBytes < OUTBOX_PAUSE_BYTES);
  }
}

// Bun says only "Failed to connect" for a refused connection; the error code says more.
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "no such host",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
};

function connectProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && Object.hasOwn(CONNECT_ERRORS, code)) return CONNECT_ERRORS[code];
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    nick: { type: "string" },
    room: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const [host = DEFAULT_HOST, portText] = positionals;
  const port = portText === undefined ? DEFAULT_PORT : wholeNumber(portText, "PORT", 1, 65535);
  const { nick, room } = values;
  const nickIssue = nick === undefined ? null : nickProblem(nick);
  if (nickIssue) throw new UsageError(`--nick "${printable(nick!)}": ${nickIssue}`);
  const roomIssue = room === undefined ? null : roomProblem(room);
  if (roomIssue) throw new UsageError(`--room "${printable(room!)}": ${roomIssue}`);

  let conn: Connection;
  try {
    conn = await runtime.connect(host, port);
  } catch (error) {
    process.stderr.write(
      `client: cannot connect to ${formatAddress(host, port)}: ${connectProblem(error)}\n`,
    );
    return 1;
  }
  const client = new Client(conn, {
    nick,
    room,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    canAskForNick: Boolean(process.stdin.isTTY),
  });
  // Leaving politely on a signal also restores the terminal; the status says which signal it was.
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => client.leave(status));
  }
  return await client.run();
}

await runProgram("client", main);
