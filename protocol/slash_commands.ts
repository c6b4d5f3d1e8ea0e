// The slash commands: the one table of what a person can type at `nc` (line mode), into the terminal
// client or on the browser page besides a message. Each entry has its name, its argument, usage and
// help, where it can be typed and who may use it. It is the single source of the typed-line grammar
// (typed_lines.ts: parsing and /help), of the client's --help and Tab completion, and of the one
// permission map the server checks every input against. No I/O here.
import { type ClientMessage, ProtocolError } from "../protocol.ts";
import { parseDuration, type Who } from "./moderation.ts";

/**
 * What a command takes after its name, and so how the rest of the line splits into the arguments
 * its `input` gets: none; one word or line (a room, a name, a member's nick, which the client
 * completes, a text), optional or required; a nick and then the rest of the line as text; or a
 * word and then, optionally, the rest.
 */
export type ArgumentKind =
  | "none"
  | "optional-room"
  | "room"
  | "name"
  | "nick"
  | "optional-nick"
  | "text"
  | "optional-text"
  | "nick-text"
  | "word-rest";

/** Where a line is typed: at `nc` (line mode) or into the terminal client. */
export type Place = "line" | "client";

// An entry also says who may use it, as ergo's command table does: the server derives one map from
// the input type each command sends to who may send it (permissionOf), and checks it in one place.
export interface SlashCommand {
  /** Lower case, with its slash; typed in any case. */
  readonly name: string;
  readonly argument: ArgumentKind;
  /** The name and its argument, as help and usage errors show them: "/msg NICK TEXT". */
  readonly usage: string;
  readonly help: string;
  readonly where: Place | "both";
  readonly who: Who;
  /**
   * Its argument is a password: typed without it, the terminal client asks for it without echo
   * (client/typed_line.ts); line mode, where nothing can be hidden, needs it on the line.
   */
  readonly secret?: true;
  /** What the command asks for, given its arguments as `argument` splits them. */
  input(args: readonly string[]): LineInput;
}

/** What a typed line can ask for beyond a ClientMessage. */
export type LineInput =
  | ClientMessage
  | { type: "part"; room?: string }
  | { type: "help" }
  | { type: "quit" }
  | { type: "timestamps" };

export const SLASH_COMMANDS: readonly SlashCommand[] = [
  {
    name: "/join",
    argument: "room",
    usage: "/join ROOM",
    help: "join ROOM, or switch to it: your lines go there",
    where: "both",
    who: "anyone",
    input: ([room]) => ({ type: "join", room }),
  },
  {
    name: "/part",
    argument: "optional-room",
    usage: "/part [ROOM]",
    help: "leave ROOM, by default the one you talk in",
    where: "both",
    who: "anyone",
    input: ([room]) => room === undefined ? { type: "part" } : { type: "part", room },
  },
  {
    name: "/rooms",
    argument: "none",
    usage: "/rooms",
    help: "list the rooms",
    where: "both",
    who: "anyone",
    input: () => ({ type: "rooms" }),
  },
  {
    name: "/who",
    argument: "optional-room",
    usage: "/who [ROOM]",
    help: "list who is in ROOM, by default the one you talk in",
    where: "both",
    who: "anyone",
    input: ([room]) => room === undefined ? { type: "who" } : { type: "who", room },
  },
  {
    name: "/msg",
    argument: "nick-text",
    usage: "/msg NICK TEXT",
    help: "say TEXT to NICK only",
    where: "both",
    who: "anyone",
    input: ([to, text]) => ({ type: "msg", to, text }),
  },
  {
    name: "/nick",
    argument: "name",
    usage: "/nick NAME",
    help: "change your nick",
    where: "both",
    who: "anyone",
    input: ([nick]) => ({ type: "nick", nick }),
  },
  {
    name: "/register",
    argument: "text",
    secret: true,
    usage: "/register PASSWORD",
    help: "register your nick: from then on only PASSWORD lets anyone use it",
    where: "both",
    who: "anyone",
    input: ([password]) => ({ type: "register", password }),
  },
  {
    name: "/identify",
    argument: "text",
    secret: true,
    usage: "/identify PASSWORD",
    help: "prove your registered nick is yours",
    where: "both",
    who: "anyone",
    input: ([password]) => ({ type: "identify", password }),
  },
  {
    name: "/login",
    argument: "nick-text",
    usage: "/login NICK PASSWORD",
    help: "take your registered NICK, proving it with PASSWORD",
    where: "both",
    who: "anyone",
    input: ([nick, password]) => ({ type: "login", nick, password }),
  },
  {
    name: "/passwd",
    argument: "nick-text",
    usage: "/passwd OLD NEW",
    help: "change the password of your registered nick from OLD to NEW",
    where: "both",
    who: "anyone",
    input: ([old, password]) => ({ type: "passwd", old, password }),
  },
  {
    name: "/unregister",
    argument: "text",
    usage: "/unregister PASSWORD",
    help: "give up your registered nick",
    where: "both",
    who: "anyone",
    input: ([password]) => ({ type: "unregister", password }),
  },
  {
    name: "/away",
    argument: "optional-text",
    usage: "/away [MESSAGE]",
    help: "say you are away, and why: private messages get it as an answer; alone, you are back",
    where: "both",
    who: "anyone",
    input: ([text]) => text === undefined ? { type: "away" } : { type: "away", text },
  },
  {
    name: "/whois",
    argument: "nick",
    usage: "/whois NICK",
    help: "who NICK is: account, rooms, since when, idle, how connected, away",
    where: "both",
    who: "anyone",
    input: ([nick]) => ({ type: "whois", nick }),
  },
  {
    name: "/ignore",
    argument: "optional-nick",
    usage: "/ignore [NICK]",
    help: "hide what NICK says, in rooms and to you; alone, list whom you ignore",
    where: "both",
    who: "anyone",
    input: ([nick]) => nick === undefined ? { type: "ignore" } : { type: "ignore", nick },
  },
  {
    name: "/unignore",
    argument: "nick",
    usage: "/unignore NICK",
    help: "show what NICK says again",
    where: "both",
    who: "anyone",
    input: ([nick]) => ({ type: "unignore", nick }),
  },
  {
    name: "/me",
    argument: "text",
    usage: "/me ACTION",
    help: "say what you do; others see * you ACTION",
    where: "both",
    who: "anyone",
    input: ([text]) => ({ type: "msg", text, action: true }),
  },
  {
    name: "/claim",
    argument: "optional-room",
    usage: "/claim [ROOM]",
    help: "register ROOM (by default the one you talk in) to your account: you become its owner",
    where: "both",
    who: "anyone",
    input: ([room]) => room === undefined ? { type: "claim" } : { type: "claim", room },
  },
  {
    name: "/op",
    argument: "nick",
    usage: "/op NICK",
    help: "make NICK's account an operator of this room",
    where: "both",
    who: "room-owner",
    input: ([nick]) => ({ type: "op", nick }),
  },
  {
    name: "/deop",
    argument: "nick",
    usage: "/deop NICK",
    help: "make NICK's account no longer an operator of this room",
    where: "both",
    who: "room-owner",
    input: ([nick]) => ({ type: "deop", nick }),
  },
  {
    name: "/topic",
    argument: "optional-text",
    usage: "/topic [TEXT]",
    help: "show this room's topic, or set it (in a claimed room, operators only)",
    where: "both",
    who: "anyone",
    input: ([text]) => text === undefined ? { type: "topic" } : { type: "topic", text },
  },
  {
    name: "/kick",
    argument: "word-rest",
    usage: "/kick NICK [REASON]",
    help: "put NICK out of this room, telling them why",
    where: "both",
    who: "room-operator",
    input: ([nick, reason]) =>
      reason === undefined ? { type: "kick", nick } : { type: "kick", nick, reason },
  },
  {
    name: "/ban",
    argument: "word-rest",
    usage: "/ban MASK [DURATION] [REASON]",
    help: "keep MASK out of this room: a nick, account:NAME or an address/prefix; 10m, 2h, 7d",
    where: "both",
    who: "room-operator",
    input: ([mask, rest]) => ({ type: "ban", mask, ...durationAndReason(rest) }),
  },
  {
    name: "/unban",
    argument: "name",
    usage: "/unban MASK",
    help: "lift this room's ban on MASK",
    where: "both",
    who: "room-operator",
    input: ([mask]) => ({ type: "unban", mask }),
  },
  {
    name: "/bans",
    argument: "none",
    usage: "/bans",
    help: "list this room's bans and mutes",
    where: "both",
    who: "room-operator",
    input: () => ({ type: "bans" }),
  },
  {
    name: "/mute",
    argument: "word-rest",
    usage: "/mute NICK [DURATION]",
    help: "refuse NICK's messages to this room (for DURATION: 10m, 2h, 7d)",
    where: "both",
    who: "room-operator",
    input: ([nick, rest]) => {
      const { duration, reason } = durationAndReason(rest);
      if (reason !== undefined) throw usageError("/mute NICK [DURATION]");
      return duration === undefined ? { type: "mute", nick } : { type: "mute", nick, duration };
    },
  },
  {
    name: "/unmute",
    argument: "nick",
    usage: "/unmute NICK",
    help: "let NICK speak in this room again",
    where: "both",
    who: "room-operator",
    input: ([nick]) => ({ type: "unmute", nick }),
  },
  {
    name: "/kline",
    argument: "word-rest",
    usage: "/kline MASK [DURATION] [REASON]",
    help: "ban MASK from the whole server",
    where: "both",
    who: "server-operator",
    input: ([mask, rest]) => ({ type: "kline", mask, ...durationAndReason(rest) }),
  },
  {
    name: "/unkline",
    argument: "name",
    usage: "/unkline MASK",
    help: "lift the server-wide ban on MASK",
    where: "both",
    who: "server-operator",
    input: ([mask]) => ({ type: "unkline", mask }),
  },
  {
    name: "/klines",
    argument: "none",
    usage: "/klines",
    help: "list the server-wide bans",
    where: "both",
    who: "server-operator",
    input: () => ({ type: "klines" }),
  },
  {
    name: "/help",
    argument: "none",
    usage: "/help",
    help: "list these commands",
    where: "both",
    who: "anyone",
    input: () => ({ type: "help" }),
  },
  {
    name: "/timestamps",
    argument: "none",
    usage: "/timestamps",
    help: "show the time on every line, or stop",
    where: "client",
    who: "anyone",
    input: () => ({ type: "timestamps" }),
  },
  {
    name: "/quit",
    argument: "none",
    usage: "/quit",
    help: "leave",
    where: "both",
    who: "anyone",
    input: () => ({ type: "quit" }),
  },
];

// A ban's optional duration ("10m") and reason, from the rest of its line.
function durationAndReason(rest?: string): { duration?: number; reason?: string } {
  if (rest === undefined) return {};
  const [first] = rest.split(/\s/, 1);
  const duration = parseDuration(first);
  if (duration === null) return { reason: rest };
  const reason = rest.slice(first.length).trim();
  return reason ? { duration, reason } : { duration };
}

/** The error for a command typed without what it needs. */
export function usageError(usage: string): ProtocolError {
  return new ProtocolError("bad_message", `usage: ${usage}`);
}

// Each argument kind's stand-in arguments, to learn which input type a command sends.
const STAND_IN: Record<ArgumentKind, string[]> = {
  "none": [],
  "optional-room": [],
  "room": ["r"],
  "name": ["n"],
  "nick": ["n"],
  "optional-nick": [],
  "text": ["t"],
  "optional-text": [],
  "nick-text": ["n", "t"],
  "word-rest": ["w"],
};

/** Who may send each input type, from the table; a type no command sends is anyone's. */
const PERMISSIONS: ReadonlyMap<string, Who> = new Map(
  SLASH_COMMANDS.map((command) => [command.input(STAND_IN[command.argument]).type, command.who]),
);

/** Who may send an input of `type`: the one map the server checks every input against. */
export function permissionOf(type: string): Who {
  return PERMISSIONS.get(type) ?? "anyone";
}
