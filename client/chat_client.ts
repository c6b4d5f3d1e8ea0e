// ChatClient: what the client sends and what it shows, through the phases of a chat: naming,
// joining, chatting, reconnecting and catching up, leaving. It is handed its Ui (a terminal, pipes,
// or a test's) and a way to connect (the runtime's, or a test's), so it names no runtime and does
// no I/O of its own. One connection's bytes are link.ts; what it knows of its rooms, rooms.ts; how
// things look, format.ts; the typed-line grammar, protocol/slash_commands.ts; catching up after a
// reconnect, catch_up.ts; whether to reconnect at all, after_close.ts.
import { type ChatMessage, type ClientMessage, nameKey, type ServerMessage } from "../protocol.ts";
import { describe } from "../protocol/text.ts";
import type { Connection } from "../runtime.ts";
import { type CatchUpLink, rejoin, welcomedBack } from "./catch_up.ts";
import { mayReconnect, removal, whyEnded } from "./after_close.ts";
import { chatCompleter } from "./completion.ts";
import { chatLine, eventLine, joinedLine, mentions, notice } from "./format.ts";
import { Delivery, joinRefused } from "./delivery.ts";
import { helloMessage } from "./hello.ts";
import { helloRefused, Identity, type IdentityHands } from "./identity.ts";
import { Link, Reconnection } from "./link.ts";
import { PacedLines } from "./paced_lines.ts";
import { type Phase, promptFor, waitsForHello } from "./phase.ts";
import { ClientRooms } from "./rooms.ts";
import { answeredLocally, helpText, typedLine } from "./typed_line.ts";
import type { InputHandler, Ui } from "./ui.ts";
import type { ChatClientOptions, Connect } from "./options.ts";

export type { ChatClientOptions, Connect } from "./options.ts";

// Input from a pipe is paused while this much waits to go out, or many lines wait their turn
// (paced_lines.ts), so that piping in a large file takes bounded memory.
const OUTBOX_PAUSE_BYTES = 256 * 1024;
// After we half-close, the server closes once the room is told we left; this bounds the wait.
const LEAVE_TIMEOUT_MS = 3000;

/** One user's chat; the Ui hands it what is typed, and it connects again with `connect`. */
export class ChatClient implements InputHandler {
  readonly #options: ChatClientOptions;
  readonly #ui: Ui;
  readonly #connect: Connect;
  readonly #rooms = new ClientRooms();
  #link: Link | null = null;
  #phase: Phase = "naming";
  #nick = "";
  #nickRefused = false;
  #timestamps: boolean;
  #inputEnded = false;
  #waiting: string[] = []; // input lines that arrived while joining or reconnecting
  #paced = new PacedLines({ go: (line) => this.#chat(line), changed: () => this.#pacedChanged() });
  #delivery = new Delivery();
  #confirming = false; // input has ended, all of it went out, and a ping asks the server to confirm
  #leaveStatus = 0;
  #failure: { error: unknown } | null = null;
  // About the current connection:
  #pongs: Array<() => void> = []; // what to do on each pong, in the order the pings went out
  #quietJoins = new Set<string>(); // room keys rejoined after a reconnect: their answers are not shown
  #lastError = ""; // the code of the last error the server sent
  #retry: string | null = null; // why a rejoin was refused, so that it is tried again
  #reconnection: Reconnection | null = null; // the series of attempts since the last drop
  readonly #identity: Identity;

  constructor(options: ChatClientOptions, ui: Ui, connect: Connect) {
    this.#options = options;
    this.#ui = ui;
    this.#connect = connect;
    this.#nick = options.nick ?? "";
    this.#timestamps = options.timestamps ?? false;
    this.#identity = new Identity(ui, this.#hands, options);
  }

  /** What Tab offers; the Ui asks. */
  readonly complete = chatCompleter(() => this.#rooms.words(this.#nick));

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
      while (true) {
        const broken = await this.#link!.receive();
        const status = this.#finished();
        if (status !== null) return status;
        const why = whyEnded(broken, this.#lastError);
        const removed = removal(this.#link!.lastMessage);
        let reconnection = this.#reconnection;
        if (removed !== null) { // an operator's word: a script says why where errors go
          if (!this.#ui.interactive) this.#ui.report(removed);
          this.#ui.show(notice("* disconnected by an operator; not reconnecting"));
          return 1;
        } else if (this.#phase === "rejoining" && reconnection) {
          // This attempt failed: the series goes on.
          reconnection.problem = this.#retry ?? why;
        } else if (mayReconnect(this.#phase, this.#options.reconnectMs, broken, this.#lastError)) {
          this.#ui.show(notice(`* disconnected: ${why}; reconnecting`));
          const { host, port, reconnectMs } = this.#options;
          reconnection = new Reconnection(() => this.#connect(host, port), reconnectMs, why);
          this.#reconnection = reconnection;
        } else {
          this.#ui.show(notice(`* disconnected: ${why}`));
          return 1;
        }
        this.#lost();
        const conn = await reconnection.next(() =>
          this.#phase === "reconnecting" && !this.#failure
        );
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

  line(text: string): void {
    if (this.#identity.asking) return this.#identity.answer(text);
    switch (this.#phase) {
      case "naming":
        return this.#offerNick(text);
      case "chatting":
        return this.#paced.push(text);
      case "joining":
        this.#waiting.push(text);
        return this.#updateReading();
      case "reconnecting":
      case "rejoining": {
        if (answeredLocally(text)) return this.#chat(text);
        if (this.#ui.interactive && text !== "") {
          this.#ui.show(notice(`* not connected: "${text}" goes out once reconnected`));
        }
        this.#waiting.push(text);
        return this.#updateReading();
      }
      case "leaving":
        return;
    }
  }

  end(): void {
    this.#inputEnded = true;
    // While joining, the answer decides: the waiting lines go out after a welcome. A person who
    // presses Ctrl-D while the client reconnects means to leave now.
    if (this.#phase === "naming") this.leave(this.#nickRefused ? 1 : 0);
    else if (this.#phase === "chatting") this.#finishInput();
    else if (this.#ui.interactive && this.#phase !== "joining") this.leave(0);
  }

  // Input has ended and every line gone out: the pong says the server has dealt with them all (it
  // answers in order). Leaving then, with status 1 if any was refused or may have been lost.
  #finishInput(): void {
    if (this.#paced.waiting > 0 || this.#confirming) return;
    this.#confirming = true;
    this.#ping(() => {
      const problem = this.#ui.interactive ? null : this.#delivery.problem; // a person saw it
      if (problem !== null) this.#ui.report(problem);
      this.leave(problem === null ? 0 : 1);
    });
  }

  #pacedChanged(): void {
    this.#ui.progress(this.#paced.status);
    this.#updateReading();
    if (this.#inputEnded && this.#phase === "chatting") this.#finishInput();
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
    this.#reconnection?.wake();
  }

  /** Leaves politely: what was typed goes out, then the end of the stream; see Link.leave. */
  leave(status: number): void {
    if (this.#phase === "leaving") return;
    this.#phase = "leaving";
    this.#leaveStatus = status;
    this.#waiting = [];
    this.#paced.takeAll();
    this.#ui.stop();
    if (this.#link) void this.#link.leave(LEAVE_TIMEOUT_MS);
    else this.#reconnection?.wake();
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
    if (answeredLocally(text)) return this.#chat(text);
    // Anything else is a nick, even "/x": the server says why it is not one.
    if (this.#ui.interactive) this.#ui.show(`Nick: ${text}`);
    this.#nick = text;
    this.#hello();
  }

  #hello(): void {
    this.#phase = "joining";
    const { room, ignored } = this.#options;
    // With echo, the user's own messages come back where the room heard them, with their ids:
    // what they see is the room's order, and a reconnect does not show them again.
    this.#send({
      ...helloMessage(this.#nick, room, ignored?.nicks() ?? []),
      ...this.#identity.hello(),
    });
  }

  #chat(text: string): void {
    const typed = typedLine(text, this.#rooms.current);
    if (this.#identity.typed(typed)) return;
    switch (typed?.type) {
      case "send":
        return this.#send(typed.message);
      case "problem":
        return this.#ui.show(notice(`* ${typed.text}`));
      case "help":
        for (const line of helpText(this.#ui.interactive)) this.#ui.show(notice(`* ${line}`));
        return;
      case "timestamps":
        this.#timestamps = !this.#timestamps;
        return this.#ui.show(notice(`* time stamps ${this.#timestamps ? "on" : "off"}`));
      case "quit": // for a script, the end of its input: what came before it is confirmed
        if (this.#ui.interactive) return this.leave(0);
        this.#paced.takeAll();
        this.#ui.stop();
        return this.end();
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
        if (message.from === this.#nick && !message.history) this.#delivery.echoed();
        for (const shown of rooms.arrived(message)) this.#showChat(shown);
        return;
      case "error":
        return this.#error(message);
      case "history_end":
        return; // the ping after each history request says when it is over
      case "leave":
        if (message.nick === this.#nick) return this.#parted(message.room);
        break;
      case "nick":
        if (message.from === this.#nick) this.#nick = message.nick;
        break;
      case "ignoring": { // kept for the next hello, and the next run (see IgnoreStore)
        const problem = this.#options.ignored?.save(message.nicks);
        if (problem) this.#ui.show(notice(`* ${problem}`));
        break;
      }
    }
    rooms.noted(message);
    if (message.type === "nick") this.#updatePrompt();
    this.#ui.show(eventLine(message, rooms.current, this.#timestamps, this.#nick));
  }

  #showChat(message: ChatMessage): void {
    // A script reads what the others say; a person sees their own words come back too.
    if (message.from === this.#nick && !message.history && !this.#ui.interactive) return;
    const live = !message.history && message.from !== this.#nick;
    if (live && (message.to !== undefined || mentions(message.text, this.#nick))) this.#ui.bell();
    this.#ui.show(chatLine(message, this.#rooms.current, this.#nick, this.#timestamps));
  }

  #welcome(message: Extract<ServerMessage, { type: "welcome" }>): void {
    this.#paced.paceTo(message.rate, message.burst);
    if (this.#phase === "joining") {
      this.#nick = message.nick;
      this.#rooms.newEpoch(message.epoch);
      this.#rooms.enter(message.room, message.members);
      this.#ui.show(notice(describe(message)!));
    } else if (this.#phase === "rejoining") {
      welcomedBack(this.#rooms, message, this.#quietJoins, this.#hands);
    } else {
      return; // out of turn
    }
    this.#phase = "chatting";
    this.#updatePrompt();
    for (const line of this.#waiting.splice(0)) this.line(line);
    if (this.#inputEnded) this.#finishInput();
    this.#updateReading();
  }

  #joined(message: Extract<ServerMessage, { type: "joined" }>): void {
    if (this.#quietJoins.delete(nameKey(message.room))) {
      return this.#rooms.setMembers(message.room, message.members);
    }
    const switching = this.#rooms.has(message.room);
    this.#rooms.enter(message.room, message.members);
    this.#updatePrompt();
    this.#ui.show(joinedLine(message, switching, this.#nick));
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
    this.#identity.error(message.code);
    if (this.#phase === "rejoining" && message.code === "nick_taken") {
      // The server may not have noticed yet that our old connection is gone: try again later.
      this.#retry = `the nick ${this.#nick} is still taken`;
      return this.#link!.close();
    }
    this.#ui.show(eventLine(message, this.#rooms.current));
    if (this.#phase === "chatting") this.#delivery.error(message.code);
    else if (helloRefused(this.#phase, message.code)) this.#refused(message);
  }

  #refused({ code, message }: { code: string; message: string }): void {
    const retry = this.#phase === "rejoining" ? () => this.#rejoin() : () => this.#hello();
    const giveUp = () => this.#options.canAskForNick ? this.#askForNick() : this.leave(1);
    if (this.#identity.refused(code, retry, giveUp)) return;
    const nickRefused = ["nick_taken", "bad_nick", "nick_registered"].includes(code);
    if (nickRefused && this.#options.canAskForNick) {
      this.#nickRefused = true;
      return this.#askForNick();
    }
    // A script's nick, or a room: nobody is there to choose another, and no line is used as one.
    const fromInput = this.#options.nick === undefined;
    if (!this.#ui.interactive) this.#ui.report(joinRefused(this.#nick, fromInput, code, message));
    this.leave(1);
  }

  #connected(conn: Connection): void {
    this.#link = new Link(conn, {
      message: (message) => this.#handle(message),
      written: () => this.#updateReading(),
    }, this.#options.answerTimeoutMs);
    this.#pongs = [];
    this.#confirming = false;
    this.#quietJoins.clear();
    this.#lastError = "";
    this.#retry = null;
  }

  #lost(): void {
    this.#link = null;
    this.#delivery.lostConnection();
    this.#waiting = [...this.#paced.takeAll(), ...this.#waiting];
    this.#phase = "reconnecting";
    this.#rooms.abandonCatchUps();
    this.#updatePrompt();
    this.#updateReading();
  }

  #rejoin(): void {
    this.#phase = "rejoining";
    const ignored = this.#options.ignored?.nicks() ?? [];
    rejoin(this.#rooms, this.#nick, ignored, this.#identity.hello(), this.#hands);
  }

  // What catch_up.ts and identity.ts may do.
  readonly #hands: CatchUpLink & IdentityHands = {
    send: (message) => this.#send(message),
    ping: (then) => this.#ping(then),
    show: (message) => this.#showChat(message),
    notify: (text) => this.#ui.show(notice(text)),
    chat: (text) => this.#chat(text),
    restorePrompt: () => this.#updatePrompt(),
  };

  #ping(then: () => void): void {
    this.#pongs.push(then);
    this.#send({ type: "ping" });
  }

  #send(message: ClientMessage): void {
    const bytes = this.#link?.send(message) ?? 0;
    this.#paced.spent(bytes);
    if (bytes > 0 && message.type === "msg") this.#delivery.sent();
    this.#updateReading();
  }

  #updatePrompt(): void {
    this.#ui.setPrompt(promptFor(this.#phase, this.#nick, this.#rooms));
  }

  #updateReading(): void {
    const busy = (this.#link?.queuedBytes ?? 0) >= OUTBOX_PAUSE_BYTES || this.#paced.full;
    this.#ui.setReading(!waitsForHello(this.#phase) && !busy);
  }
}
