// The nickname-first tutorial client opens its connection with `NAME connection...` and no newline,
// then sends every line the user types as `NAME : LINE\n`. Line mode reads the greeting as "join as
// NAME" and takes the `NAME : ` off each later line. No I/O here.

const MARK = new TextEncoder().encode(" connection...");
const utf8 = new TextEncoder();
const lenientUtf8 = new TextDecoder("utf-8");

export interface Greeting {
  /** The name the client chose, as it will prefix its lines. */
  name: string;
  /** How many of the connection's first bytes the greeting takes; the rest are its lines. */
  bytes: number;
}

/** What readGreeting returns while the first bytes could still become a greeting. */
export const GREETING_SO_FAR = "so far";

/**
 * The greeting that a line-mode connection's first bytes begin with; GREETING_SO_FAR while they
 * could still become one (no line ending yet, fewer than `maxBytes`); null if they are not one.
 *
 * A greeting is a name (no control characters), then ` connection...`. The client's first line
 * may follow in the same read; if anything does follow, it must begin as that line does, with
 * `NAME : `, or the bytes are a person's line that happens to say "connection...".
 */
export function readGreeting(
  prefix: Uint8Array,
  maxBytes: number,
): Greeting | typeof GREETING_SO_FAR | null {
  for (let at = 0; at < prefix.length; at++) {
    if (startsWith(prefix, at, MARK)) return greetingAt(prefix, at);
    const byte = prefix[at];
    // Control bytes and telnet's 0xFF: a person's line ending, or a telnet client negotiating.
    if (byte < 0x20 || byte === 0x7f || byte === 0xff) return null;
  }
  return prefix.length < maxBytes ? GREETING_SO_FAR : null;
}

function greetingAt(prefix: Uint8Array, markAt: number): Greeting | null {
  const name = lenientUtf8.decode(prefix.subarray(0, markAt));
  const bytes = markAt + MARK.length;
  const lead = utf8.encode(linePrefix(name));
  const rest = prefix.subarray(bytes, bytes + lead.length);
  return startsWith(lead, 0, rest) ? { name, bytes } : null;
}

/** What the greeting client puts before each line it sends. */
export function linePrefix(name: string): string {
  return `${name} : `;
}

// Whether `bytes` holds all of `part` from `at`.
function startsWith(bytes: Uint8Array, at: number, part: Uint8Array): boolean {
  if (bytes.length - at < part.length) return false;
  for (let i = 0; i < part.length; i++) if (bytes[at + i] !== part[i]) return false;
  return true;
}
