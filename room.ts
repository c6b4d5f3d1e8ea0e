// Who is here and who hears what, with no I/O: members, nicknames, rooms and broadcast. Members are
// anything that can take bytes without blocking; sessions over sockets in the server, plain objects
// in the tests.
import {
  DEFAULT_ROOM,
  MAX_NICK_CHARS,
  nameKey,
  nickProblem,
  ProtocolError,
  roomProblem,
  type ServerMessage,
  textProblem,
} from "./protocol.ts";

/** Turns a server message into the bytes of one member's wire mode; null when it has no form there. */
export interface Encoder {
  encode(message: ServerMessage): Uint8Array | null;
}

export interface Member {
  /** Set by Chat: the nick while joined, null before. */
  nick: string | null;
  room: Room | null;
  readonly encoder: Encoder;
  /** Queues bytes for the member. Never blocks, never reorders, never throws. */
  send(bytes: Uint8Array): void;
}

export class Room {
  readonly members = new Set<Member>();
  constructor(readonly name: string) {}

  /**
   * Hands `message` to every member but `except`, each in its own encoding, encoding it once per
   * encoder. Synchronous, so every member sees the room's messages in the same order.
   */
  broadcast(message: ServerMessage, except: Member | null = null): void {
    const encoded = new Map<Encoder, Uint8Array | null>();
    for (const member of this.members) {
      if (member === except) continue;
      let bytes = encoded.get(member.encoder);
      if (bytes === undefined) {
        bytes = member.encoder.encode(message);
        encoded.set(member.encoder, bytes);
      }
      if (bytes) member.send(bytes);
    }
  }

  nicks(): string[] {
    return [...this.members].map((member) => member.nick!);
  }
}

function joined(member: Member): { nick: string; room: Room } {
  const { nick, room } = member;
  if (nick === null || room === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick before chatting');
  }
  return { nick, room };
}

// C0 and C1 control characters would let one member move others' cursors or clear their screens.
// Tabs become spaces so that text stays aligned with what the sender saw.
const CONTROL_CHARS = /\p{Cc}/gu;

/** Removes what a terminal would act on rather than show. */
export function cleanText(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => c === "\t" ? " " : "");
}

/** All rooms and the nicks in use. Nicks are unique across the server, ignoring case. */
export class Chat {
  #byNick = new Map<string, Member>();
  #rooms = new Map<string, Room>();
  #guests = 0;

  /** The welcome for `member`, after telling the room it joined; throws ProtocolError if it cannot. */
  join(member: Member, nick: string, roomName = DEFAULT_ROOM): ServerMessage {
    if (member.nick !== null) {
      throw new ProtocolError("already_joined", `You are already in as ${member.nick}`);
    }
    const nickIssue = nickProblem(nick);
    if (nickIssue) throw new ProtocolError("bad_nick", nickIssue);
    const roomIssue = roomProblem(roomName);
    if (roomIssue) throw new ProtocolError("bad_room", roomIssue);
    if (this.#byNick.has(nameKey(nick))) {
      throw new ProtocolError("nick_taken", `The nick ${nick} is taken; choose another`);
    }
    let room = this.#rooms.get(nameKey(roomName));
    if (!room) {
      room = new Room(roomName);
      this.#rooms.set(nameKey(roomName), room);
    }
    this.#byNick.set(nameKey(nick), member);
    member.nick = nick;
    member.room = room;
    room.broadcast({ type: "join", nick, room: room.name });
    room.members.add(member);
    return { type: "welcome", nick, room: room.name, members: room.nicks() };
  }

  /** Removes `member` and tells its room; does nothing for a member that never joined. */
  leave(member: Member): void {
    const { nick, room } = member;
    if (nick === null || room === null) return;
    this.#byNick.delete(nameKey(nick));
    room.members.delete(member);
    if (room.members.size === 0) this.#rooms.delete(nameKey(room.name));
    else room.broadcast({ type: "leave", nick, room: room.name });
    member.nick = null;
    member.room = null;
  }

  /** Sends `text` from `member` to the others in its room; throws ProtocolError if it cannot. */
  say(member: Member, text: string, now: number, action = false): void {
    const { nick, room } = joined(member);
    const clean = cleanText(text);
    const problem = textProblem(clean);
    if (problem) throw problem;
    room.broadcast(
      action
        ? { type: "msg", from: nick, room: room.name, text: clean, ts: now, action }
        : { type: "msg", from: nick, room: room.name, text: clean, ts: now },
      member,
    );
  }

  /** Changes `member`'s nick and tells its whole room, the member too; throws if it cannot. */
  rename(member: Member, newNick: string): void {
    const { nick, room } = joined(member);
    const problem = nickProblem(newNick);
    if (problem) throw new ProtocolError("bad_nick", problem);
    const holder = this.#byNick.get(nameKey(newNick));
    if (holder && holder !== member) {
      throw new ProtocolError("nick_taken", `The nick ${newNick} is taken; choose another`);
    }
    if (newNick === nick) return;
    this.#byNick.delete(nameKey(nick));
    this.#byNick.set(nameKey(newNick), member);
    member.nick = newNick;
    room.broadcast({ type: "nick", from: nick, nick: newNick, room: room.name });
  }

  /** Who is in `member`'s room. */
  who(member: Member): ServerMessage {
    const { room } = joined(member);
    return { type: "who", room: room.name, members: room.nicks() };
  }

  isNickFree(nick: string): boolean {
    return !this.#byNick.has(nameKey(nick));
  }

  /** `nick` if it is free, or else the first free one of nick2, nick3, ... */
  freeVariant(nick: string): string {
    if (this.isNickFree(nick)) return nick;
    for (let n = 2;; n++) {
      const suffix = String(n);
      const candidate = [...nick].slice(0, MAX_NICK_CHARS - suffix.length).join("") + suffix;
      if (this.isNickFree(candidate)) return candidate;
    }
  }

  /** A free nick for someone who has not chosen one: guest1, guest2, ... */
  guestNick(): string {
    let nick;
    do nick = `guest${++this.#guests}`; while (!this.isNickFree(nick));
    return nick;
  }

  get memberCount(): number {
    return this.#byNick.size;
  }
}
