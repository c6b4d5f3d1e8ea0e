// How long the database keeps messages: at most so many per room and none older than so many days.
// Old messages are deleted a room at a time, in steps of at most PRUNE_ROWS rows with a pause
// between them, so that pruning a large database never holds up delivery for long; a whole pass
// runs at start (nobody waits yet) and then every PRUNE_EVERY_MS. A room's row in `rooms` stays,
// so that its ids go on even when all its messages are gone.
import type { DatabaseSync, StatementSync } from "node:sqlite";

export interface RetentionOptions {
  /** Messages older than this many ms are deleted; 0 keeps them however old. */
  retainMs: number;
  /** The newest messages kept per room; older ones are deleted. 0 keeps them all. */
  retainPerRoom: number;
  /** Now, in ms since the Unix epoch as messages' `ts` are (Date.now if not given). */
  now?: () => number;
}

/** Days the database keeps messages, by default. */
export const DEFAULT_RETAIN_DAYS = 30;
/** Messages the database keeps per room, by default. */
export const DEFAULT_RETAIN_PER_ROOM = 10_000;
export const PRUNE_EVERY_MS = 60_000;
/** The most rows one step deletes: about a millisecond's work. */
export const PRUNE_ROWS = 1000;
const PRUNE_PAUSE_MS = 10;

export class Retention {
  #options: RetentionOptions;
  #report: (error: unknown) => void;
  #nextRoom: StatementSync;
  #newest: StatementSync;
  #oldBefore: StatementSync;
  #oldest: StatementSync;
  #db: DatabaseSync;
  #delete: StatementSync;
  #pruned: StatementSync;
  #cursor = ""; // the last room pruned in this pass
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(db: DatabaseSync, options: RetentionOptions, report: (error: unknown) => void) {
    this.#options = options;
    this.#report = report;
    this.#db = db;
    this.#nextRoom = db.prepare(
      "SELECT room_key FROM rooms WHERE room_key > ? ORDER BY room_key LIMIT 1",
    );
    this.#newest = db.prepare(
      "SELECT id FROM messages WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    );
    // The room's oldest PRUNE_ROWS messages only: messages are in id order, and so in time order.
    this.#oldBefore = db.prepare(
      "SELECT max(id) AS id FROM (SELECT id, ts FROM messages WHERE room_key = ? ORDER BY id " +
        "LIMIT ?) WHERE ts < ?",
    );
    this.#oldest = db.prepare(
      "SELECT id FROM messages WHERE room_key = ? ORDER BY id LIMIT 1 OFFSET ?",
    );
    this.#delete = db.prepare("DELETE FROM messages WHERE room_key = ? AND id <= ?");
    // How far deleting has gone, so that a client asking for older messages is told they are gone.
    this.#pruned = db.prepare(
      "UPDATE rooms SET pruned_through = max(pruned_through, ?) WHERE room_key = ?",
    );
    if (options.retainMs === 0 && options.retainPerRoom === 0) return;
    try {
      this.pass();
    } catch (error) {
      this.#report(error);
    }
    this.#timer = setTimeout(this.#step, PRUNE_EVERY_MS);
  }

  /** Prunes every room at once; returns how many messages it deleted. */
  pass(): number {
    this.#cursor = "";
    let deleted = 0;
    for (let step = this.#stepOnce(); step !== null; step = this.#stepOnce()) deleted += step;
    return deleted;
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #step = (): void => {
    let next = PRUNE_EVERY_MS;
    try {
      if (this.#stepOnce() === null) this.#cursor = "";
      else next = PRUNE_PAUSE_MS;
    } catch (error) {
      this.#report(error); // a busy database is pruned next time
    }
    this.#timer = setTimeout(this.#step, next);
  };

  // Deletes at most PRUNE_ROWS of one room's messages; null once every room has had its turn.
  #stepOnce(): number | null {
    const room = this.#nextRoom.get(this.#cursor) as { room_key: string } | undefined;
    if (!room) return null;
    const key = room.room_key;
    const { retainMs, retainPerRoom } = this.#options;
    const idOf = (row: unknown) => (row as { id: number | null } | undefined)?.id ?? 0;
    let cut = 0;
    if (retainPerRoom > 0) cut = idOf(this.#newest.get(key, retainPerRoom));
    if (retainMs > 0) {
      const now = this.#options.now?.() ?? Date.now();
      cut = Math.max(cut, idOf(this.#oldBefore.get(key, PRUNE_ROWS, now - retainMs)));
    }
    if (cut > 0) cut = Math.min(cut, idOf(this.#oldest.get(key, PRUNE_ROWS - 1)) || cut);
    const deleted = cut > 0 ? this.#deleteThrough(key, cut) : 0;
    if (deleted < PRUNE_ROWS) this.#cursor = key;
    return deleted;
  }

  // Deletes the room's messages up to `cut`, and notes how far, in one transaction: a crash leaves
  // both or neither.
  #deleteThrough(key: string, cut: number): number {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const deleted = Number(this.#delete.run(key, cut).changes);
      if (deleted > 0) this.#pruned.run(cut, key);
      this.#db.exec("COMMIT");
      return deleted;
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // a failed COMMIT ended the transaction already
      }
      throw error;
    }
  }
}
