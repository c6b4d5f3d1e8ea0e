// What rooms remember: the last messages of each room, for members who join, and the messages
// after a given id, for clients that reconnect. Always in memory, as a ring per room; behind it,
// optionally, a MessageStore that outlives the process (server/sqlite/history.ts). No I/O here.
import { ProtocolError } from "../protocol.ts";

/** A chat message as rooms keep it: everything a `msg` frame carries. */
export interface StoredMessage {
  id: number;
  room: string;
  from: string;
  text: string;
  ts: number;
  action?: true;
}

/** The most messages one history request returns. */
export const MAX_HISTORY_REPLY = 1000;

/**
 * How many ids a room reserves in its store ahead of those it has given. An id is handed out only
 * once the store holds a reservation covering it, so that after a crash, when the messages of the
 * last moments may be lost, the room goes on past every id it may have given and never gives one
 * twice (a client that reconnects with the last id it saw then misses nothing). Reserving in blocks
 * keeps the store's writes off the path of each message; the cost is a gap in a room's ids after a
 * crash, never after a clean stop. A room tops its reservation up when half of it is used.
 */
export const RESERVED_IDS = 100_000;

/** Rooms nobody is in whose last messages stay in memory, by default. */
export const DEFAULT_IDLE_ROOMS = 100;

/** Called once a reservation is durable. */
export type ReserveDone = () => void;

/**
 * Where messages go to outlive the process. Reads are synchronous, as Chat is, and see every
 * message appended before them, committed or not; writes are the store's to batch, retry and
 * commit when it can, so that a slow or busy store never holds up delivery. A store never throws
 * once open: it reports its own failures and answers from what it has. Rooms are told apart by
 * their key (nameKey).
 */
export interface MessageStore {
  /**
   * The store's own epoch, made when it was created: its ids never start again, so a client's
   * last id stays good across restarts for as long as the store lives.
   */
  readonly epoch: string;
  append(roomKey: string, message: StoredMessage): void;
  /**
   * The highest id the room may have given, in this process or any before it: its last message's
   * or its reservation's, whichever is higher, 0 for none. Ids go on above it.
   */
  lastId(roomKey: string): number;
  /**
   * Reserves the room's ids up to `throughId`: once `done` is called, lastId never returns less,
   * in this process or a later one, even after a crash. `done` may be called before reserve
   * returns, and is never called if the store cannot make the reservation durable.
   */
  reserve(roomKey: string, throughId: number, done: ReserveDone): void;
  /** Gives back the room's reservation above `lastId`, so that a later run goes on without a gap. */
  release(roomKey: string, lastId: number): void;
  /** The room's last `limit` messages, oldest first. */
  last(roomKey: string, limit: number): StoredMessage[];
  /** The room's messages after `afterId`, oldest first, at most `limit` of them. */
  since(roomKey: string, afterId: number, limit: number): StoredMessage[];
  /** The id of the room's oldest message still kept, or undefined when it keeps none. */
  oldestId(roomKey: string): number | undefined;
  /** The highest id retention has deleted messages up to in the room (0 for none). */
  prunedThrough(roomKey: string): number;
  /** Writes what waits and lets go of the store; nothing is called after it. */
  close(): void;
}

export interface HistoryOptions {
  /** Messages kept per room and replayed to a member who joins; 0 keeps none. */
  limit: number;
  /** Where messages outlive the process, or null to keep history in memory only. */
  store: MessageStore | null;
  /** Rooms nobody is in whose messages stay in memory (DEFAULT_IDLE_ROOMS if not given). */
  idleRooms?: number;
  /** This server life's epoch, when there is no store (a new random one if not given). */
  epoch?: string;
}

/** A new epoch: random, so that two lives of a server never share one. */
export function newEpoch(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

/** A room's last messages: at most `limit`, the oldest overwritten, as a ring. */
class RecentMessages {
  #ring: StoredMessage[];
  #oldest = 0; // where the oldest is, once the ring is full

  constructor(readonly limit: number, messages: StoredMessage[]) {
    this.#ring = limit === 0 ? [] : messages.slice(-limit);
  }

  get newest(): StoredMessage | undefined {
    const ring = this.#ring;
    return ring.length < this.limit ? ring.at(-1) : ring.at(this.#oldest - 1);
  }

  get oldest(): StoredMessage | undefined {
    return this.#ring[this.#oldest];
  }

  add(message: StoredMessage): void {
    if (this.#ring.length < this.limit) {
      this.#ring.push(message);
    } else {
      this.#ring[this.#oldest] = message;
      this.#oldest = (this.#oldest + 1) % this.limit;
    }
  }

  /** Oldest first. */
  all(): StoredMessage[] {
    return [...this.#ring.slice(this.#oldest), ...this.#ring.slice(0, this.#oldest)];
  }
}

/** What History holds for one room while it is open or remembered. */
class RoomHistory {
  reserving = false;
  /** The last id given before this process opened the room: every id above it is a message. */
  readonly openedAt: number;
  constructor(
    readonly recent: RecentMessages,
    /** The id of the last message recorded. */
    public lastId: number,
    /** Ids up to here are the room's in the store; Infinity without one. */
    public reservedThrough: number,
  ) {
    this.openedAt = lastId;
  }
}

export class History {
  #limit: number;
  #idleRooms: number;
  #rooms = new Map<string, RoomHistory>(); // by room key, open or remembered
  #idle = new Map<string, RoomHistory>(); // rooms nobody is in, the longest empty first
  // Without a store: the highest id a forgotten room gave. A room History does not know goes on
  // above it, so that forgetting a room never makes its ids start again.
  #forgottenIds = 0;
  #store: MessageStore | null;
  #epoch: string;

  constructor(options: HistoryOptions) {
    this.#limit = options.limit;
    this.#store = options.store;
    this.#idleRooms = options.idleRooms ?? DEFAULT_IDLE_ROOMS;
    this.#epoch = options.store?.epoch ?? options.epoch ?? newEpoch();
  }

  /**
   * The sequence that message ids belong to: the store's, which never starts its ids again, or
   * without one this server life's, since the next life numbers every room from 1 again.
   */
  get epoch(): string {
    return this.#epoch;
  }

  /**
   * Opens the room's history for a room that someone entered; returns the id of the last message
   * it may have given (0 for none): ids go on from there.
   */
  lastId(roomKey: string): number {
    const room = this.#roomOf(roomKey);
    this.#idle.delete(roomKey);
    return room.lastId;
  }

  /**
   * Remembers `message`, which the room is about to deliver. Throws ProtocolError when its id is
   * not reserved yet (the store could not be written since the room opened): delivering it could
   * give the id twice.
   */
  record(roomKey: string, message: StoredMessage): void {
    const room = this.#roomOf(roomKey);
    if (message.id > room.reservedThrough) {
      this.#reserve(roomKey, room);
      throw new ProtocolError(
        "storage_busy",
        "The server cannot write history just now; try again in a moment",
      );
    }
    room.lastId = message.id;
    if (this.#limit > 0) {
      room.recent.add(message);
      this.#store?.append(roomKey, message);
    }
    if (room.reservedThrough - message.id < RESERVED_IDS / 2) this.#reserve(roomKey, room);
  }

  /**
   * Nobody is in the room any more. Its messages stay in memory until more than `idleRooms` rooms
   * are empty; then the longest empty is forgotten, to be read again from the store if it reopens.
   */
  idle(roomKey: string): void {
    const room = this.#rooms.get(roomKey);
    if (!room) return;
    this.#idle.delete(roomKey);
    this.#idle.set(roomKey, room);
    while (this.#idle.size > this.#idleRooms) {
      const [key, oldest] = this.#idle.entries().next().value!;
      this.#idle.delete(key);
      this.#rooms.delete(key);
      if (this.#store) this.#store.release(key, oldest.lastId);
      else this.#forgottenIds = Math.max(this.#forgottenIds, oldest.lastId);
    }
  }

  /** How many rooms History holds in memory: those open and those remembered. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** The room's last messages, oldest first. */
  recent(roomKey: string): StoredMessage[] {
    return this.#limit === 0 ? [] : this.#roomOf(roomKey).recent.all();
  }

  /** The room's messages after `afterId`, oldest first, at most `limit` of them. */
  since(roomKey: string, afterId: number, limit = MAX_HISTORY_REPLY): StoredMessage[] {
    if (this.#limit === 0) return [];
    const recent = this.#roomOf(roomKey).recent;
    const oldest = recent.oldest;
    const covered = oldest !== undefined && oldest.id <= afterId + 1;
    if (covered || !this.#store) {
      const newer = recent.all().filter((message) => message.id > afterId);
      return newer.slice(0, limit);
    }
    return this.#store.since(roomKey, afterId, limit);
  }

  /**
   * How many of the room's messages after `afterId` are no longer kept, before the first one that
   * is. Without a store, those pushed out of the ring by newer ones, counting only this process's
   * (ids below `openedAt` may never have been the room's: see #forgottenIds). With one, those
   * retention deleted: the ids up to where it deleted, which after a crash may include ids the
   * crash skipped (so at most that many). Never the ids a crash skipped alone: they were no
   * messages, or messages lost with the crash that the store never held.
   */
  missing(roomKey: string, afterId: number): number {
    const room = this.#roomOf(roomKey);
    const store = this.#store;
    const thisLife = Math.max(afterId, room.openedAt);
    if (this.#limit === 0) return Math.max(0, room.lastId - thisLife);
    if (!store) {
      const firstKept = room.recent.oldest?.id ?? room.lastId + 1;
      return Math.max(0, firstKept - 1 - thisLife);
    }
    const firstKept = store.oldestId(roomKey) ?? room.lastId + 1;
    return Math.max(0, Math.min(store.prunedThrough(roomKey), firstKept - 1) - afterId);
  }

  /** Gives back what rooms reserved beyond their last ids, and closes the store. */
  close(): void {
    const store = this.#store;
    if (!store) return;
    for (const [key, room] of this.#rooms) store.release(key, room.lastId);
    store.close();
  }

  #roomOf(roomKey: string): RoomHistory {
    let room = this.#rooms.get(roomKey);
    if (!room) {
      room = this.#open(roomKey);
      this.#rooms.set(roomKey, room);
    }
    return room;
  }

  #open(roomKey: string): RoomHistory {
    const store = this.#store;
    if (!store) {
      return new RoomHistory(new RecentMessages(this.#limit, []), this.#forgottenIds, Infinity);
    }
    const messages = this.#limit === 0 ? [] : store.last(roomKey, this.#limit);
    const lastId = store.lastId(roomKey);
    const room = new RoomHistory(new RecentMessages(this.#limit, messages), lastId, lastId);
    this.#reserve(roomKey, room);
    return room;
  }

  #reserve(roomKey: string, room: RoomHistory): void {
    if (room.reserving || !this.#store) return;
    room.reserving = true;
    const through = room.lastId + RESERVED_IDS;
    this.#store.reserve(roomKey, through, () => {
      room.reserving = false;
      room.reservedThrough = Math.max(room.reservedThrough, through);
    });
  }
}
