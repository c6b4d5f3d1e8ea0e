// How the client's lines look: text made safe for a terminal, styles, nick colours, mentions, and
// the line each event becomes. Pipes get the same words without the colours: "<alice> hi",
// "* bob joined", "[den] <carol> hey" for a room other than the one the user talks in,
// "[12:34] <alice> hi" for history, and "*alice* psst" for a private message. No I/O.
import { type ChatMessage, nameKey, type ServerMessage } from "../protocol.ts";
import { clock, describe } from "../protocol/text.ts";

// C0 and C1 controls would move the cursor or rewrite the screen; bidirectional overrides and
// isolates would reorder what follows them; line and paragraph separators break lines.
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069\u2028\u2029]/gu;
const SHOWN_AS_SPACE = "\t\u2028\u2029";

/** `text` made safe to write to a terminal: tabs become spaces and controls are dropped. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => SHOWN_AS_SPACE.includes(char) ? " " : "");
}

/** A piece of a line with an SGR style: "2" dim, "1" bold, "33" yellow, and so on. */
export interface Styled {
  text: string;
  sgr: string;
}

/** One line to show, in pieces; plain strings take the terminal's default style. */
export type Line = Array<string | Styled>;

export const DIM = "2";
export const BOLD = "1";
export const YELLOW = "33";

// Red, green, blue, magenta, cyan, and their bright forms: readable on dark and light backgrounds
// alike, and none of them yellow (errors) or grey (notices).
const NICK_COLOURS = ["31", "32", "34", "35", "36", "91", "92", "94", "95", "96"];

/** The colour of `nick`: the same in every client and every run, whatever its case. */
export function nickColour(nick: string): string {
  // FNV-1a over the code points of the lowercased nick.
  let hash = 0x811c9dc5;
  for (const unit of nick.toLowerCase()) {
    hash ^= unit.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NICK_COLOURS[hash % NICK_COLOURS.length];
}

/** The line as terminal text: each piece made printable, and styled only if `colour`. */
export function paint(line: Line, colour: boolean): string {
  return line.map((piece) => {
    if (typeof piece === "string") return printable(piece);
    const text = printable(piece.text);
    return colour && text ? `\x1b[${piece.sgr}m${text}\x1b[0m` : text;
  }).join("");
}

/** The line as plain text, as a pipe gets it. */
export function plainText(line: Line): string {
  return paint(line, false);
}

const WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}_]`;
const mentionPatterns = new Map<string, RegExp>();

/** Whether `text` names `nick` as a word of its own, in any case: "alice:", "@Alice", not "malice". */
export function mentions(text: string, nick: string): boolean {
  if (nick === "") return false;
  let pattern = mentionPatterns.get(nick);
  if (!pattern) {
    const escaped = nick.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
    pattern = new RegExp(`(?<!${WORD_CHAR})${escaped}(?!${WORD_CHAR})`, "iu");
    mentionPatterns.clear(); // one nick at a time in practice: the user's own
    mentionPatterns.set(nick, pattern);
  }
  return pattern.test(text);
}

/** A line of the client's own, or the server's notice: dim. */
export function notice(text: string): Line {
  return [{ text, sgr: DIM }];
}

function nickPiece(text: string, nick: string): Styled {
  return { text, sgr: nickColour(nick) };
}

/** `[room] ` when `room` is not the one the user talks in. */
function roomTag(room: string | undefined, current: string): string {
  return room !== undefined && nameKey(room) !== nameKey(current) ? `[${room}] ` : "";
}

/**
 * A chat message as `me` sees it while talking in `current`; bold where it mentions `me`. History
 * says when it was said; so does every message with `timestamps` (--timestamps, /timestamps).
 */
export function chatLine(
  message: ChatMessage,
  current: string,
  me: string,
  timestamps = false,
  now = Date.now(),
): Line {
  const { from, text } = message;
  const line: Line = message.history || timestamps ? [timeStamp(message.ts, now)] : [];
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

/** `[HH:MM] ` (with the date when not today): when something was said or happened. */
export function timeStamp(ts: number, now = Date.now()): Styled {
  return { text: `[${clock(ts, now)}] `, sgr: DIM };
}

/**
 * The answer to a join: who is in the room; or, in a room the user was in already, only that it is
 * the one they talk in now.
 */
export function joinedLine(
  message: Extract<ServerMessage, { type: "joined" }>,
  switching: boolean,
  me: string,
): Line {
  return notice(switching ? `* you are now in ${message.room}` : describe(message, "* ", me)!);
}

/**
 * How a server message other than chat looks while the user talks in `current`: an error in
 * yellow, comings, goings and renames with coloured nicks, the rest as a dim notice; with
 * `timestamps`, after the time it came.
 */
export function eventLine(
  message: ServerMessage,
  current: string,
  timestamps = false,
  me?: string,
): Line {
  const line = eventWords(message, current, me);
  return timestamps ? [timeStamp(Date.now()), ...line] : line;
}

function eventWords(message: ServerMessage, current: string, me?: string): Line {
  switch (message.type) {
    case "error":
      return [{ text: `* ${message.message}`, sgr: YELLOW }];
    case "join":
      return comingAndGoing(message.nick, "joined", message.room, current);
    case "leave":
      return comingAndGoing(message.nick, "left", message.room, current);
    case "nick":
      return [
        { text: "* ", sgr: DIM },
        nickPiece(message.from, message.from),
        { text: " is now known as ", sgr: DIM },
        nickPiece(message.nick, message.nick),
      ];
    default:
      return notice(describe(message, "* ", me) ?? "");
  }
}

// "* alice joined", with the room when it is not the one the user talks in.
function comingAndGoing(nick: string, did: string, room: string, current: string): Line {
  const where = nameKey(room) === nameKey(current) ? "" : ` ${room}`;
  return [{ text: "* ", sgr: DIM }, nickPiece(nick, nick), { text: ` ${did}${where}`, sgr: DIM }];
}
