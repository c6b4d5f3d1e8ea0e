// The user's side of the client: a terminal, with a prompt and a line editor, where messages are
// printed above the line being typed without garbling it; or pipes, where each input line is a
// line of chat and each event one line of output. The editing itself is line_editor.ts.
import process from "node:process";
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON, KeyDecoder } from "./key_decoder.ts";
import { type Completer, LineEditor } from "./line_editor.ts";
import { type Line, paint, printable } from "./format.ts";

// For a terminal that does not say how wide it is.
const DEFAULT_COLUMNS = 80;
const BELL = "\x07";
const PROGRESS_EVERY_MS = 10_000;

/** What the user's side gives the client: lines typed or piped in, and the end of them. */
export interface InputHandler {
  line(text: string): void;
  /** No more input: leave once what was typed has been sent. */
  end(): void;
  /** Leave now. */
  interrupt(): void;
  /** Nobody reads the transcript any more, as in `client | head -1`. */
  outputClosed(): void;
  /** A bug in a callback: end the program, restoring the terminal first. */
  fail(error: unknown): void;
  /** What Tab offers for `word`, after `before` on the line; terminals only. */
  complete: Completer;
}

export interface UiOptions {
  /** Style lines with ANSI colours (never on a pipe's stdout). */
  colour: boolean;
}

/** The user's side of the client: a terminal or pipes. */
export interface Ui {
  /** Input is typed by a person, so the client shows what was sent. */
  readonly interactive: boolean;
  open(input: InputHandler): void;
  /** Adds one line to the transcript. Its text may come from the server: it is made printable. */
  show(line: Line | string): void;
  /** Rings the terminal's bell, for a message that names the user. */
  bell(): void;
  setPrompt(prompt: string): void;
  /** While on, what is typed is a password: a terminal shows none of it (pipes show nothing). */
  setSecret(secret: boolean): void;
  /**
   * Shows what the client is busy with ("sending 37 more lines..."), or null once done: before the
   * prompt on a terminal, on stderr from time to time for a script.
   */
  progress(text: string | null): void;
  /** Says why the client failed, as it exits: on stderr for a script, whose stdout is the chat. */
  report(text: string): void;
  /** Asks for input or for a pause in it; only pipes pause. */
  setReading(reading: boolean): void;
  /** Ignores further input and takes the prompt away. */
  stop(): void;
  /** Restores the terminal, and resolves once everything shown has been written. */
  close(): Promise<void>;
}

export function createUi(interactive: boolean, options: UiOptions): Ui {
  return interactive ? new TerminalUi(options) : new PipeUi(options);
}

/**
 * process.stdout (or stderr), and a way to wait until everything written has left the process:
 * Bun's process.exit drops output that a pipe has not taken yet. Write callbacks say when it has.
 */
class Output {
  #unwritten = 0;
  #written: (() => void) | null = null;
  #closed = false;
  readonly #stream: NodeJS.WritableStream;

  constructor(onClosed: () => void, stream: NodeJS.WritableStream = process.stdout) {
    this.#stream = stream;
    stream.on("error", () => {
      this.#closed = true;
      this.#written?.(); // the callbacks of what could not be written may never come
      onClosed();
    });
  }

  write(text: string): void {
    if (this.#closed) return;
    this.#unwritten++;
    this.#stream.write(text, () => {
      if (--this.#unwritten === 0) this.#written?.();
    });
  }

  async flushed(): Promise<void> {
    if (this.#unwritten > 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#written = resolve);
    }
  }
}

// Lines shown while the client works through one chunk from the server are written together
// once it is done, in one write instead of one per message: a client that falls behind a busy
// room is closed by the server.

class TerminalUi implements Ui {
  readonly interactive = true;
  #output = new Output(() => this.#input?.outputClosed());
  #editor = new LineEditor();
  #keys = new KeyDecoder();
  #colour: boolean;
  #input: InputHandler | null = null;
  #shown: string[] = []; // painted lines waiting to be written
  #ring = false; // the bell, written with them
  #active = false; // reading keys, with the editor on screen
  #raw = false;
  #pasteMarks = false; // bracketed paste is on
  #prompt = "";
  #progress = "";

  constructor(options: UiOptions) {
    this.#colour = options.colour;
  }

  open(input: InputHandler): void {
    this.#input = input;
    this.#editor.completer = (before, word) => input.complete(before, word);
    process.stdin.setRawMode(true);
    this.#raw = true;
    // process.exit, which runProgram calls even after a crash, must not leave the shell raw.
    process.once("exit", this.#restore);
    process.stdin.on("data", this.#onData);
    process.on("SIGWINCH", this.#paint);
    this.#active = true;
    this.#pasteMarks = true;
    this.#output.write(BRACKETED_PASTE_ON);
    this.#paint();
  }

  #columns(): number {
    return process.stdout.columns || DEFAULT_COLUMNS;
  }

  // Writes the lines waiting to be shown, and redraws the editor below them.
  #paint = (): void => {
    const lines = this.#shown.splice(0);
    const bell = this.#ring ? BELL : "";
    this.#ring = false;
    if (this.#active) this.#output.write(this.#editor.printAbove(lines, this.#columns()) + bell);
    else if (lines.length > 0) this.#output.write(lines.map((line) => `${line}\r\n`).join(""));
  };

  #onData = (chunk: Uint8Array): void => {
    const input = this.#input!;
    try {
      let changed = false;
      for (const key of this.#keys.push(chunk)) {
        if (!this.#active) return;
        const outcome = this.#editor.apply(key);
        switch (outcome.type) {
          case "unchanged":
            break;
          case "changed":
            changed = true;
            break;
          case "clear-screen":
            this.#output.write(this.#editor.redrawScreen(this.#columns()));
            break;
          case "submit":
            changed = true;
            input.line(outcome.line);
            break;
          case "eof":
            return input.end();
          case "interrupt":
            return input.interrupt();
        }
      }
      if (changed) this.#paint();
    } catch (error) {
      input.fail(error);
    }
  };

  show(line: Line | string): void {
    const text = typeof line === "string" ? printable(line) : paint(line, this.#colour);
    if (this.#shown.push(text) === 1) queueMicrotask(this.#paintShown);
  }

  bell(): void {
    this.#ring = true;
  }

  #paintShown = (): void => {
    if (this.#shown.length > 0) this.#paint();
  };

  setPrompt(prompt: string): void {
    this.#prompt = printable(prompt);
    this.#showPrompt();
  }

  setSecret(secret: boolean): void {
    this.#editor.secret = secret;
    if (this.#active) this.#paint();
  }

  progress(text: string | null): void {
    this.#progress = text === null ? "" : `(${printable(text)}) `;
    this.#showPrompt();
  }

  #showPrompt(): void {
    const prompt = this.#progress + this.#prompt;
    if (prompt === this.#editor.prompt) return;
    this.#editor.prompt = prompt;
    if (this.#active) this.#paint();
  }

  report(text: string): void {
    this.show(`* ${text}`);
  }

  setReading(): void {
    // A person types slower than any server reads.
  }

  stop(): void {
    if (!this.#active) return;
    this.#output.write(this.#editor.clear() + BRACKETED_PASTE_OFF);
    this.#pasteMarks = false;
    this.#active = false;
    this.#paint();
  }

  #restore = (): void => {
    if (this.#pasteMarks) process.stdout.write(BRACKETED_PASTE_OFF); // after a crash
    this.#pasteMarks = false;
    if (!this.#raw) return;
    this.#raw = false;
    process.stdin.setRawMode(false);
  };

  async close(): Promise<void> {
    this.stop();
    this.#paint();
    process.stdin.off("data", this.#onData);
    process.off("SIGWINCH", this.#paint);
    this.#restore();
    process.stdin.pause();
    await this.#output.flushed();
  }
}

class PipeUi implements Ui {
  readonly interactive = false;
  #output = new Output(() => this.#input?.outputClosed());
  #colour: boolean;
  #utf8 = new TextDecoder();
  #partial = ""; // the start of a line whose end has not arrived
  #input: InputHandler | null = null;
  #shown: string[] = [];
  #active = false;
  #progress: string | null = null;
  #progressQueued = false;
  #progressAt = 0; // when progress was last written, 0 once there is none
  #errors = new Output(() => {}, process.stderr);

  constructor(options: UiOptions) {
    this.#colour = options.colour;
  }

  open(input: InputHandler): void {
    this.#input = input;
    this.#active = true;
    process.stdin.on("data", this.#onData);
    process.stdin.on("end", this.#onEnd);
  }

  #onData = (chunk: Uint8Array): void => {
    const lines = (this.#partial + this.#utf8.decode(chunk, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    this.#deliver(lines);
  };

  #onEnd = (): void => {
    const last = this.#partial + this.#utf8.decode();
    this.#partial = "";
    this.#deliver(last ? [last] : []);
    if (this.#active) this.#input!.end();
  };

  #deliver(lines: string[]): void {
    try {
      for (const line of lines) {
        if (!this.#active) return;
        this.#input!.line(line.endsWith("\r") ? line.slice(0, -1) : line);
      }
    } catch (error) {
      this.#input!.fail(error);
    }
  }

  show(line: Line | string): void {
    const text = typeof line === "string" ? printable(line) : paint(line, this.#colour);
    if (this.#shown.push(text) === 1) queueMicrotask(this.#write);
  }

  bell(): void {
    // Scripts are not woken.
  }

  #write = (): void => {
    const lines = this.#shown.splice(0);
    if (lines.length > 0) this.#output.write(lines.map((line) => `${line}\n`).join(""));
  };

  setPrompt(): void {
    // Scripts are not asked for anything.
  }

  setSecret(): void {
    // A script's password comes from PARLEY_PASSWORD, never from its input.
  }

  // One line when lines start to wait, then one every PROGRESS_EVERY_MS while they do; written
  // once the input at hand is dealt with, so that it counts all of it.
  progress(text: string | null): void {
    this.#progress = text;
    if (text === null) this.#progressAt = 0;
    else if (!this.#progressQueued && Date.now() - this.#progressAt >= PROGRESS_EVERY_MS) {
      this.#progressQueued = true;
      queueMicrotask(this.#writeProgress);
    }
  }

  #writeProgress = (): void => {
    this.#progressQueued = false;
    if (this.#progress === null) return;
    this.#progressAt = Date.now();
    this.#errors.write(`client: ${printable(this.#progress)}\n`);
  };

  report(text: string): void {
    this.#errors.write(`client: ${printable(text)}\n`);
  }

  setReading(reading: boolean): void {
    if (reading) process.stdin.resume();
    else process.stdin.pause();
  }

  stop(): void {
    this.#active = false;
  }

  async close(): Promise<void> {
    this.stop();
    this.#write();
    process.stdin.off("data", this.#onData);
    process.stdin.off("end", this.#onEnd);
    process.stdin.pause();
    await this.#output.flushed();
    await this.#errors.flushed();
  }
}
