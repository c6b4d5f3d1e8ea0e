// Accounts that outlive the server: a table in the --data database (DIR/parley.db), opened once
// the history store has checked and locked it (history.ts, data_lock.ts). Accounts change rarely
// and are read once a login, so this store works synchronously (behind the interface's promises);
// see BUSY_MS.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Account, AccountStore } from "../accounts.ts";
import { ProtocolError } from "../../protocol.ts";

// How long a write waits for the history store's commit to let go of the lock. Its commits take
// milliseconds, so this is waited out on the event loop only when the database is in trouble, and
// then the member is told to try again rather than the server stalling.
const BUSY_MS = 250;

export class SqliteAccountStore implements AccountStore {
  #db: DatabaseSync;
  #get: StatementSync;
  #add: StatementSync;
  #setHash: StatementSync;
  #remove: StatementSync;

  /** Opens the accounts table of `file`, an SQLite database the history store has opened. */
  constructor(file: string) {
    this.#db = new DatabaseSync(file);
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS accounts (
        nick_key TEXT PRIMARY KEY,
        nick TEXT NOT NULL,
        hash TEXT NOT NULL,
        created INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
    this.#get = this.#db.prepare(
      "SELECT nick_key, nick, hash, created FROM accounts WHERE nick_key = ?",
    );
    this.#add = this.#db.prepare(
      "INSERT OR IGNORE INTO accounts (nick_key, nick, hash, created) VALUES (?, ?, ?, ?)",
    );
    this.#setHash = this.#db.prepare(
      "UPDATE accounts SET hash = ? WHERE nick_key = ? AND hash = ?",
    );
    this.#remove = this.#db.prepare("DELETE FROM accounts WHERE nick_key = ? AND hash = ?");
  }

  get(key: string): Promise<Account | null> {
    return this.#do(() => {
      const row = this.#get.get(key) as
        | { nick_key: string; nick: string; hash: string; created: number }
        | undefined;
      return row
        ? { key: row.nick_key, nick: row.nick, hash: row.hash, created: row.created }
        : null;
    });
  }

  add(account: Account): Promise<boolean> {
    const { key, nick, hash, created } = account;
    return this.#do(() => this.#add.run(key, nick, hash, created).changes === 1);
  }

  setHash(key: string, hash: string, old: string): Promise<boolean> {
    return this.#do(() => this.#setHash.run(hash, key, old).changes === 1);
  }

  remove(key: string, hash: string): Promise<boolean> {
    return this.#do(() => this.#remove.run(key, hash).changes === 1);
  }

  close(): void {
    this.#db.close();
  }

  // A database that cannot answer now is the member's error to hear, not the server's end.
  #do<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(
        new ProtocolError(
          "storage_busy",
          `Accounts cannot be reached now (${error}); try again`,
        ),
      );
    }
  }
}
