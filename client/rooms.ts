// What the client knows of its rooms, with no I/O: which it is in, which one it talks in, who is
// in each (for Tab completion), and the last message id it has shown in each, which is what lets
// it fill the gap after a reconnect from the server's history without showing anything twice.
import { type ChatMessage, nameKey, type ServerMessage } from "../protocol.ts";
import type { ChatWords } from "./completion.ts";

/** Filling the gap in one room after a reconnect: live messages wait until history has caught up. */
interface CatchUp {
  held: ChatMessage[];
  /** History messages received since the last request (or since the rejoin). */
  fetched: number;
  /** The ids of the history messages shown meanwhile: a held message may be one of them. */
  shown: Set<number>;
}

interface JoinedRoom {
  name: string;
  members: Set<string>;
  catchUp: CatchUp | null;
}

/** What to do when a room's history so far has arrived: ask for more, or show what was held. */
export type CatchUpStep = { more: true; after: number } | { more: false; show: ChatMessage[] };

export class ClientRooms {
  /** The room the user's lines go to; "" before the first welcome. */
  current = "";
  #joined = new Map<string, JoinedRoom>(); // by name key, in the order joined
  // The last message id shown, by room key: kept after leaving a room, so that the history
  // replayed on joining it again shows only what was missed.
  #lastIds = new Map<string, number>();
  #listed: string[] = []; // from the last /rooms
  /** The server's epoch (PROTOCOL.md): the sequence the last ids belong to. */
  epoch: string | undefined;

  /** The rooms the client is in, in the order it joined them. */
  get names(): string[] {
    return [...this.#joined.values()].map((room) => room.name);
  }

  has(room: string): boolean {
    return this.#joined.has(nameKey(room));
  }

  lastId(room: string): number {
    return this.#lastIds.get(nameKey(room)) ?? 0;
  }

  /**
   * A welcome said `epoch`: true if it is not the one the last ids belong to, as after a restart
   * of a server without --data. Then they are forgotten: the new life numbers from 1 again, and
   * everything its history holds is new to the user.
   */
  newEpoch(epoch: string | undefined): boolean {
    const changed = epoch !== undefined && this.epoch !== undefined && epoch !== this.epoch;
    this.epoch = epoch ?? this.epoch;
    if (changed) this.#lastIds.clear();
    return changed;
  }

  /** In `room` with `members`, which becomes the current room: a welcome or a joined. */
  enter(room: string, members: string[]): void {
    const joined = this.#joined.get(nameKey(room));
    if (joined) joined.members = new Set(members);
    else this.#joined.set(nameKey(room), { name: room, members: new Set(members), catchUp: null });
    this.current = room;
  }

  /** Out of `room`; if it was the current one, the one joined most recently becomes current. */
  leave(room: string): void {
    this.#joined.delete(nameKey(room));
    if (nameKey(room) === nameKey(this.current)) {
      this.current = [...this.#joined.values()].at(-1)?.name ?? "";
    }
  }

  setMembers(room: string, members: string[]): void {
    const joined = this.#joined.get(nameKey(room));
    if (joined) joined.members = new Set(members);
  }

  memberJoined(room: string, nick: string): void {
    this.#joined.get(nameKey(room))?.members.add(nick);
  }

  memberLeft(room: string, nick: string): void {
    this.#joined.get(nameKey(room))?.members.delete(nick);
  }

  renamed(from: string, to: string): void {
    for (const room of this.#joined.values()) {
      if (room.members.delete(from)) room.members.add(to);
    }
  }

  /** The nicks in `room`, or in every room the client is in. */
  /** Notes what an event tells of rooms and members: a join, leave, rename, who or rooms. */
  noted(message: ServerMessage): void {
    switch (message.type) {
      case "join":
        return this.memberJoined(message.room, message.nick);
      case "leave":
        return this.memberLeft(message.room, message.nick);
      case "nick":
        return this.renamed(message.from, message.nick);
      case "who":
        return this.setMembers(message.room, message.members);
      case "rooms":
        return this.listed(message.rooms.map((room) => room.name));
    }
  }

  members(room?: string): string[] {
    const rooms = room === undefined
      ? [...this.#joined.values()]
      : [this.#joined.get(nameKey(room))].filter((found) => found !== undefined);
    return [...new Set(rooms.flatMap((found) => [...found.members]))];
  }

  /** Remembers the rooms a /rooms answer listed, for completion. */
  listed(rooms: string[]): void {
    this.#listed = rooms;
  }

  /** Every room name the client knows of. */
  knownRooms(): string[] {
    return [...new Set([...this.#listed, ...this.names])];
  }

  /** What Tab can offer: the nicks here and everywhere, `me` left out, and the rooms known. */
  words(me: string): ChatWords {
    const others = (nicks: string[]) => nicks.filter((nick) => nameKey(nick) !== nameKey(me));
    const { current } = this;
    return {
      nicks: others(this.members(current)),
      allNicks: others(this.members()),
      rooms: this.knownRooms(),
    };
  }

  /**
   * Which of a room's messages to show now, given one that arrived: history the client has
   * already shown is dropped, and live messages wait while the room catches up. Private messages
   * are never replayed, so they are always shown.
   */
  arrived(message: ChatMessage): ChatMessage[] {
    if (message.room === undefined) return [message];
    const joined = this.#joined.get(nameKey(message.room));
    if (message.history) {
      if (!this.#unseen(message)) return [];
      const catchUp = joined?.catchUp;
      if (!catchUp) return [message];
      catchUp.fetched++;
      catchUp.shown.add(message.id);
      // One that also arrived live is shown as it was said then, without a time stamp.
      return [catchUp.held.find((held) => held.id === message.id) ?? message];
    }
    if (joined?.catchUp) {
      joined.catchUp.held.push(message);
      return [];
    }
    // Live messages are never doubled by the server. One with an id the client has already passed
    // comes from a server that started its ids again (one restarted without --data).
    this.#lastIds.set(nameKey(message.room), message.id);
    return [message];
  }

  // Whether history `message` is newer than what the room has shown; if so it is shown now.
  #unseen(message: ChatMessage): boolean {
    const key = nameKey(message.room!);
    if (message.id <= (this.#lastIds.get(key) ?? 0)) return false;
    this.#lastIds.set(key, message.id);
    return true;
  }

  /** After a reconnect: `room`'s live messages wait until its history has caught up. */
  beginCatchUp(room: string): void {
    const joined = this.#joined.get(nameKey(room));
    if (joined) joined.catchUp = { held: [], fetched: 0, shown: new Set() };
  }

  isCatchingUp(room: string): boolean {
    return Boolean(this.#joined.get(nameKey(room))?.catchUp);
  }

  /**
   * The history asked for in `room` has all arrived. If some came, and the live messages held
   * meanwhile do not follow on from it, there may be more (the server sends a bounded amount at a
   * time): ask again after the last id. Otherwise the room has caught up, as far as the server
   * remembers, and the held messages are shown, but for those history showed.
   */
  caughtUp(room: string): CatchUpStep {
    const joined = this.#joined.get(nameKey(room));
    if (!joined?.catchUp) return { more: false, show: [] };
    const catchUp = joined.catchUp;
    const held = catchUp.held.filter((message) => !catchUp.shown.has(message.id));
    const lastId = this.lastId(room);
    if (catchUp.fetched > 0 && (held.length === 0 || held[0].id > lastId + 1)) {
      catchUp.fetched = 0;
      return { more: true, after: lastId };
    }
    joined.catchUp = null;
    if (held.length > 0) this.#lastIds.set(nameKey(room), held.at(-1)!.id);
    return { more: false, show: held };
  }

  /** caughtUp for each of `rooms`: the history to ask for next, and the messages to show now. */
  caughtUpAll(rooms: string[]): { more: { room: string; after: number }[]; show: ChatMessage[] } {
    const more: { room: string; after: number }[] = [];
    const show: ChatMessage[] = [];
    for (const room of rooms) {
      const step = this.caughtUp(room);
      if (step.more) more.push({ room, after: step.after });
      else show.push(...step.show);
    }
    return { more, show };
  }

  /** Stops every catch-up, as when the connection is lost again: it starts over on rejoining. */
  abandonCatchUps(): void {
    for (const room of this.#joined.values()) room.catchUp = null;
  }
}
