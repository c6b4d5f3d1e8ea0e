// The typed-line grammar: a line is a message, a slash command from the one table
// (slash_commands.ts), or "//text" for a message that starts with "/". Line mode's parsing and
// /help, the client's and the page's parsing and /help all come from here. No I/O.
import { cleanText, ProtocolError } from "../protocol.ts";
import {
  type ArgumentKind,
  type LineInput,
  type Place,
  SLASH_COMMANDS,
  type SlashCommand,
  usageError,
} from "./slash_commands.ts";
import type { Who } from "./moderation.ts";

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
    case "optional-nick":
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
