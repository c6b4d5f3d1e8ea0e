// Line mode: what people at `nc HOST PORT` or `telnet HOST PORT` speak. Text lines in, text lines
// out, slash commands for the rest. No I/O here.
import { ProtocolError, type ServerMessage } from "../protocol.ts";
import { describe, terminalText } from "./text.ts";

export const DEFAULT_MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const CR = 0x0d;
// What a character-mode telnet client sends for the Backspace key: either, depending on its
// settings. Both erase the character before them, as a terminal in line mode would.
const BACKSPACE = 0x08;
const DELETE = 0x7f;
// Telnet (RFC 854): IAC introduces a command. WILL/WONT/DO/DONT take one option byte; SB opens a
// subnegotiation that IAC SE closes; SE to GA are commands of two bytes (EC erases a character,
// EL the line); IAC IAC stands for a data byte 255, which is never UTF-8.
const IAC = 255;
const SB = 250;
const SE = 240;
const EC = 247;
const EL = 248;
const GA = 249;
const WILL = 251;
const DONT = 254;

// The options IANA has assigned (0 to 49, 138 to 140, and 255, the extended list). IAC followed by
// anything but a command, or a command about an option nobody has defined, is not a telnet peer
// negotiating: those bytes are text (`0xFF 0xFE` begins a UTF-16 file, or a Latin-1 "ÿþ").
function isTelnetOption(byte: number): boolean {
  return byte <= 49 || (byte >= 138 && byte <= 140) || byte === IAC;
}

type TelnetState =
  | "data"
  | "command"
  | "option"
  | "subnegotiation-option"
  | "subnegotiation"
  | "subnegotiation-iac";

/**
 * Splits a byte stream into lines. `\r\n` and `\n` both end a line; Backspace and DEL erase the
 * character before them; telnet commands are dropped wherever they fall, and bytes that only look
 * like them are text. A line longer than `maxLineBytes` yields one error and is discarded up to its
 * newline, so memory stays bounded whatever the peer sends. Blank lines are not returned but
 * counted in `skipped`, so that a caller can charge for them without a string for each.
 */
export class LineDecoder {
  #pending: Uint8Array;
  #length = 0;
  #discarding = false;
  #telnet: TelnetState = "data";
  #command = 0; // the telnet command whose option byte is awaited
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
      if (this.#telnet !== "data" || byte === IAC) this.#telnetByte(byte, out);
      else this.#data(byte, out);
    }
    return out;
  }

  #data(byte: number, out: Array<string | ProtocolError>): void {
    if (byte === LF) {
      if (this.#discarding) {
        // the rest of an over-long line, already reported
      } else if (this.#length === 0 || (this.#length === 1 && this.#pending[0] === CR)) {
        this.skipped++;
      } else {
        out.push(this.#line());
      }
      this.#discarding = false;
      this.#length = 0;
    } else if (this.#discarding) {
      // dropped up to the newline
    } else if (byte === BACKSPACE || byte === DELETE) {
      this.#erase();
    } else if (this.#length === this.maxLineBytes) {
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

  // Takes back the last character of the line: its UTF-8 lead byte and whatever follows it.
  #erase(): void {
    let at = this.#length - 1;
    while (at > 0 && (this.#pending[at] & 0xc0) === 0x80) at--;
    this.#length = Math.max(at, 0);
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

  // Bytes that began like a telnet command and turned out not to be one: text after all.
  #notTelnet(bytes: number[], out: Array<string | ProtocolError>): void {
    this.#telnet = "data";
    for (const byte of bytes) this.#data(byte, out);
  }

  #telnetByte(byte: number, out: Array<string | ProtocolError>): void {
    switch (this.#telnet) {
      case "data": // byte is IAC
        this.#telnet = "command";
        return;
      case "command":
        if (byte >= WILL && byte <= DONT) {
          this.#command = byte;
          this.#telnet = "option";
        } else if (byte === SB) {
          this.#telnet = "subnegotiation-option";
        } else if ((byte >= SE && byte <= GA) || byte === IAC) {
          this.#telnet = "data"; // a two-byte command, or IAC IAC
          if (byte === EC && !this.#discarding) this.#erase();
          if (byte === EL && !this.#discarding) this.#length = 0;
        } else {
          this.#notTelnet([IAC, byte], out);
        }
        return;
      case "option":
        if (isTelnetOption(byte)) this.#telnet = "data";
        else this.#notTelnet([IAC, this.#command, byte], out);
        return;
      case "subnegotiation-option":
        if (isTelnetOption(byte)) this.#telnet = "subnegotiation";
        else this.#notTelnet([IAC, SB, byte], out);
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

/**
 * A server message as the line a person reads (`<alice> hello`, `*** bob joined`); null for none.
 * `me` is the nick of the member it is for, when it is for one only (describe).
 */
export function encodeLine(
  message: ServerMessage,
  _textUtf8?: Uint8Array,
  me?: string,
): Uint8Array | null {
  const line = describe(message, NOTICE_MARK, me);
  return line === null ? null : utf8.encode(`${terminalText(line)}\n`);
}
