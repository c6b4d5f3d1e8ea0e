// The typed-line grammar: what a person types at `nc` (line mode) or into the terminal client. A
// line is a message, a slash command, or "//text" for a message that starts with "/". The one table
// below is the grammar's single source: line mode's parsing and /help, the client's parsing, its
// /help and --help, and its Tab completion all read it. No I/O here.
import { cleanText, type ClientMessage, ProtocolError } from "../protocol.ts";
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
    usage: "/register PASSWORD",
    help: "register your nick: from then on only PASSWORD lets anyone use it",
    where: "both",
    who: "anyone",
    input: ([password]) => ({ type: "register", password }),
  },
  {
    name: "/identify",
    argument: "text",
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

function usageError(usage: string): ProtocolError {
  return new ProtocolError("bad_message", `usage: ${usage}`);
}

// Each argument kind's stand-in arguments, to learn which input type a command sends.
const STAND_IN: Record<ArgumentKind, string[]> = {
  "none": [],
  "optional-room": [],
  "room": ["r"],
  "name": ["n"],
  "nick": ["n"],
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

const WHO_NOTE: Record<Who, string> = {
  "anyone": "",
  "room-operator": " (room operators)",
  "room-owner": " (room owners)",
  "server-operator": " (server operators)",
};

// Not a command, but part of the grammar and of its help.
const ESCAPE = { usage: "//text", help: 'send a message that starts with "/"' };

/** The commands that can be typed in `place`, in the table's order. */
export function slashCommands(place: Place): SlashCommand[] {
  return SLASH_COMMANDS.filter(({ where }) => where === "both" || where === place);
}

/** The command `line` starts with, if it names one known in `place`; "//" is never a command. */
export function slashCommandOf(line: string, place: Place): SlashCommand | null {
  if (!line.startsWith("/") || line.startsWith("//")) return null;
  const name = commandWord(line).toLowerCase();
  return slashCommands(place).find((command) => command.name === name) ?? null;
}

function commandWord(line: string): string {
  const end = line.search(/\s/);
  return end < 0 ? line : line.slice(0, end);
}

/**
 * What a line typed in `place` asks for, or null for a blank line, which means nothing. A line that
 * does not start with "/" is a message, as is one that starts with "//" less its first "/". Throws
 * a ProtocolError for an unknown command or one without its argument; the message is for the user.
 */
export function parseLine(line: string, place: Place): LineInput | null {
  if (line.trim() === "") return null;
  if (!line.startsWith("/")) return { type: "msg", text: line };
  if (line.startsWith("//")) return { type: "msg", text: line.slice(1) };
  const command = slashCommandOf(line, place);
  if (!command) {
    const word = cleanText(commandWord(line).toLowerCase()).slice(0, 32);
    throw new ProtocolError("unknown_command", `unknown command ${word}, try /help`);
  }
  const args = splitArguments(command.argument, line.slice(commandWord(line).length).trim());
  if (!args) throw usageError(command.usage);
  return command.input(args);
}

// `rest` (trimmed) as the arguments of `kind`, or null when a required one is missing.
function splitArguments(kind: ArgumentKind, rest: string): string[] | null {
  switch (kind) {
    case "none":
      return [];
    case "optional-room":
    case "optional-text":
      return rest ? [rest] : [];
    case "room":
    case "name":
    case "nick":
    case "text":
      return rest ? [rest] : null;
    case "nick-text": {
      const space = rest.search(/\s/);
      return space < 0 ? null : [rest.slice(0, space), rest.slice(space).trim()];
    }
    case "word-rest": {
      if (!rest) return null;
      const space = rest.search(/\s/);
      return space < 0 ? [rest] : [rest.slice(0, space), rest.slice(space).trim()];
    }
  }
}

/** One line per command of `place`, then the "//" escape: usage, padded, then help. */
export function helpLines(place: Place): string[] {
  const entries = [
    ...slashCommands(place).map(({ usage, help, who }) => ({ usage, help: help + WHO_NOTE[who] })),
    ESCAPE,
  ];
  const width = Math.max(...entries.map(({ usage }) => usage.length)) + 2;
  return entries.map(({ usage, help }) => usage.padEnd(width) + help);
}

/** What line mode answers to /help, a notice per line. */
export const LINE_HELP: readonly string[] = [
  "commands:",
  ...helpLines("line").map((line) => `  ${line}`),
];
