// The rules for nicks and room names, with no I/O: what may be one, and when two are the same name
// or could be taken for one another. PROTOCOL.md's "Names and text" is their specification.
import { skeleton } from "./skeleton.ts";

export const MAX_NICK_CHARS = 32;
export const MAX_ROOM_CHARS = 32;

// Whitespace, control and format characters (which can hide or reorder text), invisible ones
// (default-ignorable: U+034F, variation selectors, U+3164, ...; and U+2800, a blank), unpaired
// surrogates (which are not text), and the characters that frame a nick in the text form
// (`<alice>`, `* alice`, `/cmd`).
const FORBIDDEN_IN_NAMES = /[\s\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800<>*/]/u;
// A combining mark at the start would join whatever stands before the name (`<`, a space).
const LEADING_MARK = /^\p{M}/u;

function checkName(name: string, what: string, maxChars: number): string | null {
  const chars = [...name].length;
  if (chars === 0) return `${what} must not be empty`;
  if (chars > maxChars) return `${what} is longer than ${maxChars} characters`;
  if (FORBIDDEN_IN_NAMES.test(name)) {
    return `${what} must not contain spaces, control or invisible characters, or any of < > * /`;
  }
  if (LEADING_MARK.test(name)) return `${what} must not begin with a combining mark`;
  return null;
}

/** Why `nick` is not acceptable, or null when it is. */
export function nickProblem(nick: string): string | null {
  return checkName(nick, "Nick", MAX_NICK_CHARS);
}

/** Why `room` is not acceptable, or null when it is. */
export function roomProblem(room: string): string | null {
  return checkName(room, "Room name", MAX_ROOM_CHARS);
}

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Nicks and rooms are unique ignoring case and Unicode compatibility forms (NFKC, as PRECIS
 * compares nicknames): `josé` typed either way, and fullwidth `ａｌｉｃｅ` and `alice`, are one name.
 * This is the key they are compared by.
 */
export function nameKey(name: string): string {
  // ASCII, nearly every name, is its own NFKC form: spared the normalisation.
  return NON_ASCII.test(name) ? name.normalize("NFKC").toLowerCase() : name.toLowerCase();
}

/**
 * The keys under which `nick` clashes with the nicks it could be taken for (UTS #39 skeletons):
 * two nicks that share a key cannot both be in. The skeleton of the nick as written tells `I`
 * from `i` (so `AIice` clashes with `alice`), and that of its lower case covers the other case
 * variants (so `ΑLICE`, with a Greek Α, clashes with `alice`).
 */
export function lookalikeKeys(nick: string): string[] {
  const compatible = nick.normalize("NFKC");
  const asWritten = skeleton(compatible).toLowerCase();
  const lowered = skeleton(compatible.toLowerCase()).toLowerCase();
  return asWritten === lowered ? [asWritten] : [asWritten, lowered];
}
