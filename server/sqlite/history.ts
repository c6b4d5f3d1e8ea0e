// History that outlives the server: a MessageStore in an embedded SQLite database, DIR/parley.db.
// SQLite is synchronous, so appends are gathered and committed together a few times a second,
// never on the broadcast path. A busy database (another process holding its write lock) is never
// waited for on the event loop: the commit is retried on a timer, with everything still pending
// kept and visible to reads, so chat goes on and nothing is lost once the lock is let go.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { type MessageStore, newEpoch, type ReserveDone, type StoredMessage } from "../history.ts";
import { DataLock, DataProblem } from "./data_lock.ts";
import { systemProblem } from "../../runtime.ts";
import { Retention, type RetentionOptions } from "./retention.ts";

export { DataProblem } from "./data_lock.ts";

/** How long a message may wait in memory before it is committed: what a crash can lose. */
export const COMMIT_EVERY_MS = 50;
/** The longest wait between two tries to commit while the database is busy or failing. */
export const MAX_RETRY_MS = 1000;
/**
 * Messages that may wait uncommitted while the database cannot be written; past it the oldest of
 * a room are dropped from history (and the log says so), so that memory stays bounded.
 */
export const MAX_PENDING_MESSAGES = 100_000;
/** How long opening waits for another process's lock before it gives up. */
const OPEN_BUSY_MS = 5000;

export interface SqliteStoreOptions extends RetentionOptions {
  /** Where failures and recoveries of the database are reported, one line each. */
  log: (line: string) => void;
  /** Told how long each commit took, in seconds (for /metrics). */
  committed?: (seconds: number) => void;
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

const isBusy = (error: unknown) => /database is (locked|busy)/i.test(String(error));

// Opens DIR/parley.db, checks it and makes its tables; throws DataProblem naming the file. The
// epoch is the database's: made with it (or on the first start of a version that has epochs), and
// kept as long as it lives, as its ids go on.
function openDatabase(file: string): { db: DatabaseSync; epoch: string } {
  let db: DatabaseSync | null = null;
  try {
    db = new DatabaseSync(file);
    db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_MS}`);
    const check = db.prepare("PRAGMA quick_check").all() as Array<Record<string, unknown>>;
    const verdict = String(Object.values(check[0] ?? {})[0] ?? "no answer");
    if (verdict !== "ok") throw new DataProblem(`${file} is damaged (quick_check: ${verdict})`);
    // WAL with synchronous=NORMAL: a committed message survives a crash of the process; only a
    // crash of the machine may lose the last commits. `rooms` holds each room's id reservation
    // (server/history.ts), and outlives the room's messages so that its ids never start again.
    db.exec(`
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
      CREATE TABLE IF NOT EXISTS rooms (
        room_key TEXT PRIMARY KEY,
        reserved INTEGER NOT NULL,
        pruned_through INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `);
    // A database from before retention said how far it deleted: nothing is known to be deleted.
    const pruning = db.prepare("SELECT 1 FROM pragma_table_info('rooms') WHERE name = ?");
    if (!pruning.get("pruned_through")) {
      db.exec("ALTER TABLE rooms ADD COLUMN pruned_through INTEGER NOT NULL DEFAULT 0");
    }
    const { user_version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (user_version === 0) {
      // A database from before reservations: its rooms go on from their last messages.
      db.exec(`
        BEGIN IMMEDIATE;
        INSERT OR IGNORE INTO rooms (room_key, reserved)
          SELECT room_key, max(id) FROM messages GROUP BY room_key;
        PRAGMA user_version = 1;
        COMMIT;
      `);
    }
    // SQLite opens a file it cannot write read-only, without a word, and root passes every mode
    // check: taking the write lock is what tells, now rather than at the first message.
    // (In WAL mode the lock alone is granted: a row written and rolled back is what fails.)
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec("INSERT OR REPLACE INTO rooms (room_key, reserved) VALUES ('', 0)");
    } finally {
      db.exec("ROLLBACK");
    }
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?)").run(newEpoch());
    const { value: epoch } = db.prepare("SELECT value FROM meta WHERE key = 'epoch'").get() as {
      value: string;
    };
    // From here on a busy database is retried on a timer, never waited for on the event loop.
    db.exec("PRAGMA busy_timeout = 0");
    return { db, epoch };
  } catch (error) {
    db?.close();
    if (error instanceof DataProblem) throw error;
    const cause = systemProblem(error);
    if (/not a database/.test(cause)) throw new DataProblem(`${file} is not an SQLite database`);
    if (/malformed|corrupt/.test(cause)) throw new DataProblem(`${file} is damaged (${cause})`);
    if (/readonly/.test(cause)) throw new DataProblem(`${file} is read-only`);
    if (isBusy(error)) {
      throw new DataProblem(`${file} stayed locked by another process for ${OPEN_BUSY_MS} ms`);
    }
    throw new DataProblem(`cannot open ${file}: ${cause}`);
  }
}

// One table of messages; its primary key (room_key, id) is also the index that every query walks,
// newest first or from an id on.
export class SqliteMessageStore implements MessageStore {
  readonly file: string;
  readonly epoch: string;
  #db: DatabaseSync;
  #lock: DataLock;
  #log: (line: string) => void;
  #committed: ((seconds: number) => void) | undefined;
  #insert: StatementSync;
  #reserve: StatementSync;
  #lastId: StatementSync;
  #reserved: StatementSync;
  #last: StatementSync;
  #since: StatementSync;
  #oldest: StatementSync;
  #pruned: StatementSync;
  #retention: Retention;
  // What waits to be committed: messages by room, oldest first, and rooms' reservations.
  #pending = new Map<string, StoredMessage[]>();
  #pendingCount = 0;
  #reservations = new Map<string, number>();
  #waiting: ReserveDone[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #retryMs = COMMIT_EVERY_MS;
  #failure: string | null = null; // what was last logged about a failing commit
  #dropped = 0;

  /** Opens DIR/parley.db, creating DIR if need be; throws DataProblem if it cannot be used. */
  constructor(dataDir: string, options: SqliteStoreOptions) {
    let isDirectory = true;
    try {
      isDirectory = statSync(dataDir).isDirectory();
    } catch {
      // missing: made below
    }
    if (!isDirectory) throw new DataProblem(`${dataDir} is not a directory`);
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw new DataProblem(`cannot create ${dataDir}: ${systemProblem(error)}`);
    }
    this.file = path.join(dataDir, "parley.db");
    this.#lock = DataLock.acquire(dataDir);
    try {
      ({ db: this.#db, epoch: this.epoch } = openDatabase(this.file));
    } catch (error) {
      this.#lock.release();
      throw error;
    }
    this.#log = options.log;
    this.#committed = options.committed;
    const db = this.#db;
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO messages (room_key, id, room, sender, text, ts, action) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#reserve = db.prepare(
      "INSERT INTO rooms (room_key, reserved) VALUES (?, ?) " +
        "ON CONFLICT (room_key) DO UPDATE SET reserved = excluded.reserved",
    );
    this.#lastId = db.prepare("SELECT max(id) AS id FROM messages WHERE room_key = ?");
    this.#reserved = db.prepare("SELECT reserved FROM rooms WHERE room_key = ?");
    this.#last = db.prepare(
      "SELECT * FROM (SELECT * FROM messages WHERE room_key = ? ORDER BY id DESC LIMIT ?) " +
        "ORDER BY id",
    );
    this.#since = db.prepare(
      "SELECT * FROM messages WHERE room_key = ? AND id > ? ORDER BY id LIMIT ?",
    );
    this.#oldest = db.prepare("SELECT min(id) AS id FROM messages WHERE room_key = ?");
    this.#pruned = db.prepare("SELECT pruned_through AS id FROM rooms WHERE room_key = ?");
    this.#retention = new Retention(db, options, (error) => this.#report(error));
  }

  append(roomKey: string, message: StoredMessage): void {
    let waiting = this.#pending.get(roomKey);
    if (!waiting) this.#pending.set(roomKey, waiting = []);
    if (this.#pendingCount >= MAX_PENDING_MESSAGES && waiting.length > 0) {
      waiting.shift();
      this.#pendingCount--;
      if (this.#dropped++ === 0) {
        this.#log(`history: ${MAX_PENDING_MESSAGES} messages wait for ${this.file}; dropping`);
      }
    }
    waiting.push(message);
    this.#pendingCount++;
    this.#timer ??= setTimeout(this.#commit, this.#retryMs);
  }

  reserve(roomKey: string, throughId: number, done: ReserveDone): void {
    this.#reservations.set(roomKey, Math.max(throughId, this.#reservations.get(roomKey) ?? 0));
    this.#waiting.push(done);
    if (this.#failure === null) this.#commit(); // rare (a room opens, or used half its ids)
    else this.#timer ??= setTimeout(this.#commit, this.#retryMs);
  }

  release(roomKey: string, lastId: number): void {
    this.#reservations.set(roomKey, lastId);
    this.#timer ??= setTimeout(this.#commit, this.#retryMs);
  }

  lastId(roomKey: string): number {
    const committed = this.#read(() => {
      const row = this.#lastId.get(roomKey) as { id: number | null } | undefined;
      const room = this.#reserved.get(roomKey) as { reserved: number } | undefined;
      return Math.max(row?.id ?? 0, room?.reserved ?? 0);
    }, 0);
    const waiting = this.#pending.get(roomKey)?.at(-1)?.id ?? 0;
    return Math.max(committed, waiting, this.#reservations.get(roomKey) ?? 0);
  }

  last(roomKey: string, limit: number): StoredMessage[] {
    const waiting = this.#pending.get(roomKey) ?? [];
    if (waiting.length >= limit) return waiting.slice(waiting.length - limit);
    const rows = this.#read(() => this.#last.all(roomKey, limit - waiting.length) as unknown, []);
    return [...(rows as Row[]).map(toMessage), ...waiting];
  }

  since(roomKey: string, afterId: number, limit: number): StoredMessage[] {
    const rows = this.#read(() => this.#since.all(roomKey, afterId, limit) as unknown, []);
    const found = (rows as Row[]).map(toMessage);
    const after = found.at(-1)?.id ?? afterId;
    for (const message of this.#pending.get(roomKey) ?? []) {
      if (found.length >= limit) break;
      if (message.id > after) found.push(message);
    }
    return found;
  }

  oldestId(roomKey: string): number | undefined {
    const row = this.#read(() => this.#oldest.get(roomKey) as { id: number | null }, { id: null });
    return row.id ?? this.#pending.get(roomKey)?.[0]?.id;
  }

  prunedThrough(roomKey: string): number {
    const row = this.#read(
      () => this.#pruned.get(roomKey) as { id: number } | undefined,
      undefined,
    );
    return row?.id ?? 0;
  }

  close(): void {
    this.#retention.stop();
    // Stopping may wait for another process's lock, as chat no longer does.
    this.#read(() => this.#db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_MS}`), undefined);
    this.#commit();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#failure !== null) {
      this.#log(`history: ${this.#pendingCount} messages could not be written to ${this.file}`);
    }
    this.#db.close();
    this.#lock.release();
  }

  // A read that fails is reported, and answered with what is in memory.
  #read<T>(query: () => T, otherwise: T): T {
    try {
      return query();
    } catch (error) {
      this.#report(error);
      return otherwise;
    }
  }

  #commit = (): void => {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pendingCount === 0 && this.#reservations.size === 0) return;
    const startedAt = performance.now();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      return this.#retry(error);
    }
    try {
      for (const [key, messages] of this.#pending) {
        for (const m of messages) {
          this.#insert.run(key, m.id, m.room, m.from, m.text, m.ts, m.action ? 1 : 0);
        }
      }
      for (const [key, reserved] of this.#reservations) this.#reserve.run(key, reserved);
      this.#db.exec("COMMIT");
      this.#committed?.((performance.now() - startedAt) / 1000);
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // the failed COMMIT ended the transaction already
      }
      return this.#retry(error);
    }
    if (this.#failure !== null) {
      this.#log(`history: ${this.file} written again (${this.#pendingCount} messages had waited)`);
    }
    this.#failure = null;
    this.#retryMs = COMMIT_EVERY_MS;
    this.#dropped = 0;
    this.#pending.clear();
    this.#pendingCount = 0;
    this.#reservations.clear();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const done of waiting) done();
  };

  // Keeps everything pending and tries again later, later each time up to MAX_RETRY_MS.
  #retry(error: unknown): void {
    this.#report(error);
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#timer ??= setTimeout(this.#commit, this.#retryMs);
  }

  // One log line per kind of trouble, not one per try.
  #report(error: unknown): void {
    const what = isBusy(error)
      ? `${this.file} is locked by another process; retrying, chat goes on`
      : `cannot use ${this.file}: ${systemProblem(error)}; retrying, chat goes on`;
    if (what !== this.#failure) this.#log(`history: ${what}`);
    this.#failure = what;
  }
}
