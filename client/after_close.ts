// What the terminal client makes of a connection that ended (chat_client.ts): how to tell the user
// why, and whether connecting again is worth it. No I/O.
import type { ServerMessage } from "../protocol.ts";
import { closesForGood } from "../protocol/errors.ts";
import type { Phase } from "./phase.ts";

/** Why the connection ended, for the user: `broken` (link.ts), else what the server said last. */
export function whyEnded(broken: string | null, lastError: string): string {
  if (broken !== null) return broken;
  return lastError === "server_shutdown"
    ? "the server shut down"
    : "the server closed the connection";
}

// A dropped connection is worth another try once the user is in; not after the server said we
// were flooding, nor when its bytes made no sense, which would only happen again.
export function mayReconnect(
  phase: Phase,
  reconnectMs: number,
  broken: string | null,
  lastError: string,
): boolean {
  return phase === "chatting" && reconnectMs > 0 && broken === null && lastError !== "flood";
}

/**
 * The server's reason, when its last message before the close put the user out for good (a kick
 * or a ban: see closesForGood); null for any other end. The same codes leave the connection open
 * when they refuse a join or a rename, and then more follows or nothing closes.
 */
export function removal(last: ServerMessage | null): string | null {
  return last?.type === "error" && closesForGood(last.code) ? last.message : null;
}
