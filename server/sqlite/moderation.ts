// Moderation that outlives the server: bans, mutes, room owners, operators and topics, in tables of
// the --data database (DIR/parley.db), opened once the history store has checked and locked it.
// They change rarely and are read once at start, so this store is synchronous, as accounts are.
import { DatabaseSync } from "node:sqlite";
import type { Ban, ModerationState, ModerationStore, RoomRecord } from "../moderation.ts";
import { ProtocolError } from "../../protocol.ts";

// As for accounts: a write waits this long for the history store's commit to let go of the lock.
const BUSY_MS = 250;

export class SqliteModerationStore implements ModerationStore {
  #db: DatabaseSync;

  /** Opens the moderation tables of `file`, an SQLite database the history store has opened. */
  constructor(file: string) {
    this.#db = new DatabaseSync(file);
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS moderation_bans (
        scope TEXT NOT NULL,
        kind TEXT NOT NULL,
        mask TEXT NOT NULL,
        by_nick TEXT NOT NULL,
        reason TEXT NOT NULL,
        until INTEGER,
        at INTEGER NOT NULL,
        PRIMARY KEY (scope, kind, mask)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS moderation_rooms (
        room_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT,
        ops TEXT NOT NULL,
        topic TEXT,
        topic_by TEXT,
        topic_at INTEGER
      ) WITHOUT ROWID;
    `);
  }

  load(): ModerationState {
    const bans = this.#db.prepare("SELECT * FROM moderation_bans").all().map((row) => ({
      scope: String(row.scope),
      kind: row.kind === "mute" ? "mute" : "ban",
      mask: String(row.mask),
      by: String(row.by_nick),
      reason: String(row.reason),
      until: row.until === null ? null : Number(row.until),
      at: Number(row.at),
    } satisfies Ban));
    const rooms = this.#db.prepare("SELECT * FROM moderation_rooms").all().map((row) => ({
      key: String(row.room_key),
      name: String(row.name),
      owner: row.owner === null ? null : String(row.owner),
      ops: JSON.parse(String(row.ops)) as string[],
      topic: row.topic === null
        ? null
        : { text: String(row.topic), by: String(row.topic_by), at: Number(row.topic_at) },
    } satisfies RoomRecord));
    return { bans, rooms };
  }

  putBan(ban: Ban): void {
    this.#do(() =>
      this.#db.prepare("INSERT OR REPLACE INTO moderation_bans VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(ban.scope, ban.kind, ban.mask, ban.by, ban.reason, ban.until, ban.at)
    );
  }

  dropBan(scope: string, kind: Ban["kind"], mask: string): void {
    this.#do(() =>
      this.#db.prepare("DELETE FROM moderation_bans WHERE scope = ? AND kind = ? AND mask = ?")
        .run(scope, kind, mask)
    );
  }

  putRoom(room: RoomRecord): void {
    const { topic } = room;
    this.#do(() =>
      this.#db.prepare("INSERT OR REPLACE INTO moderation_rooms VALUES (?, ?, ?, ?, ?, ?, ?)").run(
        room.key,
        room.name,
        room.owner,
        JSON.stringify(room.ops),
        topic?.text ?? null,
        topic?.by ?? null,
        topic?.at ?? null,
      )
    );
  }

  close(): void {
    this.#db.close();
  }

  // A database that cannot answer now is the operator's error to hear, not the server's end.
  #do(work: () => unknown): void {
    try {
      work();
    } catch (error) {
      throw new ProtocolError(
        "storage_busy",
        `Moderation cannot be saved now (${error}); try again`,
      );
    }
  }
}
