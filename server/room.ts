// A room and how a message reaches members, with no I/O: what a member is (anything that can take
// bytes without blocking), and the one loop that hands a message to many members, each in its own
// encoding. Chat (chat.ts) decides who is where; this is how they hear it.
import { nameKey, type ServerMessage } from "../protocol.ts";
import type { Social } from "./social.ts";

/** Turns a server message into the bytes of one member's wire mode; null when it has no form there. */
export interface Encoder {
  /**
   * `message` as bytes for a member, or null for what its mode does not show. `textUtf8`, when
   * given, is `message.text` as UTF-8 that JSON need not escape, for an encoder to copy as it is.
   * `me`, when the message is for one member only, is its nick, which lists in text mark.
   */
  encode(message: ServerMessage, textUtf8?: Uint8Array, me?: string): Uint8Array | null;
}

export interface Member {
  /** Set by Chat: the nick while joined, null before. */
  nick: string | null;
  /** Set by Chat: where the member's messages go unless it names a room. */
  room: Room | null;
  /** Set by Chat: every room the member is in, `room` among them. */
  readonly rooms: Set<Room>;
  readonly encoder: Encoder;
  /**
   * Whether the member hears its own messages too, where they fall among the others': it asked
   * for that in its hello.
   */
  readonly echo?: boolean;
  /** What the member shows of others: its away message and whom it ignores (social.ts). */
  readonly social?: Social;
  /** Queues bytes for the member. Never blocks, never reorders, never throws. */
  send(bytes: Uint8Array): void;
}

/**
 * Hands `message` to each of `members` but `except`, and but those who ignore its sender, each in
 * its own encoding, encoding it once per encoder.
 */
export function deliver(
  message: ServerMessage,
  members: Iterable<Member>,
  except: Member | null = null,
  textUtf8?: Uint8Array,
): void {
  // Most rooms hear one encoding only: it is kept at hand, and a map made only for the others.
  let firstEncoder: Encoder | null = null;
  let firstBytes: Uint8Array | null = null;
  let others: Map<Encoder, Uint8Array | null> | null = null;
  const from = message.type === "msg" ? message.from : null;
  for (const member of members) {
    if (member === except) continue;
    // Nearly every member ignores nobody: that costs a comparison. Its own words, echoed, are never
    // hidden, even if it has since taken a nick it ignored.
    const ignored = member.social?.ignored;
    if (ignored && from !== null && from !== member.nick && ignored.has(nameKey(from))) continue;
    const encoder = member.encoder;
    let bytes: Uint8Array | null | undefined;
    if (encoder === firstEncoder) {
      bytes = firstBytes;
    } else if (firstEncoder === null) {
      firstEncoder = encoder;
      bytes = firstBytes = encoder.encode(message, textUtf8);
    } else {
      others ??= new Map();
      bytes = others.get(encoder);
      if (bytes === undefined) others.set(encoder, bytes = encoder.encode(message, textUtf8));
    }
    if (bytes) member.send(bytes);
  }
}

export class Room {
  readonly members = new Set<Member>();
  /** The name as rooms are told apart: see nameKey. */
  readonly key: string;
  /** The id of the room's last message; the next one gets the next number. */
  lastId: number;

  constructor(readonly name: string, lastId: number) {
    this.key = nameKey(name);
    this.lastId = lastId;
  }

  /**
   * Hands `message` to every member but `except`. Synchronous, so every member sees the room's
   * messages in the same order.
   */
  broadcast(message: ServerMessage, except: Member | null = null, textUtf8?: Uint8Array): void {
    deliver(message, this.members, except, textUtf8);
  }

  /** The members' nicks, longest here first, at most `limit` of them. */
  nicks(limit = Infinity): string[] {
    const nicks: string[] = [];
    for (const member of this.members) {
      if (nicks.length >= limit) break;
      nicks.push(member.nick!);
    }
    return nicks;
  }
}
