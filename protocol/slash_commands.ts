// The typed-line grammar: what a person types at `nc` (line mode) or into the terminal client. A
// line is a message, a slash command, or "//text" for a message that starts with "/". The one table
// below is the grammar's single source: line mode's parsing and /help, the client's parsing, its
// /help and --help, and its Tab completion all read it. No I/O here.
import { cleanText, type ClientMessage, ProtocolError } from "../protocol.ts";

/**
 * What a command takes after its name, and so how the rest of the line splits into the arguments
 * its `input` gets: none; one word or line (a room, a name, a text), optional or required; or a
 * nick and then the rest of the line as text.
 */
export type ArgumentKind = "none" | "optional-room" | "room" | "name" | "text" | "nick-text";

/** Where a line is typed: at `nc` (line mode) or into the terminal client. */
export type Place = "line" | "client";

// When operator commands arrive, an entry also says who may use it, checked once by the parser's
// callers, as ergo's command table does.
export interface SlashCommand {
  /** Lower case, with its slash; typed in any case. */
  readonly name: string;
  readonly argument: ArgumentKind;
  /** The name and its argument, as help and usage errors show them: "/msg NICK TEXT". */
  readonly usage: string;
  readonly help: string;
  readonly where: Place | "both";
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
    input: ([room]) => ({ type: "join", room }),
  },
  {
    name: "/part",
    argument: "optional-room",
    usage: "/part [ROOM]",
    help: "leave ROOM, by default the one you talk in",
    where: "both",
    input: ([room]) => room === undefined ? { type: "part" } : { type: "part", room },
  },
  {
    name: "/rooms",
    argument: "none",
    usage: "/rooms",
    help: "list the rooms",
    where: "both",
    input: () => ({ type: "rooms" }),
  },
  {
    name: "/who",
    argument: "optional-room",
    usage: "/who [ROOM]",
    help: "list who is in ROOM, by default the one you talk in",
    where: "both",
    input: ([room]) => room === undefined ? { type: "who" } : { type: "who", room },
  },
  {
    name: "/msg",
    argument: "nick-text",
    usage: "/msg NICK TEXT",
    help: "say TEXT to NICK only",
    where: "both",
    input: ([to, text]) => ({ type: "msg", to, text }),
  },
  {
    name: "/nick",
    argument: "name",
    usage: "/nick NAME",
    help: "change your nick",
    where: "both",
    input: ([nick]) => ({ type: "nick", nick }),
  },
  {
    name: "/register",
    argument: "text",
    secret: true,
    usage: "/register PASSWORD",
    help: "register your nick: from then on only PASSWORD lets anyone use it",
    where: "both",
    input: ([password]) => ({ type: "register", password }),
  },
  {
    name: "/identify",
    argument: "text",
    secret: true,
    usage: "/identify PASSWORD",
    help: "prove your registered nick is yours",
    where: "both",
    input: ([password]) => ({ type: "identify", password }),
  },
  {
    name: "/login",
    argument: "nick-text",
    usage: "/login NICK PASSWORD",
    help: "take your registered NICK, proving it with PASSWORD",
    where: "both",
    input: ([nick, password]) => ({ type: "login", nick, password }),
  },
  {
    name: "/passwd",
    argument: "nick-text",
    usage: "/passwd OLD NEW",
    help: "change the password of your registered nick from OLD to NEW",
    where: "both",
    input: ([old, password]) => ({ type: "passwd", old, password }),
  },
  {
    name: "/unregister",
    argument: "text",
    usage: "/unregister PASSWORD",
    help: "give up your registered nick",
    where: "both",
    input: ([password]) => ({ type: "unregister", password }),
  },
  {
    name: "/me",
    argument: "text",
    usage: "/me ACTION",
    help: "say what you do; others see * you ACTION",
    where: "both",
    input: ([text]) => ({ type: "msg", text, action: true }),
  },
  {
    name: "/help",
    argument: "none",
    usage: "/help",
    help: "list these commands",
    where: "both",
    input: () => ({ type: "help" }),
  },
  {
    name: "/timestamps",
    argument: "none",
    usage: "/timestamps",
    help: "show the time on every line, or stop",
    where: "client",
    input: () => ({ type: "timestamps" }),
  },
  {
    name: "/quit",
    argument: "none",
    usage: "/quit",
    help: "leave",
    where: "both",
    input: () => ({ type: "quit" }),
  },
];

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
  if (!args) throw new ProtocolError("bad_message", `usage: ${command.usage}`);
  return command.input(args);
}

// `rest` (trimmed) as the arguments of `kind`, or null when a required one is missing.
function splitArguments(kind: ArgumentKind, rest: string): string[] | null {
  switch (kind) {
    case "none":
      return [];
    case "optional-room":
      return rest ? [rest] : [];
    case "room":
    case "name":
    case "text":
      return rest ? [rest] : null;
    case "nick-text": {
      const space = rest.search(/\s/);
      return space < 0 ? null : [rest.slice(0, space), rest.slice(space).trim()];
    }
  }
}

/** One line per command of `place`, then the "//" escape: usage, padded, then help. */
export function helpLines(place: Place): string[] {
  const entries = [...slashCommands(place), ESCAPE];
  const width = Math.max(...entries.map(({ usage }) => usage.length)) + 2;
  return entries.map(({ usage, help }) => usage.padEnd(width) + help);
}

/** What line mode answers to /help, a notice per line. */
export const LINE_HELP: readonly string[] = [
  "commands:",
  ...helpLines("line").map((line) => `  ${line}`),
];
