// The operators' messages (PROTOCOL.md, "Moderation"): their shapes, how a native frame is read as
// one, who may send each (from the one command table, slash_commands.ts), and durations as people
// type them ("10m", "2h", "7d"). No I/O; the rules they enforce are server/moderation.ts.

/**
 * Who may use a command: anyone; an operator of the room it acts in (its owner, an op, or a server
 * operator); the room's owner (or a server operator); or a server operator only.
 */
export type Who = "anyone" | "room-operator" | "room-owner" | "server-operator";

/** What an operator (or anyone, for claim and topic) asks of the server. `duration` in seconds. */
export type ModerationMessage =
  | { type: "claim"; room?: string }
  | { type: "op" | "deop"; nick: string; room?: string }
  | { type: "topic"; room?: string; text?: string }
  | { type: "kick"; nick: string; room?: string; reason?: string }
  | { type: "ban"; mask: string; room?: string; duration?: number; reason?: string }
  | { type: "unban"; mask: string; room?: string }
  | { type: "bans"; room?: string }
  | { type: "mute"; nick: string; room?: string; duration?: number }
  | { type: "unmute"; nick: string; room?: string }
  | { type: "kline"; mask: string; duration?: number; reason?: string }
  | { type: "unkline"; mask: string }
  | { type: "klines" };

export type ModerationType = ModerationMessage["type"];

/** The types that act in a room, and so take an optional `room` (default: the current one). */
export const ROOM_SCOPED: ReadonlySet<string> = new Set<ModerationType>([
  "claim",
  "op",
  "deop",
  "topic",
  "kick",
  "ban",
  "unban",
  "bans",
  "mute",
  "unmute",
]);

/** How a frame's fields are read: each throws the protocol's bad_message for a wrong one. */
export interface FieldReader {
  text(field: string): string;
  optionalText(field: string): string | undefined;
  optionalCount(field: string): number | undefined;
}

/** `type`'s frame read as a moderation message, or null if `type` is not one. */
export function readModeration(type: string, read: FieldReader): ModerationMessage | null {
  const room = read.optionalText("room");
  const where = room === undefined ? {} : { room };
  const maybe = (field: string, value: string | number | undefined) =>
    value === undefined ? {} : { [field]: value };
  switch (type) {
    case "claim":
    case "bans":
      return { type, ...where };
    case "op":
    case "deop":
    case "unmute":
      return { type, nick: read.text("nick"), ...where };
    case "topic":
      return { type, ...where, ...maybe("text", read.optionalText("text")) };
    case "kick":
      return {
        type,
        nick: read.text("nick"),
        ...where,
        ...maybe("reason", read.optionalText("reason")),
      };
    case "mute":
      return {
        type,
        nick: read.text("nick"),
        ...where,
        ...maybe("duration", read.optionalCount("duration")),
      };
    case "ban":
    case "kline": {
      const mask = read.text("mask");
      const rest = {
        ...maybe("duration", read.optionalCount("duration")),
        ...maybe("reason", read.optionalText("reason")),
      };
      return type === "ban" ? { type, mask, ...where, ...rest } : { type, mask, ...rest };
    }
    case "unban":
      return { type, mask: read.text("mask"), ...where };
    case "unkline":
      return { type, mask: read.text("mask") };
    case "klines":
      return { type };
    default:
      return null;
  }
}

/**
 * `message` with `room` set to `current` if it acts in a room and names none: the clients send
 * it so, since the room a person talks in is theirs to know, not the server's.
 */
export function inRoom<T extends { type: string; room?: string }>(message: T, current: string): T {
  return ROOM_SCOPED.has(message.type) && message.room === undefined
    ? { ...message, room: current }
    : message;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
/** The longest duration taken: ten years, in seconds. Longer is permanent, so say so. */
export const MAX_DURATION_SECONDS = 10 * 365 * 86_400;

/** "90s", "10m", "2h", "7d", "1w" in seconds; null for anything else. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhdw])$/i.exec(text);
  if (!match) return null;
  const seconds = Number(match[1]) * UNITS[match[2].toLowerCase()];
  return seconds >= 1 && seconds <= MAX_DURATION_SECONDS ? seconds : null;
}

/** `seconds` the short way people type it back: "10m", "2h", "90s". */
export function formatDuration(seconds: number): string {
  for (const unit of ["w", "d", "h", "m"]) {
    if (seconds % UNITS[unit] === 0) return `${seconds / UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
