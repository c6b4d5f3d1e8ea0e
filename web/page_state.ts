// What the browser page knows and decides, with no DOM and no I/O: the phases of a chat (naming,
// joining, chatting, reconnecting), what each server message does to the conversations, what a
// typed line sends, and how a reconnect fills the gap. The gap is filled as the terminal client
// fills it (client/chat_client.ts): the hello names the room and the last id shown there, the other
// rooms are joined again with theirs, live messages wait while history catches up, and
// client/rooms.ts drops what was shown already, so every missed message is shown once.
import {
  type ChatMessage,
  type ClientMessage,
  ignoreField,
  nameKey,
  parseServerMessage,
  ProtocolError,
  type ServerMessage,
  textProblem,
} from "../protocol.ts";
import { closesForGood } from "../protocol/errors.ts";
import { helpLines, parseLine, slashCommandOf } from "../protocol/typed_lines.ts";
import { inRoom } from "../protocol/moderation.ts";
import { describe } from "../protocol/text.ts";
import { mentions } from "../client/format.ts";
import { ClientRooms } from "../client/rooms.ts";
import { type Conversation, Conversations } from "./conversations.ts";
import { PAGE_KEYS } from "./page_keys.ts";
import { retryWait } from "./retry.ts";

/** What the page asks of its surroundings: the socket and the desktop. */
export interface PageEvents {
  send(message: ClientMessage): void;
  /** Close the socket: disconnected() follows. */
  close(): void;
  /** Someone named the user or wrote to them while they looked elsewhere. */
  notify(title: string, body: string): void;
}

// naming: the nick form is shown. joining: connecting, or a hello is out. chatting: joined.
// reconnecting: the socket dropped; waiting to connect again. rejoining: connected again, a hello
// is out.
export type Phase = "naming" | "joining" | "chatting" | "reconnecting" | "rejoining";

export class PageState {
  readonly conversations = new Conversations();
  readonly rooms = new ClientRooms();
  phase: Phase = "naming";
  nick = "";
  /** Why the nick form is shown again ("" the first time). */
  problem = "";
  /** The room asked for on the nick form. */
  firstRoom = "";
  /** While reconnecting: why the last connection ended or failed, and when the next try is due. */
  offline = "";
  retryAt = 0;
  /** The nicks the user ignores, as the server last said: sent in every hello (app.ts keeps them). */
  ignored: string[] = [];
  readonly #events: PageEvents;
  readonly #now: () => number;
  readonly #random: () => number;
  #attempts = 0; // attempts since the connection dropped
  #lastError = "";
  #removed = ""; // an operator's kick or ban, when it was the last the server said
  #waiting: string[] = []; // lines typed while not connected
  #pongs: Array<() => void> = [];
  #quietJoins = new Set<string>(); // room keys joined again after a reconnect

  constructor(events: PageEvents, now: () => number = Date.now, random = Math.random) {
    this.#events = events;
    this.#now = now;
    this.#random = random;
  }

  /** The user chose a nick: the page connects, then connected() sends the hello. */
  start(nick: string, room = ""): void {
    this.nick = nick.trim();
    this.firstRoom = room.trim();
    this.problem = "";
    this.phase = "joining";
  }

  /** The socket is open. */
  connected(): void {
    this.#pongs = [];
    this.#quietJoins.clear();
    this.#lastError = "";
    if (this.phase === "joining") {
      const room = this.firstRoom || undefined;
      const hello = { nick: this.nick, ...(room ? { room } : {}), ...ignoreField(this.ignored) };
      this.#send({ type: "hello", ...hello, echo: true });
    } else if (this.phase === "reconnecting") {
      this.#rejoin();
    }
  }

  /**
   * The socket closed, or never opened. Returns how many ms to wait before connecting again, or
   * null when the page is not to reconnect (the nick form is shown instead).
   */
  disconnected(why: string): number | null {
    this.rooms.abandonCatchUps();
    this.#pongs = [];
    if (this.phase === "naming") return null;
    if (this.phase === "joining") {
      this.phase = "naming";
      this.problem ||= `Cannot join: ${why}`;
      return null;
    }
    if (this.#removed) { // put out for good: coming back is the user's choice, on the form
      this.phase = "naming";
      this.problem = this.#removed;
      return null;
    }
    // The drop is told in every conversation; the attempts after it, in the status line only.
    if (this.phase === "chatting") {
      this.#attempts = 0;
      if (this.#lastError === "server_shutdown") why = "the server shut down";
      this.#noticeAll(`disconnected: ${why}; reconnecting`, true);
    }
    this.phase = "reconnecting";
    this.offline = why;
    const wait = retryWait(this.#attempts++, this.#lastError, this.#random());
    this.retryAt = this.#now() + wait;
    return wait;
  }

  /** One WebSocket text message from the server. */
  received(text: string): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(JSON.parse(text));
    } catch (error) {
      // A newer server's message types are for newer pages.
      if (error instanceof ProtocolError && error.code === "unknown_type") return;
      return this.#notice(`the server sent what this page cannot read: ${String(error)}`, true);
    }
    this.#removed = message.type === "error" && closesForGood(message.code) ? message.message : "";
    this.#handle(message);
  }

  /** A line the user typed into the active conversation. */
  typed(text: string): void {
    if (this.phase === "naming") return;
    // /help and /quit are answered here, connected or not.
    const local = ["/help", "/quit"].includes(slashCommandOf(text, "client")?.name ?? "");
    if (this.phase !== "chatting" && !local) {
      if (text.trim() === "") return;
      this.#waiting.push(text);
      return this.#notice(`not connected: "${text}" goes out once reconnected`);
    }
    let input;
    try {
      input = parseLine(text, "client");
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.#notice(error.message, true);
    }
    if (input === null) return;
    const active = this.conversations.active;
    const pm = active?.kind === "pm" ? active.name : null;
    switch (input.type) {
      case "msg": {
        const problem = textProblem(input.text);
        if (problem) return this.#notice(problem.message, true);
        const to = input.to ?? pm;
        const action = input.action ? { action: true } : {};
        const where = to === null ? { room: this.#currentRoom() } : { to };
        return this.#send({ type: "msg", text: input.text, ...where, ...action });
      }
      case "part":
        if (input.room === undefined && active?.kind === "pm") {
          return this.closeConversation(active);
        }
        return this.#send({ type: "part", room: input.room ?? this.#currentRoom() });
      case "who":
        return this.#send({ type: "who", room: input.room ?? this.#currentRoom() });
      case "help":
        for (const line of [...helpLines("client"), ...PAGE_KEYS]) this.#notice(line);
        return;
      case "timestamps":
        return this.#notice("every line here shows its time");
      case "quit":
        this.phase = "naming";
        this.problem = "You left.";
        return this.#events.close();
      default: // an operator's command acts in the room the user talks in
        return this.#send(inRoom(input, this.#currentRoom()));
    }
  }

  /** Puts a conversation on screen; a room's becomes the room the user talks in. */
  show(conversation: Conversation): void {
    this.conversations.activate(conversation);
    if (conversation.kind === "room") this.rooms.current = conversation.name;
  }

  /** A private conversation is closed by the user; a room's is left with a part. */
  closeConversation(conversation: Conversation): void {
    if (conversation.kind === "room") {
      return this.#send({ type: "part", room: conversation.name });
    }
    const room = this.conversations.get("room", this.rooms.current) ?? undefined;
    this.conversations.close(conversation, room);
  }

  /** The nicks to list beside the active conversation. */
  members(): string[] {
    const active = this.conversations.active;
    if (!active) return [];
    const nicks = active.kind === "room"
      ? this.rooms.members(active.name)
      : [this.nick, active.name];
    return nicks.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
  }

  /** The tab's title: how many lines named the user unread, and where they are. */
  title(): string {
    const count = this.conversations.mentions;
    const where = this.conversations.active?.name;
    return `${count > 0 ? `(${count}) ` : ""}${where ? `${where} · ` : ""}Parley`;
  }

  #currentRoom(): string {
    return this.rooms.current;
  }

  #handle(message: ServerMessage): void {
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
        for (const shown of this.rooms.arrived(message)) {
          this.#chat(shown, Boolean(message.history));
        }
        return;
      case "history_end":
        return; // a ping after each history request says when it is over
      case "error":
        return this.#error(message);
      case "join":
        this.rooms.memberJoined(message.room, message.nick);
        return this.#roomNotice(message.room, `${message.nick} joined`);
      case "leave":
        if (nameKey(message.nick) === nameKey(this.nick)) return this.#parted(message.room);
        this.rooms.memberLeft(message.room, message.nick);
        return this.#roomNotice(message.room, `${message.nick} left`);
      case "nick":
        return this.#renamed(message.from, message.nick);
      case "who":
        this.rooms.setMembers(message.room, message.members);
        return this.#notice(describe(message, "")!);
      case "rooms":
        this.rooms.listed(message.rooms.map(({ name }) => name));
        return this.#notice(describe(message, "")!);
      case "notice":
        return this.#notice(message.text);
      case "ignoring":
      case "whois":
      case "away":
        if (message.type === "ignoring") this.ignored = message.nicks;
        return this.#notice(describe(message, "")!);
    }
  }

  #welcome(message: Extract<ServerMessage, { type: "welcome" }>): void {
    const { conversations, rooms } = this;
    if (this.phase === "joining") {
      this.nick = message.nick;
      rooms.newEpoch(message.epoch);
      rooms.enter(message.room, message.members);
      this.show(conversations.open("room", message.room));
      this.#notice(describe(message, "")!);
    } else if (this.phase === "rejoining") {
      rooms.enter(message.room, message.members);
      this.#noticeAll("reconnected");
      // The server answered a `since` from another life with all it has.
      if (rooms.newEpoch(message.epoch)) {
        this.#noticeAll("the server restarted; showing what was said since");
      }
      const others = rooms.names.filter((room) => nameKey(room) !== nameKey(message.room));
      for (const room of others) {
        rooms.beginCatchUp(room);
        this.#quietJoins.add(nameKey(room));
        this.#send({ type: "join", room, since: rooms.lastId(room) });
      }
      if (others.length > 0) this.#ping(() => this.#caughtUp(others));
    } else {
      return; // out of turn
    }
    this.phase = "chatting";
    this.#attempts = 0;
    for (const line of this.#waiting.splice(0)) this.typed(line);
  }

  #joined(message: Extract<ServerMessage, { type: "joined" }>): void {
    if (this.#quietJoins.delete(nameKey(message.room))) {
      return this.rooms.setMembers(message.room, message.members);
    }
    const switching = this.rooms.has(message.room);
    this.rooms.enter(message.room, message.members);
    this.show(this.conversations.open("room", message.room));
    if (!switching) this.#notice(describe(message, "")!);
  }

  #parted(room: string): void {
    this.rooms.leave(room);
    const conversation = this.conversations.get("room", room);
    if (!conversation) return;
    const next = this.conversations.get("room", this.rooms.current) ?? undefined;
    this.conversations.close(conversation, next);
    if (this.conversations.active?.kind === "room") {
      this.rooms.current = this.conversations.active.name;
    }
    this.#notice(`you left ${room}`);
  }

  #renamed(from: string, to: string): void {
    const text = `${from} is now known as ${to}`;
    for (const room of this.rooms.names) {
      if (this.rooms.members(room).includes(from)) this.#roomNotice(room, text);
    }
    this.rooms.renamed(from, to);
    this.conversations.rename("pm", from, to);
    const pm = this.conversations.get("pm", to);
    if (pm) this.conversations.add(pm, { kind: "notice", ts: this.#now(), text, error: false });
    if (from === this.nick) this.nick = to;
  }

  #error(message: Extract<ServerMessage, { type: "error" }>): void {
    this.#lastError = message.code;
    if (this.phase === "joining") {
      // A refused hello: the nick form says why, and the next try connects afresh.
      this.phase = "naming";
      this.problem = message.message;
      return this.#events.close();
    }
    if (this.phase === "rejoining" && message.code === "nick_taken") {
      // The server may not have noticed yet that the old connection is gone: try again later.
      return this.#events.close();
    }
    this.#notice(message.message, true);
  }

  #chat(message: ChatMessage, history: boolean): void {
    const mine = message.from === this.nick;
    const other = message.to === undefined ? null : mine ? message.to : message.from;
    const conversation = other === null
      ? this.conversations.open("room", message.room!)
      : this.conversations.open("pm", other);
    const named = !mine && (other !== null || mentions(message.text, this.nick));
    // History shown on joining was said before the user came; what a reconnect brings was missed.
    const counts = !mine && (!history || this.rooms.isCatchingUp(message.room ?? ""));
    this.conversations.add(
      conversation,
      {
        kind: "chat",
        ts: message.ts,
        id: message.id,
        from: message.from,
        text: message.text,
        action: Boolean(message.action),
        mine,
        mention: named,
      },
      counts,
      named,
    );
    const seen = this.conversations.visible && this.conversations.active === conversation;
    if (named && counts && !seen) {
      const where = other === null ? ` in ${message.room}` : "";
      this.#events.notify(`${message.from}${where}`, message.text);
    }
  }

  // Hello again, as the same nick, in the room the user talks in, asking for what was missed
  // there; the other rooms follow the welcome.
  #rejoin(): void {
    this.phase = "rejoining";
    const room = this.rooms.current;
    this.rooms.beginCatchUp(room);
    const { epoch } = this.rooms, since = this.rooms.lastId(room);
    const life = { ...(epoch === undefined ? {} : { epoch }), ...ignoreField(this.ignored) };
    this.#send({ type: "hello", nick: this.nick, room, since, ...life, echo: true });
    this.#ping(() => this.#caughtUp([room]));
  }

  // The history asked for in `rooms` has arrived: the server answers a ping only after what was
  // asked before it.
  #caughtUp(rooms: string[]): void {
    const more: string[] = [];
    for (const room of rooms) {
      const step = this.rooms.caughtUp(room);
      if (step.more) {
        this.#send({ type: "history", room, after: step.after });
        more.push(room);
      } else {
        for (const message of step.show) this.#chat(message, false);
      }
    }
    if (more.length > 0) this.#ping(() => this.#caughtUp(more));
  }

  #ping(then: () => void): void {
    this.#pongs.push(then);
    this.#send({ type: "ping" });
  }

  #send(message: ClientMessage): void {
    this.#events.send(message);
  }

  #roomNotice(room: string, text: string): void {
    const conversation = this.conversations.get("room", room);
    if (conversation) {
      this.conversations.add(conversation, { kind: "notice", ts: this.#now(), text, error: false });
    }
  }

  // A notice for the conversation on screen; with none yet, for the nick form.
  #notice(text: string, error = false): void {
    const active = this.conversations.active;
    if (active) this.conversations.add(active, { kind: "notice", ts: this.#now(), text, error });
    else if (error) this.problem = text;
  }

  // A notice for every conversation, as a drop and a reconnect concern them all.
  #noticeAll(text: string, error = false): void {
    for (const conversation of this.conversations.list) {
      this.conversations.add(conversation, { kind: "notice", ts: this.#now(), text, error });
    }
  }
}
