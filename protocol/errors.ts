// Every error code a server can answer with, and the error that carries one, with no I/O.
// PROTOCOL.md's table of error codes says when each is sent and what follows it.
export type ErrorCode =
  | "empty_frame"
  | "frame_too_large"
  | "invalid_utf8"
  | "invalid_json"
  | "bad_message"
  | "unknown_type"
  | "not_joined"
  | "already_joined"
  | "empty_text"
  | "text_too_long"
  | "bad_nick"
  | "nick_taken"
  | "nick_registered"
  | "not_registered"
  | "already_registered"
  | "not_identified"
  | "bad_password"
  | "wrong_password"
  | "login_throttled"
  | "no_accounts"
  | "not_operator"
  | "not_claimed"
  | "already_claimed"
  | "bad_mask"
  | "no_such_ban"
  | "banned"
  | "kicked"
  | "muted"
  | "not_available"
  | "tls_required"
  | "bad_room"
  | "no_such_nick"
  | "no_such_room"
  | "not_in_room"
  | "too_many_rooms"
  | "too_many_ignored"
  | "last_room"
  | "unknown_command"
  | "line_too_long"
  | "bad_header"
  | "flood"
  | "read_timeout"
  | "hello_timeout"
  | "idle_timeout"
  | "too_many_connections"
  | "binary_message"
  | "send_queue_full"
  | "server_shutdown"
  | "storage_busy"
  | "cluster_down"
  | "internal_error";

/** A protocol violation: `code` goes on the wire; `fatal` means the byte stream cannot go on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fatal = false,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * Whether a close that follows an error with `code` is for good: an operator's kick or ban, which
 * connecting again would only undo, or run into again. Clients do not reconnect after one
 * (PROTOCOL.md, "Moderation").
 */
export function closesForGood(code: string): boolean {
  return code === "kicked" || code === "banned";
}
