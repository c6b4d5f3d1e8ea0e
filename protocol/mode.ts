// One port, three kinds of member: Parley's own native frames, people at `nc` or `telnet` (line
// mode), and the classic tutorial's client with its 10-byte length header (legacy mode). The first
// bytes a connection sends tell which, without any flag. No I/O here.

export type Mode = "native" | "line" | "legacy";
export const MODES: readonly Mode[] = ["native", "line", "legacy"];

export const LEGACY_HEADER_BYTES = 10;

/**
 * How long a connection may stay silent before it counts as a person at a line client, who waits
 * for a banner before typing. Native and legacy clients speak first, at once.
 */
export const SILENT_LINE_CLIENT_MS = 500;

const SPACE = 0x20;
const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/**
 * The mode that a connection's first bytes announce, or null while they could still be more than
 * one (a run of digits could be a legacy header or a line that is a number).
 *
 * - first byte 0x00: native (a native length is below 16 MiB, so its top byte is 0);
 * - ten bytes of one or more ASCII digits, then spaces: legacy;
 * - anything else: line.
 */
export function detectMode(prefix: Uint8Array): Mode | null {
  if (prefix.length === 0) return null;
  if (prefix[0] === 0x00) return "native";
  const decided = Math.min(prefix.length, LEGACY_HEADER_BYTES);
  let at = 0;
  while (at < decided && isDigit(prefix[at])) at++;
  if (at === 0) return "line";
  while (at < decided && prefix[at] === SPACE) at++;
  if (at === LEGACY_HEADER_BYTES) return "legacy";
  return at < decided ? "line" : null;
}
