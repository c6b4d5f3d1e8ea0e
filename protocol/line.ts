// Line mode: what people at `nc HOST PORT` or `telnet HOST PORT` speak. Text lines in, text lines
// out, slash commands for the rest. No I/O here.
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { describe, terminalText } from "./text.ts";

export const DEFAULT_MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const CR = 0x0d;
// Telnet (RFC 854): IAC introduces a command. WILL/WONT/DO/DONT take one option byte; SB opens a
// subnegotiation that IAC SE closes; IAC IAC stands for a data byte 255, which is never UTF-8.
const IAC = 255;
const SB = 250;
const SE = 240;
const WILL = 251;
const DONT = 254;

type TelnetState = "data" | "command" | "option" | "subnegotiation" | "subnegotiation-iac";

/**
 * Splits a byte stream into lines. `\r\n` and `\n` both end a line; telnet commands are dropped
 * wherever they fall. A line longer than `maxLineBytes` yields one error and is discarded up to its
 * newline, so memory stays bounded whatever the peer sends. Blank lines are not returned but
 * counted in `skipped`, so that a caller can charge for them without a string for each.
 */
export class LineDecoder {
  #pending: Uint8Array;
  #length = 0;
  #discarding = false;
  #telnet: TelnetState = "data";
  #text = new TextDecoder("utf-8"); // lenient: a stray Latin-1 byte becomes U+FFFD, not an error

  constructor(readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.#pending = new Uint8Array(Math.min(maxLineBytes, 1024));
  }

  /** Blank lines (empty, or a lone `\r`) that the last `push` read and did not return. */
  skipped = 0;

  get bufferedBytes(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): Array<string | ProtocolError> {
    const out: Array<string | ProtocolError> = [];
    this.skipped = 0;
    for (const byte of chunk) {
      if (this.#telnet !== "data" || byte === IAC) {
        this.#telnetByte(byte);
      } else if (byte === LF) {
        if (this.#discarding) {
          // the rest of an over-long line, already reported
        } else if (this.#length === 0 || (this.#length === 1 && this.#pending[0] === CR)) {
          this.skipped++;
        } else {
          out.push(this.#line());
        }
        this.#discarding = false;
        this.#length = 0;
      } else if (!this.#discarding) {
        if (this.#length === this.maxLineBytes) {
          this.#discarding = true;
          this.#length = 0;
          out.push(
            new ProtocolError(
              "line_too_long",
              `Line discarded: it is longer than ${this.maxLineBytes} bytes`,
            ),
          );
        } else {
          this.#append(byte);
        }
      }
    }
    return out;
  }

  #append(byte: number): void {
    if (this.#length === this.#pending.length) {
      const grown = new Uint8Array(Math.min(this.#pending.length * 2, this.maxLineBytes));
      grown.set(this.#pending);
      this.#pending = grown;
    }
    this.#pending[this.#length++] = byte;
  }

  #line(): string {
    let end = this.#length;
    if (end > 0 && this.#pending[end - 1] === CR) end--;
    return this.#text.decode(this.#pending.subarray(0, end));
  }

  #telnetByte(byte: number): void {
    switch (this.#telnet) {
      case "data": // byte is IAC
        this.#telnet = "command";
        return;
      case "command":
        if (byte >= WILL && byte <= DONT) this.#telnet = "option";
        else if (byte === SB) this.#telnet = "subnegotiation";
        else this.#telnet = "data"; // a two-byte command, or IAC IAC
        return;
      case "option":
        this.#telnet = "data";
        return;
      case "subnegotiation":
        if (byte === IAC) this.#telnet = "subnegotiation-iac";
        return;
      case "subnegotiation-iac":
        this.#telnet = byte === SE ? "data" : "subnegotiation";
        return;
    }
  }
}

const utf8 = new TextEncoder();

/** How line mode marks what the server says, apart from what members say and do (`* bob waves`). */
export const NOTICE_MARK = "*** ";

/** A server message as the line a person reads (`<alice> hello`, `*** bob joined`); null for none. */
export function encodeLine(message: ServerMessage): Uint8Array | null {
  const line = describe(message, NOTICE_MARK);
  return line === null ? null : utf8.encode(`${terminalText(line)}\n`);
}
