// Who is here and who hears what, with no I/O: members, nicknames and rooms; a room's broadcast is
// room.ts. Members are anything that can take bytes without blocking; sessions over sockets in the
// server, plain objects in the tests.
import type { History, StoredMessage } from "./history.ts";
import {
  type ChatMessage,
  cleanText,
  DEFAULT_ROOM,
  lookalikeKeys,
  MAX_NICK_CHARS,
  nameKey,
  nickProblem,
  ProtocolError,
  roomProblem,
  type ServerMessage,
  textProblem,
} from "../protocol.ts";
import { deliver, type Encoder, type Member, Room } from "./room.ts";
import { followRename } from "./social.ts";

export { deliver, type Encoder, type Member, Room };

/**
 * From this many members on, a room is large and behaves as big chat rooms do (Twitch's chat, for
 * one, past 1000): joins and leaves are no longer announced to everyone, and member lists name
 * this many, with the whole count beside them. Otherwise N members joining cost N²/2 notices and
 * N²/2 names in welcomes: for 10,000, 50 million of each, which fill the server's memory and the
 * members' screens with nothing anyone reads.
 */
export const LARGE_ROOM_MEMBERS = 1000;

/** How many rooms one member may be in at once. */
export const MAX_ROOMS_PER_MEMBER = 20;

function nickTaken(nick: string, holder: Member): ProtocolError {
  const message = nameKey(nick) === nameKey(holder.nick!)
    ? `The nick ${nick} is taken; choose another`
    : `The nick ${nick} looks like ${holder.nick}, who is here; choose another`;
  return new ProtocolError("nick_taken", message);
}

function nickOf(member: Member): string {
  if (member.nick === null) {
    throw new ProtocolError("not_joined", 'Send "hello" with your nick before chatting');
  }
  return member.nick;
}

// `text` as it may be said: cleaned, unless its bytes came with it, read the quick way and so
// known to be clean (wire.ts); throws if it cannot be said.
function checkedText(text: string, textUtf8?: Uint8Array): string {
  const clean = textUtf8 ? text : cleanText(text);
  const problem = textProblem(clean);
  if (problem) throw problem;
  return clean;
}

/**
 * All rooms and the nicks in use. Nicks are unique across the server, ignoring case, and no nick
 * may look like another (lookalikeKeys); room names are unique ignoring case. A room exists while someone is in it; its message ids go on where they left off.
 */
// Synchronous throughout, because broadcast order is call order: whatever must await (a shared
// engine, say) happens in the session before Chat is entered, never inside it.
export class Chat {
  #byNick = new Map<string, Member>();
  // Each member under every key of its nick's lookalikeKeys.
  #byLookalike = new Map<string, Member>();
  #rooms = new Map<string, Room>();
  #history: History;
  #privateIds = 0;
  #guests = 0;
  #largeRoom: number;
  /**
   * Asked before `member` goes into `roomName` under `nick` (joining the server or a room), and
   * before it takes `nick` in a rename, for each room it is in; throws ProtocolError to keep it out
   * or refuse the nick: moderation's bans (moderation_handlers.ts).
   */
  gate: ((member: Member, nick: string, roomName: string) => void) | null = null;
  /**
   * Called by the handlers when `member` has been answered for joining the server (`arrived`) or
   * a new room, before the room's history: moderation's message of the day and topic.
   */
  greeting: ((member: Member, arrived: boolean) => void) | null = null;

  constructor(history: History, largeRoom = LARGE_ROOM_MEMBERS) {
    this.#history = history;
    this.#largeRoom = largeRoom;
  }

  // A room's members for a welcome, joined or who: all of them, or in a large room as many as
  // LARGE_ROOM_MEMBERS, with `count` saying how many there are in all.
  #memberList(room: Room): { members: string[]; count?: number } {
    const members = room.nicks(this.#largeRoom);
    return members.length < room.members.size ? { members, count: room.members.size } : { members };
  }

  // Joins and leaves are told in rooms that are not large (without the member in question).
  #announce(room: Room, message: ServerMessage): void {
    if (room.members.size < this.#largeRoom) room.broadcast(message);
  }

  /** The welcome for `member`, after telling the room it joined; throws ProtocolError if it cannot. */
  join(member: Member, nick: string, roomName = DEFAULT_ROOM): ServerMessage {
    if (member.nick !== null) {
      throw new ProtocolError("already_joined", `You are already in as ${member.nick}`);
    }
    const nickIssue = nickProblem(nick);
    if (nickIssue) throw new ProtocolError("bad_nick", nickIssue);
    const roomIssue = roomProblem(roomName);
    if (roomIssue) throw new ProtocolError("bad_room", roomIssue);
    const holder = this.#holderOf(nick);
    if (holder) throw nickTaken(nick, holder);
    this.gate?.(member, nick, roomName);
    this.#claim(member, nick);
    const room = this.#enter(member, roomName);
    const epoch = this.#history.epoch;
    return { type: "welcome", nick, room: room.name, ...this.#memberList(room), epoch };
  }

  /**
   * Puts `member` in `roomName` too (if it is not there yet) and makes it the member's current
   * room; returns the answer for the member. Throws ProtocolError if it cannot.
   */
  enter(member: Member, roomName: string): ServerMessage {
    nickOf(member);
    const roomIssue = roomProblem(roomName);
    if (roomIssue) throw new ProtocolError("bad_room", roomIssue);
    this.gate?.(member, member.nick!, roomName);
    const room = this.#enter(member, roomName);
    return { type: "joined", room: room.name, ...this.#memberList(room) };
  }

  #enter(member: Member, roomName: string): Room {
    let room = this.#rooms.get(nameKey(roomName));
    if (room && member.rooms.has(room)) {
      member.room = room;
      return room;
    }
    if (member.rooms.size >= MAX_ROOMS_PER_MEMBER) {
      throw new ProtocolError(
        "too_many_rooms",
        `You are in ${MAX_ROOMS_PER_MEMBER} rooms already; /part one first`,
      );
    }
    if (!room) {
      room = new Room(roomName, this.#history.lastId(nameKey(roomName)));
      this.#rooms.set(nameKey(roomName), room);
    }
    this.#announce(room, { type: "join", nick: member.nick!, room: room.name });
    room.members.add(member);
    member.rooms.add(room);
    member.room = room;
    return room;
  }

  /** Takes `member` out of `roomName` and tells the room. Throws ProtocolError if it cannot. */
  part(member: Member, roomName: string): void {
    const nick = nickOf(member);
    const room = this.#rooms.get(nameKey(roomName));
    if (!room || !member.rooms.has(room)) {
      throw new ProtocolError("not_in_room", `You are not in ${roomName}`);
    }
    if (member.rooms.size === 1) {
      throw new ProtocolError("last_room", `${room.name} is your only room; /join another first`);
    }
    const leave: ServerMessage = { type: "leave", nick, room: room.name };
    this.#remove(member, room);
    this.#announce(room, leave);
    deliver(leave, [member]); // its answer to part, large room or not
    if (member.room === room) member.room = [...member.rooms].at(-1)!;
  }

  /** Removes `member` from every room, telling each; does nothing for one that never joined. */
  leave(member: Member): void {
    const { nick } = member;
    if (nick === null) return;
    this.#release(nick);
    for (const room of member.rooms) {
      this.#remove(member, room);
      this.#announce(room, { type: "leave", nick, room: room.name });
    }
    member.nick = null;
    member.room = null;
  }

  #remove(member: Member, room: Room): void {
    room.members.delete(member);
    member.rooms.delete(room);
    if (room.members.size === 0) {
      this.#rooms.delete(room.key);
      this.#history.idle(room.key);
    }
  }

  /**
   * Sends `text` from `member` to the others in `roomName` (by default its current room) and
   * remembers it; throws ProtocolError if it cannot. `textUtf8` is the text's bytes when they were
   * read the quick way (wire.ts), for the frames to copy.
   */
  say(
    member: Member,
    text: string,
    now: number,
    action = false,
    roomName?: string,
    textUtf8?: Uint8Array,
  ): void {
    const from = nickOf(member);
    const room = roomName === undefined ? member.room! : this.#roomOf(member, roomName);
    const said = checkedText(text, textUtf8); // before taking an id: a refused text leaves no gap
    const message: ChatMessage = {
      type: "msg",
      id: ++room.lastId,
      from,
      room: room.name,
      text: said,
      ts: now,
    };
    if (action) message.action = true;
    this.#history.record(room.key, message as StoredMessage);
    room.broadcast(message, member.echo ? null : member, textUtf8);
  }

  /** Sends `text` from `member` to the member called `to` only; throws if it cannot. */
  whisper(member: Member, to: string, text: string, now: number, action = false): void {
    const from = nickOf(member);
    const target = this.#byNick.get(nameKey(to));
    if (!target) throw new ProtocolError("no_such_nick", `Nobody here is called ${to}`);
    const message: ChatMessage = {
      type: "msg",
      id: ++this.#privateIds,
      from,
      to: target.nick!,
      text: checkedText(text),
      ts: now,
    };
    if (action) message.action = true;
    deliver(message, member.echo && target !== member ? [target, member] : [target]);
  }

  /**
   * The room's remembered messages (after `since`, if given, and at most `limit` of those), marked
   * as history.
   */
  replay(roomName: string, since?: number, limit?: number): ChatMessage[] {
    const key = nameKey(roomName);
    const messages = since === undefined
      ? this.#history.recent(key)
      : this.#history.since(key, since, limit);
    return messages.map((message) => ({ type: "msg", ...message, history: true }));
  }

  /** The sequence message ids belong to (History.epoch): a client's `since` is good only in it. */
  get epoch(): string {
    return this.#history.epoch;
  }

  /** How many of the room's messages after `afterId` it no longer remembers (History.missing). */
  missing(roomName: string, afterId: number): number {
    return this.#history.missing(nameKey(roomName), afterId);
  }

  /**
   * What `member` missed in one of its rooms: the room's own name, and its messages after
   * `afterId` (at most `limit`), marked as history.
   */
  history(
    member: Member,
    roomName: string,
    afterId: number,
    limit?: number,
  ): { room: string; missed: ChatMessage[] } {
    nickOf(member);
    const room = this.#roomOf(member, roomName).name;
    return { room, missed: this.replay(room, afterId, limit) };
  }

  /** Changes `member`'s nick and tells everyone who shares a room with it, it too, once each. */
  rename(member: Member, newNick: string): void {
    const nick = nickOf(member);
    const problem = nickProblem(newNick);
    if (problem) throw new ProtocolError("bad_nick", problem);
    const holder = this.#holderOf(newNick);
    if (holder && holder !== member) throw nickTaken(newNick, holder);
    if (newNick === nick) return;
    for (const room of member.rooms) this.gate?.(member, newNick, room.name);
    this.#release(nick);
    this.#claim(member, newNick);
    const everyone = new Set<Member>([member]);
    for (const room of member.rooms) for (const other of room.members) everyone.add(other);
    deliver({ type: "nick", from: nick, nick: newNick, room: member.room!.name }, everyone);
    followRename(this.#byNick.values(), member, nick, newNick);
  }

  /**
   * Asks the gate again whether `member` may be in each of its rooms as it is now: after it has
   * proved an account, which a ban may name. Throws ProtocolError if not, and changes nothing.
   */
  admit(member: Member): void {
    const nick = nickOf(member);
    for (const room of member.rooms) this.gate?.(member, nick, room.name);
  }

  /** Who is in `roomName`, by default the member's current room, and which of them are away. */
  who(member: Member, roomName?: string): ServerMessage {
    nickOf(member);
    const room = roomName === undefined ? member.room! : this.#rooms.get(nameKey(roomName));
    if (!room) throw new ProtocolError("no_such_room", `There is no room called ${roomName}`);
    const list = this.#memberList(room);
    const away = list.members.filter((nick) => this.member(nick)?.social?.away);
    return { type: "who", room: room.name, ...list, ...(away.length > 0 ? { away } : {}) };
  }

  /** The member called `nick` (ignoring case and compatibility forms), if any. */
  member(nick: string): Member | undefined {
    return this.#byNick.get(nameKey(nick));
  }

  /** Every room, with how many are in it, by name. */
  rooms(): ServerMessage {
    const rooms = [...this.#rooms.values()]
      .map((room) => ({ name: room.name, members: room.members.size }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { type: "rooms", rooms };
  }

  #roomOf(member: Member, roomName: string): Room {
    const room = this.#rooms.get(nameKey(roomName));
    if (!room || !member.rooms.has(room)) {
      throw new ProtocolError("not_in_room", `You are not in ${roomName}; /join it first`);
    }
    return room;
  }

  // Whoever holds `nick`, or a nick it could be taken for.
  #holderOf(nick: string): Member | undefined {
    const holder = this.#byNick.get(nameKey(nick));
    if (holder) return holder;
    for (const key of lookalikeKeys(nick)) {
      const lookalike = this.#byLookalike.get(key);
      if (lookalike) return lookalike;
    }
  }

  #claim(member: Member, nick: string): void {
    this.#byNick.set(nameKey(nick), member);
    for (const key of lookalikeKeys(nick)) this.#byLookalike.set(key, member);
    member.nick = nick;
  }

  #release(nick: string): void {
    this.#byNick.delete(nameKey(nick));
    for (const key of lookalikeKeys(nick)) this.#byLookalike.delete(key);
  }

  /** The member called `nick` (ignoring case and compatibility forms), if any. */
  memberNamed(nick: string): Member | undefined {
    return this.#byNick.get(nameKey(nick));
  }

  /** Every joined member. */
  members(): Iterable<Member> {
    return this.#byNick.values();
  }

  isNickFree(nick: string): boolean {
    return this.#holderOf(nick) === undefined;
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

  get roomCount(): number {
    return this.#rooms.size;
  }
}
