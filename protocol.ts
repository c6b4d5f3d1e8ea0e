// Parley's vocabulary, with no I/O: the messages, their validation, the limits, and the rules for
// names and text. PROTOCOL.md is the specification; the codecs that put these messages on each
// wire are in protocol/ (native.ts for length-prefixed frames).
import { type ModerationMessage, readModeration } from "./protocol/moderation.ts";
export {
  lookalikeKeys,
  MAX_NICK_CHARS,
  MAX_ROOM_CHARS,
  nameKey,
  nickProblem,
  roomProblem,
} from "./protocol/names.ts";
import { nickProblem } from "./protocol/names.ts";
export { type ErrorCode, ProtocolError } from "./protocol/errors.ts";
import { type ErrorCode, ProtocolError } from "./protocol/errors.ts";

/** The TCP port a server listens on and a client connects to unless told otherwise. */
export const DEFAULT_PORT = 9009;
/** The same for TLS: the plain port's neighbour, so that a pair of firewall rules sits together. */
export const DEFAULT_TLS_PORT = 9010;
export const DEFAULT_MAX_FRAME_BYTES = 65536;
export const MAX_TEXT_BYTES = 4096;
export const DEFAULT_ROOM = "lobby";
/** The longest away message, in characters: a line's worth, as IRC servers allow (AWAYLEN). */
export const MAX_AWAY_CHARS = 200;
/** How many nicks one member may ignore at once: a bound on what each delivery checks. */
export const MAX_IGNORED = 100;

export type ClientMessage =
  | {
    type: "hello";
    nick: string;
    room?: string;
    since?: number;
    /** The server life `since` belongs to: the `epoch` of the welcome it was seen after. */
    epoch?: string;
    echo?: boolean;
    /** The password of `nick`, when it is registered (server/accounts.ts). */
    password?: string;
    /** Nicks whose messages this member is not to be sent (server/social.ts). */
    ignore?: string[];
  }
  | { type: "msg"; text: string; action?: boolean; room?: string; to?: string }
  | { type: "join"; room: string; since?: number }
  | { type: "part"; room: string }
  | { type: "rooms" }
  | { type: "who"; room?: string }
  | { type: "history"; room: string; after: number; limit?: number }
  | { type: "nick"; nick: string }
  | { type: "register"; password: string }
  | { type: "identify"; password: string }
  | { type: "login"; nick: string; password: string }
  | { type: "passwd"; old: string; password: string }
  | { type: "unregister"; password: string }
  | ModerationMessage
  | { type: "away"; text?: string }
  | { type: "whois"; nick: string }
  | { type: "ignore"; nick?: string }
  | { type: "unignore"; nick: string }
  | { type: "ping" }
  | { type: "pong" };

/** A chat message as members receive it. `room` for a room's message, `to` for a private one. */
export type ChatMessage = {
  type: "msg";
  id: number;
  from: string;
  room?: string;
  to?: string;
  text: string;
  ts: number;
  action?: true;
  history?: true;
};

export type ServerMessage =
  // `count` only where `members` names some of them: a large room (server/chat.ts).
  // `epoch` names the sequence the server's message ids belong to (PROTOCOL.md).
  | {
    type: "welcome";
    nick: string;
    room: string;
    members: string[];
    count?: number;
    epoch?: string;
  }
    // `rate` and `burst`: the member's flood control, when it has one (server/flood_gate.ts).
    & { rate?: number; burst?: number }
  | { type: "joined"; room: string; members: string[]; count?: number }
  | ChatMessage
  // `more` when messages after the last one sent were left for another request.
  | { type: "history_end"; room: string; more?: true }
  // Before history that begins later than asked: `missed` messages are no longer remembered.
  | { type: "history_gap"; room: string; missed: number }
  | { type: "join"; nick: string; room: string }
  | { type: "leave"; nick: string; room: string }
  | { type: "nick"; from: string; nick: string; room: string }
  // `away`: those of `members` who are away (/away).
  | { type: "who"; room: string; members: string[]; count?: number; away?: string[] }
  | Whois
  // The answer to a private message to a member who is away.
  | { type: "away"; nick: string; text: string }
  // The nicks this member ignores, after an `ignore` or `unignore`.
  | { type: "ignoring"; nicks: string[] }
  | { type: "rooms"; rooms: Array<{ name: string; members: number }> }
  | { type: "notice"; text: string }
  | { type: "error"; code: ErrorCode; message: string }
  | { type: "ping" }
  | { type: "pong" };

/** What /whois tells of a member: never its address. */
export interface Whois {
  type: "whois";
  nick: string;
  /** The registered nick it proved, if any. */
  account?: string;
  /** Every room it is in: rooms are public (/rooms, /who), as IRC shows channels not secret. */
  rooms: string[];
  /** When it joined, in ms since the Unix epoch. */
  since: number;
  /** Seconds since it last said anything (a message in a room or to one member). */
  idle: number;
  transport: "tcp" | "tls" | "ws";
  mode: "native" | "line" | "legacy";
  away?: string;
}

const utf8 = new TextEncoder();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badMessage(message: string): ProtocolError {
  return new ProtocolError("bad_message", message);
}

// Field checks for parseClientMessage: each returns the field, or throws a bad_message error.
function text(value: Record<string, unknown>, field: string): string {
  if (typeof value[field] !== "string") {
    throw badMessage(`"${value.type}" needs a string "${field}"`);
  }
  return value[field] as string;
}

function optionalText(value: Record<string, unknown>, field: string): string | undefined {
  return value[field] === undefined ? undefined : text(value, field);
}

function optionalTexts(value: Record<string, unknown>, field: string): string[] | undefined {
  const list = value[field];
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
    throw badMessage(`"${field}" must be a list of strings`);
  }
  return list;
}

function optionalFlag(value: Record<string, unknown>, field: string): boolean {
  const flag = value[field];
  if (flag !== undefined && typeof flag !== "boolean") {
    throw badMessage(`"${field}" must be true or false`);
  }
  return flag === true;
}

function optionalId(value: Record<string, unknown>, field: string): number | undefined {
  const id = value[field];
  if (id === undefined) return undefined;
  if (!Number.isSafeInteger(id) || (id as number) < 0) {
    throw badMessage(`"${field}" must be a message id, a whole number from 0`);
  }
  return id as number;
}

function optionalCount(value: Record<string, unknown>, field: string): number | undefined {
  const count = value[field];
  if (count === undefined) return undefined;
  if (!Number.isSafeInteger(count) || (count as number) < 1) {
    throw badMessage(`"${field}" must be a whole number from 1`);
  }
  return count as number;
}

/**
 * `message` without the fields that were not given, so that messages compare and print cleanly.
 * A copy, not `delete`: an object that loses a field is slow to read ever after.
 */
function defined<T extends object>(message: T): T {
  const given = {} as T;
  for (const key in message) {
    if (message[key] !== undefined) given[key] = message[key];
  }
  return given;
}

/**
 * A hello's `ignore` field for `nicks`: those that are nicks, at most MAX_IGNORED of them; none if
 * there are none. For clients, whose saved list the server would refuse whole for one bad nick.
 */
export function ignoreField(nicks: readonly string[]): { ignore?: string[] } {
  const ignore = nicks.filter((nick) => nickProblem(nick) === null).slice(0, MAX_IGNORED);
  return ignore.length > 0 ? { ignore } : {};
}

/** Checks a decoded frame from a client and narrows it to a ClientMessage, or throws ProtocolError. */
export function parseClientMessage(value: unknown): ClientMessage {
  if (!isRecord(value)) throw badMessage("A frame must hold a JSON object");
  const { type } = value;
  if (typeof type !== "string") throw badMessage('A frame needs a string field "type"');
  switch (type) {
    case "hello":
      return defined({
        type,
        nick: text(value, "nick"),
        room: optionalText(value, "room"),
        since: optionalId(value, "since"),
        epoch: optionalText(value, "epoch"),
        echo: optionalFlag(value, "echo") || undefined,
        password: optionalText(value, "password"),
        ignore: optionalTexts(value, "ignore"),
      });
    case "msg": {
      return defined({
        type,
        text: text(value, "text"),
        action: optionalFlag(value, "action") || undefined,
        room: optionalText(value, "room"),
        to: optionalText(value, "to"),
      });
    }
    case "join":
      return defined({ type, room: text(value, "room"), since: optionalId(value, "since") });
    case "part":
      return { type, room: text(value, "room") };
    case "who":
      return defined({ type, room: optionalText(value, "room") });
    case "history":
      return defined({
        type,
        room: text(value, "room"),
        after: optionalId(value, "after") ?? 0,
        limit: optionalCount(value, "limit"),
      });
    case "nick":
      return { type, nick: text(value, "nick") };
    case "register":
    case "identify":
    case "unregister":
      return { type, password: text(value, "password") };
    case "login":
      return { type, nick: text(value, "nick"), password: text(value, "password") };
    case "passwd":
      return { type, old: text(value, "old"), password: text(value, "password") };
    case "away":
      return defined({ type, text: optionalText(value, "text") });
    case "whois":
    case "unignore":
      return { type, nick: text(value, "nick") };
    case "ignore":
      return defined({ type, nick: optionalText(value, "nick") });
    case "rooms":
    case "ping":
    case "pong":
      return { type };
  }
  const read = {
    text: (field: string) => text(value, field),
    optionalText: (field: string) => optionalText(value, field),
    optionalCount: (field: string) => optionalCount(value, field),
  };
  const moderation = readModeration(type, read);
  if (moderation) return moderation;
  throw new ProtocolError("unknown_type", `Unknown message type "${type.slice(0, 32)}"`);
}

type FieldKind = "string" | "number" | "strings" | "rooms";

// The fields a client reads, by server message type. Those not named (`count`, `action`,
// `history`) and those this version does not know are taken as they come.
const SERVER_FIELDS: Record<ServerMessage["type"], Record<string, FieldKind>> = {
  welcome: { nick: "string", room: "string", members: "strings" },
  joined: { room: "string", members: "strings" },
  msg: { id: "number", from: "string", text: "string", ts: "number" },
  history_end: { room: "string" },
  history_gap: { room: "string", missed: "number" },
  join: { nick: "string", room: "string" },
  leave: { nick: "string", room: "string" },
  nick: { from: "string", nick: "string" },
  who: { room: "string", members: "strings" },
  rooms: { rooms: "rooms" },
  whois: {
    nick: "string",
    rooms: "strings",
    since: "number",
    idle: "number",
    transport: "string",
    mode: "string",
  },
  away: { nick: "string", text: "string" },
  ignoring: { nicks: "strings" },
  notice: { text: "string" },
  error: { code: "string", message: "string" },
  ping: {},
  pong: {},
};

const KIND_NAMES: Record<FieldKind, string> = {
  string: "a string",
  number: "a number",
  strings: "a list of strings",
  rooms: "a list of rooms",
};

function isKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "strings":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    case "rooms":
      return Array.isArray(value) &&
        value.every((room) => typeof room?.name === "string" && typeof room.members === "number");
  }
}

/**
 * Checks a decoded frame from a server and narrows it to a ServerMessage, or throws ProtocolError:
 * unknown_type for a type from a newer server, meant for clients that know it; bad_message for a
 * field a client could not read. The value is returned as it came, fields unknown here included.
 */
export function parseServerMessage(value: unknown): ServerMessage {
  if (!isRecord(value) || typeof value.type !== "string") {
    throw badMessage('A frame needs a string field "type"');
  }
  const { type } = value;
  if (!Object.hasOwn(SERVER_FIELDS, type)) {
    throw new ProtocolError("unknown_type", `Unknown message type "${type.slice(0, 32)}"`);
  }
  for (const [field, kind] of Object.entries(SERVER_FIELDS[type as ServerMessage["type"]])) {
    if (!isKind(value[field], kind)) {
      throw badMessage(`"${type}" needs ${KIND_NAMES[kind]} "${field}"`);
    }
  }
  // A chat message is for a room or for one member.
  const { room, to } = value;
  const addressed = (typeof room === "string" && to === undefined) ||
    (typeof to === "string" && room === undefined);
  if (type === "msg" && !addressed) {
    throw badMessage('"msg" needs a string "room" or "to", not both');
  }
  return value as ServerMessage;
}

// C0 and C1 control characters would let one member move others' cursors or clear their screens.
// Tabs become spaces so that text stays aligned with what the sender saw.
const CONTROL_CHARS = /\p{Cc}/gu;
const CONTROL_CHAR = /\p{Cc}/u;

/** Removes what a terminal would act on rather than show. */
export function cleanText(text: string): string {
  // Testing first spares the common clean text a copy.
  if (!CONTROL_CHAR.test(text)) return text;
  return text.replace(CONTROL_CHARS, (c) => c === "\t" ? " " : "");
}

/** Why `text` cannot be sent as a message, as a ProtocolError, or null when it can. */
export function textProblem(text: string): ProtocolError | null {
  if (text.length === 0) return new ProtocolError("empty_text", "Cannot send an empty message");
  // A UTF-16 unit is 1 to 3 UTF-8 bytes, so most texts are decided without encoding them.
  const surelyFits = text.length * 3 <= MAX_TEXT_BYTES;
  if (!surelyFits && (text.length > MAX_TEXT_BYTES || utf8.encode(text).length > MAX_TEXT_BYTES)) {
    return new ProtocolError(
      "text_too_long",
      `Cannot send message: it exceeds ${MAX_TEXT_BYTES} bytes`,
    );
  }
  return null;
}
