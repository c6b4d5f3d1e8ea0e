// History that outlives the server: a MessageStore in an embedded SQLite database, DIR/parley.db.
// SQLite is synchronous, so appends are gathered and committed together a few times a second,
// never on the broadcast path; a read commits what waits first.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { MessageStore, StoredMessage } from "../history.ts";

/** How long a message may wait in memory before it is committed: what a crash can lose. */
export const COMMIT_EVERY_MS = 50;

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

// One table; the primary key (room_key, id) is also the index that every query walks, newest first
// or from an id on.
export class SqliteMessageStore implements MessageStore {
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
    this.#timer ??= setTimeout(() => this.#commit(), COMMIT_EVERY_MS);
  }

  #commit(): void {
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
    this.#commit();
    const row = this.#lastId.get(roomKey) as { id: number | null } | undefined;
    return row?.id ?? 0;
  }

  last(roomKey: string, limit: number): StoredMessage[] {
    this.#commit();
    return (this.#last.all(roomKey, limit) as unknown as Row[]).map(toMessage);
  }

  since(roomKey: string, afterId: number, limit: number): StoredMessage[] {
    this.#commit();
    return (this.#since.all(roomKey, afterId, limit) as unknown as Row[]).map(toMessage);
  }

  close(): void {
    this.#commit();
    this.#db.close();
  }
}
