// The Parley terminal client. On a terminal it is interactive: a prompt, a line editor with Tab
// completion, colours, and messages printed above the line being typed without garbling it. On
// pipes it is a line filter: each input line is a message and each event is an output line, so
// scripts can chat too. When the connection drops it reconnects, rejoins its rooms, and fills the
// gap from the server's history without showing anything twice.
//
// The wire format is protocol.ts; one connection's bytes are client_connection.ts; what the client
// knows of its rooms is client_rooms.ts; the terminal and pipes are terminal_ui.ts, and the editing
// line_editor.ts. This file decides what to send and what to show.
import process from "node:process";
import { parseCommandLine, runProgram, seconds, UsageError, wholeNumber } from "./cli.ts";
import { Backoff, connectProblem, Link } from "./client/link.ts";
import { ClientRooms } from "./client/rooms.ts";
import { chatCompleter } from "./client/completion.ts";
import {
  BOLD,
  DIM,
  type Line,
  mentions,
  nickColour,
  printable,
  type Styled,
  YELLOW,
} from "./client/format.ts";
import {
  type ChatMessage,
  type ClientMessage,
  describe,
  nameKey,
  nickProblem,
  roomProblem,
  type ServerMessage,
  textProblem,
} from "./protocol.ts";
import { type Connection, formatAddress } from "./runtime.ts";
import { runtime } from "./runtime/current.ts";
import { createUi, type InputHandler, type Ui } from "./client/ui.ts";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 9009;
// Input from a pipe is paused while this much waits to go out, so that piping in a large file
// takes bounded memory.
const OUTBOX_PAUSE_BYTES = 256 * 1024;
// After we half-close, the server closes once it has told the room we left. This bounds the wait
// for a server that never does.
const LEAVE_TIMEOUT_MS = 3000;
// Longer than the server takes to notice a peer that vanished without a word (a ping after 60 s of
// silence, 30 s to answer), so that our old session's nick is free again before we give up.
const DEFAULT_RECONNECT_SECONDS = 120;

const COMMANDS = [
  "/join ROOM      join ROOM, or switch to it: your lines go there",
  "/part [ROOM]    leave ROOM, by default the one you talk in",
  "/rooms          list the rooms",
  "/who [ROOM]     list who is in ROOM, by default the one you talk in",
  "/msg NICK TEXT  say TEXT to NICK only",
  "/nick NAME      change your nick",
  "/me ACTION      say what you do; others see * you ACTION",
  "/help           list these commands",
  "/quit           leave (so do Ctrl-C, and Ctrl-D on an empty line)",
  '//text          send a message that starts with "/"',
];

const KEYS = [
  "keys: Left/Right, Home/End (Ctrl-A/Ctrl-E), Up/Down recall what you sent,",
  "      Ctrl-U/Ctrl-K delete to the start/end, Ctrl-W deletes a word,",
  "      Tab completes a nick or a command (again for the next one)",
];

const USAGE = `Usage: client.ts [HOST] [PORT] [options]

Joins the Parley chat server at HOST (default ${DEFAULT_HOST}) and PORT (default ${DEFAULT_PORT}).

On a terminal, type a message and press Enter to send it. Otherwise each line of input is a
message (the first is the nick, without --nick), and the client leaves at the end of its input.

When the connection drops, the client connects again (at once, then after 0.5 s, 1 s, 2 s, ...
up to 10 s apart), rejoins its rooms, and shows what was said meanwhile, each message once.

Options:
  --nick NAME      join as NAME instead of being asked for a nick
  --room ROOM      join ROOM instead of the server's default room
  --reconnect S    seconds to keep trying to reconnect before giving up, 0 for never
                   (default ${DEFAULT_RECONNECT_SECONDS})
  --no-color       no colours (neither does NO_COLOR=1, nor output that is not a terminal)
  --help           show this help

Commands:
${COMMANDS.map((line) => `  ${line}`).join("\n")}

Exit status:
  0        after leaving
  1        the server cannot be reached, or goes away and cannot be reached again in time;
           it refuses a script's --nick, disconnects the client for flooding, or
           sends what cannot be read; or output cannot be written
  2        a bad command line
  128 + N  after signal N (SIGINT, SIGTERM, SIGHUP), on which the client leaves politely
`;

/** The command a line starts with, like "/quit", or null for a message. "//" escapes a "/". */
function commandOf(line: string): { name: string; argument: string } | null {
  if (!line.startsWith("/") || line.startsWith("//")) return null;
  const space = line.indexOf(" ");
  return space < 0
    ? { name: line.toLowerCase(), argument: "" }
    : { name: line.slice(0, space).toLowerCase(), argument: line.slice(space + 1).trim() };
}

// How things look. Pipes get the same words without the colours: "<alice> hi", "* bob joined",
// "[den] <carol> hey" for a room other than the one the user talks in, "[12:34] <alice> hi" for
// history, and "*alice* psst" for a private message.

function notice(text: string): Line {
  return [{ text, sgr: DIM }];
}

function nickPiece(text: string, nick: string): Styled {
  return { text, sgr: nickColour(nick) };
}

/** `[room] ` when `room` is not the one the user talks in. */
function roomTag(room: string | undefined, current: string): string {
  return room !== undefined && nameKey(room) !== nameKey(current) ? `[${room}] ` : "";
}

function clock(ts: number): string {
  const time = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

function chatLine(message: ChatMessage, current: string, me: string): Line {
  const { from, text } = message;
  const line: Line = message.history ? [{ text: `[${clock(message.ts)}] `, sgr: DIM }] : [];
  const said = from !== me && mentions(text, me) ? { text, sgr: BOLD } : text;
  if (message.to !== undefined && from === me) {
    // One's own, back from the server: it says whom it went to.
    line.push("-> ", nickPiece(`*${message.to}*`, message.to), message.action ? " * " : " ", said);
  } else if (message.to !== undefined) {
    line.push(nickPiece(`*${from}*`, from), message.action ? " * " : " ", said);
  } else if (message.action) {
    line.push(roomTag(message.room, current), "* ", nickPiece(from, from), " ", said);
  } else {
    line.push(roomTag(message.room, current), nickPiece(`<${from}>`, from), " ", said);
  }
  return line;
}

/** "* alice joined", with the room when it is not the one the user talks in. */
function comingAndGoing(nick: string, did: string, room: string, current: string): Line {
  const where = nameKey(room) === nameKey(current) ? "" : ` ${room}`;
  return [{ text: "* ", sgr: DIM }, nickPiece(nick, nick), { text: ` ${did}${where}`, sgr: DIM }];
}

interface ClientOptions {
  host: string;
  port: number;
  nick?: string;
  room?: string;
  interactive: boolean;
  /** Someone can give another nick when one is refused: a person, or a script without --nick. */
  canAskForNick: boolean;
  colour: boolean;
  /** How long to keep trying to reconnect; 0 for never. */
  reconnectMs: number;
}

// naming: waiting for the user to give a nick. joining: a hello is out, and input lines wait for
// its answer. chatting: joined. reconnecting: the connection dropped; waiting to connect again.
// rejoining: connected again, a hello is out, and input lines wait for its answer. leaving:
// half-closed, waiting for the server to close.
type Phase = "naming" | "joining" | "chatting" | "reconnecting" | "rejoining" | "leaving";

/** One series of attempts to reconnect, from a lost connection until a welcome or giving up. */
interface Reconnection {
  deadline: number;
  backoff: Backoff;
  /** Why the last attempt failed, for the message on giving up. */
  problem: string;
}

class Client implements InputHandler {
  readonly #options: ClientOptions;
  readonly #ui: Ui;
  readonly #rooms = new ClientRooms();
  #link: Link | null = null;
  #phase: Phase = "naming";
  #nick = "";
  #nickRefused = false;
  #inputEnded = false;
  #waiting: string[] = []; // input lines that arrived while joining or reconnecting
  #leaveStatus = 0;
  #failure: { error: unknown } | null = null;
  // About the current connection:
  #pongs: Array<() => void> = []; // what to do on each pong, in the order the pings went out
  #quietJoins = new Set<string>(); // room keys rejoined after a reconnect: their answers are not shown
  #lastError = ""; // the code of the last error the server sent
  #retry: string | null = null; // why a rejoin was refused, so that it is tried again
  #wake: (() => void) | null = null; // ends the wait before a reconnect early

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#ui = createUi(options.interactive, {
      colour: options.colour,
      completer: chatCompleter(() => ({
        nicks: this.#others(this.#rooms.members(this.#rooms.current)),
        allNicks: this.#others(this.#rooms.members()),
        rooms: this.#rooms.knownRooms(),
      })),
    });
    this.#nick = options.nick ?? "";
  }

  #others(nicks: string[]): string[] {
    return nicks.filter((nick) => nameKey(nick) !== nameKey(this.#nick));
  }

  /** Chats until the user leaves or the server is gone for good; resolves with the exit status. */
  async run(conn: Connection): Promise<number> {
    try {
      this.#ui.open(this);
      this.#connected(conn);
      if (this.#nick) {
        this.#hello();
      } else {
        // The server takes a connection that stays silent for 500 ms for a person at nc
        // (PROTOCOL.md, "Telling the modes apart"): a frame now says we speak native frames while
        // the user thinks of a nick.
        this.#ping(() => {});
        this.#askForNick();
      }
      let reconnection: Reconnection | null = null;
      while (true) {
        const broken = await this.#link!.receive();
        const status = this.#finished();
        if (status !== null) return status;
        const why = broken ??
          (this.#lastError === "server_shutdown"
            ? "the server shut down"
            : "the server closed the connection");
        if (this.#phase === "rejoining" && reconnection) {
          // This attempt failed: the series goes on.
          reconnection.problem = this.#retry ?? why;
        } else if (this.#mayReconnect(broken)) {
          this.#ui.show(notice(`* disconnected: ${why}; reconnecting`));
          const deadline = Date.now() + this.#options.reconnectMs;
          reconnection = { deadline, backoff: new Backoff(), problem: why };
        } else {
          this.#ui.show(notice(`* disconnected: ${why}`));
          return 1;
        }
        this.#lost();
        const conn = await this.#connectAgain(reconnection);
        const left = this.#finished(); // if so, conn is null
        if (left !== null) return left;
        if (!conn) {
          this.#ui.show(notice(`* gave up reconnecting: ${reconnection.problem}`));
          return 1;
        }
        this.#connected(conn);
        this.#rejoin();
      }
    } finally {
      this.#link?.close();
      await this.#ui.close();
    }
  }

  // The exit status once the user has left, or null; throws the error a callback failed with.
  #finished(): number | null {
    if (this.#failure) throw this.#failure.error;
    return this.#phase === "leaving" ? this.#leaveStatus : null;
  }

  // A dropped connection is worth another try once the user is in; not after the server said we
  // were flooding, nor when its bytes made no sense, which would only happen again.
  #mayReconnect(broken: string | null): boolean {
    return this.#phase === "chatting" && this.#options.reconnectMs > 0 && broken === null &&
      this.#lastError !== "flood";
  }

  line(text: string): void {
    switch (this.#phase) {
      case "naming":
        return this.#offerNick(text);
      case "chatting":
        return this.#chat(text);
      case "joining":
        return this.#wait(text);
      case "reconnecting":
      case "rejoining": {
        const command = commandOf(text)?.name;
        if (command === "/quit" || command === "/help") return this.#chat(text);
        if (this.#ui.interactive && text !== "") {
          this.#ui.show(notice(`* not connected: "${text}" goes out once reconnected`));
        }
        return this.#wait(text);
      }
      case "leaving":
        return;
    }
  }

  #wait(line: string): void {
    this.#waiting.push(line);
    this.#updateReading();
  }

  end(): void {
    this.#inputEnded = true;
    // While joining, the answer decides: the waiting lines go out after a welcome. A person who
    // presses Ctrl-D while the client reconnects means to leave now.
    if (this.#phase === "naming") this.leave(this.#nickRefused ? 1 : 0);
    else if (this.#phase === "chatting") this.leave(0);
    else if (this.#ui.interactive && this.#phase !== "joining") this.leave(0);
  }

  interrupt(): void {
    this.leave(0);
  }

  outputClosed(): void {
    this.leave(1);
  }

  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#link?.close();
    this.#wake?.();
  }

  /** Leaves politely: what was typed goes out, then the end of the stream; see Link.leave. */
  leave(status: number): void {
    if (this.#phase === "leaving") return;
    this.#phase = "leaving";
    this.#leaveStatus = status;
    this.#waiting = [];
    this.#ui.stop();
    if (this.#link) void this.#link.leave(LEAVE_TIMEOUT_MS);
    else this.#wake?.();
  }

  #askForNick(): void {
    this.#phase = "naming";
    this.#updatePrompt();
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
    const { room } = this.#options;
    // With echo, the user's own messages come back where the room heard them, with their ids:
    // what they see is the room's order, and a reconnect does not show them again.
    this.#send(
      room === undefined
        ? { type: "hello", nick: this.#nick, echo: true }
        : { type: "hello", nick: this.#nick, room, echo: true },
    );
  }

  #chat(text: string): void {
    if (text === "") return;
    const command = commandOf(text);
    if (command) return this.#command(command);
    this.#say(text.startsWith("//") ? text.slice(1) : text, false);
  }

  // Every message names its room, so the server's idea of the current room never matters.
  #say(text: string, action: boolean): void {
    const problem = textProblem(text);
    if (problem) return this.#ui.show(notice(`* ${problem.message}`));
    const room = this.#rooms.current;
    this.#send(action ? { type: "msg", text, action, room } : { type: "msg", text, room });
  }

  #whisper(argument: string): void {
    const space = argument.indexOf(" ");
    const text = space < 0 ? "" : argument.slice(space + 1).trim();
    if (!text) return this.#ui.show(notice("* usage: /msg NICK TEXT"));
    const to = argument.slice(0, space);
    const problem = textProblem(text);
    if (problem) return this.#ui.show(notice(`* ${problem.message}`));
    this.#send({ type: "msg", to, text });
  }

  #command({ name, argument }: { name: string; argument: string }): void {
    const current = this.#rooms.current;
    switch (name) {
      case "/join":
        if (!argument) return this.#ui.show(notice("* usage: /join ROOM"));
        return this.#send({ type: "join", room: argument });
      case "/part":
        return this.#send({ type: "part", room: argument || current });
      case "/rooms":
        return this.#send({ type: "rooms" });
      case "/who":
        return this.#send({ type: "who", room: argument || current });
      case "/msg":
        return this.#whisper(argument);
      case "/nick":
        if (!argument) return this.#ui.show(notice("* usage: /nick NAME"));
        return this.#send({ type: "nick", nick: argument });
      case "/me":
        if (!argument) return this.#ui.show(notice("* usage: /me ACTION"));
        return this.#say(argument, true);
      case "/quit":
        return this.leave(0);
      case "/help":
        for (const line of COMMANDS) this.#ui.show(notice(`* ${line}`));
        if (this.#ui.interactive) { for (const line of KEYS) this.#ui.show(notice(`* ${line}`)); }
        return;
      default:
        return this.#ui.show(notice(`* unknown command ${name}, try /help`));
    }
  }

  #handle(message: ServerMessage): void {
    const rooms = this.#rooms;
    switch (message.type) {
      case "ping":
        return this.#send({ type: "pong" });
      case "pong":
        return this.#pongs.shift()?.();
      case "welcome":
        return this.#welcome(message);
      case "joined":
        return this.#joined(message);
      case "msg":
        for (const shown of rooms.arrived(message)) this.#showChat(shown);
        return;
      case "join":
        rooms.memberJoined(message.room, message.nick);
        return this.#ui.show(comingAndGoing(message.nick, "joined", message.room, rooms.current));
      case "leave":
        if (message.nick === this.#nick) return this.#parted(message.room);
        rooms.memberLeft(message.room, message.nick);
        return this.#ui.show(comingAndGoing(message.nick, "left", message.room, rooms.current));
      case "nick":
        rooms.renamed(message.from, message.nick);
        if (message.from === this.#nick) {
          this.#nick = message.nick;
          this.#updatePrompt();
        }
        return this.#ui.show([
          { text: "* ", sgr: DIM },
          nickPiece(message.from, message.from),
          { text: " is now known as ", sgr: DIM },
          nickPiece(message.nick, message.nick),
        ]);
      case "who":
        rooms.setMembers(message.room, message.members);
        return this.#ui.show(notice(describe(message)!));
      case "rooms":
        rooms.listed(message.rooms.map((room) => room.name));
        return this.#ui.show(notice(describe(message)!));
      case "notice":
        return this.#ui.show(notice(describe(message)!));
      case "error":
        return this.#error(message);
      case "history_end":
        return; // the ping after each history request says when it is over
    }
  }

  #showChat(message: ChatMessage): void {
    // A script reads what the others say; a person sees their own words come back too.
    if (message.from === this.#nick && !message.history && !this.#ui.interactive) return;
    const live = !message.history && message.from !== this.#nick;
    if (live && (message.to !== undefined || mentions(message.text, this.#nick))) this.#ui.bell();
    this.#ui.show(chatLine(message, this.#rooms.current, this.#nick));
  }

  #welcome(message: Extract<ServerMessage, { type: "welcome" }>): void {
    if (this.#phase === "joining") {
      this.#nick = message.nick;
      this.#rooms.enter(message.room, message.members);
      this.#ui.show(notice(describe(message)!));
    } else if (this.#phase === "rejoining") {
      this.#rooms.enter(message.room, message.members);
      this.#ui.show(notice("* reconnected"));
      // The other rooms: each joined again, its history after the last id shown.
      const others = this.#rooms.names.filter((room) => nameKey(room) !== nameKey(message.room));
      for (const room of others) {
        this.#rooms.beginCatchUp(room);
        this.#quietJoins.add(nameKey(room));
        this.#send({ type: "join", room, since: this.#rooms.lastId(room) });
      }
      if (others.length > 0) this.#ping(() => this.#caughtUp(others));
    } else {
      return; // out of turn
    }
    this.#phase = "chatting";
    this.#updatePrompt();
    for (const line of this.#waiting.splice(0)) this.line(line);
    if (this.#inputEnded) this.leave(0);
    this.#updateReading();
  }

  #joined(message: Extract<ServerMessage, { type: "joined" }>): void {
    if (this.#quietJoins.delete(nameKey(message.room))) {
      return this.#rooms.setMembers(message.room, message.members);
    }
    const switching = this.#rooms.has(message.room);
    this.#rooms.enter(message.room, message.members);
    this.#updatePrompt();
    this.#ui.show(notice(switching ? `* you are now in ${message.room}` : describe(message)!));
  }

  #parted(room: string): void {
    const wasCurrent = nameKey(room) === nameKey(this.#rooms.current);
    this.#rooms.leave(room);
    const now = wasCurrent ? `; you are now in ${this.#rooms.current}` : "";
    this.#ui.show(notice(`* you left ${room}${now}`));
    this.#updatePrompt();
  }

  #error(message: Extract<ServerMessage, { type: "error" }>): void {
    this.#lastError = message.code;
    if (this.#phase === "rejoining" && message.code === "nick_taken") {
      // The server may not have noticed yet that our old connection is gone: try again later.
      this.#retry = `the nick ${this.#nick} is still taken`;
      return this.#link!.close();
    }
    this.#ui.show([{ text: `* ${message.message}`, sgr: YELLOW }]);
    if (this.#phase === "joining") this.#refused(message.code);
  }

  #refused(code: string): void {
    if ((code === "nick_taken" || code === "bad_nick") && this.#options.canAskForNick) {
      this.#nickRefused = true;
      this.#askForNick();
    } else {
      // A script's nick, or a room: nobody is there to choose another.
      this.leave(1);
    }
  }

  #connected(conn: Connection): void {
    this.#link = new Link(conn, {
      message: (message) => this.#handle(message),
      written: () => this.#updateReading(),
    });
    this.#pongs = [];
    this.#quietJoins.clear();
    this.#lastError = "";
    this.#retry = null;
  }

  #lost(): void {
    this.#link = null;
    this.#phase = "reconnecting";
    this.#rooms.abandonCatchUps();
    this.#updatePrompt();
    this.#updateReading();
  }

  // Waits as the backoff says and connects, again and again until it works, the time is up, or
  // the user leaves; null for the last two.
  async #connectAgain(reconnection: Reconnection): Promise<Connection | null> {
    const stillWanted = () => this.#phase === "reconnecting" && !this.#failure;
    while (stillWanted()) {
      const wait = reconnection.backoff.next();
      const left = reconnection.deadline - Date.now();
      if (wait >= left) return null;
      await this.#pause(wait);
      if (!stillWanted()) return null;
      const connecting = runtime.connect(this.#options.host, this.#options.port);
      const conn = await this.#pause(left - wait, connecting).catch((error) => {
        reconnection.problem = connectProblem(error);
        return null;
      });
      if (conn && stillWanted()) return conn;
      if (conn === undefined) reconnection.problem = "timed out";
      connecting.then((late) => late.close(), () => {}); // too late, or not wanted any more
    }
    return null;
  }

  // Resolves with `what`, or with undefined after `ms` or when woken (the user left).
  #pause<T>(ms: number, what?: Promise<T>): Promise<T | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = new Promise<undefined>((resolve) => {
      this.#wake = () => resolve(undefined);
      timer = setTimeout(this.#wake, ms);
    });
    return Promise.race(what ? [what, ended] : [ended]).finally(() => {
      clearTimeout(timer);
      this.#wake = null;
    });
  }

  // Hello again, as the same nick, in the room the user talks in, asking for what it missed
  // there; the other rooms follow the welcome.
  #rejoin(): void {
    this.#phase = "rejoining";
    const room = this.#rooms.current;
    this.#rooms.beginCatchUp(room);
    const since = this.#rooms.lastId(room);
    this.#send({ type: "hello", nick: this.#nick, room, since, echo: true });
    this.#ping(() => this.#caughtUp([room]));
  }

  // The history asked for in `rooms` has arrived: the server answers a ping only after what was
  // asked before it. One ping for many rooms keeps a rejoin within the server's flood burst.
  #caughtUp(rooms: string[]): void {
    const more: string[] = [];
    for (const room of rooms) {
      const step = this.#rooms.caughtUp(room);
      if (step.more) {
        this.#send({ type: "history", room, after: step.after });
        more.push(room);
      } else {
        for (const message of step.show) this.#showChat(message);
      }
    }
    if (more.length > 0) this.#ping(() => this.#caughtUp(more));
  }

  #ping(then: () => void): void {
    this.#pongs.push(then);
    this.#send({ type: "ping" });
  }

  #send(message: ClientMessage): void {
    this.#link?.send(message);
    this.#updateReading();
  }

  #updatePrompt(): void {
    if (this.#phase === "naming") return this.#ui.setPrompt("Nick: ");
    const offline = this.#phase === "reconnecting" || this.#phase === "rejoining";
    const where = this.#rooms.names.length > 1 ? `[${this.#rooms.current}] ` : "";
    this.#ui.setPrompt(`${offline ? "(reconnecting) " : ""}${where}${this.#nick}> `);
  }

  #updateReading(): void {
    const waiting = this.#phase === "joining" || this.#phase === "reconnecting" ||
      this.#phase === "rejoining";
    this.#ui.setReading(!waiting && (this.#link?.queuedBytes ?? 0) < OUTBOX_PAUSE_BYTES);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    nick: { type: "string" },
    room: { type: "string" },
    reconnect: { type: "string", default: String(DEFAULT_RECONNECT_SECONDS) },
    "no-color": { type: "boolean", default: false },
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
  const reconnectMs = seconds(values.reconnect, "--reconnect");

  let conn: Connection;
  try {
    conn = await runtime.connect(host, port);
  } catch (error) {
    process.stderr.write(
      `client: cannot connect to ${formatAddress(host, port)}: ${connectProblem(error)}\n`,
    );
    return 1;
  }
  const client = new Client({
    host,
    port,
    nick,
    room,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    canAskForNick: nick === undefined || Boolean(process.stdin.isTTY),
    // https://no-color.org: any non-empty NO_COLOR turns colours off.
    colour: Boolean(process.stdout.isTTY) && !values["no-color"] && !process.env.NO_COLOR,
    reconnectMs,
  });
  // Leaving politely on a signal also restores the terminal; the status says which signal it was.
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => client.leave(status));
  }
  return await client.run(conn);
}

await runProgram("client", main);
