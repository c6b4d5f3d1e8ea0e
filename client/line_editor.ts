// The terminal client's line editor, with no I/O: keys (key_decoder.ts) edit one line of text, and
// the editor says what to write to the terminal to show it. ui.ts moves the bytes; tests drive this
// file directly.
//
// The line never wraps: when it is wider than the terminal it scrolls sideways under the cursor.
// A line that fits on one row is fully erased by "\r\x1b[2K", which is what lets a message be
// printed above it and the line be redrawn without leaving pieces of it behind.
import type { Key } from "./key_decoder.ts";
import { printable } from "./format.ts";

/** What the terminal needs after a key: nothing, a redraw, or the client's attention. */
export type Outcome =
  | { type: "unchanged" }
  | { type: "changed" }
  | { type: "clear-screen" }
  | { type: "submit"; line: string }
  | { type: "eof" } // Ctrl-D on an empty line
  | { type: "interrupt" }; // Ctrl-C

const CLEAR_LINE = "\r\x1b[2K";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";
const HISTORY_LINES = 100;

/** What the keys do, as /help and --help list them. */
export const KEY_HELP: readonly string[] = [
  "Left/Right, Home/End (Ctrl-A/Ctrl-E), Up/Down recall what you sent,",
  "Ctrl-U/Ctrl-K delete to the start/end, Ctrl-W deletes a word,",
  "Tab completes a nick, a room or a command (again for the next one),",
  "Ctrl-C, and Ctrl-D on an empty line, leave",
];

/**
 * What could replace `word`, the word before the cursor, given `before`, the line up to that word.
 * Each choice is the whole replacement, with whatever should follow it (a space, or ": ").
 */
export type Completer = (before: string, word: string) => string[];

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
  /** What is typed is a password: nothing of it is shown, recalled or completed. */
  secret = false;
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
        if (!this.secret) this.#remember(line);
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
        if (this.secret) return unchanged;
        return this.#recall(this.#historyAt - 1);
      case "history-forward":
        if (this.secret) return unchanged;
        return this.#recall(this.#historyAt + 1);
      case "clear-screen":
        return { type: "clear-screen" };
      case "complete":
        return this.secret ? unchanged : this.#complete();
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
    if (this.secret) return CLEAR_LINE + this.prompt;
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
