// One port, three kinds of member: Parley's own native frames, people at `nc` or `telnet` (line
// mode), and the classic tutorial's client with its 10-byte length header (legacy mode). The first
// bytes a connection sends tell which, without any flag. No I/O here.
import { HEADER_SO_FAR, LEGACY_HEADER_BYTES, NOT_A_HEADER, scanLegacyHeader } from "./legacy.ts";

export type Mode = "native" | "line" | "legacy";
export const MODES: readonly Mode[] = ["native", "line", "legacy"];

/**
 * How long a connection may stay silent before it counts as a person at a line client, who waits
 * for a banner before typing. Native and legacy clients speak first, at once.
 */
export const SILENT_LINE_CLIENT_MS = 500;

const LF = 0x0a;
const CR = 0x0d;

/**
 * The mode that a connection's first bytes announce, or null while they could still be more than
 * one (a number could begin a legacy header or a line).
 *
 * - first byte 0x00: native (a native length is below 16 MiB, so its top byte is 0);
 * - ten bytes that are a legacy header (scanLegacyHeader) for a length up to `maxFrameBytes`,
 *   with no line ending among them: legacy;
 * - anything else: line.
 *
 * A line ending decides at once: a person's line ends there, and the person waits for an answer.
 * A number above the largest frame cannot be a header the server would take: `123456789 apples`
 * is a person's line.
 */
export function detectMode(prefix: Uint8Array, maxFrameBytes: number): Mode | null {
  if (prefix.length === 0) return null;
  if (prefix[0] === 0x00) return "native";
  const seen = Math.min(prefix.length, LEGACY_HEADER_BYTES);
  for (let at = 0; at < seen; at++) if (prefix[at] === LF || prefix[at] === CR) return "line";
  const length = scanLegacyHeader(prefix, 0, seen);
  if (length === HEADER_SO_FAR) return null;
  return length !== NOT_A_HEADER && length <= maxFrameBytes ? "legacy" : "line";
}
