// What rooms remember: the last messages of each room, for members who join, and the messages
// after a given id, for clients that reconnect. In memory always; with a data directory also in an
// embedded SQLite database, so history outlives the server. SQLite is synchronous, so writes are
// gathered and committed together a few times a second, never on the broadcast path.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";

/** A chat message as rooms keep it: everything a `msg` frame carries. */
export interface StoredMessage {
  id: number;
  room: string;
  from: string;
  text: string;
  ts: number;
  action?: true;
}

/** How long a message may wait in memory before it is committed: what a crash can lose. */
export const COMMIT_EVERY_MS = 50;

/** The most messages one history request returns. */
export const MAX_HISTORY_REPLY = 1000;

export interface HistoryOptions {
  /** Messages kept per room and replayed to a member who joins; 0 keeps none. */
  limit: number;
  /** A directory for the database, or null to keep history in memory only. */
  dataDir: string | null;
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
  #log: MessageLog | null;

  constructor(options: HistoryOptions) {
    this.#limit = options.limit;
    this.#log = options.dataDir === null ? null : new MessageLog(options.dataDir);
  }

  /** The id of the last message ever said in the room, 0 for none: ids go on from there. */
  lastId(roomKey: string): number {
    return this.#lastIds.get(roomKey) ?? this.#recentOf(roomKey).newest?.id ??
      this.#log?.lastId(roomKey) ?? 0;
  }

  record(roomKey: string, message: StoredMessage): void {
    if (this.#limit === 0) {
      this.#lastIds.set(roomKey, message.id);
      return;
    }
    this.#recentOf(roomKey).add(message);
    this.#log?.append(roomKey, message);
  }

  /** The room's last messages, oldest first. */
  recent(roomKey: string): StoredMessage[] {
    return this.#limit === 0 ? [] : this.#recentOf(roomKey).all();
  }

  /** The room's messages after `afterId`, oldest first, at most MAX_HISTORY_REPLY of them. */
  since(roomKey: string, afterId: number): StoredMessage[] {
    if (this.#limit === 0) return [];
    const recent = this.#recentOf(roomKey);
    const oldest = recent.oldest;
    const covered = oldest !== undefined && oldest.id <= afterId + 1;
    if (covered || !this.#log) {
      const newer = recent.all().filter((message) => message.id > afterId);
      return newer.slice(0, MAX_HISTORY_REPLY);
    }
    return this.#log.since(roomKey, afterId, MAX_HISTORY_REPLY);
  }

  /** Commits what waits and closes the database. */
  close(): void {
    this.#log?.close();
  }

  #recentOf(roomKey: string): RecentMessages {
    let recent = this.#recent.get(roomKey);
    if (!recent) {
      recent = new RecentMessages(this.#limit, this.#log?.last(roomKey, this.#limit) ?? []);
      this.#recent.set(roomKey, recent);
    }
    return recent;
  }
}

interface Row {
  id: number;
  room: string;
  sender: string;
  text: string;
  ts: number;
  action: number;
}

function toMessage(row: Row): StoredMessage {
  const message: StoredMessage = {
    id: row.id,
    room: row.room,
    from: row.sender,
    text: row.text,
    ts: row.ts,
  };
  if (row.action) message.action = true;
  return message;
}

// The database side. One table; the primary key (room_key, id) is also the index that every query
// walks, newest first or from an id on.
class MessageLog {
  #db: DatabaseSync;
  #insert: StatementSync;
  #lastId: StatementSync;
  #last: StatementSync;
  #since: StatementSync;
  #pending: Array<[string, StoredMessage]> = [];
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#db = new DatabaseSync(path.join(dataDir, "parley.db"));
    // WAL with synchronous=NORMAL: a committed message survives a crash of the process; only a
    // crash of the machine may lose the last commits.
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS messages (
        room_key TEXT NOT NULL,
        id INTEGER NOT NULL,
        room TEXT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        ts INTEGER NOT NULL,
        action INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room_key, id)
      ) WITHOUT ROWID;
    `);
    this.#insert = this.#db.prepare(
      "INSERT OR REPLACE INTO messages (room_key, id, room, sender, text, ts, action) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#lastId = this.#db.prepare("SELECT max(id) AS id FROM messages WHERE room_key = ?");
    this.#last = this.#db.prepare(
      "SELECT * FROM (SELECT * FROM messages WHERE room_key = ? ORDER BY id DESC LIMIT ?) " +
        "ORDER BY id",
    );
    this.#since = this.#db.prepare(
      "SELECT * FROM messages WHERE room_key = ? AND id > ? ORDER BY id LIMIT ?",
    );
  }

  append(roomKey: string, message: StoredMessage): void {
    this.#pending.push([roomKey, message]);
    this.#timer ??= setTimeout(() => this.commit(), COMMIT_EVERY_MS);
  }

  commit(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#db.exec("BEGIN");
    try {
      for (const [key, m] of pending) {
        this.#insert.run(key, m.id, m.room, m.from, m.text, m.ts, m.action ? 1 : 0);
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  lastId(roomKey: string): number {
    this.commit();
    const row = this.#lastId.get(roomKey) as { id: number | null } | undefined;
    return row?.id ?? 0;
  }

  last(roomKey: string, limit: number): StoredMessage[] {
    this.commit();
    return (this.#last.all(roomKey, limit) as unknown as Row[]).map(toMessage);
  }

  since(roomKey: string, afterId: number, limit: number): StoredMessage[] {
    this.commit();
    return (this.#since.all(roomKey, afterId, limit) as unknown as Row[]).map(toMessage);
  }

  close(): void {
    this.commit();
    this.#db.close();
  }
}
