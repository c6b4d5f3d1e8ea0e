// Bytes from a raw-mode terminal become keys. No I/O: the Ui feeds it what stdin reads.

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

/** Asks the terminal to mark pasted text (bracketed paste), so that a pasted Tab is not a Tab key. */
export const BRACKETED_PASTE_ON = "\x1b[?2004h";
export const BRACKETED_PASTE_OFF = "\x1b[?2004l";
const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";
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
