// A real pseudo-terminal for client tests: a command run under script(1), and a Screen that tells
// what a person would see from the bytes written to it.
import { Subprocess, within } from "./_helpers.ts";

/**
 * Just enough of a terminal to tell what a person would see: rows of text and a cursor. It knows
 * the bytes client.ts writes (CR, LF, erase line, cursor left and right); the rows never wrap.
 */
export class Screen {
  rows: string[] = [""];
  row = 0;
  column = 0;

  feed(text: string): void {
    for (let at = 0; at < text.length; at++) {
      const char = text[at];
      if (char === "\x07") {
        // The bell sounds; nothing shows.
      } else if (char === "\r") {
        this.column = 0;
      } else if (char === "\n") {
        this.row++;
        if (this.row === this.rows.length) this.rows.push("");
      } else if (char === "\x1b") {
        const sequence = /^\[([\d;?]*)([@-~])/.exec(text.slice(at + 1));
        if (!sequence) continue;
        at += sequence[0].length;
        this.#control(Number(sequence[1] || "0"), sequence[2]);
      } else {
        const line = this.rows[this.row].padEnd(this.column);
        this.rows[this.row] = line.slice(0, this.column) + char + line.slice(this.column + 1);
        this.column++;
      }
    }
  }

  #control(count: number, final: string): void {
    switch (final) {
      case "K":
        this.rows[this.row] = count === 2 ? "" : this.rows[this.row].slice(0, this.column);
        break;
      case "C":
        this.column += count || 1;
        break;
      case "D":
        this.column = Math.max(0, this.column - (count || 1));
        break;
    }
  }

  /** The row the cursor is on, or one `above` it. */
  line(above = 0): string {
    return (this.rows[this.row - above] ?? "").trimEnd();
  }

  get text(): string {
    return this.rows.join("\n");
  }
}

export const TERMINAL_COLUMNS = 60;

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A command run in a real pseudo-terminal by util-linux script(1), with the terminal's settings
 * printed by `stty -a` after it exits, so a test can see that they were restored.
 */
export class TerminalSession {
  readonly process: Subprocess;
  readonly screen = new Screen();
  /** Everything written to the terminal, escape codes and all. */
  raw = "";
  #waiter: (() => void) | null = null;

  constructor(argv: string[], env: Record<string, string> = {}) {
    const command = `stty cols ${TERMINAL_COLUMNS} rows 24; ${argv.map(shellQuote).join(" ")}; ` +
      "status=$?; stty -a; exit $status";
    this.process = new Subprocess(["/usr/bin/script", "-qfec", command, "/dev/null"], {
      SHELL: "/bin/sh",
      ...env,
    });
    this.process.child.stdout!.on("data", (text: string) => {
      this.raw += text;
      this.screen.feed(text);
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter?.();
    });
  }

  type(keys: string): void {
    this.process.write(keys);
  }

  /** Waits until what the terminal shows satisfies `check`. */
  async until(what: string, check: (screen: Screen) => boolean): Promise<void> {
    const shown = new Promise<void>((resolve, reject) => {
      const look = () => {
        try {
          if (check(this.screen)) return resolve();
        } catch (error) {
          return reject(error);
        }
        this.#waiter = look;
      };
      look();
    });
    await within(shown, what).catch((error) => {
      throw new Error(`${error.message}; the terminal shows:\n${this.screen.text}`);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.process[Symbol.asyncDispose]();
  }
}
