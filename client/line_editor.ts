// The terminal client's line editor, with no I/O: bytes from a raw-mode terminal become keys, keys
// edit one line of text, and the editor says what to write to the terminal to show it. Below it,
// what else the client needs to write to a terminal: Tab completion of chat words, text made safe
// and coloured, and whether a message mentions someone. client.ts moves the bytes; tests drive
// this file directly.
//
// The line never wraps: when it is wider than the terminal it scrolls sideways under the cursor.
// A line that fits on one row is fully erased by "\r\x1b[2K", which is what lets a message be
// printed above it and the line be redrawn without leaving pieces of it behind.

/** What a key does to the line. Bindings follow readline's emacs mode, the terminal default. */
export type EditKey =
  | "enter"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "word-left"
  | "word-right"
  | "home"
  | "end"
  | "kill-to-start"
  | "kill-to-end"
  | "kill-word"
  | "history-back"
  | "history-forward"
  | "clear-screen"
  | "complete"
  | "interrupt"
  | "eof";

export type Key = { type: "text"; text: string } | { type: EditKey };

/** What the terminal needs after a key: nothing, a redraw, or the client's attention. */
export type Outcome =
  | { type: "unchanged" }
  | { type: "changed" }
  | { type: "clear-screen" }
  | { type: "submit"; line: string }
  | { type: "eof" } // Ctrl-D on an empty line
  | { type: "interrupt" }; // Ctrl-C

const CLEAR_LINE = "\r\x1b[2K";
/** Asks the terminal to mark pasted text (bracketed paste), so that a pasted Tab is not a Tab key. */
export const BRACKETED_PASTE_ON = "\x1b[?2004h";
export const BRACKETED_PASTE_OFF = "\x1b[?2004l";
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";
const HISTORY_LINES = 100;
// The longest escape sequence worth waiting for; anything longer is noise and is dropped.
const MAX_SEQUENCE_CHARS = 32;

const CONTROL_KEYS: Record<string, EditKey> = {
  "\r": "enter",
  "\n": "enter",
  "\x7f": "backspace",
  "\x08": "backspace", // Ctrl-H
  "\x01": "home", // Ctrl-A
  "\x05": "end", // Ctrl-E
  "\x02": "left", // Ctrl-B
  "\x06": "right", // Ctrl-F
  "\x15": "kill-to-start", // Ctrl-U
  "\x0b": "kill-to-end", // Ctrl-K
  "\x17": "kill-word", // Ctrl-W
  "\x10": "history-back", // Ctrl-P
  "\x0e": "history-forward", // Ctrl-N
  "\x0c": "clear-screen", // Ctrl-L
  "\x03": "interrupt", // Ctrl-C: raw mode turns it into a byte instead of SIGINT
  "\x04": "eof", // Ctrl-D
};

// Alt-<key> arrives as ESC then the key.
const ALT_KEYS: Record<string, EditKey> = {
  b: "word-left",
  f: "word-right",
  "\x7f": "kill-word",
  "\x08": "kill-word",
};

// ESC O <final>: what xterm sends for arrows and Home/End in "application cursor" mode.
const SS3_KEYS: Record<string, EditKey> = {
  A: "history-back",
  B: "history-forward",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/**
 * Turns raw terminal input into keys. Input may be split anywhere, inside a UTF-8 character or an
 * escape sequence: what is incomplete waits for the next chunk. Printable text comes out in runs,
 * so a paste is one key. Control characters never come out as text. Tab is the "complete" key,
 * except inside a bracketed paste, where it is a space.
 */
export class KeyDecoder {
  #utf8 = new TextDecoder("utf-8");
  #pending = ""; // an incomplete escape sequence
  #afterCR = false; // a "\n" right after "\r" is the same Enter
  #pasting = false; // between the terminal's paste-start and paste-end marks

  push(bytes: Uint8Array): Key[] {
    const input = this.#pending + this.#utf8.decode(bytes, { stream: true });
    this.#pending = "";
    const keys: Key[] = [];
    let text = "";
    const emit = (key: Key | null) => {
      if (text) keys.push({ type: "text", text });
      text = "";
      if (key) keys.push(key);
    };
    let at = 0;
    while (at < input.length) {
      const char = input[at];
      if (char === "\x1b") {
        this.#afterCR = false;
        const sequence = escapeSequence(input, at);
        if (sequence === null) {
          if (input.length - at <= MAX_SEQUENCE_CHARS) this.#pending = input.slice(at);
          break;
        }
        if (sequence.key) emit(sequence.key);
        const raw = input.slice(at, at + sequence.length);
        if (raw === PASTE_START) this.#pasting = true;
        else if (raw === PASTE_END) this.#pasting = false;
        at += sequence.length;
        continue;
      }
      const newlineOfCRLF = this.#afterCR && char === "\n";
      this.#afterCR = char === "\r";
      at++;
      if (newlineOfCRLF) continue;
      const control = CONTROL_KEYS[char];
      if (control) emit({ type: control });
      else if (char === "\t" && !this.#pasting) emit({ type: "complete" });
      else if (char === "\t") text += " ";
      else if (!CONTROL_CHAR.test(char)) text += char;
    }
    emit(null);
    return keys;
  }
}

const CONTROL_CHAR = /\p{Cc}/u;

// The escape sequence at `start`, as its length and key (null for one we do not bind), or null if
// the input ends before the sequence does.
function escapeSequence(input: string, start: number): { length: number; key: Key | null } | null {
  const next = input[start + 1];
  if (next === undefined) return null;
  if (next === "[") {
    // CSI: parameter and intermediate bytes (0x20-0x3f), then one final byte (0x40-0x7e).
    let end = start + 2;
    while (end < input.length && input.charCodeAt(end) >= 0x20 && input.charCodeAt(end) <= 0x3f) {
      end++;
    }
    if (end === input.length) return null;
    const final = input.charCodeAt(end);
    if (final < 0x40 || final > 0x7e) return { length: end - start, key: null }; // malformed
    const name = csiKey(input.slice(start + 2, end), input[end]);
    return { length: end + 1 - start, key: name ? { type: name } : null };
  }
  if (next === "O") {
    const final = input[start + 2];
    if (final === undefined) return null;
    const name = SS3_KEYS[final];
    return { length: 3, key: name ? { type: name } : null };
  }
  const alt = ALT_KEYS[next];
  // An unbound Alt-<key>, or a lone Escape: drop the ESC and let the key be typed as usual.
  return alt ? { length: 2, key: { type: alt } } : { length: 1, key: null };
}

function csiKey(parameters: string, final: string): EditKey | null {
  const [first, modifier] = parameters.split(";");
  // Modifier 1 is none; any other (Alt, Ctrl, ...) turns a character move into a word move.
  const modified = modifier !== undefined && modifier !== "1";
  switch (final) {
    case "A":
      return "history-back";
    case "B":
      return "history-forward";
    case "C":
      return modified ? "word-right" : "right";
    case "D":
      return modified ? "word-left" : "left";
    case "H":
      return "home";
    case "F":
      return "end";
    case "~":
      switch (first) {
        case "1":
        case "7":
          return "home";
        case "4":
        case "8":
          return "end";
        case "3":
          return "delete";
      }
  }
  return null;
}

// C0 and C1 controls would move the cursor or rewrite the screen; bidirectional overrides and
// isolates would reorder what follows them; line and paragraph separators break lines.
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069\u2028\u2029]/gu;
const SHOWN_AS_SPACE = "\t\u2028\u2029";

/** `text` made safe to write to a terminal: tabs become spaces and controls are dropped. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => SHOWN_AS_SPACE.includes(char) ? " " : "");
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

// East Asian wide and fullwidth characters, and emoji, take two columns in a terminal. A table of
// the common blocks is close enough for a chat line; a character this misjudges only shifts the
// cursor, and the next redraw puts it right.
const WIDE =
  /^(?:[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]|\p{Emoji_Presentation})/u;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  return WIDE.test(grapheme) || grapheme.includes("\ufe0f") ? 2 : 1;
}

/** How many terminal columns `text` takes, assuming it is printable. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += graphemeWidth(segment);
  return width;
}

/** Where each grapheme of `text` starts, then text.length. */
function boundaries(text: string): number[] {
  const starts = [...graphemes.segment(text)].map(({ index }) => index);
  starts.push(text.length);
  return starts;
}

/**
 * One line being typed after a prompt. `apply` edits it; `render` and `printAbove` return the
 * bytes that show it. The cursor is a UTF-16 offset into `text` and moves by grapheme, so an
 * emoji or an accented letter is one step.
 */
export class LineEditor {
  prompt: string;
  /** What Tab offers for the word before the cursor; without one, Tab does nothing. */
  completer: Completer | null = null;
  #text = "";
  #cursor = 0;
  #scroll = 0; // the first grapheme shown, when the line is wider than the terminal
  #history: string[] = [];
  #historyAt = 0; // history.length while editing a new line
  #draft = ""; // the new line, while an older one is recalled
  // While Tab is pressed again and again: where the completed word starts, and the choices.
  #completion: { start: number; choices: string[]; index: number } | null = null;

  constructor(prompt = "") {
    this.prompt = prompt;
  }

  get text(): string {
    return this.#text;
  }

  get cursor(): number {
    return this.#cursor;
  }

  apply(key: Key): Outcome {
    const changed: Outcome = { type: "changed" };
    const unchanged: Outcome = { type: "unchanged" };
    const text = this.#text;
    const cursor = this.#cursor;
    if (key.type !== "complete") this.#completion = null;
    switch (key.type) {
      case "text":
        this.#replace(cursor, cursor, printable(key.text));
        return changed;
      case "enter": {
        const line = text;
        this.#remember(line);
        this.#text = "";
        this.#cursor = 0;
        return { type: "submit", line };
      }
      case "backspace":
        if (cursor === 0) return unchanged;
        this.#replace(this.#previousBoundary(), cursor, "");
        return changed;
      case "eof":
        if (text === "") return { type: "eof" };
        // Ctrl-D on a non-empty line deletes forward, as in readline.
        return this.apply({ type: "delete" });
      case "delete":
        if (cursor === text.length) return unchanged;
        this.#replace(cursor, this.#nextBoundary(), "");
        return changed;
      case "left":
        return this.#moveTo(cursor === 0 ? 0 : this.#previousBoundary());
      case "right":
        return this.#moveTo(cursor === text.length ? cursor : this.#nextBoundary());
      case "word-left":
        return this.#moveTo(this.#wordStart());
      case "word-right":
        return this.#moveTo(this.#wordEnd());
      case "home":
        return this.#moveTo(0);
      case "end":
        return this.#moveTo(text.length);
      case "kill-to-start":
        if (cursor === 0) return unchanged;
        this.#replace(0, cursor, "");
        return changed;
      case "kill-to-end":
        if (cursor === text.length) return unchanged;
        this.#replace(cursor, text.length, "");
        return changed;
      case "kill-word":
        if (cursor === 0) return unchanged;
        this.#replace(this.#wordStart(), cursor, "");
        return changed;
      case "history-back":
        return this.#recall(this.#historyAt - 1);
      case "history-forward":
        return this.#recall(this.#historyAt + 1);
      case "clear-screen":
        return { type: "clear-screen" };
      case "complete":
        return this.#complete();
      case "interrupt":
        return { type: "interrupt" };
    }
  }

  /** Erases the line; the cursor is left at the start of an empty row. */
  clear(): string {
    return CLEAR_LINE;
  }

  /** Redraws prompt and line in a terminal `columns` wide, with the cursor where it belongs. */
  render(columns: number): string {
    const promptWidth = displayWidth(this.prompt);
    // The last column stays empty: writing there makes some terminals wrap at the next character.
    const room = Math.max(1, columns - 1 - promptWidth);
    const starts = boundaries(this.#text);
    // before[g]: the columns taken by the graphemes before grapheme g.
    const before = [0];
    for (let g = 0; g + 1 < starts.length; g++) {
      before.push(before[g] + graphemeWidth(this.#text.slice(starts[g], starts[g + 1])));
    }
    const count = starts.length - 1;
    const cursorAt = starts.findIndex((start) => start >= this.#cursor);
    const widthOf = (from: number, to: number) => before[to] - before[from];

    // Scroll as little as keeps the cursor and the character under it in view, and no further
    // than fills the row.
    const keep = Math.min(cursorAt + 1, count);
    this.#scroll = Math.min(this.#scroll, cursorAt);
    while (this.#scroll < cursorAt && widthOf(this.#scroll, keep) > room) this.#scroll++;
    while (this.#scroll > 0 && widthOf(this.#scroll - 1, count) <= room) this.#scroll--;
    let last = this.#scroll;
    while (last < count && widthOf(this.#scroll, last + 1) <= room) last++;

    const shown = this.#text.slice(starts[this.#scroll], starts[last]);
    const back = widthOf(cursorAt, last);
    return CLEAR_LINE + this.prompt + shown + (back > 0 ? `\x1b[${back}D` : "");
  }

  /** Prints `lines` (already printable) where the editor was, and redraws it below them. */
  printAbove(lines: string[], columns: number): string {
    const above = lines.map((line) => `${line}\r\n`).join("");
    return above ? CLEAR_LINE + above + this.render(columns) : this.render(columns);
  }

  /** Clears the screen and redraws the editor at the top. */
  redrawScreen(columns: number): string {
    return CLEAR_SCREEN + this.render(columns);
  }

  // The first Tab replaces the word before the cursor with the first choice; each further Tab with
  // the next one, round and round.
  #complete(): Outcome {
    let completion = this.#completion;
    if (completion) {
      completion.index = (completion.index + 1) % completion.choices.length;
    } else {
      let start = this.#cursor;
      while (start > 0 && !/\s/.test(this.#text[start - 1])) start--;
      const choices = this.completer?.(
        this.#text.slice(0, start),
        this.#text.slice(start, this.#cursor),
      ) ?? [];
      if (choices.length === 0) return { type: "unchanged" };
      completion = this.#completion = { start, choices: choices.map(printable), index: 0 };
    }
    const choice = completion.choices[completion.index];
    if (this.#text.slice(completion.start, this.#cursor) === choice) return { type: "unchanged" };
    this.#replace(completion.start, this.#cursor, choice);
    return { type: "changed" };
  }

  #replace(from: number, to: number, insert: string): void {
    this.#text = this.#text.slice(0, from) + insert + this.#text.slice(to);
    this.#cursor = from + insert.length;
  }

  #moveTo(cursor: number): Outcome {
    if (cursor === this.#cursor) return { type: "unchanged" };
    this.#cursor = cursor;
    return { type: "changed" };
  }

  #previousBoundary(): number {
    return boundaries(this.#text).findLast((start) => start < this.#cursor) ?? 0;
  }

  #nextBoundary(): number {
    return boundaries(this.#text).find((start) => start > this.#cursor) ?? this.#text.length;
  }

  // Words are separated by whitespace, as for Ctrl-W in a shell.
  #wordStart(): number {
    let at = this.#cursor;
    while (at > 0 && /\s/.test(this.#text[at - 1])) at--;
    while (at > 0 && !/\s/.test(this.#text[at - 1])) at--;
    return at;
  }

  #wordEnd(): number {
    let at = this.#cursor;
    while (at < this.#text.length && /\s/.test(this.#text[at])) at++;
    while (at < this.#text.length && !/\s/.test(this.#text[at])) at++;
    return at;
  }

  #remember(line: string): void {
    if (line !== "" && line !== this.#history.at(-1)) {
      this.#history.push(line);
      if (this.#history.length > HISTORY_LINES) this.#history.shift();
    }
    this.#historyAt = this.#history.length;
    this.#draft = "";
  }

  #recall(at: number): Outcome {
    if (at < 0 || at > this.#history.length) return { type: "unchanged" };
    if (this.#historyAt === this.#history.length) this.#draft = this.#text;
    this.#historyAt = at;
    this.#text = at === this.#history.length ? this.#draft : this.#history[at];
    this.#cursor = this.#text.length;
    return { type: "changed" };
  }
}

/**
 * What could replace `word`, the word before the cursor, given `before`, the line up to that word.
 * Each choice is the whole replacement, with whatever should follow it (a space, or ": ").
 */
export type Completer = (before: string, word: string) => string[];

/** The words a chat line can be completed from. */
export interface ChatWords {
  /** Command names, with their slash. */
  commands: readonly string[];
  /** Nicks in the room being talked in, the user's own left out. */
  nicks: readonly string[];
  /** Every nick the client knows of, for /msg. */
  allNicks: readonly string[];
  /** Room names the client knows of, for /join, /part and /who. */
  rooms: readonly string[];
}

const ROOM_COMMANDS = new Set(["/join", "/part", "/who"]);

/**
 * Completes a command at the start of a line; a nick elsewhere, followed by ": " at the start of a
 * line as people address each other; a nick after /msg and a room after /join, /part and /who.
 * Case does not matter; choices come in alphabetical order.
 */
export function chatCompleter(words: () => ChatWords): Completer {
  return (before, word) => {
    if (word === "") return [];
    const { commands, nicks, allNicks, rooms } = words();
    const lead = before.trimStart();
    if (lead === "") {
      return word.startsWith("/") ? matching(commands, word, " ") : matching(nicks, word, ": ");
    }
    const command = /^(\/\S+)\s+$/.exec(lead)?.[1].toLowerCase(); // the word is its first argument
    if (command === "/msg") return matching(allNicks, word, " ");
    if (command !== undefined && ROOM_COMMANDS.has(command)) return matching(rooms, word, " ");
    if (command === "/nick") return [];
    return matching(nicks, word, " ");
  };
}

function matching(names: readonly string[], word: string, suffix: string): string[] {
  const prefix = word.toLowerCase();
  const found = new Set(names.filter((name) => name.toLowerCase().startsWith(prefix)));
  return [...found].sort((a, b) => a.localeCompare(b)).map((name) => name + suffix);
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
