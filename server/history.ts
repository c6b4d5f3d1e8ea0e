// What rooms remember: the last messages of each room, for members who join, and the messages
// after a given id, for clients that reconnect. Always in memory, as a ring per room; behind it,
// optionally, a MessageStore that outlives the process (server/sqlite/history.ts). No I/O here.

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
 * Where messages go to outlive the process. Synchronous, as Chat is: a store may buffer its writes,
 * but each read sees every message appended before it. Rooms are told apart by their key (nameKey).
 */
export interface MessageStore {
  append(roomKey: string, message: StoredMessage): void;
  /** The id of the room's last message, 0 for none. */
  lastId(roomKey: string): number;
  /** The room's last `limit` messages, oldest first. */
  last(roomKey: string, limit: number): StoredMessage[];
  /** The room's messages after `afterId`, oldest first, at most `limit` of them. */
  since(roomKey: string, afterId: number, limit: number): StoredMessage[];
  /** Writes what waits and lets go of the store; nothing is called after it. */
  close(): void;
}

export interface HistoryOptions {
  /** Messages kept per room and replayed to a member who joins; 0 keeps none. */
  limit: number;
  /** Where messages outlive the process, or null to keep history in memory only. */
  store: MessageStore | null;
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

export class History {
  #limit: number;
  #recent = new Map<string, RecentMessages>(); // by room key
  #lastIds = new Map<string, number>(); // by room key, when no history is kept: ids go on anyway
  #store: MessageStore | null;

  constructor(options: HistoryOptions) {
    this.#limit = options.limit;
    this.#store = options.store;
  }

  /** The id of the last message ever said in the room, 0 for none: ids go on from there. */
  lastId(roomKey: string): number {
    return this.#lastIds.get(roomKey) ?? this.#recentOf(roomKey).newest?.id ??
      this.#store?.lastId(roomKey) ?? 0;
  }

  record(roomKey: string, message: StoredMessage): void {
    if (this.#limit === 0) {
      this.#lastIds.set(roomKey, message.id);
      return;
    }
    this.#recentOf(roomKey).add(message);
    this.#store?.append(roomKey, message);
  }

  /** The room's last messages, oldest first. */
  recent(roomKey: string): StoredMessage[] {
    return this.#limit === 0 ? [] : this.#recentOf(roomKey).all();
  }

  /** The room's messages after `afterId`, oldest first, at most `limit` of them. */
  since(roomKey: string, afterId: number, limit = MAX_HISTORY_REPLY): StoredMessage[] {
    if (this.#limit === 0) return [];
    const recent = this.#recentOf(roomKey);
    const oldest = recent.oldest;
    const covered = oldest !== undefined && oldest.id <= afterId + 1;
    if (covered || !this.#store) {
      const newer = recent.all().filter((message) => message.id > afterId);
      return newer.slice(0, limit);
    }
    return this.#store.since(roomKey, afterId, limit);
  }

  /** Closes the store, which writes what waits. */
  close(): void {
    this.#store?.close();
  }

  #recentOf(roomKey: string): RecentMessages {
    let recent = this.#recent.get(roomKey);
    if (!recent) {
      recent = new RecentMessages(this.#limit, this.#store?.last(roomKey, this.#limit) ?? []);
      this.#recent.set(roomKey, recent);
    }
    return recent;
  }
}
