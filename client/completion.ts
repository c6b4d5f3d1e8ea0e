// Tab completion of chat words: the commands of the slash-command table, nicks and rooms. No I/O.
import { type ArgumentKind } from "../protocol/slash_commands.ts";
import { slashCommandOf, slashCommands } from "../protocol/typed_lines.ts";
import type { Completer } from "./line_editor.ts";

/** The words a chat line can be completed from, besides the commands. */
export interface ChatWords {
  /** Nicks in the room being talked in, the user's own left out. */
  nicks: readonly string[];
  /** Every nick the client knows of, for a nick-and-text argument (/msg). */
  allNicks: readonly string[];
  /** Room names the client knows of, for a room argument (/join, /part, /who). */
  rooms: readonly string[];
}

const COMMAND_NAMES = slashCommands("client").map(({ name }) => name);

/**
 * Completes a command at the start of a line; a nick elsewhere, followed by ": " at the start of a
 * line as people address each other. A command's first argument is completed as its kind says: any
 * nick for /msg, /whois, /ignore, /op, /deop and /unmute, a room for /join, /part and /who,
 * nothing for /nick or /unban, and a nick in the room for the rest (/kick, /mute). Case does not
 * matter; choices
 * come in alphabetical order.
 */
export function chatCompleter(words: () => ChatWords): Completer {
  return (before, word) => {
    if (word === "") return [];
    const { nicks, allNicks, rooms } = words();
    const lead = before.trimStart();
    if (lead === "") {
      return word.startsWith("/")
        ? matching(COMMAND_NAMES, word, " ")
        : matching(nicks, word, ": ");
    }
    // Only a command followed by blanks: the word is its first argument.
    const kind: ArgumentKind | undefined = /^\/\S+\s+$/.test(lead)
      ? slashCommandOf(lead, "client")?.argument
      : undefined;
    switch (kind) {
      case "nick-text":
      case "nick":
      case "optional-nick":
        return matching(allNicks, word, " ");
      case "room":
      case "optional-room":
        return matching(rooms, word, " ");
      case "name":
        return [];
      default:
        return matching(nicks, word, " ");
    }
  };
}

function matching(names: readonly string[], word: string, suffix: string): string[] {
  const prefix = word.toLowerCase();
  const found = new Set(names.filter((name) => name.toLowerCase().startsWith(prefix)));
  return [...found].sort((a, b) => a.localeCompare(b)).map((name) => name + suffix);
}
