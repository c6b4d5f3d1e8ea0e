// How the client's lines look on a terminal: text made safe to show, styles, nick colours, and
// whether a message mentions someone. No I/O.

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
