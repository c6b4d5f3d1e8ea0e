// What a line the user typed asks of the client, by the slash-command grammar: a message for the
// server, with the room the user talks in filled in; /help, /quit or /timestamps, which the client
// answers itself; a password to ask for; or a problem to show instead of sending anything. No I/O.
import { type ClientMessage, ProtocolError, textProblem } from "../protocol.ts";
import { type SlashCommand } from "../protocol/slash_commands.ts";
import { helpLines, parseLine, slashCommandOf } from "../protocol/typed_lines.ts";
import { inRoom } from "../protocol/moderation.ts";
import { KEY_HELP } from "./line_editor.ts";

export type TypedLine =
  | { type: "send"; message: ClientMessage }
  | { type: "help" }
  | { type: "quit" }
  | { type: "timestamps" }
  | { type: "ask-password"; command: SlashCommand }
  | { type: "problem"; text: string };

/** What `text` asks for while the user talks in `current`; null for a blank line. */
export function typedLine(text: string, current: string): TypedLine | null {
  const command = slashCommandOf(text, "client");
  if (command?.secret && text.trim().length === command.name.length) {
    return { type: "ask-password", command };
  }
  let input;
  try {
    input = parseLine(text, "client");
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { type: "problem", text: error.message };
  }
  if (input === null) return null;
  switch (input.type) {
    case "msg": {
      const problem = textProblem(input.text);
      if (problem) return { type: "problem", text: problem.message };
      // Every message names its room, so the server's idea of the current room never matters.
      const { text, to, action } = input;
      if (to !== undefined) return { type: "send", message: { type: "msg", to, text } };
      const message = action ? { text, action, room: current } : { text, room: current };
      return { type: "send", message: { type: "msg", ...message } };
    }
    case "part":
    case "who":
      return { type: "send", message: { type: input.type, room: input.room ?? current } };
    case "help":
    case "quit":
    case "timestamps":
      return { type: input.type };
    default: // an operator's command acts in the room the user talks in
      return { type: "send", message: inRoom(input, current) };
  }
}

/** Whether `text` is a command the client answers without the server: /help, /quit, /timestamps. */
export function answeredLocally(text: string): boolean {
  const name = slashCommandOf(text, "client")?.name;
  return name === "/help" || name === "/quit" || name === "/timestamps";
}

/** What /help shows: the commands, and on a terminal the keys. */
export function helpText(interactive: boolean): string[] {
  const keys = interactive ? KEY_HELP.map((line, i) => (i === 0 ? "keys: " : "      ") + line) : [];
  return [...helpLines("client"), ...keys];
}
